"""Nodes in the Scene: each box's size from the text it must show, its lines, colour roles and
tracks (lit in the forward pass, gradient arriving, pulses), its tooltip, and what clicking it
lights up (its gradient paths to the loss)."""
from __future__ import annotations

from ..fmt import num, shape_text, summary_scalar, summary_sign_value, summary_text
from ..timeline import Timing
from ..tracks import pulse, ramp
from ..views.graph import ViewGraph
from .glyphs import block_size, glyph_panels, place_glyphs
from .style import Sizes, grad_role
from .text import TextFitter

FADE = 0.2  # seconds for labels to fade in
# line role -> (size at 1280x720, bold, primary): primary lines keep the primary floor
FONT_BASE = {"title": (17, True, True), "sub": (12, False, False), "value": (16, False, True),
             "grad": (15, True, True), "flag": (12, True, False), "update": (14, True, False)}
LINE_ROLE = {"sub": "muted", "flag": "flag", "update": "loss"}  # else "text"; "grad": its sign


def node_lines(n, per_step: dict | None = None) -> list[tuple[str, str, str, list | None]]:
    """(text, role, track, per-step texts or None) per line of a node box; roles pick font and
    colour. per_step (training): role -> one string per step; a leaf gets an update line."""
    per_step = per_step or {}
    lines = [(n.label, "title", "", None)]
    if n.sub:
        lines.append((n.sub, "sub", "", None))
    lines.append((summary_text(n.value), "value", "lit", per_step.get("value")))
    if n.kind not in ("const", "frozen"):
        lines.append(("grad " + summary_text(n.grad), "grad", "grad", per_step.get("grad")))
    if n.flag:  # "vanishing" / "exploding", shown with the gradient it is about
        lines.append((n.flag, "flag", "grad", None))
    if "update" in per_step:  # old -> new, from the update phase on
        lines.append((per_step["update"][0], "update", "update", per_step["update"]))
    return lines


MAX_LINE_W = 520  # px at 1280x720: a longer name (a 100,000-character module name) is shortened


def fitted_lines(n, per_step: dict | None, sizes: Sizes, fonts) -> list[tuple[str, str, str, list | None]]:
    """node_lines with every string shortened to MAX_LINE_W, so one absurd name cannot make
    its box (and the whole graph) wider than any view."""
    fitter = TextFitter(fonts)
    width = sizes.px(MAX_LINE_W)
    out = []
    for text, role, track, texts in node_lines(n, per_step):
        font = _font(sizes, role)
        out.append((fitter.fit(text, font, width), role, track,
                    [fitter.fit(t, font, width) for t in texts] if texts is not None else None))
    return out


def node_boxes(graph: ViewGraph, sizes: Sizes, fonts, per_step: dict,
               level_of=None) -> tuple[dict[str, float], dict[str, float]]:
    """A width and a height per node: the text's rows are one height for the scene (same rows
    everywhere reads calmly); a tensor node grows to fit its heatmap glyphs below them (level_of:
    the scene's magnitude scale, for a folded block's strip per repeat)."""
    pad = sizes.px(12)
    widths, glyphs = {}, {}
    rows = 0.0
    for n in graph.nodes:
        lines = fitted_lines(n, per_step.get(n.id), sizes, fonts)
        widest = max(fonts.measure(text, _font(sizes, role))
                     for line_text, role, _, texts in lines for text in [line_text] + (texts or []))
        glyphs[n.id] = block_size(glyph_panels(n, graph.shape, sizes, fonts, per_step.get(n.id), level_of), sizes)
        widths[n.id] = round(max(widest + 2 * pad, glyphs[n.id][0] + 2 * pad, sizes.px(84)), 2)
        rows = max(rows, sum(_px(sizes, role) * 1.3 for _, role, _, _ in lines))
    height = round(rows + 2 * pad - sizes.px(4), 2)
    if graph.shape == "circle":  # round neurons, all one size, each text block inside its circle
        text_w = max(widths.values(), default=0.0) - 2 * pad
        side = round(max((text_w * text_w + rows * rows) ** 0.5 + pad, height), 2)
        return {k: side for k in widths}, {k: side for k in widths}
    return widths, {k: round(height + (h + sizes.px(GLYPH_GAP) if h else 0.0), 2) for k, (_, h) in glyphs.items()}


GLYPH_GAP = 6  # px at 1280x720 between a node's text and its glyphs


def tooltip_lines(n) -> list[str]:
    """What hovering a node shows in the player: op, module, shape, value and gradient (with
    statistics for tensors)."""
    if n.kind == "const":
        lines = [f"constant {n.label} (no gradient)"]
    elif n.kind == "leaf":
        lines = [f"leaf {n.label} (requires grad)"]
    elif n.op.startswith(f"{n.label} = "):   # a named value: what it stands for (z¹ = W¹x + b¹)
        lines = [n.op + ("  · the loss" if n.kind == "loss" else "")]
    else:
        lines = [f"{n.label}" + (f" ({n.op})" if n.op and n.op != n.label else "")
                 + ("  · the loss" if n.kind == "loss" else "")]
    if n.module:
        lines.append(f"module: {n.module}")
    if n.value:
        lines.append(f"shape: {shape_text(n.value.get('shape') or [])}")
    for name, summary in (("value", n.value), ("grad", n.grad)):
        if not summary:
            continue
        lines.append(f"{name}: {summary_text(summary)}")
        if summary_scalar(summary) is None and summary.get("stats"):
            stats = summary["stats"]
            lines.append("   " + "  ".join(f"{k} {num(stats[k], 3)}" for k in ("min", "max", "mean", "norm")))
    if n.flag:
        lines.append(f"{n.flag} gradient")
    return lines


