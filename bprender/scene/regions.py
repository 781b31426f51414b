"""Where things go in the frame, computed once per scene: the header at the top, the caption
band at the bottom, the graph area between them, and (when training) the loss-curve panel on
the right of the graph area. Everything else in the scene stage reads these rectangles."""
from __future__ import annotations

from dataclasses import dataclass

from .style import Sizes

Rect = tuple[float, float, float, float]  # x, y, w, h
CAPTION_LINES = 3  # the caption band holds three lines
CAPTION_BASE_PX = 19  # its font size at 1280x720


@dataclass(frozen=True)
class Regions:
    width: int
    height: int
    margin: float          # left and right, and the graph's inner gap
    header_bottom: float   # where the header's last line ends
    caption: Rect          # the caption band
    caption_text_w: float  # the width a caption line may take
    curve: Rect | None     # the loss-curve panel (training scenes)
    graph: Rect            # the area the graph is laid out in


def regions_for(width: int, height: int, sizes: Sizes, training: bool = False, header_lines: int = 1) -> Regions:
    """header_lines: the header's lines of description (a long one wraps onto two)."""
    margin = sizes.px(40)
    header_bottom = sizes.px(22) + sizes.text_px(26) + sizes.text_px(15) * (1.9 + 1.35 * (header_lines - 1))
    band_h = round(sizes.px(18) * 1.6 + CAPTION_LINES * sizes.text_px(CAPTION_BASE_PX, primary=True) * 1.35, 2)
    caption = (margin, round(height - band_h - sizes.px(16), 2), width - 2 * margin, band_h)
    top = header_bottom + sizes.px(14)
    bottom = height - band_h - sizes.px(16) - sizes.px(14)
    curve = None
    reserve = 0.0
    if training:
        w = round(width * 0.23, 2)
        h = round(min(bottom - top, w * 0.9), 2)
        curve = (round(width - margin - w, 2), round(top + (bottom - top - h) / 2, 2), w, h)
        reserve = w + sizes.px(24)
    graph = (margin, top, width - 2 * margin - reserve, bottom - top)
    return Regions(width, height, margin, header_bottom, caption, caption_text_width(width, sizes), curve, graph)


def caption_text_width(width: int, sizes: Sizes) -> float:
    """The width a caption line may take (the band less its margins and padding)."""
    return width - 2 * sizes.px(40) - 2 * sizes.px(18)
