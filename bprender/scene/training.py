"""Training steps in the Scene: per-step strings for the nodes, the update captions and the
loss-curve panel, all resolved here from the trace's ``train`` section (docs/formats.md).

The painters only pick which step's strings to show (``scene["train"]["track"]`` counts the
steps begun after the first) and how many points of the curve have appeared (its ``shown`` track). Plain data in,
plain data out: no torch here.
"""
from __future__ import annotations

import math

from ..fmt import MINUS, num, summary_text, to_float
from .style import Sizes
from ..timeline import Timing
from ..tracks import count_track

STALE = 0.35        # opacity of the numbers that stay step 1's during the later steps
DIM_TIME = 0.3      # seconds to dim them
OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam"}


def train_count(trace: dict) -> int:
    """The number of training steps in a trace (0: no training)."""
    train = trace.get("train")
    return len(train["steps"]) if train and train.get("steps") else 0


def _leaf_name(n) -> str:
    if n.trace is not None and n.trace.get("name"):
        return n.trace["name"]
    return n.label


def _values_after(train: dict) -> list[list[dict]]:
    """Per step, each leaf's value after that step's update (the next step's, or final)."""
    steps = train["steps"]
    out = []
    for k in range(len(steps)):
        if k + 1 < len(steps):
            out.append([leaf["value"] for leaf in steps[k + 1]["leaves"]])
        else:
            out.append([leaf["value"] for leaf in train["final"]])
    return out


def update_text(old: dict | None, new: dict | None) -> str:
    """'2 → 2.06' for a one-element tensor, else its norm before and after."""
    if old is None or new is None:
        return ""
    a, b = old.get("values"), new.get("values")
    if a is not None and b is not None and len(a) == 1 and len(b) == 1:
        return f"{num(a[0])} → {num(b[0])}"
    return f"norm {num(old['stats']['norm'])} → {num(new['stats']['norm'])}"


def step_trace(trace: dict, k: int) -> dict | None:
    """Training step k's numbers as a trace of the same graph (step 0 is the trace itself),
    or None when step k was not captured in full (a big graph: its ops keep step 1's)."""
    if k == 0:
        return trace
    step = trace["train"]["steps"][k]
    if "nodes" not in step or "edges" not in step:
        return None
    leaves = {leaf["name"]: leaf for leaf in step["leaves"]}
    return {**trace,
            "nodes": [{**n, "value": s["value"], "grad": s["grad"]} for n, s in zip(trace["nodes"], step["nodes"])],
            "edges": [{**e, "grad": g} for e, g in zip(trace["edges"], step["edges"])],
            "leaves": [{**leaf, **{key: leaves[leaf["name"]][key] for key in ("value", "grad")}}
                       if leaf["name"] in leaves else leaf for leaf in trace["leaves"]],
            "loss": {**trace["loss"], "value": step["loss"]}}


def step_traces(trace: dict) -> list[dict] | None:
    """step_trace for every training step, or None unless every step was captured in full."""
    if not train_count(trace):
        return None
    traces = [step_trace(trace, k) for k in range(train_count(trace))]
    return None if any(t is None for t in traces) else traces


def edge_step_texts(graphs: list | None, label_text) -> dict[str, list[str]]:
    """edge id -> its gradient label at every step (label_text: grad summary -> text)."""
    if not graphs:
        return {}
    edges = [{e.id: e for e in g.edges} for g in graphs]
    return {e.id: [label_text(step[e.id].grad if e.id in step else e.grad) for step in edges]
            for e in graphs[0].edges}


def step_texts(trace: dict, graph, graphs: list | None = None) -> dict[str, dict[str, list[str]]]:
    """node id -> {line role -> one string per step}: leaves' value, grad and update lines
    and the loss node's value; with `graphs` (step_graphs), every other node's value and
    gradient too. Empty without training."""
    if not train_count(trace):
        return {}
    train = trace["train"]
    steps = train["steps"]
    after = _values_after(train)
    index = {leaf["name"]: j for j, leaf in enumerate(steps[0]["leaves"])}
    out: dict[str, dict[str, list[str]]] = {}
    for n in graph.nodes:
        if n.kind == "loss":
            out[n.id] = {"value": [summary_text(s["loss"]) for s in steps]}
        elif n.kind == "leaf" and _leaf_name(n) in index:
            j = index[_leaf_name(n)]
            out[n.id] = {
                "value": [summary_text(s["leaves"][j]["value"]) for s in steps],
                "grad": ["grad " + summary_text(s["leaves"][j]["grad"]) for s in steps],
                "update": [update_text(s["leaves"][j]["value"], after[k][j]) for k, s in enumerate(steps)],
            }
        elif graphs:
            nodes = [{m.id: m for m in g.nodes}.get(n.id, n) for g in graphs]
            out[n.id] = {"value": [summary_text(m.value) for m in nodes]}
            if n.kind not in ("const", "frozen"):
                out[n.id]["grad"] = ["grad " + summary_text(m.grad) for m in nodes]
    return out


