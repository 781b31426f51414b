"""Damage: the part of the frame that can differ between two times, so the raster loop draws
only that part over the pixels of the earlier frame.

Why: a paced lecture moves one or two things at a time (a particle on one edge, one node's ring,
the caption), yet a frame drawn afresh pays for every box, stroke and text; on linear most of a
frame's drawing time goes to parts that look as they did a frame before.

How it stays exact: a frame is a pure function of (scene, t, view), and everything that changes
with time is a track (stillness.py). Each part of the scene (a node, an edge with its label, a
particle, the caption, the camera) is watched through its own tracks; a part whose tracks all
stand still between t1 and t2 looks the same at both. The damage is the union of the device
rectangles around the parts that moved, rounded out to whole pixels; inside it the frame is
drawn again from the background up (paint_frame with ``within``: every part that meets it is
drawn, whole and in the usual order, on a scratch surface, and the rectangles are copied from
there: render.Redraw), outside it the pixels are the earlier frame's. A
moving part this module does not know the extent of (the header, the training step, the loss
curve, a composite of panels, anything new) makes the whole frame damaged: new parts of the
Scene are safe by default. tests/test_damage.py checks every frame of real scenes against a
fresh drawing, byte for byte.
"""
from __future__ import annotations

import math

from .bands import caption_extent, header_extent
from .paint import CULL_MARGIN, box_bounds, edge_bounds, node_bounds
from .stillness import Stillness
from .tracks import value_at

# the Scene's parts this module places (the chart is drawn only under a composite's panels,
# which are always drawn whole); a move of any other key damages the whole frame
KNOWN = ("nodes", "edges", "particles", "captions", "camera", "chart")
MAX_RECTS = 24          # more than this many rectangles: one draw of the whole frame is cheaper
INSET_SPILL = 3.0       # px past the inset's box that its outline's antialiasing reaches
MAX_SHARE = 0.6         # damage over this share of the frame: draw it all (clipping buys nothing)

Rect = tuple[int, int, int, int]  # device pixels: x0, y0, x1, y1 (x1, y1 exclusive)


def _text_box(x: float, y: float, w: float, px: float) -> list:
    """Around a line of text centred at x on the baseline y (ascenders and descenders)."""
    return [x - w / 2 - px, y - px * 1.2, x + w / 2 + px, y + px * 0.5]


def _union(a: list, b: list) -> list:
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def node_extent(node: dict) -> list:
    """Graph coordinates around everything paint_node draws: the box with its rings, the lines,
    the heatmap glyphs with their range lines."""
    out = node_bounds(node)
    for line in node["lines"]:
        out = _union(out, _text_box(node["x"], line["y"], line["w"], line["px"]))
    for glyph in node.get("glyphs", ()):
        box = glyph["box"]
        out = _union(out, [box[0] - 2, box[1] - 2, box[0] + box[2] + 2, box[1] + box[3] + 2])
        text = glyph["text"]
        out = _union(out, _text_box(text["x"], text["y"], text["w"], text["px"]))
        for label in glyph.get("labels", ()):
            out = _union(out, _text_box(label["x"], label["y"], 4 * text["px"] * max(1, len(label["text"])),
                                        text["px"]))
    return out


def edge_extent(edge: dict) -> list:
    """Graph coordinates around an edge's strokes, arrow and label."""
    out = edge_bounds(edge)
    if "label" in edge:
        out = _union(out, box_bounds(edge["label"]["box"]))
    return out


def particle_extent(particle: dict, edge: dict) -> list:
    """Around the route a particle runs along, wide enough for its glow."""
    b = edge_bounds(edge)
    grow = max(0.0, particle["radius"] * 1.8 + 2.0 - CULL_MARGIN)
    return [b[0] - grow, b[1] - grow, b[2] + grow, b[3] + grow]


def _meets(rects: list, box: list) -> bool:
    return any(not (box[2] < r[0] or box[0] > r[2] or box[3] < r[1] or box[1] > r[3]) for r in rects)


