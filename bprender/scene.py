"""Trace -> Scene: the fully resolved, versioned description both backends interpret.

Everything a viewer sees is decided here: positions, routes, colours, fonts, and every string
already formatted. A backend only evaluates tracks at time t and draws (DESIGN rules 2-3).
"""
from __future__ import annotations

from .captions import build_captions, caption_band_height, fit_text
from .chart import build_chart
from .fmt import num, shape_text, summary_scalar, summary_sign_value, summary_text
from .views import make_view
from .views.graph import ViewGraph
from .layout import layered_layout, point_along, sample_route
from .layout import DoesNotFit
from .style import FAMILY, GradientStyle, Sizes, gradient_style, sign_color, sizes_for
from .theme import theme_colors
from .timeline import PHASE_LABELS, Timing, make_timing
from .tracks import pulse, ramp
from .training import (DIM_TIME, STALE, build_loss_curve, step_texts, train_count)

SCENE_SCHEMA = "bprender.scene/1"
FADE = 0.2  # seconds for labels and captions to fade in


def build_scene(trace: dict, settings: dict, fonts) -> dict:
    """settings: {"size": [w, h], "fps", "theme", "pacing": {...}, "text_scale", "font_files"}.
    fonts: a FontBook (measure(text, css_font) -> px) for sizing boxes and fitting captions."""
    width, height = settings["size"]
    colors = theme_colors(settings["theme"])
    sizes = sizes_for(width, height, settings.get("text_scale", 1.0))
    graph = make_view(trace, settings.get("view", "ops"), collapse=settings.get("collapse_views", True))
    n_train = train_count(trace)
    timing = make_timing(graph, settings["pacing"], n_train)
    per_step = step_texts(trace, graph)
    grads = gradient_style([summary_sign_value(e.grad) for e in graph.edges if e.carries_grad]
                           + [summary_sign_value(n.grad) for n in graph.nodes if n.grad])

    panel = _curve_rect(width, height, sizes) if n_train else None
    node_sizes, layout = _fit_layout(graph, width, height, settings.get("text_scale", 1.0), fonts,
                                     per_step, reserve=(panel[2] + sizes.px(24)) if panel else 0.0)

    nodes = [_node(n, layout.boxes[n.id], graph, timing, node_sizes, colors, per_step.get(n.id))
             for n in graph.nodes]
    edges, particles = [], []
    for index, e in enumerate(graph.edges):
        edge, edge_particles = _edge(index, e, layout.routes[e.id], timing, grads, node_sizes, colors, fonts,
                                    graph.edge_labels)
        edges.append(edge)
        particles.extend(edge_particles)
    particles.sort(key=lambda p: (p["t0"], p["edge"]))
    place_labels(edges, nodes)
    if n_train:
        _dim_stale(nodes, edges, timing)
    reach = downstream(graph)
    for node, view_node in zip(nodes, graph.nodes):
        node["reach"] = reach[view_node.id]
        node["group"] = group_of(view_node)

    scene = {
        "schema": SCENE_SCHEMA,
        "title": trace.get("title", ""),
        "width": width,
        "height": height,
        "fps": settings["fps"],
        "duration": timing.duration,
        "fonts": [{"family": FAMILY, "weight": 400, "file": settings["font_files"]["regular"]},
                  {"family": FAMILY, "weight": 600, "file": settings["font_files"]["bold"]}],
        "colors": colors,
        "header": _header(trace, width, sizes, colors, fonts, [p["label"] for p in timing.phases]),
        "phases": timing.phases,
        "events": _events(timing, graph),
        "nodes": nodes,
        "edges": edges,
        "particles": particles,
        "captions": build_captions(trace, graph, timing, sizes, fonts, width, height, colors),
        "view": graph.kind,
        "groups": groups(nodes),
        "chart": build_chart(trace, timing.fired, sizes, fonts, width, colors, axis=settings.get("chart_axis")),
        "dim": DIM,
    }
    if n_train:
        # per-step strings are chosen by the step index: the last of these starts <= t
        scene["train"] = {"steps": n_train, "starts": timing.train_starts}
        scene["loss_curve"] = build_loss_curve(trace, timing, panel, sizes, fonts, colors)
    return scene


