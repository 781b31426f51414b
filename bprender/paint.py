"""The painter: one frame of a Scene at time t, drawn through the Canvas 2D API only.

web_player/paint.js mirrors this file function for function and call for call; the op-log
test holds them equal. So: no measuring, no formatting, no decisions about looks here. Read the
scene, evaluate tracks, look colour roles up in the palette, draw. Any new look belongs in
the scene stage (bprender/scene/).
Python-only helpers that find something once per scene or view state (bounds, a view's
opacities, route curves as tuples) and skip what legible() would zero (under_floor) only save
work per frame: the calls stay those of paint.js.
"""
from __future__ import annotations

import math

from .bands import caption_extent, header_extent
from .canvas.bitmap import Bitmap
from .canvas.path2d import Path2D
from .layout import point_along
from .scene.glyphs import GAP, LEVELS, NONFINITE  # a heatmap cell's levels, as the scene writes them
from .stillness import Stillness
from .tracks import active, value_at

TAU = 2 * math.pi
VISIBLE = 0.002  # below this an alpha is invisible: skip the draw calls


def palette_of(scene: dict, view: dict | None) -> dict:
    """The colours of the view's theme (else the scene's own): role -> CSS colour."""
    theme = (view or {}).get("theme") or scene["theme"]
    return scene["palettes"][theme]


def paint_frame(ctx, scene: dict, t: float, view: dict | None = None, within: dict | None = None) -> None:
    """Draw the frame at time t. view = {"highlight": node id or None, "hidden": [group names],
    "theme": palette name or None}: a highlighted node keeps its gradient paths to the loss
    bright and dims the rest; hidden groups are not drawn; colours come from the theme.
    within (the raster loop's damage, damage.py; never in paint.js): the frame is right only inside
    its device rectangles: the background is laid there alone, and of the parts only those it
    names (all that meet them) are drawn, each whole (the caller copies the rectangles out)."""
    if "panels" in scene:
        paint_panels(ctx, scene, t, view)
        return
    colors = palette_of(scene, view)
    node_opacity, edge_opacity, edge_bound, node_bound = view_of(scene, view or {})
    ctx.globalAlpha = 1.0
    ctx.fillStyle = colors["background"]
    if within is None:
        ctx.fillRect(0, 0, scene["width"], scene["height"])
    else:
        for x0, y0, x1, y1 in within["rects"]:
            ctx.fillRect(x0, y0, x1 - x0, y1 - y0)
    if within is None or within["header"]:
        paint_band(ctx, scene["header"], header_extent, (scene["width"],), paint_header, t, colors)
    camera = scene.get("camera")
    lens = None
    if camera is not None:  # the graph layer through the camera, clipped to its view
        cx, cy, zoom = camera_at(camera, t, view)
        lens = lens_of(camera, cx, cy, zoom)
        ctx.save()
        ctx.beginPath()
        ctx.rect(camera["x"], camera["y"], camera["w"], camera["h"])
        ctx.clip()
        ctx.translate(camera["x"] + camera["w"] / 2, camera["y"] + camera["h"] / 2)
        ctx.scale(zoom, zoom)
        ctx.translate(-cx, -cy)
    # under the camera what lies wholly outside the view is not drawn at all (a big graph seen
    # close up: most of it), by the same rule in both painters
    edge_seen = [edge_opacity[i] > 0 and in_view(lens, edge_bound[i]) for i in range(len(edge_opacity))]
    edges_within = within["edges"] if within is not None else None
    for i, edge in enumerate(scene["edges"]):
        if edge_seen[i] and (edges_within is None or i in edges_within):
            paint_edge(ctx, edge, t, edge_opacity[i], colors)
    particles_within = within["particles"] if within is not None else None
    for k, particle in enumerate(scene["particles"]):
        if (active(particle["track"], t) and edge_seen[particle["edge"]]
                and (particles_within is None or k in particles_within)):
            paint_particle(ctx, particle, scene["edges"][particle["edge"]], t, edge_opacity[particle["edge"]],
                           colors)
    step = int(value_at(scene["train"]["track"], t)) if "train" in scene else 0
    nodes_within = within["nodes"] if within is not None else None
    for i, node in enumerate(scene["nodes"]):
        if node_opacity[i] > 0 and in_view(lens, node_bound[i]) and (nodes_within is None or i in nodes_within):
            paint_node(ctx, node, t, node_opacity[i], step, colors, lens)
    for i, edge in enumerate(scene["edges"]):
        if ("label" in edge and edge_opacity[i] > 0 and not under_floor(lens, edge["label"]["px"])
                and in_view(lens, box_bounds(edge["label"]["box"])) and (edges_within is None or i in edges_within)):
            paint_edge_label(ctx, edge, t, edge_opacity[i], colors, step, lens)
    if camera is not None:
        ctx.restore()
        paint_inset(ctx, camera["inset"], lens, colors)
    if "loss_curve" in scene:
        paint_loss_curve(ctx, scene["loss_curve"], t, colors)
    if "predictions" in scene:
        paint_predictions(ctx, scene["predictions"], t, step, colors)
    if within is None or within["caption"]:
        paint_band(ctx, scene["captions"], caption_extent, (scene["width"], scene["height"]), paint_caption, t,
                   colors)
    ctx.globalAlpha = 1.0


