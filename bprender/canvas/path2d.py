"""Path2D: the Canvas 2D spec's path object, built once and filled or stroked many times.

Why: the painter strokes the same edge routes and fills the same arrow heads frame after frame.
Made into a Path2D once (by the scene object it belongs to), a route is one stroke(path) call a
frame instead of its beginPath, moveTo and curves again (paint.js does the same with the
browser's Path2D).

Here a Path2D is only its calls, in order, so that any Python context can use it: the skia
canvas replays them through its own path methods once (the same path, the same pixels as drawing
them on the current path) and keeps what it built on the object; the recording canvas logs them
("Path2D", then each call). As in the spec, the calls are in the path's own coordinates: the
transform at fill or stroke time applies.
"""
from __future__ import annotations

PATH_METHODS = ("closePath", "moveTo", "lineTo", "bezierCurveTo", "quadraticCurveTo", "arc", "rect",
                "roundRect")


class Path2D:
    __slots__ = ("ops", "built")

    def __init__(self):
        self.ops: list = []        # (method name, *args) in call order
        self.built: tuple | None = None  # (number of ops, (skia.Path, its bytes)), by the skia canvas


def _adder(name: str):
    def method(self, *args):
        self.ops.append((name, *args))
    method.__name__ = name
    method.__doc__ = f"Add {name}(*args) to the path."
    return method


for _name in PATH_METHODS:
    setattr(Path2D, _name, _adder(_name))
del _name