def _curve_rect(width: int, height: int, sizes: Sizes) -> tuple[float, float, float, float]:
    """Where the loss-curve panel goes: a column on the right of the graph area."""
    top = header_bottom(sizes) + sizes.px(14)
    bottom = height - caption_band_height(sizes) - sizes.px(16) - sizes.px(14)
    w = round(width * 0.23, 2)
    h = round(min(bottom - top, w * 0.9), 2)
    return (round(width - sizes.px(40) - w, 2), round(top + (bottom - top - h) / 2, 2), w, h)


def _dim_stale(nodes: list[dict], edges: list[dict], timing: Timing) -> None:
    """After step 1 only the loss and the parameters are recorded: the ops' values and
    gradients and the edges' gradient labels stay step 1's, so they are dimmed."""
    if len(timing.train_starts) < 2:
        return
    t0 = timing.train_starts[1]
    dim = [[round(t0, 6), 1.0], [round(t0 + DIM_TIME, 6), STALE]]
    for node in nodes:
        if node["kind"] == "op":
            for name in ("lit", "grad"):
                if name in node["tracks"]:
                    node["tracks"][name] = node["tracks"][name] + dim
    for edge in edges:
        if "label" in edge["tracks"]:
            edge["tracks"]["label"] = edge["tracks"]["label"] + dim


DIM = 0.15  # opacity of what a highlighted node's gradient paths do not pass through


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


def group_of(node) -> str:
    """The legend group a node can be hidden with: the view's choice, else its top-level
    module, else its kind."""
    if node.group:
        return node.group
    module = node.module
    if module:
        return module.split(".")[0]
    return {"const": "inputs", "leaf": "parameters"}.get(node.kind, "ops")


def groups(nodes: list[dict]) -> list[str]:
    seen = []
    for node in nodes:
        if node["group"] not in seen:
            seen.append(node["group"])
    return seen


# Node text shrinks in these steps (boxes follow their text) while it stays readable; a graph
# still too big then shrinks as a whole, text and gaps together, until it fits: small print
# beats boxes drawn on top of each other or off the frame.
SHRINK = (1.0, 0.85, 0.72, 0.6)


def _fit_layout(graph: ViewGraph, width: int, height: int, text_scale: float, fonts,
                per_step: dict | None = None, reserve: float = 0.0):
    """reserve: width kept free on the right of the graph area (the loss-curve panel)."""
    fixed = sizes_for(width, height, text_scale)  # header and captions keep their size
    top = header_bottom(fixed) + fixed.px(14)
    bottom = height - caption_band_height(fixed) - fixed.px(16) - fixed.px(14)
    area = (fixed.px(40), top, width - 2 * fixed.px(40) - reserve, bottom - top)
    ids = [n.id for n in graph.nodes]
    edges = [(e.id, e.src, e.dst) for e in graph.edges]

    def attempt(sizes: Sizes):
        boxes, node_h = _node_boxes(graph, sizes, fonts, per_step or {})
        return layered_layout(ids, {k: (v, node_h) for k, v in boxes.items()}, edges, area,
                              gaps=(sizes.px(36), sizes.px(18)), max_gaps=(sizes.px(170), sizes.px(70)),
                              round_nodes=graph.shape == "circle")

    ratio = 1.0
    for shrink in SHRINK:
        sizes = sizes_for(width, height, text_scale * shrink)
        try:
            return sizes, attempt(sizes)
        except DoesNotFit as err:
            ratio = err.ratio
    overall = SHRINK[-1]
    for _ in range(12):
        overall *= ratio * 0.98
        sizes = sizes_for(width, height, text_scale * overall, min_text_px=0.0,
                          geometry=overall / SHRINK[-1])
        try:
            return sizes, attempt(sizes)
        except DoesNotFit as err:
            ratio = err.ratio
    raise AssertionError("layout did not converge")  # each round shrinks: unreachable in practice


