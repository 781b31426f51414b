"""Heatmap glyphs: a tensor-valued node's value (forward pass) and gradient (backward pass)
drawn as small images inside its box, side by side once both exist.

The trace keeps each tensor cut and pooled (bprender/trace/heat.py); here each cell becomes a
level, a whole number from -LEVELS to LEVELS (the value over the glyph's largest finite
magnitude: a diverging map symmetric around zero for signed tensors and every gradient, a
sequential 0..LEVELS one for non-negative values), NONFINITE for NaN/±Inf, GAP for the
transparent column between two channels' images. The painters turn levels into colours of the
view's theme at paint time (heat_mid to the sign colours, or to heat_seq), so one scene draws in
every theme, and draw each image once with drawImage, nearest-neighbour.
"""
from __future__ import annotations

import math

from ..fmt import MINUS, num
from ..jsonio import to_float
from .glyph_tips import cell_tips
from .style import Sizes

LEVELS = 100
NONFINITE = LEVELS + 1
GAP = LEVELS + 2
# A cell needs a quarter of the type floor to be seen: a glyph's legibility size (its "px",
# tested against the floor like a text's) is its cell size times this; its line is a text.
CELL_RATIO = 4
BAR_CELLS = 21          # the scale bar: -LEVELS..LEVELS (or 0..LEVELS) in this many steps
MAX_CELL = 20           # px at 1280x720
WIDTH = 168             # px at 1280x720: the most a panel's images take across
HEIGHT = 112
FONT = 11               # the glyph's line (range, pooling), a secondary text
GAP_X = 14              # px at 1280x720 between the value's glyph and the gradient's
MAX_TOKENS = 12         # an attention matrix with more tokens than this is drawn without their labels
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def glyph_levels(values: list, signed: bool) -> tuple[list[int], float]:
    """(levels, the largest finite |value|) for a glyph's cell values."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    top = max(finite, default=0.0)
    levels = []
    for v in values:
        if not math.isfinite(v):
            levels.append(NONFINITE)
        elif top == 0:
            levels.append(0)
        else:
            level = round(LEVELS * v / top)
            levels.append(level if signed else max(0, level))
    return levels, top


def _heat(summary: dict | None) -> dict | None:
    heat = (summary or {}).get("heat")
    return heat if heat and heat.get("values") else None


def has_glyphs(node, shape: str) -> bool:
    return shape != "circle" and (bool(node.repeats) or any(_heat(s) is not None for s in (node.value, node.grad)))


def _cell(heat: dict, sizes: Sizes) -> float:
    across = heat["channels"] * heat["cols"] + heat["channels"] - 1
    fit = min(sizes.px(MAX_CELL), sizes.px(WIDTH) / across, sizes.px(HEIGHT) / heat["rows"])
    least = sizes.floor / CELL_RATIO * 1.1  # never under the floor at the made size
    return round(max(fit, least), 2)


def _note(heat: dict, signed: bool, top: float, grad: bool, name: str = "") -> str:
    lo = f"{MINUS}{num(top, 2)}" if signed and top > 0 else "0"
    prefix = (f"∂L/∂{name} " if grad else f"{name} ") if name else ("grad " if grad else "")
    parts = [prefix + f"{lo} … {num(top, 2)}"]
    if heat["pool"] != [1, 1]:
        parts.append(f"pooled {heat['pool'][0]}×{heat['pool'][1]}")
    if heat["more"]:
        parts.append(f"+ {heat['more']} more")
    return " · ".join(parts)


def token_count(summary: dict | None) -> int:
    """The tokens of an attention matrix's glyph (token x token, unpooled, few enough to name
    each at the type floor), else 0."""
    heat = _heat(summary)
    if heat is None or heat["pool"] != [1, 1] or heat["rows"] != heat["cols"] or not 1 < heat["rows"] <= MAX_TOKENS:
        return 0
    return heat["rows"]


def _panel(summary: dict, grad: bool, sizes: Sizes, fonts, other: dict | None = None, attention: bool = False) -> dict:
    """A glyph laid out at the origin: its images, frames and text, and its size. other: the
    node's other tensor (its gradient for a value, its value for a gradient), for the tips.
    attention: the tensor is attention weights A (rows: queries, columns: keys), named so and
    its rows and columns labelled with their tokens t₁, t₂, ... where they fit."""
    heat = summary["heat"]
    values = [to_float(v) for v in heat["values"]]
    stats = summary.get("stats") or {}
    signed = grad or any(v < 0 for v in values if math.isfinite(v)) or to_float(stats.get("min") or 0.0) < 0
    levels, top = glyph_levels(values, signed)
    cell = _cell(heat, sizes)
    rows, cols, channels = heat["rows"], heat["cols"], heat["channels"]
    tokens = token_count(summary) if attention else 0
    if tokens:
        cell = max(cell, round(sizes.text_px(FONT) * 1.15, 2))   # a column per token label
    across = channels * cols + channels - 1
    cells = []
    for r in range(rows):  # the channels' images side by side, one GAP column between two
        for c in range(channels):
            if c:
                cells.append(GAP)
            start = (c * rows + r) * cols
            cells.extend(levels[start:start + cols])
    image_w, image_h = round(across * cell, 2), round(rows * cell, 2)
    font = sizes.font(FONT)
    px = sizes.text_px(FONT)
    text = _note(heat, signed, top, grad, "A" if attention else "")
    text_w = fonts.measure(text, font)
    bar_h = round(max(px * 0.35, sizes.px(3)), 2)
    gap = sizes.px(4)
    names = [f"t{str(k + 1).translate(SUB)}" for k in range(tokens)]
    gutter = round(max(fonts.measure(n, font) for n in names) + gap, 2) if tokens else 0.0  # row labels
    band = round(px + gap, 2) if tokens else 0.0     # column labels above the image
    width = round(max(image_w + 2 * gutter, text_w), 2)   # the image stays centred under the text
    left = (width - image_w) / 2
    frames = [[round(left + c * (cols + 1) * cell, 2), band, round(cols * cell, 2), image_h] for c in range(channels)]
    labels = []
    for k, name in enumerate(names):   # keys across the top of each channel's image, queries down the left
        w = round(fonts.measure(name, font), 2)
        for c in range(channels):
            labels.append({"text": name, "x": round(left + (c * (cols + 1) + k + 0.5) * cell, 2),
                           "y": round(band - gap, 2), "font": font, "px": px, "w": w, "color": "muted"})
        labels.append({"text": name, "x": round(left - gutter / 2 - gap / 2, 2),
                       "y": round(band + (k + 0.5) * cell + px * 0.35, 2), "font": font, "px": px, "w": w,
                       "color": "muted"})
    bar_cells = [round(-LEVELS + 2 * LEVELS * k / (BAR_CELLS - 1)) for k in range(BAR_CELLS)] if signed else \
        [round(LEVELS * k / (BAR_CELLS - 1)) for k in range(BAR_CELLS)]
    bar_w = min(image_w, sizes.px(96))
    images = [{"x": round(left, 2), "y": band, "w": image_w, "h": image_h, "cols": across, "rows": rows,
               "map": "signed" if signed else "positive", "cells": cells, "tips": cell_tips(summary, other, grad)},
              {"x": round((width - bar_w) / 2, 2), "y": round(band + image_h + gap, 2), "w": round(bar_w, 2),
               "h": bar_h, "cols": BAR_CELLS, "rows": 1, "map": "signed" if signed else "positive", "cells": bar_cells}]
    baseline = band + image_h + gap + bar_h + gap + px * 0.8
    height = round(baseline + px * 0.25, 2)
    panel = {"track": "grad" if grad else "lit", "px": round(cell * CELL_RATIO, 2), "cell": cell,
             "w": width, "h": height, "images": images, "frames": frames,
             "frame_color": "node_stroke", "frame_width": sizes.px(1),
             "text": {"text": text, "x": round(width / 2, 2), "y": round(baseline, 2), "font": font, "px": px,
                      "w": round(text_w, 2), "color": "muted"}}
    if labels:
        panel["labels"] = labels
    return panel


def repeat_panel(node, level_of, sizes: Sizes, fonts) -> dict | None:
    """A folded block's gradient per repeat ("TransformerEncoderLayer × 6"): one cell per repeat
    in forward order, its shade the repeat's gradient norm on the scene's absolute magnitude
    scale (level_of: norm -> 0..1, log10 between the scene's smallest and largest gradient), so
    a gradient vanishing across the repeats shows as a strip fading out; None for other nodes."""
    if not node.repeats:
        return None
    norms = [to_float(x) for x in node.repeats]
    cells = [NONFINITE if not math.isfinite(x) else round(LEVELS * max(0.0, min(1.0, level_of(x)))) for x in norms]
    n = len(cells)
    cell = round(max(min(sizes.px(MAX_CELL), sizes.px(WIDTH) / n), sizes.floor / CELL_RATIO * 1.1), 2)
    image_w, image_h = round(n * cell, 2), round(cell * 1.6, 2)   # tall cells: a strip reads as one
    font, px = sizes.font(FONT), sizes.text_px(FONT)
    text = "‖∂L/∂·‖ per repeat, log scale"
    text_w = fonts.measure(text, font)
    gap = sizes.px(4)
    width = round(max(image_w, text_w), 2)
    left = round((width - image_w) / 2, 2)
    labels = node.repeat_labels or [str(k + 1) for k in range(n)]
    images = [{"x": left, "y": 0.0, "w": image_w, "h": image_h, "cols": n, "rows": 1, "map": "positive",
               "cells": cells, "tips": [f"{labels[k]}: ‖∂L/∂·‖ {num(x)}" for k, x in enumerate(norms)]}]
    frames = [[round(left + k * cell, 2), 0.0, cell, image_h] for k in range(n)]   # a hairline per repeat
    baseline = image_h + gap + px * 0.8
    return {"track": "grad", "px": round(cell * CELL_RATIO, 2), "cell": cell, "w": width,
            "h": round(baseline + px * 0.25, 2), "images": images, "frames": frames,
            "frame_color": "node_stroke", "frame_width": sizes.px(1),
            "text": {"text": text, "x": round(width / 2, 2), "y": round(baseline, 2), "font": font, "px": px,
                     "w": round(text_w, 2), "color": "muted"}}


def glyph_panels(node, shape: str, sizes: Sizes, fonts, per_step: dict | None = None,
                 level_of=None) -> list[dict]:
    """The node's glyphs at the origin (value first, then gradient; a folded block's strip of
    gradient per repeat), or none: not for round neurons, nor for a node whose numbers change
    with each training step (per_step: a parameter, the loss), as the trace keeps the tensors of
    step 1 only. level_of: the scene's magnitude scale (norm -> 0..1), for the repeat strip."""
    if shape == "circle" or per_step:
        return []
    own = node.attention is not None and node.attention[0] is node.value   # the node's value is A
    panels = [_panel(s, grad, sizes, fonts, node.value if grad else node.grad, attention=own)
              for s, grad in ((node.value, False), (node.grad, True)) if _heat(s) is not None]
    if node.attention is not None and not own:   # a module with attention inside: its A and ∂L/∂A beside
        a, da = node.attention
        panels += [_panel(s, grad, sizes, fonts, a if grad else da, attention=True)
                   for s, grad in ((a, False), (da, True)) if _heat(s) is not None]
    strip = repeat_panel(node, level_of, sizes, fonts) if level_of is not None else None
    return panels + ([strip] if strip is not None else [])