def paint_panels(ctx, scene: dict, t: float, view: dict | None) -> None:
    """A side-by-side composite: each panel's scene at its place on one clock, its per-layer
    chart under it, a hairline between panels. The view state applies to every panel."""
    colors = palette_of(scene, view)
    ctx.globalAlpha = 1.0
    ctx.fillStyle = colors["background"]
    ctx.fillRect(0, 0, scene["width"], scene["height"])
    for panel in scene["panels"]:
        ctx.save()
        ctx.translate(panel["x"], panel["y"])
        paint_frame(ctx, panel["scene"], t, view)
        ctx.translate(0, panel["h"])
        paint_chart(ctx, panel["scene"]["chart"], t, palette_of(panel["scene"], view))
        ctx.restore()
    ctx.strokeStyle = colors[scene["divider"]]
    ctx.lineWidth = 1.0
    for panel in scene["panels"][1:]:
        ctx.beginPath()
        ctx.moveTo(panel["x"], 0)
        ctx.lineTo(panel["x"], scene["height"])
        ctx.stroke()


def camera_at(camera: dict, t: float, view: dict | None) -> tuple[float, float, float]:
    """(centre x, centre y, zoom) at t: the view's own camera (the player's pan and zoom), else
    the scene's camera track."""
    own = (view or {}).get("camera")
    if own:
        return own["x"], own["y"], own["zoom"]
    track = camera["track"]
    return value_at(track["x"], t), value_at(track["y"], t), value_at(track["zoom"], t)


def lens_of(camera: dict, cx: float, cy: float, zoom: float) -> list:
    """[zoom, floor, x0, y0, x1, y1, ix, iy]: the camera's zoom, the type floor, the part of the
    graph in view, and where the overview inset starts (its top left corner: it covers the view
    right of ix and below iy while shown), all in graph coordinates."""
    half_w = camera["w"] / 2 / zoom
    half_h = camera["h"] / 2 / zoom
    inset = camera["inset"]
    ix, iy = cx + half_w + 1.0, cy + half_h + 1.0  # past the view: nothing is under it
    if zoom > inset["zoom_from"]:
        ix = cx + (inset["x"] - camera["x"] - camera["w"] / 2) / zoom
        iy = cy + (inset["y"] - camera["y"] - camera["h"] / 2) / zoom
    return [zoom, camera["floor"], cx - half_w, cy - half_h, cx + half_w, cy + half_h, ix, iy]


CULL_MARGIN = 32.0  # graph px around a box or a route that a ring, a glow or a particle may reach


def in_view(lens: list | None, bounds: list) -> bool:
    """Whether [x0, y0, x1, y1] (graph coordinates) meets the camera's view; True without one."""
    return lens is None or not (bounds[2] < lens[2] or bounds[0] > lens[4] or bounds[3] < lens[3] or bounds[1] > lens[5])


_found: dict = {}  # (id(a scene object), find) -> (it, what was found): the scene does not change


def _found_once(obj, find):
    """find(obj), found once per obj and find (obj is held, so its id stays its own)."""
    key = (id(obj), find)
    hit = _found.get(key)
    if hit is not None and hit[0] is obj:
        return hit[1]
    found = find(obj)
    if len(_found) > 100000:
        _found.clear()
    _found[key] = (obj, found)
    return found


def node_bounds(node: dict) -> list:
    return _found_once(node, _node_bounds)


def _node_bounds(node: dict) -> list:
    m = CULL_MARGIN
    return [node["x"] - node["w"] / 2 - m, node["y"] - node["h"] / 2 - m,
            node["x"] + node["w"] / 2 + m, node["y"] + node["h"] / 2 + m]


def largest_line_px(node: dict) -> float:
    """The size of the node's biggest line of text (found once)."""
    return _found_once(node["lines"], _largest_px)


def _largest_px(lines: list) -> float:
    return max((line["px"] for line in lines), default=0.0)


def box_bounds(box: list) -> list:
    return _found_once(box, _box_bounds)


def _box_bounds(box: list) -> list:
    m = CULL_MARGIN
    return [box[0] - m, box[1] - m, box[0] + box[2] + m, box[1] + box[3] + m]


def edge_bounds(edge: dict) -> list:
    """Around an edge's route: a bezier lies inside its control points' hull."""
    return _found_once(edge, _edge_bounds)