def _node_lines(n, per_step: dict | None = None) -> list[tuple[str, str, str, list | None]]:
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


FONT_BASE = {"title": (17, True), "sub": (12, False), "value": (16, False), "grad": (15, True),
             "flag": (12, True), "update": (14, True)}


def _node_boxes(graph: ViewGraph, sizes: Sizes, fonts, per_step: dict) -> tuple[dict[str, float], float]:
    """One box height for the scene (same rows everywhere reads calmly) and a width per node."""
    pad = sizes.px(12)
    widths = {}
    rows = 0.0
    for n in graph.nodes:
        lines = _node_lines(n, per_step.get(n.id))
        widest = max(fonts.measure(text, sizes.font(*FONT_BASE[role]))
                     for line_text, role, _, texts in lines for text in [line_text] + (texts or []))
        widths[n.id] = round(max(widest + 2 * pad, sizes.px(84)), 2)
        rows = max(rows, sum(sizes.text_px(FONT_BASE[role][0]) * 1.3 for _, role, _, _ in lines))
    height = round(rows + 2 * pad - sizes.px(4), 2)
    if graph.shape == "circle":  # round neurons, all one size, each text block inside its circle
        text_w = max(widths.values(), default=0.0) - 2 * pad
        side = round(max((text_w * text_w + rows * rows) ** 0.5 + pad, height), 2)
        return {k: side for k in widths}, side
    return widths, height


def tooltip_lines(n) -> list[str]:
    """What hovering a node shows in the player: op, module, shape, value and gradient (with
    statistics for tensors)."""
    if n.kind == "const":
        lines = [f"constant {n.label} (no gradient)"]
    elif n.kind == "leaf":
        lines = [f"leaf {n.label} (requires grad)"]
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


def _node(n, box, graph, timing: Timing, sizes: Sizes, colors, per_step: dict | None = None) -> dict:
    fill = {"leaf": colors["leaf_fill"], "const": colors["const_fill"], "frozen": colors["const_fill"]}.get(n.kind, colors["node_fill"])
    stroke = colors["loss"] if n.kind == "loss" else colors["node_stroke"]
    grad_value = summary_sign_value(n.grad)
    # a flagged layer's border and gradient take the flag colour: that is what to look at
    grad_color = colors["flag"] if n.flag else sign_color(grad_value, colors)
    t_fwd = timing.forward.get(n.id, 0.0)
    lit_at = t_fwd + (0.0 if n.kind in ("leaf", "const") else 0.6 * timing.forward_step)
    fired = timing.fired.get(n.id)
    tracks = {
        "lit": ramp(lit_at, lit_at + FADE),
        "pulse": pulse(lit_at - 0.05, lit_at + 0.45),
    }
    if fired is not None:
        tracks["grad"] = ramp(fired, fired + FADE)
        tracks["gpulse"] = pulse(fired - 0.05, fired + 0.6)
    if n.kind == "loss":
        loss_phase = next(p for p in timing.phases if p["name"] == "loss")
        tracks["pulse"] = pulse(lit_at - 0.05, lit_at + 0.45) + pulse(loss_phase["t0"], loss_phase["t1"])[1:]
    if per_step:
        _training_tracks(n, tracks, timing)

    line_specs = _node_lines(n, per_step)
    total = sum(sizes.text_px(FONT_BASE[role][0]) * 1.3 for _, role, _, _ in line_specs)
    y = box.y - total / 2
    lines = []
    for text, role, track, texts in line_specs:
        px = sizes.text_px(FONT_BASE[role][0])
        y += px * 1.3
        color = {"sub": colors["muted"], "grad": grad_color, "flag": colors["flag"],
                 "update": colors["loss"]}.get(role, colors["text"])
        line = {"text": text, "font": sizes.font(*FONT_BASE[role]), "color": color,
                "y": round(y - px * 0.32, 2), "track": track}
        if texts is not None:
            line["texts"] = texts
        lines.append(line)
    return {
        "id": n.id, "kind": n.kind, "x": box.x, "y": box.y, "w": box.w, "h": box.h,
        "radius": box.w / 2 if graph.shape == "circle" else sizes.px(10), "fill": fill, "stroke": stroke,
        "stroke_width": sizes.px(3 if n.kind == "loss" else 1.5),
        "dash": [sizes.px(5), sizes.px(4)] if n.kind == "const" else [],
        "grad_stroke_width": sizes.px(2.5), "ring_width": sizes.px(4), "ring_gap": sizes.px(5),
        "ring_color": colors["forward_glow"],
        "grad_color": grad_color, "lines": lines, "tracks": tracks,
        "info": {"label": n.label, "value": summary_text(n.value), "grad": summary_text(n.grad),
                 "module": n.module, "lines": tooltip_lines(n)},
    }


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