def _signed(x: float) -> str:
    text = num(x)
    return f"({text})" if text.startswith(MINUS) else text


def _element(name: str, shape: list, flat: int) -> str:
    if len(shape) == 0 or math.prod(shape) == 1:
        return name
    index = []
    for d in reversed(shape):
        index.append(flat % d)
        flat //= d
    return f"{name}[{', '.join(str(i) for i in reversed(index))}]"


def _examples(train: dict, count: int = 2, names=None) -> list[tuple[str, float, float, float]]:
    """(element name, old, grad, new) for a few parameters of step 1: one-element parameters
    first, then the element with the largest gradient of the first tensor parameter (named by
    the Notation `names`, else as PyTorch names them)."""
    first = train["steps"][0]["leaves"]
    after = _values_after(train)[0]
    picks: list[tuple[int, int]] = []
    for j, leaf in enumerate(first):
        values = leaf["value"].get("values") if leaf["value"] else None
        if values is not None and len(values) == 1 and leaf.get("grad") and leaf["grad"].get("values"):
            picks.append((j, 0))
    for j, leaf in enumerate(first):
        grads = leaf["grad"].get("values") if leaf.get("grad") else None
        if grads and len(grads) > 1 and leaf["value"].get("values") is not None:
            best = max(range(len(grads)), key=lambda i: abs(to_float(grads[i])))
            picks.append((j, best))
            break
    out = []
    for j, i in picks[:count]:
        leaf = first[j]
        old = to_float(leaf["value"]["values"][i])
        grad = to_float(leaf["grad"]["values"][i])
        new = to_float(after[j]["values"][i]) if after[j].get("values") is not None else math.nan
        name = names.param(leaf["name"]) if names is not None else leaf["name"]
        out.append((_element(name, leaf["value"]["shape"], i), old, grad, new))
    return out


def optimizer_text(settings: dict) -> str:
    name = OPTIMIZER_NAMES.get(settings["name"], settings["name"])
    if settings.get("momentum"):
        name += f" with momentum {num(settings['momentum'])}"
    return f"{name}, lr = {num(settings['lr'])}"


def update_lines(trace: dict, names=None) -> list[str]:
    """The update caption: the rule, then the arithmetic for one or two parameters."""
    train = trace["train"]
    settings = train["optimizer"]
    lr = settings["lr"]
    if settings["name"] == "adam":
        lines = [f"Update ({optimizer_text(settings)}): w ← w − lr·m̂/(√v̂ + ε); at step 1 "
                 "m̂/√v̂ = ±1, so every parameter moves by about lr."]
        for name, old, grad, new in _examples(train, names=names):
            lines.append(f"{name} ← {num(old)} − {num(lr)} · {_signed((old - new) / lr)} = {num(new)}")
    else:
        lines = [f"Update ({optimizer_text(settings)}): every parameter steps against its "
                 "gradient, w ← w − lr·∂L/∂w."]
        for k, (name, old, grad, new) in enumerate(_examples(train, names=names)):
            rule = f"{name} − lr·∂L/∂{name} = " if k == 0 else ""   # written out once
            lines.append(f"{name} ← {rule}{num(old)} − {num(lr)} · {_signed(grad)} = {num(new)}")
    return lines


def _loss_value(summary: dict | None) -> float:
    if not summary or not summary.get("values"):
        return math.nan
    return to_float(summary["values"][0])


