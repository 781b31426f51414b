"""Trace -> Scene: the fully resolved, versioned description both backends interpret.

Everything a viewer sees is decided here: positions, routes, colour roles, fonts, and every
string already formatted and fitted. A backend only evaluates tracks at time t, looks colours
up in the current palette, and draws (DESIGN rules 2-3). docs/formats.md documents the result
field by field; bprender/schemas/scene.schema.json is its JSON Schema.
"""
from __future__ import annotations

import math

from ..fmt import summary_sign_value
from ..notation import notation_for, spelled
from ..jsonio import to_float
from ..layout import DoesNotFit, layered_layout
from ..lecture import stop_times
from ..reading import pace_scale
from ..timeline import Timing, make_timing
from ..tracks import count_track
from ..views import make_view
from ..views.graph import ViewGraph
from ..chain_rule.factors import step_factors
from .captions import build_captions, caption_font, caption_script, reading_needs, step_text_widths
from .chain_heat import chain_block
from .boundary import boundary_map
from .chart import build_chart
from .edges import edge_label_text, place_labels, scene_edge
from .header import build_header, header_lines
from .glyphs import has_glyphs
from ..views.hide import without_groups
from ..views.repeats import brief_repeats
from .nodes import downstream, group_of, groups, node_boxes, scene_node
from .regions import caption_band, caption_text_width, regions_for
from .style import Sizes, gradient_style, magnitude_text, sizes_for
from .camera import build_camera
from .text import TextFitter
from .themes import palettes
from .predictions import build_predictions, prediction_table
from .training import DIM_TIME, STALE, build_loss_curve, edge_step_texts, step_texts, step_traces, train_count

SCENE_SCHEMA = "bprender.scene/2"
ROOMY_GLYPHS = 130  # px at 1280x720: the column gap of a graph with heatmap glyphs
DIM = 0.15  # opacity of what a highlighted node's gradient paths do not pass through