def _edge(index, e, route, timing: Timing, grads: GradientStyle, sizes: Sizes, colors, fonts, labels: bool):
    poly = sample_route(route)
    end_x, end_y = route[-1][6], route[-1][7]
    arrow = sizes.px(7)
    edge = {
        "id": e.id, "from": e.src, "to": e.dst, "route": route, "poly": poly,
        "idle_color": colors["edge_idle"], "idle_width": sizes.px(1.5),
        "dash": [] if e.carries_grad else [sizes.px(5), sizes.px(4)],
        "cum": _cumulative(poly),
        "forward_color": colors["forward"], "forward_width": sizes.px(2.2),
        "arrow": [round(end_x - arrow, 2), round(end_y - arrow * 0.55, 2), end_x, end_y,
                  round(end_x - arrow, 2), round(end_y + arrow * 0.55, 2)],
        "tracks": {},
    }
    particles = []
    t_dst = timing.forward.get(e.dst, 0.0)
    fwd_t1 = t_dst + 0.6 * timing.forward_step
    edge["tracks"]["fwd"] = ramp(t_dst, fwd_t1)
    particles.append({"edge": index, "t0": round(t_dst, 6), "t1": round(fwd_t1, 6), "reverse": False,
                      "color": colors["forward_glow"], "radius": sizes.px(4.5)})
    fired = timing.sent.get(e.id) if e.carries_grad else None
    if fired is not None:
        value = summary_sign_value(e.grad)
        level = grads.level(value)
        color = sign_color(value, colors)
        width = sizes.px(0.75) if value == 0 else sizes.px(1.5 + 5.5 * level)
        t0 = fired + 0.2 * timing.backward_step
        t1 = fired + 0.85 * timing.backward_step
        edge.update({"grad_color": color, "grad_width": round(width, 2)})
        edge["tracks"]["bwd"] = ramp(t0, t1)
        if labels:
            text = edge_label_text(e.grad)
            font = sizes.font(13, True)
            px = sizes.text_px(13)
            edge["label"] = {"text": text, "font": font, "color": color, "fill": colors["background"],
                             "stroke": color, "w": round(fonts.measure(text, font) + px, 2),
                             "h": round(px * 1.6, 2), "radius": round(px * 0.8, 2), "baseline": round(px * 0.35, 2)}
            edge["tracks"]["label"] = ramp(t1, t1 + FADE)
        if value != 0:
            particles.append({"edge": index, "t0": round(t0, 6), "t1": round(t1, 6), "reverse": True,
                              "color": color, "radius": round(sizes.px(3 + 6 * level), 2)})
    return edge, particles


def edge_label_text(grad: dict | None) -> str:
    """The number on an edge: the value for a scalar, else the norm (shapes are on the nodes)."""
    if grad is not None and (grad.get("values") is None or len(grad["values"]) != 1):
        return f"\u2016{num(grad['stats']['norm'], 3)}\u2016"
    return summary_text(grad)


LABEL_SPOTS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78)


