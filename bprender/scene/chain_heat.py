"""The chain rule made visible in the caption band: at a Linear's, a conv's or attention's
backward step, its factors (chain_rule/factors.py: δ · aᵀ = ∂L/∂W, a ⋆ δ = ∂L/∂K, A and ∂L/∂A)
drawn as small heatmaps at the band's right end, with "·" / "=" between them, each labelled at
the type floor ("∂L/∂W · pooled 1×2" where the preview is pooled, as a node's glyph says it);
the caption's text keeps the rest of the band, narrower for those steps.

The heatmaps share one cell size, so the outer product reads as shapes: δ's column as tall as
∂L/∂W, aᵀ's row as wide. Cells are levels as the node glyphs' are (glyphs.glyph_levels: each
heatmap normalised to its own largest magnitude), coloured by the painters in the view's
theme. Each factor appears with the formula's term of its kind (formula.py's timing: the
upstream gradient with the step, the local factor, then the result) and fades with its caption.
"""
from __future__ import annotations

from .glyphs import CELL_RATIO, FONT, GAP, glyph_levels
from .regions import CAPTION_BASE_PX, Rect
from .style import Sizes

MAX_CELL = 18     # px at 1280x720
SHARE = 0.42      # of the caption's line width: the most the heatmaps take across
EDGE = 8          # px at 1280x720 between the band's edge and the heatmaps, above and below


def _note(name: str, heat: dict, extra: str = "") -> str:
    parts = [name] + ([extra] if extra else [])
    if heat["pool"] != [1, 1]:
        parts.append(f"pooled {heat['pool'][0]}×{heat['pool'][1]}")
    if heat.get("more"):
        parts.append(f"+ {heat['more']} more")
    return " · ".join(parts)


def _cells(heat: dict, signed: bool) -> tuple[list[int], int]:
    """A preview's levels, its channels' images side by side (a GAP column between two), and
    the image's width in cells."""
    levels, _ = glyph_levels([float(v) for v in heat["values"]], signed)
    rows, cols, channels = heat["rows"], heat["cols"], heat["channels"]
    cells = []
    for r in range(rows):
        for c in range(channels):
            if c:
                cells.append(GAP)
            start = (c * rows + r) * cols
            cells.extend(levels[start:start + cols])
    return cells, channels * cols + channels - 1


def chain_block(factors: dict | None, band: Rect, sizes: Sizes, fonts, text_w: float) -> dict | None:
    """The heatmaps of a step's factors laid out at the right end of the caption band (frame
    coordinates), their stages still to be timed (captions.timed_block); None without factors, or where
    their cells would be too small to be seen (under a quarter of the type floor)."""
    if not factors:
        return None
    bx, by, bw, bh = band
    pad = sizes.px(18)
    gap = sizes.px(4)
    label_font, label_px = sizes.font(FONT), sizes.text_px(FONT)
    op_font = sizes.font(CAPTION_BASE_PX, primary=True)   # the caption's own font
    op_px = sizes.text_px(CAPTION_BASE_PX, primary=True)
    top = by + sizes.px(EDGE)
    image_top = top + label_px * 1.15 + gap
    image_h = by + bh - sizes.px(EDGE) - image_top
    terms = factors["terms"]
    made = [(_cells(t["heat"], t["signed"]), t) for t in terms]
    ops = [(op, fonts.measure(op, op_font) + 2 * sizes.px(10) if op else sizes.px(20)) for op in factors["between"]]
    labels = [_note(t["name"], t["heat"], t.get("note", "")) for t in terms]
    label_w = [fonts.measure(text, label_font) for text in labels]
    across = sum(width for (_, width), _ in made)
    room = SHARE * text_w - sum(w for _, w in ops)
    cell = min(sizes.px(MAX_CELL), image_h / max(t["heat"]["rows"] for t in terms), room / across)
    cell = round(cell, 2)
    if cell < sizes.floor / CELL_RATIO:
        return None
    widths = [max(width * cell, lw) for ((_, width), _), lw in zip(made, label_w)]
    total = sum(widths) + sum(w for _, w in ops)
    x = bx + bw - pad - total
    # the labels on one line above the tallest image, the images centred on one line (a column
    # beside a row reads as the outer product), all of it centred in the band's height
    tallest = max(t["heat"]["rows"] for t in terms) * cell
    top += (image_h - tallest) / 2
    mid = top + label_px * 1.15 + gap + tallest / 2
    out_terms, out_ops = [], []
    for k, (((cells, width), term), label, lw, w) in enumerate(zip(made, labels, label_w, widths)):
        heat = term["heat"]
        iw, ih = round(width * cell, 2), round(heat["rows"] * cell, 2)
        ix, iy = round(x + (w - iw) / 2, 2), round(mid - ih / 2, 2)
        frames = [[round(ix + c * (heat["cols"] + 1) * cell, 2), iy, round(heat["cols"] * cell, 2), ih]
                  for c in range(heat["channels"])]
        out_terms.append({
            "stage": term["stage"],
            "image": {"x": ix, "y": iy, "w": iw, "h": ih, "cols": width, "rows": heat["rows"],
                      "map": "signed" if term["signed"] else "positive", "cells": cells},
            "frames": frames,
            "label": {"text": label, "x": round(x + w / 2, 2), "y": round(top + label_px * 0.85, 2),
                      "font": label_font, "px": label_px, "w": round(lw, 2), "color": "caption_text"}})
        x += w
        if k < len(ops):
            op, ow = ops[k]
            if op:
                stage = max(term["stage"], terms[k + 1]["stage"])   # "· aᵀ" comes in one go
                out_ops.append({"stage": stage, "text": op, "x": round(x + ow / 2, 2),
                                "y": round(mid + op_px * 0.35, 2), "font": op_font, "color": "caption_text"})
            x += ow
    return {"w": round(total, 2), "terms": out_terms, "operators": out_ops,
            "frame_color": "muted", "frame_width": sizes.px(1)}
