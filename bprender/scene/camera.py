"""The camera: where the view of a graph too big for the frame looks at each moment.

Nodes are sized for text at the type floor, so a big graph is bigger than the frame. Then the
graph layer is drawn through a camera (a centre and a zoom, each a track): an overview of the
whole graph during the intro and at the end, and, in between, reading distance (zoom 1, text
at its made size) following the forward front and then the gradient front. A move is quick
and eased, and only happens when what must be seen leaves the view, so the camera pauses on
arrival instead of crawling. The painters apply it to the graph layer alone (header, caption
band and chart stay put) and leave out any text the zoom would draw under the floor.
"""
from __future__ import annotations

from ..timeline import Timing
from ..views.graph import ViewGraph
from .regions import Rect

MOVE = 0.45          # seconds for a move at reading distance
ZOOM_MOVE = 0.9      # seconds to go between the overview and reading distance
MARGIN = 0.08        # of the view kept clear around what it must show
INSET_W = 0.16       # the overview inset's width, of the view's


def build_camera(graph: ViewGraph, nodes: list[dict], timing: Timing, view: Rect, floor: float) -> dict | None:
    """The camera of a scene whose graph does not fit `view` at zoom 1; None when it fits (a
    still camera needs no track)."""
    boxes = {n["id"]: (n["x"] - n["w"] / 2, n["y"] - n["h"] / 2, n["w"], n["h"]) for n in nodes}
    extent = _union(list(boxes.values()))
    vx, vy, vw, vh = view
    if extent[2] <= vw and extent[3] <= vh:
        return None
    overview = min(vw * (1 - MARGIN) / extent[2], vh * (1 - MARGIN) / extent[3], 1.0)
    whole = (extent[0] + extent[2] / 2, extent[1] + extent[3] / 2, overview)
    inset = _inset(nodes, extent, view, overview)
    # what the camera shows is kept above the inset's strip, so the inset never hides it
    shots = _Shots(whole, extent, (vw, vh), below=vy + vh - inset["y"])
    phase = {p["name"]: p for p in timing.phases}
    # the zooms straddle the phase boundaries, so a still of a phase (a moment after its start)
    # shows the camera arrived: the overview in the intro and at the end, reading in between
    first = True
    for wave_start, ids in _forward_focus(graph, timing):
        start = max(0.0, phase["intro"]["t1"] - ZOOM_MOVE / 2) if first else wave_start
        shots.show(wave_start, [boxes[i] for i in ids], direction=1.0, duration=ZOOM_MOVE if first else MOVE,
                   start=start)
        first = False
    loss = next((n["id"] for n in nodes if n["kind"] == "loss"), None)
    if loss is not None:
        shots.show(phase["loss"]["t0"], [boxes[loss]], direction=-1.0)
    for step, t in zip(graph.steps, timing.steps):
        producers = [e.src for e in graph.edges if e.id in set(step.edges)]
        shots.show(t, [boxes[i] for i in step.nodes], direction=-1.0, context=[boxes[i] for i in producers])
    if "update" in phase:  # training: the parameters' old -> new, then the loss of each later step
        params = [boxes[n["id"]] for n in nodes if any(line["track"] == "update" for line in n["lines"])]
        if params:
            shots.show(phase["update"]["t0"], params, direction=1.0)
        if loss is not None and "train" in phase:
            shots.show(phase["train"]["t0"], [boxes[loss]], direction=-1.0)
    shots.go(phase["end"]["t0"] - ZOOM_MOVE / 2, whole, ZOOM_MOVE)
    return {"x": vx, "y": vy, "w": vw, "h": vh, "floor": floor, "track": shots.tracks(), "inset": inset}