def _edge_bounds(edge: dict) -> list:
    xs = [seg[k] for seg in edge["route"] for k in (0, 2, 4, 6)]
    ys = [seg[k] for seg in edge["route"] for k in (1, 3, 5, 7)]
    m = CULL_MARGIN
    return [min(xs) - m, min(ys) - m, max(xs) + m, max(ys) + m]


def legible(lens: list | None, px: float, x0: float, y0: float, x1: float, y1: float) -> float:
    """How much of a text of px pixels in the box (x0, y0)-(x1, y1) to draw under the camera:
    nothing when it is not wholly in view, would be under the overview inset, or would be drawn
    under the type floor; all of it from 10% above the floor, fading in between. Without a
    camera, all of it."""
    if lens is None:
        return 1.0
    size = px * lens[0]
    floor = lens[1]
    if size <= floor:  # under the floor (tested first: the cheapest test)
        return 0.0
    if x0 < lens[2] or y0 < lens[3] or x1 > lens[4] or y1 > lens[5] or (x1 > lens[6] and y1 > lens[7]):
        return 0.0
    if size >= floor * 1.1:
        return 1.0
    return (size - floor) / (floor * 0.1)


def under_floor(lens: list | None, px: float) -> bool:
    """Whether a text of px pixels is drawn under the camera's type floor (legible() gives it 0
    wherever it is): the painters skip its other tests and its track."""
    return lens is not None and px * lens[0] <= lens[1]


def paint_inset(ctx, inset: dict, lens: list, colors: dict) -> None:
    """The overview inset of a zoomed-in camera: the whole graph small, the part in view outlined."""
    alpha = min(1.0, (lens[0] - inset["zoom_from"]) / 0.15)
    if alpha <= VISIBLE:
        return
    ctx.globalAlpha = alpha
    outlined_box(ctx, inset["x"], inset["y"], inset["w"], inset["h"], 6.0, colors["panel"], colors["edge_idle"])
    ctx.fillStyle = colors["node_stroke"]
    for box in inset["boxes"]:
        ctx.fillRect(box[0], box[1], box[2], box[3])
    scale = inset["scale"]
    left = inset["x"] + inset["pad"] - inset["origin"][0] * scale
    top = inset["y"] + inset["pad"] - inset["origin"][1] * scale
    x0 = max(inset["x"], left + lens[2] * scale)
    y0 = max(inset["y"], top + lens[3] * scale)
    x1 = min(inset["x"] + inset["w"], left + lens[4] * scale)
    y1 = min(inset["y"] + inset["h"], top + lens[5] * scale)
    ctx.strokeStyle = colors["loss"]
    ctx.lineWidth = 1.5
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0)
    ctx.globalAlpha = 1.0


_views: dict = {}  # (id(scene), highlight, hidden) -> (scene, view_of's lists): a view state is kept for many frames


def view_of(scene: dict, view: dict) -> tuple[list, list, list, list]:
    """(node opacities, edge opacities, edge bounds, node bounds) of the scene under a view state,
    found once per view state (read only: shared by the frames)."""
    key = (id(scene), view.get("highlight"), tuple(view.get("hidden") or ()))
    hit = _views.get(key)
    if hit is not None and hit[0] is scene:
        return hit[1]
    found = (*opacities(scene, view), [edge_bounds(edge) for edge in scene["edges"]],
             [node_bounds(node) for node in scene["nodes"]])
    if len(_views) > 32:  # each holds its scene: a few at a time
        _views.clear()
    _views[key] = (scene, found)
    return found


def opacities(scene: dict, view: dict) -> tuple[list, list]:
    """Opacity of every node and edge under a view state: 0 hidden, scene["dim"] dimmed, 1."""
    hidden = view.get("hidden") or []
    focus = None
    for node in scene["nodes"]:
        if node["id"] == view.get("highlight"):
            focus = set(node["reach"])
    by_id = {}
    node_opacity = []
    for node in scene["nodes"]:
        if node["group"] in hidden:
            opacity = 0.0
        elif focus is not None and node["id"] not in focus:
            opacity = scene["dim"]
        else:
            opacity = 1.0
        by_id[node["id"]] = opacity
        node_opacity.append(opacity)
    edge_opacity = []
    for edge in scene["edges"]:
        edge_opacity.append(min(by_id[edge["from"]], by_id[edge["to"]]))
    return node_opacity, edge_opacity


_bands: dict = {}  # (id(a header or captions), frame size) -> (it, its Stillness, its box): the scene does not change