def _font(sizes: Sizes, role: str) -> str:
    base, bold, primary = FONT_BASE[role]
    return sizes.font(base, bold, primary)


def _px(sizes: Sizes, role: str) -> float:
    base, _, primary = FONT_BASE[role]
    return sizes.text_px(base, primary)


def scene_node(n, box, graph: ViewGraph, timing: Timing, sizes: Sizes, fonts, per_step: dict | None = None,
               level_of=None) -> dict:
    fill = {"leaf": "leaf_fill", "const": "const_fill", "frozen": "const_fill"}.get(n.kind, "node_fill")
    # a flagged layer's border and gradient take the flag colour: that is what to look at
    grad_color = "flag" if n.flag else grad_role(n.grad, summary_sign_value(n.grad))
    t_fwd = timing.forward.get(n.id, 0.0)
    lit_at = t_fwd + (0.0 if n.kind in ("leaf", "const") else 0.6 * timing.forward_step)
    fired = timing.fired.get(n.id)
    tracks = {"lit": ramp(lit_at, lit_at + FADE), "pulse": pulse(lit_at - 0.05, lit_at + 0.45)}
    if fired is not None:
        tracks["grad"] = ramp(fired, fired + FADE)
        tracks["gpulse"] = pulse(fired - 0.05, fired + 0.6)
    if n.kind == "loss":
        loss_phase = next(p for p in timing.phases if p["name"] == "loss")
        tracks["pulse"] = pulse(lit_at - 0.05, lit_at + 0.45) + pulse(loss_phase["t0"], loss_phase["t1"])[1:]
    if per_step:
        _training_tracks(n, tracks, timing)

    line_specs = fitted_lines(n, per_step, sizes, fonts)
    total = sum(_px(sizes, role) * 1.3 for _, role, _, _ in line_specs)
    panels = glyph_panels(n, graph.shape, sizes, fonts, per_step, level_of)
    block_h = block_size(panels, sizes)[1]
    content = total + (block_h + sizes.px(GLYPH_GAP) if panels else 0.0)
    y = box.y - content / 2
    lines = []
    for text, role, track, texts in line_specs:
        px = _px(sizes, role)
        y += px * 1.3
        font = _font(sizes, role)
        # px and the widest string's width w: a camera hides a line that would be drawn under
        # the type floor or not wholly inside the view
        line = {"text": text, "font": font, "px": px,
                "w": round(max(fonts.measure(s, font) for s in [text] + (texts or [])), 2),
                "color": grad_color if role == "grad" else LINE_ROLE.get(role, "text"),
                "y": round(y - px * 0.32, 2), "track": track}
        if texts is not None:
            line["texts"] = texts
        lines.append(line)
    node = {
        "id": n.id, "kind": n.kind, "x": box.x, "y": box.y, "w": box.w, "h": box.h,
        "radius": box.w / 2 if graph.shape == "circle" else sizes.px(10), "fill": fill,
        "stroke": "loss" if n.kind == "loss" else "node_stroke",
        "stroke_width": sizes.px(3 if n.kind == "loss" else 1.5),
        "dash": [sizes.px(5), sizes.px(4)] if n.kind == "const" else [],
        "grad_stroke_width": sizes.px(2.5), "ring_width": sizes.px(4), "ring_gap": sizes.px(5),
        "ring_color": "forward_glow",
        "grad_color": grad_color, "lines": lines, "tracks": tracks,
        "info": {"label": n.label, "value": summary_text(n.value), "grad": summary_text(n.grad),
                 "module": n.module, "lines": tooltip_lines(n)},
    }
    if panels:  # below the text: the value's heatmap, then the gradient's
        node["glyphs"] = place_glyphs(panels, box.x, round(box.y - content / 2 + total + sizes.px(GLYPH_GAP), 2),
                                      sizes)
    return node


def _training_tracks(n, tracks: dict, timing: Timing) -> None:
    """A parameter pulses and shows old -> new in the update phase; the loss pulses at every
    later step (its value changes with each)."""
    update = next(p for p in timing.phases if p["name"] == "update")
    if n.kind == "leaf":
        tracks["update"] = ramp(update["t0"] + 0.3, update["t0"] + 0.3 + 2 * FADE)
        tracks["pulse"] = tracks["pulse"] + pulse(update["t0"], update["t0"] + 0.9)
    elif n.kind == "loss":
        starts = timing.train_starts[1:]
        step = (starts[1] - starts[0]) if len(starts) > 1 else 0.4
        for t0 in starts:
            tracks["pulse"] = tracks["pulse"] + pulse(t0, t0 + 0.8 * step)


def downstream(graph: ViewGraph) -> dict[str, list[str]]:
    """For each node, the nodes on its gradient paths to the loss (itself and every node its
    value flows into), in scene order: clicking a node lights these up."""
    consumers: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for e in graph.edges:
        consumers[e.src].append(e.dst)
    order = {n.id: i for i, n in enumerate(graph.nodes)}
    reach = {}
    for n in graph.nodes:
        seen, stack = {n.id}, [n.id]
        while stack:
            for nxt in consumers[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        reach[n.id] = sorted(seen, key=order.__getitem__)
    return reach


def group_of(node, names=None) -> str:
    """The legend group a node can be hidden with: the view's choice, else its top-level
    module (as the notation names it), else its kind."""
    if node.group:
        return node.group
    module = node.module
    if module:
        return names.group(module) if names is not None else module.split(".")[0]
    return {"const": "inputs", "leaf": "parameters"}.get(node.kind, "ops")


def groups(nodes: list[dict]) -> list[str]:
    seen = []
    for node in nodes:
        if node["group"] not in seen:
            seen.append(node["group"])
    return seen