def build_scene(trace: dict, settings: dict, fonts) -> dict:
    """settings: {"size": [w, h], "fps", "theme", "pacing": {...}, "fonts": scene font list,
    "view", "collapse_views", optional "names" ("lecture" | "torch") and "renames" (a preset's
    `names:` map), optional "pace" (reading.PACES), "end_at" (hold the end until then),
    "text_scale", "chart_axis" and "floor_height" (the
    height the type floor is relative to: the whole frame's, for a panel of it)}.
    fonts: a FontBook over those fonts, for sizing boxes and fitting text."""
    width, height = settings["size"]
    fitter = TextFitter(fonts)
    sizes = sizes_for(width, height, settings.get("text_scale", 1.0), settings.get("floor_height"))
    names = notation_for(trace, settings)

    def view_of(t: dict):
        return scene_view(t, settings, names)

    graph = view_of(trace)
    n_train = train_count(trace)
    # the captions' words first: each phase and step lasts as long as its caption takes to read
    text_w = caption_text_width(width, sizes)
    script = caption_script(trace, graph, text_w, names)
    # a Linear's, a conv's, attention's step: its factors as heatmaps in the band, the text beside
    band = caption_band(width, height, sizes)
    blocks = [chain_block(f, band, sizes, fonts, text_w) for f in step_factors(trace, graph.steps, names.param)]
    reading = reading_needs(script, graph, fitter, caption_font(sizes), text_w,
                            step_text_widths(blocks, text_w, sizes))
    timing = make_timing(graph, settings["pacing"], n_train, reading, pace_scale(settings.get("pace")),
                         end_at=settings.get("end_at"))
    grads = gradient_style([summary_sign_value(e.grad) for e in graph.edges if e.carries_grad]
                           + [summary_sign_value(n.grad) for n in graph.nodes if n.grad]
                           + [x for n in graph.nodes for x in n.repeats])   # a folded block's per repeat
    header = build_header(trace, width, sizes, fitter, timing.phases, extra=_legend_extras(graph, grads))
    traces = step_traces(trace)            # every training step's numbers, for a small graph
    graphs = [view_of(t) for t in traces] if traces else None
    table = prediction_table(trace, traces) if traces else None
    plane = boundary_map(trace, table["output"], table["kind"], table["target_values"]) if table else None
    regions = regions_for(width, height, sizes, training=bool(n_train), header_lines=header_lines(header),
                          prediction_rows=len(table["targets"]) if table else 0, boundary=plane is not None)
    per_step = step_texts(trace, graph, graphs)
    layout = fit_layout(graph, regions.graph, sizes, fonts, per_step, grads.level)

    nodes = [scene_node(n, layout.boxes[n.id], graph, timing, sizes, fonts, per_step.get(n.id), grads.level)
             for n in graph.nodes]
    edges, particles = [], []
    edge_texts = edge_step_texts(graphs, edge_label_text)
    for index, e in enumerate(graph.edges):
        edge, edge_particles = scene_edge(index, e, layout.routes[e.id], timing, grads, sizes, fonts,
                                          graph.edge_labels, edge_texts.get(e.id))
        edges.append(edge)
        particles.extend(edge_particles)
    particles.sort(key=lambda p: (p["track"][0][0], p["edge"]))
    place_labels(edges, nodes)
    if n_train and graphs is None:
        _dim_stale(nodes, edges, timing)
    reach = downstream(graph)
    for node, view_node in zip(nodes, graph.nodes):
        node["reach"] = reach[view_node.id]
        node["group"] = group_of(view_node, names)

    scene = {
        "schema": SCENE_SCHEMA,
        "title": trace.get("title", ""),
        "width": width,
        "height": height,
        "fps": settings["fps"],
        "duration": timing.duration,
        "fonts": settings["fonts"],
        "theme": settings["theme"],
        "palettes": palettes(),
        "header": header,
        "phases": timing.phases,
        "events": _events(timing, graph),
        "nodes": nodes,
        "edges": edges,
        "particles": particles,
        "captions": build_captions(trace, graph, timing, script, sizes, fitter, regions, names, nodes, edges,
                                   blocks),
        "view": graph.kind,
        "groups": groups(nodes),
        "chart": build_chart(trace, leaf_times(trace, graph, timing, names), sizes, fonts, width,
                             axis=settings.get("chart_axis"), names=names),
        "dim": DIM,
    }
    scene["stops"] = stop_times(scene)
    camera = build_camera(graph, nodes, timing, regions.graph, sizes.floor) if nodes else None
    if camera is not None:
        scene["camera"] = camera
    if n_train:
        # per-step strings are picked by this track: the number of later steps begun
        scene["train"] = {"steps": n_train, "track": count_track(timing.train_starts[1:])}
        scene["loss_curve"] = build_loss_curve(trace, timing, regions.curve, sizes, fonts, compact=table is not None)
        if table is not None:
            loss_phase = next(p for p in timing.phases if p["name"] == "loss")
            scene["predictions"] = build_predictions(table, regions.predictions, sizes, loss_phase["t0"], plane, fonts)
    return scene


def _module_names(path: str, names) -> set[str]:
    """Every name a view may give the module at `path` or one around it (a view node's module is
    its path, or in lecture notation its layer, title or group: notation.py)."""
    parts = path.split(".") if path else []
    out = set()
    for k in range(1, len(parts) + 1):
        around = ".".join(parts[:k])
        out.add(around)
        if names is not None:
            out |= {names.layer(around), names.module(around), names.where(around), names.group(around)}
    out.discard("")
    return out


def leaf_times(trace: dict, graph: ViewGraph, timing: Timing, names=None) -> dict[str, float]:
    """When the backward pass reaches each leaf parameter (trace node id -> time), so the chart's
    bar for a layer grows as its gradients arrive: the leaf's own node in the ops view; in a view
    that draws modules or neurons, the first step at a node of the leaf's module (or of the
    module drawn whole around it). A leaf no step reaches counts at the end of the backward pass."""
    step_of_module: dict[str, float] = {}
    nodes = {n.id: n for n in graph.nodes}
    for step, t in zip(graph.steps, timing.steps):
        for node_id in step.nodes:
            module = nodes[node_id].module if node_id in nodes else ""
            if module:
                step_of_module.setdefault(module, t)
    backward_end = next(p["t1"] for p in timing.phases if p["name"] == "backward")
    trace_nodes = {n["id"]: n for n in trace["nodes"]}
    out = {}
    for leaf in trace.get("leaves", []):
        node_id = leaf.get("node")
        if not node_id:
            continue
        if node_id in timing.fired:
            out[node_id] = timing.fired[node_id]
            continue
        module = (trace_nodes.get(node_id) or {}).get("module") or ""
        shown = _module_names(module, names)
        around = [t for m, t in step_of_module.items() if m in shown]
        out[node_id] = min(around) if around else backward_end
    return out