def paint_band(ctx, band: dict, extent, size: tuple, draw, t: float, colors: dict) -> None:
    """draw(ctx, band, t, colors) for the header or the caption. A raster canvas pastes the
    pixels it left the last time it was drawn alike (Canvas2D.draw_block): a band stands still
    for most of the animation, and its texts are most of its cost. The op log and paint.js
    just draw it."""
    block = getattr(ctx, "draw_block", None)
    if block is None:
        draw(ctx, band, t, colors)
        return
    hit = _bands.get((id(band), size))
    if hit is None or hit[0] is not band:
        if len(_bands) > 1000:
            _bands.clear()
        hit = _bands[(id(band), size)] = (band, Stillness(band), extent(band, *size))
    stretch = hit[1].stretch(t)
    if stretch is None:  # moving: a new picture each frame, not worth remembering
        draw(ctx, band, t, colors)
    else:
        block((id(band), id(colors), stretch, size), (band, colors), hit[2], draw, band, t, colors)


def paint_header(ctx, header: dict, t: float, colors: dict) -> None:
    ctx.textBaseline = "alphabetic"
    ctx.textAlign = "left"
    for item in header["texts"]:
        ctx.font = item["font"]
        ctx.fillStyle = colors[item["color"]]
        ctx.fillText(item["text"], item["x"], item["y"])
    item = header["phase"]
    ctx.textAlign = "right"
    ctx.font = item["font"]
    ctx.fillStyle = colors[item["color"]]
    ctx.fillText(item["texts"][int(value_at(item["track"], t))], item["x"], item["y"])
    ctx.textAlign = "left"
    ctx.font = header["legend_font"]
    for entry in header["legend"]:
        ctx.fillStyle = colors[entry["color"]]
        ctx.beginPath()
        ctx.arc(entry["dot_x"], entry["dot_y"], entry["r"], 0, TAU)
        ctx.fill()
        ctx.fillText(entry["text"], entry["x"], entry["y"])


def route_path(route: list) -> Path2D:
    """An edge's route as a Path2D, made once (paint.js keeps one per route too)."""
    return _found_once(route, _route_path)


def _route_path(route: list) -> Path2D:
    path = Path2D()
    path.moveTo(route[0][0], route[0][1])
    for seg in route:
        path.bezierCurveTo(seg[2], seg[3], seg[4], seg[5], seg[6], seg[7])
    return path


def arrow_path(arrow: list) -> Path2D:
    """An edge's arrow head (a triangle) as a Path2D, made once."""
    return _found_once(arrow, _arrow_path)


def _arrow_path(a: list) -> Path2D:
    path = Path2D()
    path.moveTo(a[0], a[1])
    path.lineTo(a[2], a[3])
    path.lineTo(a[4], a[5])
    path.closePath()
    return path


def stroke_again(ctx, alpha: float, color: str, width: float, path: Path2D | None = None) -> None:
    """Stroke the path (else the current path) once more in another colour (an overlay that fades in)."""
    ctx.globalAlpha = alpha
    ctx.strokeStyle = color
    ctx.lineWidth = width
    if path is None:
        ctx.stroke()
    else:
        ctx.stroke(path)


def paint_edge(ctx, edge: dict, t: float, opacity: float, colors: dict) -> None:
    tracks = edge["tracks"]
    lit = value_at(tracks.get("fwd"), t)
    grad = value_at(tracks.get("bwd"), t)
    dashed = len(edge["dash"]) > 0
    route = route_path(edge["route"])
    if dashed:
        ctx.setLineDash(edge["dash"])
    # An opaque overlay at least as wide hides the stroke under it: skip that stroke (speed).
    if not (opacity >= 1.0 and lit >= 1.0 and edge["forward_width"] >= edge["idle_width"]):
        stroke_again(ctx, opacity, colors[edge["idle_color"]], edge["idle_width"], route)
    if lit > VISIBLE and not (opacity >= 1.0 and grad >= 1.0 and edge["grad_width"] >= edge["forward_width"]):
        stroke_again(ctx, lit * opacity, colors[edge["forward_color"]], edge["forward_width"], route)
    if dashed:
        ctx.setLineDash([])
    if grad > VISIBLE:
        stroke_again(ctx, grad * opacity * edge["grad_alpha"], colors[edge["grad_color"]], edge["grad_width"], route)
    ctx.globalAlpha = opacity
    ctx.fillStyle = colors[edge["forward_color"] if lit > 0.5 else edge["idle_color"]]
    ctx.fill(arrow_path(edge["arrow"]))


def paint_particle(ctx, particle: dict, edge: dict, t: float, opacity: float, colors: dict) -> None:
    p = value_at(particle["track"], t)
    x, y = point_along(edge["poly"], edge["cum"], 1.0 - p if particle["reverse"] else p)
    r = particle["radius"]
    alpha = opacity * particle["alpha"]
    ctx.fillStyle = colors[particle["color"]]
    ctx.globalAlpha = 0.25 * alpha
    ctx.beginPath()
    ctx.arc(x, y, r * 1.8, 0, TAU)
    ctx.fill()
    ctx.globalAlpha = alpha
    ctx.beginPath()
    ctx.arc(x, y, r, 0, TAU)
    ctx.fill()


def box_path(node: dict) -> Path2D:
    """A node's box as a Path2D, made once (as its route is for an edge)."""
    return _found_once(node, _box_path)