class Damage:
    """between(t1, t2): what paint_frame's ``within`` takes to draw again only the part of the
    frame at t2 that can differ from the frame at t1, for one scene under one view state, or
    None when that is the whole frame: {"rects": device rectangles (x0, y0, x1, y1), and the
    parts that meet them, moved or not (drawn again, in order, from the background up):
    "nodes", "edges", "particles": sets of indices (None: all of them); "header", "caption":
    bools}."""

    def __init__(self, scene: dict, view: dict | None = None):
        self.width, self.height = scene["width"], scene["height"]
        view = view or {}
        self._panels = "panels" in scene  # a composite: always drawn whole
        if self._panels:
            return
        # what this module cannot place: any move of it damages the whole frame
        others = {k: v for k, v in scene.items() if k not in KNOWN}
        self._whole = Stillness(others)
        camera = scene.get("camera")
        self.camera = camera
        self._header = header_extent(scene["header"], self.width)
        # the player's own camera (a view state) does not follow the track
        self._camera = None if camera is None or view.get("camera") else Stillness({"camera": camera})
        self._view_camera = view.get("camera")
        nodes, edges = scene["nodes"], scene["edges"]
        self._parts = {"nodes": [(Stillness(n), node_extent(n)) for n in nodes],
                       "edges": [(Stillness(e), edge_extent(e)) for e in edges],
                       "particles": [(Stillness(p), particle_extent(p, edges[p["edge"]]))
                                     for p in scene["particles"]]}
        self._last = None  # (camera, _placed's answer)
        if camera is not None:
            # the view, and room around it for the outline of the overview inset in its corner
            m = INSET_SPILL
            self._view = self._device(None, [camera["x"] - m, camera["y"] - m, camera["x"] + camera["w"] + m,
                                             camera["y"] + camera["h"] + m])
        self._caption = (Stillness(scene["captions"]),
                         caption_extent(scene["captions"], self.width, self.height))

    def between(self, t1: float, t2: float) -> dict | None:
        if self._panels or not self._whole.same(t1, t2):
            return None
        camera = self.camera
        rects: list[Rect] = []
        moved = camera is not None and self._camera is not None and not self._camera.same(t1, t2)
        if moved:
            rects.append(self._view)
        else:  # the camera (if any) stands still: the graph's parts that moved
            placed = self._placed(self._camera_at(t2))
            for key, parts in self._parts.items():
                for (still, _), rect in zip(parts, placed[key]):
                    if rect is not None and not still.same(t1, t2):
                        rects.append(rect)
        still, extent = self._caption
        if not still.same(t1, t2):
            rects.append(self._device(None, extent))
        rects = [r for r in rects if r is not None]
        if not rects:
            return {"rects": [], "header": False, "caption": False, "nodes": set(), "edges": set(),
                    "particles": set()}
        if len(rects) > MAX_RECTS:
            return None
        if sum((r[2] - r[0]) * (r[3] - r[1]) for r in rects) > MAX_SHARE * self.width * self.height:
            return None
        within = {"rects": rects, "header": _meets(rects, self._header),
                  "caption": _meets(rects, self._caption[1])}
        for key, parts in self._parts.items():  # every part that meets the damage is drawn again
            if moved:  # all the graph in the camera's view (paint_frame culls the rest)
                within[key] = None
            else:
                within[key] = {i for i, rect in enumerate(placed[key]) if rect is not None and _meets(rects, rect)}
        return within

    def _placed(self, at) -> dict:
        """The device rectangle of every graph part under the camera ``at`` (None: the part is
        out of the camera's view), kept for the last camera: it stands still for many frames."""
        if self._last is not None and self._last[0] == at:
            return self._last[1]
        placed = {key: [self._device(at, extent) for _, extent in parts] for key, parts in self._parts.items()}
        self._last = (at, placed)
        return placed

    def _camera_at(self, t: float):
        """(centre x, centre y, zoom) of a camera standing still at t, None without a camera."""
        if self.camera is None:
            return None
        if self._view_camera:
            own = self._view_camera
            return own["x"], own["y"], own["zoom"]
        track = self.camera["track"]
        return value_at(track["x"], t), value_at(track["y"], t), value_at(track["zoom"], t)

    def _device(self, at, box: list) -> Rect | None:
        """Graph coordinates (through the camera ``at``; None: device coordinates already) to
        whole device pixels, one more on each side, within the frame and the camera's view."""
        x0, y0, x1, y1 = box
        lo_x, lo_y, hi_x, hi_y = 0.0, 0.0, float(self.width), float(self.height)
        if at is not None:
            cam = self.camera
            cx, cy, zoom = at
            ox, oy = cam["x"] + cam["w"] / 2, cam["y"] + cam["h"] / 2
            x0, x1 = (x0 - cx) * zoom + ox, (x1 - cx) * zoom + ox
            y0, y1 = (y0 - cy) * zoom + oy, (y1 - cy) * zoom + oy
            lo_x, lo_y = max(lo_x, cam["x"]), max(lo_y, cam["y"])
            hi_x, hi_y = min(hi_x, cam["x"] + cam["w"]), min(hi_y, cam["y"] + cam["h"])
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            return (0, 0, self.width, self.height)
        r = (max(0, math.floor(max(x0, lo_x - 1)) - 1), max(0, math.floor(max(y0, lo_y - 1)) - 1),
             min(self.width, math.ceil(min(x1, hi_x + 1)) + 1), min(self.height, math.ceil(min(y1, hi_y + 1)) + 1))
        if r[0] >= r[2] or r[1] >= r[3]:
            return None
        return r