def training_captions(trace: dict, timing: Timing, names=None) -> list[tuple[float, float, list[str]]]:
    """(t0, t1, lines) for the update and each later step."""
    train = trace["train"]
    steps = train["steps"]
    phase = {p["name"]: p for p in timing.phases}
    out = [(phase["update"]["t0"], phase["update"]["t1"], update_lines(trace, names))]
    starts = timing.train_starts
    full = all(step_trace(trace, k) is not None for k in range(len(steps)))
    largest = _largest_gradient(steps[0])
    for k in range(1, len(steps)):
        t1 = starts[k + 1] if k + 1 < len(starts) else phase["train"]["t1"]
        lines = [f"Step {k + 1} of {len(steps)}: forward, backward and update again with the new "
                 f"parameters; L = {num(_loss_value(steps[k]['loss']))}"]
        if full:
            lines.append(f"Every box shows step {k + 1}'s values and gradients"
                         + (_gradient_then(steps, k, largest, names) if largest is not None else "."))
        else:
            lines += ["Only the loss, the parameters and their gradients are recorded after step 1;",
                      "the dimmed numbers in the other boxes are still step 1's."]
        out.append((starts[k], t1, lines))
    return out


def _largest_gradient(step: dict) -> int | None:
    """The index of the parameter with the largest gradient norm at a step."""
    norms = [(to_float((leaf.get("grad") or {}).get("stats", {}).get("norm")), j)
             for j, leaf in enumerate(step["leaves"])]
    norms = [(v, j) for v, j in norms if math.isfinite(v)]
    return max(norms)[1] if norms else None


def _gradient_then(steps: list[dict], k: int, j: int, names=None) -> str:
    """'; ‖∂L/∂W²‖ = 0.31 (step 1: 1.2)': how the biggest gradient changed since step 1 (the
    parameter named by the Notation `names`, else as PyTorch names it)."""
    def norm(step):
        return to_float(((step["leaves"][j].get("grad") or {}).get("stats") or {}).get("norm"))
    leaf = steps[k]["leaves"][j]
    name = names.param(leaf["name"]) if names is not None else leaf["name"]
    return f"; ‖∂L/∂{name}‖ = {num(norm(steps[k]))} (step 1: {num(norm(steps[0]))})."


def end_lines(trace: dict) -> list[str]:
    train = trace["train"]
    steps = train["steps"]
    first, last = _loss_value(steps[0]["loss"]), _loss_value(steps[-1]["loss"])
    rule = "Every step: forward pass, loss, backward pass, then w ← w − lr·∂L/∂w for every parameter."
    bad = [k + 1 for k, step in enumerate(steps) if not math.isfinite(_loss_value(step["loss"]))]
    if bad:  # a NaN or infinite loss is what to look at: say so instead of "went from NaN to NaN"
        where = "at every step" if len(bad) == len(steps) else f"from step {bad[0]} on" \
            if bad == list(range(bad[0], len(steps) + 1)) else f"at steps {', '.join(map(str, bad[:6]))}"
        return [f"After {len(steps)} steps ({optimizer_text(train['optimizer'])}): the loss is {num(last)} {where} "
                f"(not a finite number): the gradients and updates are not meaningful there.", rule]
    verb = "fell" if last < first else "went"
    return [f"After {len(steps)} steps ({optimizer_text(train['optimizer'])}): the loss {verb} "
            f"from {num(first)} to {num(last)}.", rule]


def non_finite_loss_line(trace: dict) -> str | None:
    """The closing caption's warning for a pass whose loss is NaN or infinite, else None."""
    value = _loss_value((trace.get("loss") or {}).get("value"))
    if math.isfinite(value):
        return None
    return (f"The loss is {num(value)}, not a finite number: the gradients are {num(value)} or meaningless "
            f"(look for log or sqrt of a negative number, 0/0, or an overflow upstream).")


def _nice_step(raw: float) -> float:
    if not (raw > 0 and math.isfinite(raw)):
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= raw:
            return m * mag
    return 10.0 * mag


