"""Sizes, fonts and gradient styling resolved for one output size. Every number here ends up
in the Scene as a plain value, so the backends never decide anything about looks; colours are
roles (themes.py), looked up in the current palette when a frame is painted."""
from __future__ import annotations

import math
from dataclasses import dataclass


FAMILY = "bprender-sans"
READABLE_SCALE = 0.5  # 640x360: the smallest frame whose text keeps MIN_TEXT_PX
MIN_TEXT_PX = 11.0  # below this a label is unreadable in a slide-sized GIF (DESIGN: measured)


@dataclass(frozen=True)
class Sizes:
    scale: float       # 1.0 at 1280x720
    text_scale: float  # text size factor; text never shrinks below min_text_px
    min_text_px: float = MIN_TEXT_PX

    def px(self, base: float) -> float:
        return round(base * self.scale, 2)

    def text_px(self, base: float) -> float:
        return round(max(base * self.text_scale, self.min_text_px), 1)

    def font(self, base: float, bold: bool = False) -> str:
        return f"{'600 ' if bold else ''}{self.text_px(base)}px {FAMILY}"


def sizes_for(width: int, height: int, text_scale: float = 1.0, min_text_px: float = MIN_TEXT_PX,
              geometry: float = 1.0) -> Sizes:
    """Sizes for a frame: `geometry` shrinks boxes and gaps too (for graphs that do not fit)."""
    scale = min(width / 1280, height / 720)
    # the readable minimum holds down to a slide-sized GIF (640x360); a thumbnail smaller than
    # that is a picture of the whole, and its text shrinks with it
    min_text_px *= min(1.0, scale / READABLE_SCALE)
    return Sizes(scale=scale * geometry, text_scale=scale * text_scale, min_text_px=min_text_px)


@dataclass(frozen=True)
class GradientStyle:
    """Log-scale magnitude -> edge width / particle radius, normalised over one scene."""
    lo: float  # log10 of the smallest non-zero finite |grad|
    hi: float

    def level(self, value: float) -> float:
        """0..1 position of |value| on the scene's log scale."""
        if value == 0 or not math.isfinite(value):
            return 1.0 if not math.isfinite(value) else 0.0
        if self.hi <= self.lo:
            return 0.6
        return min(1.0, max(0.0, (math.log10(abs(value)) - self.lo) / (self.hi - self.lo)))


def gradient_style(values: list[float]) -> GradientStyle:
    logs = [math.log10(abs(v)) for v in values if v != 0 and math.isfinite(v)]
    if not logs:
        return GradientStyle(0.0, 0.0)
    return GradientStyle(min(logs), max(logs))


def sign_role(value: float) -> str:
    """The colour role of a gradient's sign: positive, negative, zero or nonfinite."""
    if not math.isfinite(value):
        return "nonfinite"
    if value == 0:
        return "zero"
    return "positive" if value > 0 else "negative"
