"""StrokeMemo: the outline a stroke fills, computed once per (path, stroke style, scale).

Why: skia draws a stroke by first turning the path into the outline of the stroke (and, for a
dashed one, cutting the dashes: SkPaint::getFillPath), then filling that outline. The painter
strokes the same node boxes and edge routes frame after frame; on this skia build the outline
is about a third of a plain stroke's cost and two thirds of a dashed one's (a 131x139 box:
28 -> 18.5 us plain, 50 -> 34 us dashed). Filling the remembered outline is the same
arithmetic skia does inside drawPath, so the pixels are the same (tests/test_canvas.py checks
them against direct strokes over widths, scales, dashes and shapes).

Not used where skia draws a stroke another way: a stroke under a pixel wide on the device
(skia draws it as a hairline with its coverage scaled), and a dashed single line (drawn as
points or rectangles), nor dashes along straight lines only (skia culls those to the clip).
Raster canvases only: a vector still keeps its strokes as strokes.
"""
from __future__ import annotations

import math

import skia

_LINES_ONLY = int(skia.Path.kLine_SegmentMask)
MAX_ENTRIES = 4096  # outlines kept per canvas: start over past this (a frame strokes a few hundred)


class StrokeMemo:
    __slots__ = ("_outlines",)

    def __init__(self):
        self._outlines: dict = {}

    def outline(self, path: skia.Path, paint: skia.Paint, m, style: tuple,
                path_key: bytes | None = None) -> skia.Path | None:
        """The filled outline of stroking ``path`` with ``paint`` under the device transform
        m = (a, b, c, d, e, f), or None when skia would not draw it as a filled outline.
        style: what the paint strokes with, as the canvas holds it: (width, cap, join, miter
        limit, dash key or None); path_key: the path's serialized bytes, when the caller keeps
        them (a Path2D's)."""
        a, b, c, d = m[0], m[1], m[2], m[3]
        sx, sy = math.hypot(a, b), math.hypot(c, d)   # skia's ComputeResScaleForStroking
        if not (style[0] * min(sx, sy) > 1.0 and math.isfinite(sx) and math.isfinite(sy)):
            return None  # a hairline on the device (or a degenerate transform): drawn directly
        if style[4] is not None and path.getSegmentMasks() == _LINES_ONLY:
            return None  # dashes on straight lines: skia culls and special-cases them
        scale = max(sx, sy)
        key = (bytes(path.serialize()) if path_key is None else path_key, style, scale)
        hit = self._outlines.get(key)
        if hit is None:
            hit = skia.Path()
            paint.getFillPath(path, hit, None, scale)
            if len(self._outlines) >= MAX_ENTRIES:
                self._outlines.clear()
            self._outlines[key] = hit
        return hit