def ring_path(node: dict) -> Path2D:
    """The ring around a node's box (its pulses), ring_gap out, as a Path2D made once."""
    return _found_once(node, _ring_path)


def _box_path(node: dict, grow: float = 0.0) -> Path2D:
    path = Path2D()
    path.roundRect(node["x"] - node["w"] / 2 - grow, node["y"] - node["h"] / 2 - grow,
                   node["w"] + 2 * grow, node["h"] + 2 * grow, node["radius"] + grow)
    return path


def _ring_path(node: dict) -> Path2D:
    return _box_path(node, node["ring_gap"])


RINGS = (("pulse", "ring_color"), ("gpulse", "grad_color"))  # a node's rings: (track, colour role key)


def paint_node(ctx, node: dict, t: float, opacity: float, step: int, colors: dict, lens: list | None = None) -> None:
    tracks = node["tracks"]
    ctx.globalAlpha = opacity
    box = box_path(node)
    ctx.fillStyle = colors[node["fill"]]
    ctx.fill(box)
    dashed = len(node["dash"]) > 0
    if dashed:
        ctx.setLineDash(node["dash"])
    ctx.strokeStyle = colors[node["stroke"]]
    ctx.lineWidth = node["stroke_width"]
    ctx.stroke(box)
    if dashed:
        ctx.setLineDash([])
    grad = value_at(tracks.get("grad"), t)
    if grad > VISIBLE:
        stroke_again(ctx, grad * opacity, colors[node["grad_color"]], node["grad_stroke_width"], box)
    for track, role in RINGS:
        ring = value_at(tracks.get(track), t)
        if ring > VISIBLE:
            ctx.globalAlpha = ring * opacity
            ctx.strokeStyle = colors[node[role]]
            ctx.lineWidth = node["ring_width"]
            ctx.stroke(ring_path(node))
    ctx.textAlign = "center"
    ctx.textBaseline = "alphabetic"
    # under an overview camera every line of every node is under the type floor: one test
    for line in node["lines"] if lens is None or not under_floor(lens, largest_line_px(node)) else ():
        if under_floor(lens, line["px"]):
            continue  # legible() would give it 0 (an overview camera: every line of every node)
        alpha = value_at(tracks.get(line["track"]), t) if line["track"] else 1.0
        if alpha > VISIBLE and lens is not None:
            half = line["w"] / 2
            alpha *= legible(lens, line["px"], node["x"] - half, line["y"] - line["px"] * 0.8, node["x"] + half,
                             line["y"] + line["px"] * 0.25)
        if alpha > VISIBLE:
            ctx.globalAlpha = alpha * opacity
            ctx.font = line["font"]
            ctx.fillStyle = colors[line["color"]]
            ctx.fillText(line["texts"][step] if "texts" in line else line["text"], node["x"], line["y"])
    if "glyphs" in node:
        paint_glyphs(ctx, node, t, opacity, colors, lens)
    ctx.globalAlpha = 1.0


def paint_glyphs(ctx, node: dict, t: float, opacity: float, colors: dict, lens: list | None) -> None:
    """A tensor node's heatmaps (its value from the forward pass on, its gradient from the
    backward pass on): each image drawn once, nearest-neighbour, framed, with its range line.
    Under a camera a glyph is hidden like a text when its cells would be too small to see."""
    ctx.imageSmoothingEnabled = False
    for glyph in node["glyphs"]:
        if under_floor(lens, glyph["px"]) and under_floor(lens, glyph["text"]["px"]):
            continue  # legible() would give both the images and the line 0
        alpha = value_at(node["tracks"].get(glyph["track"]), t)
        if alpha <= VISIBLE:
            continue
        text = glyph["text"]
        text_alpha = alpha
        if lens is not None:  # the images by their cells' size, the line as a text
            box = glyph["box"]
            alpha *= legible(lens, glyph["px"], box[0], box[1], box[0] + box[2], box[1] + box[3])
            half = text["w"] / 2
            text_alpha *= legible(lens, text["px"], text["x"] - half, text["y"] - text["px"] * 0.8, text["x"] + half,
                                  text["y"] + text["px"] * 0.25)
        if alpha > VISIBLE:
            ctx.globalAlpha = alpha * opacity
            for image in glyph["images"]:
                ctx.drawImage(bitmap_of(image, colors), image["x"], image["y"], image["w"], image["h"])
            ctx.strokeStyle = colors[glyph["frame_color"]]
            ctx.lineWidth = glyph["frame_width"]
            for frame in glyph["frames"]:
                ctx.strokeRect(frame[0], frame[1], frame[2], frame[3])
        if text_alpha > VISIBLE:
            ctx.globalAlpha = text_alpha * opacity
            ctx.font = text["font"]
            ctx.fillStyle = colors[text["color"]]
            ctx.fillText(text["text"], text["x"], text["y"])
            # an attention matrix's token labels: in the line's font and colour, with its images
            for label in glyph.get("labels", ()) if alpha > VISIBLE else ():
                ctx.fillText(label["text"], label["x"], label["y"])


