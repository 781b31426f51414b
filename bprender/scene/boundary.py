"""The decision boundary in the predictions panel: for a model whose input has two features,
its output over the input plane (recorded per training step: trace/boundary.py) as a heatmap,
one image per step, the training samples as dots coloured by their target on the same map.

The map is diverging around the decision threshold: a probability (a sigmoid output, a BCE
loss) around 0.5, any other single output (a regression) around 0, and two classes' logits by
their margin, class 1's minus class 0's, around 0. Its scale is fixed over the whole run (the
largest distance from the threshold at any step, the targets' too), so an untrained model's
nearly flat map grows its contrast as it learns, and a fitted sample's dot melts into its
background.
Cells are the heatmap glyphs' levels (glyphs.py); the painters colour them by theme.
"""
from __future__ import annotations

import math

from ..fmt import MINUS, num
from ..jsonio import to_float
from .glyphs import BAR_CELLS, CELL_RATIO, LEVELS, NONFINITE
from .style import Sizes

LEAST_CELL = 1.1     # of a quarter of the type floor: the smallest cell drawn (as a glyph's)


def _level(v: float, top: float) -> int:
    if not math.isfinite(v):
        return NONFINITE
    return max(-LEVELS, min(LEVELS, round(LEVELS * v / top)))


def _mode(trace: dict, output_id: str, outputs: int, kind: str) -> str | None:
    """'probability', 'score' or 'margin' (two classes' logits), or None: no map for this."""
    nodes = {n["id"]: n for n in trace["nodes"]}
    loss = nodes.get(trace["loss"]["node"]) or {}
    if outputs == 2 and kind == "classes":
        return "margin"
    if outputs != 1 or kind != "numbers":
        return None
    sigmoid = (nodes.get(output_id) or {}).get("label") == "Sigmoid"
    return "probability" if sigmoid or str(loss.get("op", "")).startswith("BinaryCrossEntropyBackward") else "score"


def boundary_map(trace: dict, output_id: str, kind: str, targets: list[float]) -> dict | None:
    """{"mode", "top", "steps": [levels per cell, rows top to bottom, per step], "dots":
    [(column, row) in cells, from the top left, and the target's level]}, or None."""
    train = trace.get("train") or {}
    plane = train.get("plane")
    steps = train.get("steps") or []
    if not plane or not steps or any(not s.get("plane") for s in steps):
        return None
    mode = _mode(trace, output_id, plane["outputs"], kind)
    if mode is None:
        return None
    cols, rows, k = len(plane["x"]), len(plane["y"]), plane["outputs"]
    grids = []
    for s in steps:
        raw = [to_float(v) for v in s["plane"]]
        if len(raw) != cols * rows * k:
            return None
        grids.append([raw[i + 1] - raw[i] for i in range(0, len(raw), 2)] if mode == "margin" else
                     [v - 0.5 for v in raw] if mode == "probability" else raw)
    if mode == "probability":
        top = 0.5
        wanted = [t - 0.5 for t in targets]
    else:
        finite = [abs(v) for g in grids for v in g if math.isfinite(v)]
        wanted = [1.0 if t >= 0.5 else -1.0 for t in targets] if mode == "margin" else list(targets)
        top = max(finite + ([abs(t) for t in wanted if math.isfinite(t)] if mode == "score" else []) + [0.0])
        top = top if top > 0 else 1.0
        if mode == "margin":
            wanted = [t * top for t in wanted]
    flipped = [[_level(g[r * cols + c], top) for r in reversed(range(rows)) for c in range(cols)] for g in grids]
    x, y = plane["x"], plane["y"]
    dots = []
    for point, t in zip(plane["samples"], wanted):
        cx = (to_float(point[0]) - x[0]) / (x[-1] - x[0]) * (cols - 1) + 0.5
        cy = (y[-1] - to_float(point[1])) / (y[-1] - y[0]) * (rows - 1) + 0.5
        dots.append((cx, cy, _level(t, top)))
    return {"mode": mode, "top": top, "cols": cols, "rows": rows, "steps": flipped, "dots": dots}


def legend_texts(data: dict) -> tuple[str, str]:
    """The legend: what the colour means (under the map and its scale bar), what the dots are
    (on the panel's title line)."""
    top = num(data["top"], 2)
    if data["mode"] == "probability":
        scale, what = "output 0 … 0.5 … 1", "targets"
    elif data["mode"] == "margin":
        scale, what = f"logit₁ − logit₀ {MINUS}{top} … 0 … {top}", "classes"
    else:
        scale, what = f"output {MINUS}{top} … 0 … {top}", "targets"
    return scale, f"dots: {what}"


def least_side(data: dict, sizes: Sizes) -> float:
    """The smallest image that keeps its cells visible at the type floor (a glyph's rule)."""
    return data["cols"] * sizes.floor / CELL_RATIO * LEAST_CELL


def build_boundary(data: dict, box: tuple[float, float, float, float], legend: dict, sizes: Sizes) -> dict:
    """The map drawn in box (x, y, side, side), its scale bar under it, and the legend line
    (legend: {font, px, color, texts: [{text, x, y, align}]}); the painters pick the image by step."""
    x, y, side, _ = box
    cell = side / data["cols"]
    base = {"x": round(x, 2), "y": round(y, 2), "w": round(side, 2), "h": round(side * data["rows"] / data["cols"], 2),
            "cols": data["cols"], "rows": data["rows"], "map": "signed"}
    bar_h = round(max(legend["px"] * 0.35, sizes.px(3)), 2)   # as a heatmap glyph's bar
    bar = {"x": base["x"], "y": round(y + base["h"] + sizes.px(4), 2), "w": base["w"], "h": bar_h,
           "cols": BAR_CELLS, "rows": 1, "map": "signed",
           "cells": [round(-LEVELS + 2 * LEVELS * k / (BAR_CELLS - 1)) for k in range(BAR_CELLS)]}
    return {
        "px": round(cell * CELL_RATIO, 2),
        "images": [{**base, "cells": levels} for levels in data["steps"]],
        "bar": bar,
        "frame": [base["x"], base["y"], base["w"], base["h"]], "frame_color": "node_stroke",
        "frame_width": sizes.px(1),
        "dots": [{"x": round(x + cx * cell, 2), "y": round(y + cy * cell, 2), "level": level}
                 for cx, cy, level in data["dots"]],
        "dot_r": sizes.px(4.5), "dot_ring": "text", "dot_ring_width": sizes.px(1.5),
        "legend": legend,
    }