def _legend_extras(graph: ViewGraph, grads) -> list[tuple[str, str]]:
    """The legend's magnitude range, the NaN/Inf colour when something is NaN or infinite, and
    the no-gradient grey when frozen parts are drawn."""
    extras = []
    text = magnitude_text(grads)
    if text:
        extras.append((text, "magnitude"))
    values = [summary_sign_value(e.grad) for e in graph.edges if e.carries_grad] + \
        [summary_sign_value(n.grad) for n in graph.nodes if n.grad]
    cells = [to_float(v) for n in graph.nodes for summary in (n.value, n.grad)
             for v in ((summary or {}).get("heat") or {}).get("values", ())]  # what the heatmaps draw
    if any(not math.isfinite(v) for v in values + cells):
        extras.append(("NaN / ∞", "nonfinite"))
    if any(n.kind == "frozen" for n in graph.nodes):  # grey boxes: frozen, buffers, detached
        extras.append(("no gradient", "node_stroke"))
    return extras


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


def fit_layout(graph: ViewGraph, area, sizes: Sizes, fonts, per_step: dict | None = None, level_of=None):
    """The graph laid out with its text at the made size (never smaller: the type floor) in
    `area` (x, y, w, h), or, when it needs more room, in a world as much bigger as it needs,
    which the camera then shows part by part."""
    ids = [n.id for n in graph.nodes]
    edges = [(e.id, e.src, e.dst) for e in graph.edges]
    widths, heights = node_boxes(graph, sizes, fonts, per_step or {}, level_of)
    sized = {k: (w, heights[k]) for k, w in widths.items()}
    max_gaps = (sizes.px(170), sizes.px(70))
    round_nodes = graph.shape == "circle"
    # boxes with heatmaps are wide, and the edges between them carry the gradient labels: a
    # column gap a label fits in keeps it off the glyphs
    drawn = [n for n in graph.nodes if has_glyphs(n, graph.shape) and not (per_step or {}).get(n.id)]
    roomy = sizes.px(ROOMY_GLYPHS if drawn else 36)   # (a node with per-step numbers draws no glyph)
    for gaps in ((roomy, sizes.px(18)), (sizes.px(36), sizes.px(18)), (sizes.px(16), sizes.px(8))):  # roomy, then tight
        try:
            return layered_layout(ids, sized, edges, area, gaps=gaps, max_gaps=max_gaps, round_nodes=round_nodes)
        except DoesNotFit:
            pass
    world = area
    for _ in range(16):
        try:
            return layered_layout(ids, sized, edges, world, gaps=(roomy, sizes.px(18)), max_gaps=max_gaps,
                                  round_nodes=round_nodes)
        except DoesNotFit as err:  # keep the view's shape, grow by what it lacks
            grow = 1.02 / max(err.ratio, 1e-3)
            world = (world[0], world[1], world[2] * grow, world[3] * grow)
    raise AssertionError("layout did not converge")  # each round grows the world: unreachable in practice


def scene_view(trace: dict, settings: dict, names=None) -> ViewGraph:
    """The view graph a scene of these settings draws (the page's fold variants match their
    nodes and steps through it: folds.py)."""
    names = names or notation_for(trace, settings)
    view = make_view(trace, settings.get("view", "ops"), collapse=settings.get("collapse_views", True),
                     depth=settings.get("depth"), expand=settings.get("expand") or (), names=names,
                     sample=settings.get("sample"))
    if settings.get("hide"):   # left out before the layout: the rest fills the frame
        view = without_groups(view, settings["hide"], lambda n: group_of(n, names))
    return brief_repeats(view)


def _events(timing: Timing, graph: ViewGraph) -> list[dict]:
    events = [{"t": p["t0"], "name": p["name"], "label": p["label"]} for p in timing.phases]
    for k, (step, t) in enumerate(zip(graph.steps, timing.steps)):
        events.append({"t": t, "name": f"backward:{k}", "label": f"step {k + 1}: {spelled(step.label)}"})
        if step.repeat_of is not None:
            events[-1]["repeat_of"] = f"backward:{step.repeat_of}"
    for k, t in enumerate(timing.train_starts[1:], start=2):
        events.append({"t": t, "name": f"step:{k}", "label": f"training step {k}"})
    return sorted(events, key=lambda e: (e["t"], e["name"]))
