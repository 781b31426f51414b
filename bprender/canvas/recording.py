"""RecordingCanvas2D: the Canvas 2D subset as an op log, for comparing the Python painter with
the JS painter without pixels.

Each method call is logged as ``[name, *args]`` (keyword arguments follow, in call order) and
each property assignment as ``["set", name, value]``, with the value as the painter passed it
(even one the spec ignores). Numbers are floats (ints converted: JS has only doubles); bools
stay bools; a Path2D is logged as ["Path2D", [name, *args] per call]. The drawing state is
kept with the same validation as the skia canvas, so getters and measureText see what a real
context would. measureText logs nothing.
"""
from __future__ import annotations

import math

from .bitmap import Bitmap
from .fonts import FontBook
from .path2d import Path2D
from .skia_canvas import TextMetrics, _WS
from .state import PROPERTIES, DrawingState

METHODS = ("save", "restore", "translate", "scale", "rotate", "transform", "setTransform",
           "resetTransform", "beginPath", "closePath", "moveTo", "lineTo", "bezierCurveTo",
           "quadraticCurveTo", "arc", "rect", "roundRect", "fill", "stroke", "clip",
           "fillRect", "strokeRect", "clearRect", "fillText", "strokeText", "setLineDash", "drawImage")
_PROPS = frozenset(PROPERTIES)


def _norm(value):
    if isinstance(value, Bitmap):
        return list(value.key)  # the image by its size and checksum, as recording.js logs it
    if isinstance(value, Path2D):  # a path by its calls, as recording.js logs one
        return ["Path2D", *([name, *(_norm(a) for a in args)] for name, *args in value.ops)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def _logger(name: str):
    def method(self, *args, **kwargs):
        self.ops.append([name, *(_norm(a) for a in args), *(_norm(v) for v in kwargs.values())])
        hook = getattr(self, "_after_" + name, None)
        if hook is not None:
            hook(*args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"Log [{name!r}, *args]."
    return method


class RecordingCanvas2D(DrawingState):
    def __init__(self, fonts: FontBook | None = None):
        self._init_state()
        object.__setattr__(self, "ops", [])
        object.__setattr__(self, "fonts", fonts)

    def __setattr__(self, name, value):
        if name in _PROPS:
            self.ops.append(["set", name, _norm(value)])
        object.__setattr__(self, name, value)

    # state kept for getters and measureText
    def _after_save(self) -> None:
        self._push_state()

    def _after_restore(self) -> None:
        self._pop_state()

    def _after_setLineDash(self, segments) -> None:
        self._accept_dash(segments)

    def measureText(self, text: str) -> TextMetrics:
        if self.fonts is None:
            return TextMetrics(0.0)
        spec = self._font_spec
        width = self.fonts.layout(str(text).translate(_WS), spec).width
        return TextMetrics(width, self.fonts.metrics(spec), self._textBaseline)


for _name in METHODS:
    setattr(RecordingCanvas2D, _name, _logger(_name))
del _name


def _same(x, y, tol: float) -> bool:
    if isinstance(x, bool) or isinstance(y, bool):
        return x is y or (type(x) is type(y) and x == y)
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if math.isinf(x) or math.isinf(y):
            return x == y
        return abs(x - y) <= tol * max(1.0, abs(x), abs(y))
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(_same(a, b, tol) for a, b in zip(x, y))
    return type(x) is type(y) and x == y


def ops_diff(a: list, b: list, tol: float = 1e-6) -> str | None:
    """None when two op logs match (numbers within tol, relative above 1), else a message
    naming the first difference."""
    for i, (x, y) in enumerate(zip(a, b)):
        if not _same(x, y, tol):
            return f"op {i} differs: {x!r} != {y!r}"
    if len(a) != len(b):
        n = min(len(a), len(b))
        extra = (a if len(a) > n else b)[n]
        return f"logs differ in length ({len(a)} vs {len(b)}); first extra op {n}: {extra!r}"
    return None


def ops_equal(a: list, b: list, tol: float = 1e-6) -> bool:
    return ops_diff(a, b, tol) is None