def block_size(panels: list[dict], sizes: Sizes) -> tuple[float, float]:
    """(width, height) of the glyphs side by side."""
    if not panels:
        return 0.0, 0.0
    gap = sizes.px(GAP_X)
    return (round(sum(p["w"] for p in panels) + gap * (len(panels) - 1), 2),
            round(max(p["h"] for p in panels), 2))


def place_glyphs(panels: list[dict], cx: float, top: float, sizes: Sizes) -> list[dict]:
    """The panels moved to their place: side by side, centred on cx, from top down."""
    width, _ = block_size(panels, sizes)
    x = cx - width / 2
    out = []
    for p in panels:
        dx = x

        def at(box, dx=dx):
            return [round(box[0] + dx, 2), round(box[1] + top, 2), box[2], box[3]]
        images = [{**im, "x": round(im["x"] + dx, 2), "y": round(im["y"] + top, 2)} for im in p["images"]]
        text = {**p["text"], "x": round(p["text"]["x"] + dx, 2), "y": round(p["text"]["y"] + top, 2)}
        x0, y0 = min(im["x"] for im in images), min(im["y"] for im in images)
        x1, y1 = max(im["x"] + im["w"] for im in images), max(im["y"] + im["h"] for im in images)
        out.append({"track": p["track"], "px": p["px"], "cell": p["cell"],
                    "box": [x0, y0, round(x1 - x0, 2), round(y1 - y0, 2)], "images": images,
                    "frames": [at(f) for f in p["frames"]], "frame_color": p["frame_color"],
                    "frame_width": p["frame_width"], "text": text})
        if "labels" in p:
            out[-1]["labels"] = [{**lab, "x": round(lab["x"] + dx, 2), "y": round(lab["y"] + top, 2)}
                                 for lab in p["labels"]]
        x += p["w"] + sizes.px(GAP_X)
    return out