_bitmaps: dict = {}  # (id(image), id(palette)) -> (image, palette, Bitmap): made once per theme


def bitmap_of(image: dict, colors: dict) -> Bitmap:
    """The glyph image's pixels in the theme's colours (cached: the scene does not change)."""
    key = (id(image), id(colors))
    hit = _bitmaps.get(key)
    if hit is not None and hit[0] is image and hit[1] is colors:
        return hit[2]
    if len(_bitmaps) > 4096:
        _bitmaps.clear()
    bitmap = Bitmap(image["cols"], image["rows"], heat_rgba(image["cells"], image["map"] == "signed", colors))
    _bitmaps[key] = (image, colors, bitmap)
    return bitmap


def hex_rgb(color: str) -> list:
    return [int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)]


def heat_rgba(cells: list, signed: bool, colors: dict) -> bytearray:
    """RGBA bytes of heatmap levels: heat_mid blended toward the sign colour (signed) or
    heat_seq by |level| / LEVELS; NaN/Inf in the NaN colour; GAP transparent."""
    mid = hex_rgb(colors["heat_mid"])
    high = hex_rgb(colors["positive"] if signed else colors["heat_seq"])
    low = hex_rgb(colors["negative"])
    bad = hex_rgb(colors["nonfinite"])
    out = bytearray()
    for level in cells:
        if level == GAP:
            out.extend((0, 0, 0, 0))
        elif level == NONFINITE:
            out.extend((bad[0], bad[1], bad[2], 255))
        else:
            end = high if level >= 0 else low
            f = abs(level) / LEVELS
            for k in range(3):
                out.append(math.floor(mid[k] + (end[k] - mid[k]) * f + 0.5))
            out.append(255)
    return out


def outlined_box(ctx, x: float, y: float, w: float, h: float, radius: float, fill: str, stroke: str) -> None:
    """A filled round box with a hairline border (edge labels, the loss-curve panel)."""
    ctx.beginPath()
    ctx.roundRect(x, y, w, h, radius)
    ctx.fillStyle = fill
    ctx.fill()
    ctx.strokeStyle = stroke
    ctx.lineWidth = 1.0
    ctx.stroke()


def paint_edge_label(ctx, edge: dict, t: float, opacity: float, colors: dict, step: int = 0,
                     lens: list | None = None) -> None:
    alpha = value_at(edge["tracks"].get("label"), t) * opacity
    label = edge["label"]
    box = label["box"]
    if alpha > VISIBLE and lens is not None:
        alpha *= legible(lens, label["px"], box[0], box[1], box[0] + box[2], box[1] + box[3])
    if alpha <= VISIBLE:
        return
    ctx.globalAlpha = alpha
    outlined_box(ctx, box[0], box[1], box[2], box[3], label["radius"], colors[label["fill"]],
                 colors[label["stroke"]])
    ctx.textAlign = "center"
    ctx.textBaseline = "alphabetic"
    ctx.font = label["font"]
    ctx.fillStyle = colors[label["color"]]
    ctx.fillText(label["texts"][step] if "texts" in label else label["text"], label["x"], label["y"])
    ctx.globalAlpha = 1.0


def paint_caption(ctx, captions: dict, t: float, colors: dict) -> None:
    ctx.globalAlpha = 1.0
    ctx.fillStyle = colors[captions["fill"]]
    ctx.beginPath()
    ctx.roundRect(captions["x"], captions["y"], captions["w"], captions["h"], captions["radius"])
    ctx.fill()
    ctx.textAlign = "left"
    ctx.textBaseline = "alphabetic"
    ctx.font = captions["font"]
    ctx.fillStyle = colors[captions["color"]]
    for item in captions["items"]:
        alpha = value_at(item["track"], t)
        if alpha > VISIBLE:
            ctx.globalAlpha = alpha
            spans = item.get("spans")
            for i, line in enumerate(item["lines"]):
                x = captions["x"] + captions["pad"]
                y = captions["y"] + captions["pad"] + captions["line_height"] * (i + 0.75)
                if spans and spans[i]:
                    paint_spans(ctx, spans[i], x, y, alpha, t, colors)
                    ctx.globalAlpha = alpha
                    ctx.fillStyle = colors[captions["color"]]
                else:
                    ctx.fillText(line, x, y)
            if "heatmaps" in item:
                paint_caption_heat(ctx, item["heatmaps"], alpha, t, colors)
                ctx.textAlign = "left"
                ctx.font = captions["font"]
                ctx.fillStyle = colors[captions["color"]]
    ctx.globalAlpha = 1.0


