"""The player's tooltip for each heatmap cell: which elements of the tensor it stands for and
its number, formatted here (numbers are formatted in Python only)."""
from __future__ import annotations

import math

from ..fmt import num

TIP_CELLS = 1024  # a glyph of more cells has no per-cell tooltip (the scene stays small)


def _extent(summary: dict, heat: dict) -> tuple[int, int]:
    """(rows, cols) of each image before pooling."""
    shape = summary.get("shape") or []
    if heat["layout"] == "strip":
        count = shape[1] if len(shape) == 4 else math.prod(shape)
        return 1, count
    return shape[-2], shape[-1]


def _span(i: int, window: int, extent: int) -> str:
    first, last = i * window, min(extent, (i + 1) * window) - 1
    return str(first) if first >= last else f"{first}…{last}"


def cell_tips(summary: dict, other: dict | None, grad: bool) -> list[str]:
    """A tooltip per pixel of a glyph's heatmap image ("" between two channels): the cell's
    index (its window's, when pooled) and number, and the other tensor's (the gradient for a
    value, the value for a gradient) when it is laid out cell for cell the same, unpooled."""
    heat = summary["heat"]
    rows, cols, channels = heat["rows"], heat["cols"], heat["channels"]
    if channels * rows * cols > TIP_CELLS:
        return []
    (pr, pc), (er, ec) = heat["pool"], _extent(summary, heat)
    pooled = heat["pool"] != [1, 1]
    mine = "grad" if grad else "value"
    theirs = None
    if other and other.get("heat") and not pooled:
        o = other["heat"]
        if (o["rows"], o["cols"], o["channels"], o["pool"]) == (rows, cols, channels, [1, 1]):
            theirs = o["values"]
    tips = []
    for r in range(rows):
        for ch in range(channels):
            if ch:
                tips.append("")
            for c in range(cols):
                k = (ch * rows + r) * cols + c
                index = f"[{_span(c, pc, ec)}]" if heat["layout"] == "strip" else \
                    f"[{_span(r, pr, er)}, {_span(c, pc, ec)}]"
                if heat["layout"] == "channels":
                    index = f"channel {ch} {index}"
                text = f"{index}: {mine} {'max |x| ' if pooled else ''}{num(heat['values'][k])}"
                if theirs is not None:
                    text += f", {'value' if grad else 'grad'} {num(theirs[k])}"
                tips.append(text)
    return tips
