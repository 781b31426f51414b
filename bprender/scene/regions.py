"""Where things go in the frame, computed once per scene: the header at the top, the caption
band at the bottom, the graph area between them, and (when training) the loss-curve panel on
the right of the graph area. Everything else in the scene stage reads these rectangles."""
from __future__ import annotations

from dataclasses import dataclass

from .predictions import predictions_height
from .style import Sizes

Rect = tuple[float, float, float, float]  # x, y, w, h
CAPTION_LINES = 3  # the caption band holds three lines
CAPTION_BASE_PX = 19  # its font size at 1280x720
BOUNDARY_COLUMN = 0.31  # of the frame's width: the side panels' column with a decision boundary


@dataclass(frozen=True)
class Regions:
    width: int
    height: int
    margin: float          # left and right, and the graph's inner gap
    header_bottom: float   # where the header's last line ends
    caption: Rect          # the caption band
    caption_text_w: float  # the width a caption line may take
    curve: Rect | None     # the loss-curve panel (training scenes)
    predictions: Rect | None  # the predictions panel under it (a training scene that has one)
    graph: Rect            # the area the graph is laid out in


def regions_for(width: int, height: int, sizes: Sizes, training: bool = False, header_lines: int = 1,
                prediction_rows: int = 0, boundary: bool = False) -> Regions:
    """header_lines: the header's lines of description (a long one wraps onto two).
    prediction_rows: the rows of the predictions panel under the loss curve (0: none).
    boundary: that panel also draws the decision boundary beside its rows (a wider column)."""
    margin = sizes.px(40)
    header_bottom = sizes.px(22) + sizes.text_px(26) + sizes.text_px(15) * (1.9 + 1.35 * (header_lines - 1))
    caption = caption_band(width, height, sizes)
    band_h = caption[3]
    top = header_bottom + sizes.px(14)
    bottom = height - band_h - sizes.px(16) - sizes.px(14)
    curve = table = None
    reserve = 0.0
    if training:
        w = round(width * (BOUNDARY_COLUMN if boundary and prediction_rows else 0.23), 2)
        left = round(width - margin - w, 2)
        if prediction_rows:   # the table as tall as its rows need (up to 60%, 64% with a boundary), the curve above
            gap = sizes.px(12)
            need = predictions_height(sizes, prediction_rows, boundary)
            table_h = round(min(need, (bottom - top - gap) * (0.64 if boundary else 0.6)), 2)
            h = round(min(w * 0.9, bottom - top - gap - table_h), 2)
            curve = (left, round(top, 2), w, h)
            table = (left, round(top + h + gap, 2), w, table_h)
        else:
            h = round(min(bottom - top, w * 0.9), 2)
            curve = (left, round(top + (bottom - top - h) / 2, 2), w, h)
        reserve = w + sizes.px(24)
    graph = (margin, top, width - 2 * margin - reserve, bottom - top)
    return Regions(width, height, margin, header_bottom, caption, caption_text_width(width, sizes), curve, table,
                   graph)


def caption_band(width: int, height: int, sizes: Sizes) -> Rect:
    """The caption band's rectangle: the frame's width less the margins, three lines high, at the
    bottom (known before the rest of the layout: the caption pages are fitted first)."""
    margin = sizes.px(40)
    band_h = round(sizes.px(18) * 1.6 + CAPTION_LINES * sizes.text_px(CAPTION_BASE_PX, primary=True) * 1.35, 2)
    return (margin, round(height - band_h - sizes.px(16), 2), width - 2 * margin, band_h)


def caption_text_width(width: int, sizes: Sizes) -> float:
    """The width a caption line may take (the band less its margins and padding)."""
    return width - 2 * sizes.px(40) - 2 * sizes.px(18)