def paint_caption_heat(ctx, heat: dict, alpha: float, t: float, colors: dict) -> None:
    """A backward step's factors beside its caption (δ · aᵀ = ∂L/∂W): each heatmap drawn once,
    nearest-neighbour, framed, its label centred above it, then the operators between them; each
    shown as its track says, within the caption's alpha."""
    ctx.imageSmoothingEnabled = False
    ctx.textAlign = "center"
    ctx.strokeStyle = colors[heat["frame_color"]]
    ctx.lineWidth = heat["frame_width"]
    for term in heat["terms"]:
        a = alpha * value_at(term["track"], t)
        if a > VISIBLE:
            ctx.globalAlpha = a
            image = term["image"]
            ctx.drawImage(bitmap_of(image, colors), image["x"], image["y"], image["w"], image["h"])
            for frame in term["frames"]:
                ctx.strokeRect(frame[0], frame[1], frame[2], frame[3])
            label = term["label"]
            ctx.font = label["font"]
            ctx.fillStyle = colors[label["color"]]
            ctx.fillText(label["text"], label["x"], label["y"])
    for op in heat["operators"]:
        a = alpha * value_at(op["track"], t)
        if a > VISIBLE:
            ctx.globalAlpha = a
            ctx.font = op["font"]
            ctx.fillStyle = colors[op["color"]]
            ctx.fillText(op["text"], op["x"], op["y"])
    ctx.globalAlpha = alpha


def paint_spans(ctx, spans: list, x: float, y: float, alpha: float, t: float, colors: dict) -> None:
    """A caption line's formula, term by term: each span in its own colour at its own x, shown as
    its track says (within the caption's alpha)."""
    for span in spans:
        a = alpha * value_at(span["track"], t)
        if a > VISIBLE:
            ctx.globalAlpha = a
            ctx.fillStyle = colors[span["color"]]
            ctx.fillText(span["text"], x + span["x"], y)


def paint_panel_frame(ctx, panel: dict, colors: dict) -> None:
    """A side panel's box and title (the loss curve's, the predictions')."""
    outlined_box(ctx, panel["x"], panel["y"], panel["w"], panel["h"], panel["radius"], colors[panel["background"]],
                 colors[panel["border"]])
    ctx.textBaseline = "alphabetic"
    ctx.textAlign = "left"
    ctx.font = panel["title_font"]
    ctx.fillStyle = colors[panel["text"]]
    ctx.fillText(panel["title"]["text"], panel["title"]["x"], panel["title"]["y"])


def paint_loss_curve(ctx, curve: dict, t: float, colors: dict) -> None:
    """The loss-curve panel of a training scene: loss per step, filled in as the steps run,
    the newest point highlighted and labelled."""
    ctx.globalAlpha = 1.0
    paint_panel_frame(ctx, curve, colors)
    plot = curve["plot"]
    ctx.font = curve["font"]
    ctx.textAlign = "right"
    for tick in curve["yticks"]:
        ctx.strokeStyle = colors[curve["grid"]]
        ctx.beginPath()
        ctx.moveTo(plot[0], tick["y"])
        ctx.lineTo(plot[2], tick["y"])
        ctx.stroke()
        ctx.fillStyle = colors[curve["muted"]]
        ctx.fillText(tick["text"], curve["ytick_x"], tick["text_y"])
    ctx.textAlign = "center"
    ctx.fillStyle = colors[curve["muted"]]
    for tick in curve["xticks"]:
        ctx.fillText(tick["text"], tick["x"], curve["xtick_y"])
    points = curve["points"]
    shown = int(value_at(curve["shown"], t))
    if shown > 1:
        ctx.strokeStyle = colors[curve["line_color"]]
        ctx.lineWidth = curve["line_width"]
        ctx.beginPath()
        ctx.moveTo(points[0]["x"], points[0]["y"])
        for i in range(1, shown):
            ctx.lineTo(points[i]["x"], points[i]["y"])
        ctx.stroke()
    ctx.fillStyle = colors[curve["line_color"]]
    for i in range(shown):
        ctx.beginPath()
        ctx.arc(points[i]["x"], points[i]["y"], curve["dot_r"], 0, TAU)
        ctx.fill()
    if shown > 0:
        current = points[shown - 1]
        ctx.fillStyle = colors[curve["current_color"]]
        ctx.beginPath()
        ctx.arc(current["x"], current["y"], curve["current_r"], 0, TAU)
        ctx.fill()
        ctx.textAlign = "left"
        ctx.fillStyle = colors[curve["text"]]
        ctx.fillText(current["label"], curve["label"]["x"], curve["label"]["y"])