class _Shots:
    """Keyframes of (centre x, centre y, zoom): holds between moves, eased moves."""

    def __init__(self, start: tuple[float, float, float], extent: Rect, view_size: tuple[float, float],
                 below: float = 0.0):
        self.keys = [(0.0, *start)]
        self.extent = extent
        self.view_size = view_size
        self.below = below  # the strip at the bottom of the view kept for the inset

    @property
    def now(self) -> tuple[float, float, float]:
        return self.keys[-1][1:]

    def hold(self, t: float) -> None:
        if t > self.keys[-1][0]:
            self.keys.append((t, *self.now))

    def go(self, t: float, target: tuple[float, float, float], duration: float) -> None:
        if target == self.now:
            return
        start = max(t, self.keys[-1][0])
        self.hold(start)
        self.keys.append((start + duration, *target))

    def show(self, t: float, focus: list[Rect], direction: float, duration: float = MOVE,
             context: list[Rect] | None = None, start: float | None = None) -> None:
        """At reading distance, keep `focus` (and `context`, where it fits too) in view: move
        only if it is not, and then leave room ahead of the front (direction +1: rightward)."""
        vw, vh = self.view_size
        safe_h = vh - self.below
        cx, cy, zoom = self.now
        box = _union(focus)
        if box[2] > vw * (1 - 2 * MARGIN) or box[3] > safe_h * (1 - 2 * MARGIN):
            box = focus[0]  # a layer taller than the view: its first node leads the way
        if context:
            wider = _union(focus + context)
            if wider[2] <= vw * (1 - 2 * MARGIN) and wider[3] <= safe_h * (1 - 2 * MARGIN):
                box = wider
        if zoom == 1.0 and _inside(box, (cx - vw / 2, cy - vh / 2, vw, safe_h), MARGIN):
            return
        x = box[0] + box[2] / 2 + direction * max(0.0, (vw * (1 - 2 * MARGIN) - box[2]) / 3)
        y = box[1] + box[3] / 2 + self.below / 2
        self.go(t if start is None else start, (round(self._clamp(x, 0), 2), round(self._clamp(y, 1), 2), 1.0),
                duration)

    def _clamp(self, centre: float, axis: int) -> float:
        """Keep the view over the graph: no empty frame past its ends."""
        lo, size = self.extent[axis], self.extent[axis + 2]
        half = self.view_size[axis] / 2
        extra = self.below if axis == 1 else 0.0  # the inset's strip may hang below the graph
        if size + extra <= 2 * half:
            return lo + (size + extra) / 2
        return min(max(centre, lo + half), lo + size + extra - half)

    def tracks(self) -> dict:
        return {name: [[round(k[0], 6), round(k[i], 4)] for k in self.keys]
                for i, name in ((1, "x"), (2, "y"), (3, "zoom"))}


def _forward_focus(graph: ViewGraph, timing: Timing) -> list[tuple[float, list[str]]]:
    """(start, node ids) of each forward wave: the front the camera follows."""
    by_time: dict[float, list[str]] = {}
    for node_id, t in timing.forward.items():
        by_time.setdefault(t, []).append(node_id)
    waves = sorted(by_time.items())
    return waves[1:] if len(waves) > 1 else waves  # the sources light up during the overview


def _inset(nodes: list[dict], extent: Rect, view: Rect, overview: float) -> dict:
    """The overview inset: the whole graph small in the view's lower right corner, the part in
    view outlined (the painters work the outline out from the camera); shown once the camera
    is closer than the overview."""
    vx, vy, vw, vh = view
    scale = min(vw * INSET_W / extent[2], vh * INSET_W / extent[3])
    w, h = extent[2] * scale, extent[3] * scale
    pad = 6.0
    x, y = vx + vw - w - 2 * pad, vy + vh - h - 2 * pad
    return {"x": round(x, 2), "y": round(y, 2), "w": round(w + 2 * pad, 2), "h": round(h + 2 * pad, 2),
            "pad": pad, "scale": round(scale, 6), "origin": [round(extent[0], 2), round(extent[1], 2)],
            "zoom_from": round(min(1.0, overview * 1.25), 4),
            "boxes": [[round(x + pad + (n["x"] - n["w"] / 2 - extent[0]) * scale, 2),
                       round(y + pad + (n["y"] - n["h"] / 2 - extent[1]) * scale, 2),
                       round(max(n["w"] * scale, 1.0), 2), round(max(n["h"] * scale, 1.0), 2)] for n in nodes]}


def _union(rects: list[Rect]) -> Rect:
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return (x0, y0, x1 - x0, y1 - y0)


def _inside(box: Rect, view: Rect, margin: float) -> bool:
    mx, my = view[2] * margin, view[3] * margin
    return (box[0] >= view[0] + mx and box[1] >= view[1] + my and
            box[0] + box[2] <= view[0] + view[2] - mx and box[1] + box[3] <= view[1] + view[3] - my)
