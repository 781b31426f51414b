"""Sizes, fonts and gradient styling resolved for one output size. Every number here ends up
in the Scene as a plain value, so the backends never decide anything about looks; colours are
roles (themes.py), looked up in the current palette when a frame is painted."""
from __future__ import annotations

import math
from dataclasses import dataclass


FAMILY = "bprender-sans"
# The type floor, relative to the frame (a projector's back rows): no text is drawn under
# FLOOR of the frame height, and a node's name, value and gradient and the caption are at
# least PRIMARY (1/40 and 1/30: 18 and 24 px at 720p, 9 and 12 px in a 640x360 GIF).
FLOOR = 1 / 40
PRIMARY = 1 / 30
FADE_ROOM = 1.1  # other text is made 10% above the floor, so it can fade out as a camera zooms out


@dataclass(frozen=True)
class Sizes:
    scale: float       # geometry: 1.0 at 1280x720
    text_scale: float  # text size factor before the floors apply
    floor: float       # px: no text is drawn smaller than this
    primary: float     # px: primary labels are at least this

    def px(self, base: float) -> float:
        return round(base * self.scale, 2)

    def text_px(self, base: float, primary: bool = False) -> float:
        least = self.primary if primary else self.floor * FADE_ROOM
        return round(max(base * self.text_scale, least), 1)

    def font(self, base: float, bold: bool = False, primary: bool = False) -> str:
        return f"{'600 ' if bold else ''}{self.text_px(base, primary)}px {FAMILY}"


def sizes_for(width: int, height: int, text_scale: float = 1.0, floor_height: float | None = None) -> Sizes:
    """Sizes for a frame. floor_height: the height the type floor is relative to, when the frame
    is a panel of a bigger one (side by side), else the frame's own."""
    scale = min(width / 1280, height / 720)
    base = floor_height or height
    return Sizes(scale=scale, text_scale=scale * text_scale, floor=round(base * FLOOR, 2),
                 primary=round(base * PRIMARY, 2))


@dataclass(frozen=True)
class GradientStyle:
    """One absolute magnitude scale for a whole scene: log10|gradient| placed linearly between
    the scene's smallest non-zero and largest magnitude, which sets edge width, particle radius
    and the opacity of both, so a vanishing gradient looks faint and thin next to a healthy one."""
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


def grad_role(summary: dict | None, value: float) -> str:
    """The colour role of a gradient: its sign for a scalar (or a NaN/Inf anywhere), and a
    neutral hue for a tensor, whose elements have signs of their own; its magnitude is shown
    by width and opacity."""
    role = sign_role(value)
    values = (summary or {}).get("values")
    if role in ("positive", "negative") and not (values is not None and len(values) == 1):
        return "magnitude"
    return role


def magnitude_text(style: GradientStyle) -> str:
    """The magnitude legend's range, e.g. "|∂L/∂·| 1e−7 … 0.2"."""
    from ..fmt import num
    if style.hi < style.lo or (style.lo == 0.0 and style.hi == 0.0):
        return ""
    return f"|∂L/∂·| {num(10 ** style.lo, 2)} … {num(10 ** style.hi, 2)}"


def sign_role(value: float) -> str:
    """The colour role of a gradient's sign: positive, negative, zero or nonfinite."""
    if not math.isfinite(value):
        return "nonfinite"
    if value == 0:
        return "zero"
    return "positive" if value > 0 else "negative"