def place_labels(edges: list[dict], nodes: list[dict]) -> None:
    """Put each edge's gradient label at the first spot along its route that covers no box and
    no label placed before it (else the least covered spot): resolved once, drawn as data."""
    taken = [(n["x"] - n["w"] / 2 - 2, n["y"] - n["h"] / 2 - 2, n["w"] + 4, n["h"] + 4) for n in nodes]
    for edge in edges:
        label = edge.get("label")
        if label is None:
            continue
        best = None
        for spot in LABEL_SPOTS:
            x, y = point_along(edge["poly"], edge["cum"], spot)
            rect = (x - label["w"] / 2, y - label["h"] / 2, label["w"], label["h"])
            cover = sum(_overlap(rect, other) for other in taken)
            if best is None or cover < best[0]:
                best = (cover, x, y, rect)
            if cover == 0:
                break
        _, x, y, rect = best
        taken.append(rect)
        label.update({"x": round(x, 2), "y": round(y + label.pop("baseline"), 2),
                      "box": [round(v, 2) for v in rect]})


def _overlap(a, b) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _cumulative(poly: list[float]) -> list[float]:
    """Arc length at each polyline point, so particles move at even speed."""
    cum = [0.0]
    for i in range(2, len(poly), 2):
        dx, dy = poly[i] - poly[i - 2], poly[i + 1] - poly[i - 1]
        cum.append(round(cum[-1] + (dx * dx + dy * dy) ** 0.5, 3))
    return cum


def header_bottom(sizes: Sizes) -> float:
    """Where the header's last line ends: the graph area starts below it."""
    return sizes.px(22) + sizes.text_px(26) + sizes.text_px(15) * 1.9


def _header(trace, width, sizes: Sizes, colors, fonts, phase_labels: list[str] | None = None) -> dict:
    """Title and description on the left, phase and legend on the right; text that would run
    into the right-hand side is shortened with an ellipsis."""
    margin = sizes.px(40)
    gap = sizes.px(24)
    title_y = round(sizes.px(22) + sizes.text_px(26), 2)
    line2_y = round(title_y + sizes.text_px(15) * 1.7, 2)
    legend_font = sizes.font(13)
    legend_px = sizes.text_px(13)
    legend = []
    x = width - margin
    for text, color in (("negative gradient", colors["negative"]), ("positive gradient", colors["positive"]),
                        ("forward value", colors["forward_glow"])):
        w = fonts.measure(text, legend_font)
        legend.append({"text": text, "color": color, "x": round(x - w, 2), "y": line2_y,
                       "dot_x": round(x - w - legend_px * 0.75, 2), "dot_y": round(line2_y - legend_px * 0.35, 2),
                       "r": round(legend_px * 0.38, 2)})
        x -= w + legend_px * 2.2
    legend_left = x + legend_px * 2.2 - legend_px * 1.2
    phase_font = sizes.font(20, True)
    phase_w = max(fonts.measure(label, phase_font) for label in (phase_labels or PHASE_LABELS.values()))
    title_font, description_font = sizes.font(26, True), sizes.font(15)
    return {
        "title": {"text": fit_text(trace.get("title", ""), title_font, width - 2 * margin - phase_w - gap, fonts),
                  "x": margin, "y": title_y, "font": title_font, "color": colors["text"]},
        "description": {"text": fit_text(trace.get("description", ""), description_font, legend_left - margin - gap,
                                     fonts),
                        "x": margin, "y": line2_y, "font": description_font, "color": colors["muted"]},
        "phase": {"x": width - margin, "y": title_y, "font": phase_font, "color": colors["text"]},
        "legend": legend, "legend_font": legend_font,
    }


def _events(timing: Timing, graph: ViewGraph) -> list[dict]:
    events = [{"t": p["t0"], "name": p["name"], "label": p["label"]} for p in timing.phases]
    for k, (step, t) in enumerate(zip(graph.steps, timing.steps)):
        events.append({"t": t, "name": f"backward:{k}", "label": f"step {k + 1}: {step.label}"})
    for k, t in enumerate(timing.train_starts[1:], start=2):
        events.append({"t": t, "name": f"step:{k}", "label": f"training step {k}"})
    return sorted(events, key=lambda e: (e["t"], e["name"]))


__all__ = ["build_scene", "SCENE_SCHEMA"]