def paint_predictions(ctx, panel: dict, t: float, step: int, colors: dict) -> None:
    """The predictions panel: each sample's target and the model's output at the step shown
    (in the loss colour while it is still far from the target)."""
    alpha = value_at(panel["track"], t)
    if alpha <= VISIBLE:
        return
    ctx.globalAlpha = alpha
    paint_panel_frame(ctx, panel, colors)
    ctx.font = panel["font"]
    ctx.fillStyle = colors[panel["muted"]]
    head = panel["head"]
    for k, text in enumerate(head["texts"]):
        ctx.textAlign = "left" if k == 0 else "right"
        ctx.fillText(text, head["xs"][k], head["y"])
    for row in panel["rows"]:
        ctx.textAlign = "left"
        ctx.fillStyle = colors[panel["muted"]]
        ctx.fillText(row["label"], head["xs"][0], row["y"])
        ctx.textAlign = "right"
        ctx.fillStyle = colors[panel["text"]]
        ctx.fillText(row["target"], head["xs"][1], row["y"])
        ctx.fillStyle = colors[row["colors"][step]]
        ctx.fillText(row["texts"][step], head["xs"][2], row["y"])
    if panel["more"] is not None:
        ctx.textAlign = "left"
        ctx.fillStyle = colors[panel["muted"]]
        ctx.fillText(panel["more"]["text"], panel["more"]["x"], panel["more"]["y"])
    if "boundary" in panel:
        paint_boundary(ctx, panel["boundary"], step, colors)
    ctx.globalAlpha = 1.0


def paint_boundary(ctx, boundary: dict, step: int, colors: dict) -> None:
    """The decision boundary: the model's output over the input plane at the step shown (one
    image per step, nearest-neighbour), its scale bar, the samples as dots in their target's
    colour on the same map, and the legend line."""
    ctx.imageSmoothingEnabled = False
    image = boundary["images"][step]
    ctx.drawImage(bitmap_of(image, colors), image["x"], image["y"], image["w"], image["h"])
    bar = boundary["bar"]
    ctx.drawImage(bitmap_of(bar, colors), bar["x"], bar["y"], bar["w"], bar["h"])
    frame = boundary["frame"]
    ctx.strokeStyle = colors[boundary["frame_color"]]
    ctx.lineWidth = boundary["frame_width"]
    ctx.strokeRect(frame[0], frame[1], frame[2], frame[3])
    ctx.strokeStyle = colors[boundary["dot_ring"]]
    ctx.lineWidth = boundary["dot_ring_width"]
    for dot in boundary["dots"]:
        ctx.beginPath()
        ctx.arc(dot["x"], dot["y"], boundary["dot_r"], 0, TAU)
        ctx.fillStyle = heat_color(dot["level"], colors)
        ctx.fill()
        ctx.stroke()
    legend = boundary["legend"]
    ctx.font = legend["font"]
    ctx.fillStyle = colors[legend["color"]]
    for text in legend["texts"]:
        ctx.textAlign = text["align"]
        ctx.fillText(text["text"], text["x"], text["y"])


def heat_color(level: int, colors: dict) -> str:
    """A signed heatmap level's colour as #rrggbb (a boundary's dot: the map's own colour)."""
    rgba = heat_rgba([level], True, colors)
    return "#" + "".join(format(rgba[k], "02x") for k in range(3))


def paint_chart(ctx, chart: dict, t: float, colors: dict) -> None:
    """The per-layer gradient-norm chart (its own canvas in the player, under the graph)."""
    ctx.globalAlpha = 1.0
    ctx.fillStyle = colors[chart["background"]]
    ctx.fillRect(0, 0, chart["width"], chart["height"])
    ctx.font = chart["font"]
    ctx.textBaseline = "alphabetic"
    ctx.textAlign = "left"
    ctx.fillStyle = colors[chart["text"]]
    ctx.fillText(chart["title"]["text"], chart["title"]["x"], chart["title"]["y"])
    ctx.strokeStyle = colors[chart["grid"]]
    ctx.lineWidth = 1.0
    ctx.textAlign = "center"
    for tick in chart["ticks"]:
        ctx.beginPath()
        ctx.moveTo(tick["x"], chart["rows"][0]["y"] if chart["rows"] else chart["axis_y"])
        ctx.lineTo(tick["x"], chart["axis_y"])
        ctx.stroke()
        ctx.fillStyle = colors[chart["muted"]]
        ctx.fillText(tick["text"], tick["x"], chart["tick_y"])
    ctx.textBaseline = "middle"
    for row in chart["rows"]:
        ctx.textAlign = "left"
        ctx.fillStyle = colors[chart["text"]]
        ctx.fillText(row["label"], chart["label_x"], row["text_y"])
        grown = value_at(row["track"], t)
        if grown > VISIBLE:
            ctx.globalAlpha = grown
            ctx.fillStyle = colors[row["color"]]
            ctx.fillRect(chart["bar_x"], row["text_y"] - row["h"] / 2, row["w"] * grown, row["h"])
            ctx.fillStyle = colors[chart["text"]]
            ctx.fillText(row["value"], chart["value_x"], row["text_y"])
            ctx.globalAlpha = 1.0