def build_loss_curve(trace: dict, timing: Timing, rect: tuple[float, float, float, float],
                     sizes: Sizes, fonts, compact: bool = False) -> dict:
    """The loss-curve panel inside the frame at rect (x, y, w, h): loss per step on a linear
    axis from 0; point k appears when step k's loss is computed (the `shown` track counts the
    points), the newest one highlighted. compact (a short panel, the predictions under it):
    the newest loss goes on the title line, "Loss per step  L = 0.29", for a taller plot."""
    x, y, w, h = rect
    steps = trace["train"]["steps"]
    losses = [_loss_value(s["loss"]) for s in steps]
    pad = sizes.px(14)
    title_font, font = sizes.font(15, True), sizes.font(12)
    title_px, px = sizes.text_px(15), sizes.text_px(12)
    finite = [v for v in losses if math.isfinite(v)]
    top = max([abs(v) for v in finite] + [0.0])
    tick = _nice_step(top / 4)
    n_ticks = max(1, math.ceil(top / tick - 1e-9)) if top > 0 else 4
    ymax = tick * n_ticks
    ymin = min(0.0, min(finite, default=0.0))
    tick_texts = [num(ymin + k * tick, 3) for k in range(n_ticks + 1)] if ymin == 0 else \
        [num(ymin + (ymax - ymin) * k / n_ticks, 3) for k in range(n_ticks + 1)]
    label_w = max(fonts.measure(text, font) for text in tick_texts)
    title_y = round(y + pad + title_px, 2)
    label_y = title_y if compact else round(title_y + px * 1.9, 2)
    x0 = round(x + pad + label_w + sizes.px(8), 2)
    x1 = round(x + w - pad - sizes.px(6), 2)
    y0 = round(label_y + px * 1.6, 2)
    y1 = round(y + h - pad - px * 1.8, 2)

    def to_y(v: float) -> float:
        if math.isnan(v):
            return y0
        v = min(max(v, ymin), ymax)
        return round(y1 - (y1 - y0) * (v - ymin) / (ymax - ymin), 2)

    def to_x(k: int) -> float:
        if len(steps) == 1:
            return round((x0 + x1) / 2, 2)
        return round(x0 + (x1 - x0) * k / (len(steps) - 1), 2)

    loss_phase = next(p for p in timing.phases if p["name"] == "loss")
    points, times = [], []
    for k, v in enumerate(losses):
        times.append(loss_phase["t0"] if k == 0 else timing.train_starts[k])
        points.append({"x": to_x(k), "y": to_y(v),
                       "label": f"L = {num(v)}" if compact else f"step {k + 1} of {len(steps)} · L = {num(v)}"})
    every = max(1, math.ceil(1.5 * px * n_ticks / max(y1 - y0, 1e-9)))   # tick labels never touch
    yticks = [{"y": to_y(ymin + (ymax - ymin) * k / n_ticks), "text": text,
               "text_y": round(to_y(ymin + (ymax - ymin) * k / n_ticks) + px * 0.35, 2)}
              for k, text in enumerate(tick_texts) if k % every == 0]
    title = "Loss per training step"
    if compact:   # the newest loss beside the title, if both fit
        widest = max([fonts.measure(p["label"], font) for p in points] + [0.0])
        title = "Loss per step" if fonts.measure("Loss per step", title_font) + px + widest <= w - 2 * pad else "Loss"
    if not finite:  # nothing to plot: no made-up axis, the panel says why
        title, yticks, points, times = f"Loss: {num(losses[-1])} at every step", [], [], []
    xs = sorted({0, (len(steps) - 1) // 2, len(steps) - 1}) if len(steps) > 2 else list(range(len(steps)))
    xticks = [{"x": to_x(k), "text": str(k + 1)} for k in xs]
    return {
        "x": x, "y": y, "w": w, "h": h, "radius": sizes.px(10),
        "background": "panel", "border": "edge_idle", "grid": "edge_idle",
        "text": "text", "muted": "muted",
        "title_font": title_font, "font": font,
        "title": {"text": title, "x": round(x + pad, 2), "y": title_y},
        "label": {"x": round(x + pad + (fonts.measure(title, title_font) + px if compact else 0), 2), "y": label_y},
        "plot": [x0, y0, x1, y1], "ytick_x": round(x0 - sizes.px(6), 2),
        "xtick_y": round(y1 + px * 1.4, 2), "yticks": yticks, "xticks": xticks,
        "line_color": "forward", "line_width": sizes.px(2),
        "dot_r": sizes.px(2.5), "current_r": sizes.px(5), "current_color": "loss",
        "points": points, "shown": count_track(times),
    }


__all__ = ["STALE", "DIM_TIME", "train_count", "step_texts", "update_text", "update_lines",
           "training_captions", "end_lines", "build_loss_curve", "optimizer_text"]
