"""RasterSurface: a skia raster surface over a numpy array, with a Canvas2D on it.

Pixels are BGRA, premultiplied (kBGRA_8888 + kPremul), the layout skia draws fastest into here;
``pixels()`` is the array itself, so reading a frame back costs nothing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import skia

from .colors import parse_color
from .fonts import FontBook
from .skia_canvas import Canvas2D


class RasterSurface:
    """``width`` x ``height`` CSS px drawn at ``scale`` device px per CSS px (HiDPI, or a smaller
    GIF): the array is round(width*scale) x round(height*scale) and ``ctx`` has the scale as its
    base transform, so the painter always draws in CSS px."""

    def __init__(self, width: float, height: float, scale: float = 1.0,
                 fonts: FontBook | None = None, background: str | None = None):
        if not (width > 0 and height > 0 and scale > 0):
            raise ValueError(f"bad surface size {width}x{height} at scale {scale}")
        self.width, self.height, self.scale = width, height, float(scale)
        self.pixel_width = max(1, int(round(width * scale)))
        self.pixel_height = max(1, int(round(height * scale)))
        self._array = np.zeros((self.pixel_height, self.pixel_width, 4), np.uint8)
        self.surface = skia.Surface(self._array, skia.ColorType.kBGRA_8888_ColorType,
                                    skia.AlphaType.kPremul_AlphaType)
        self._fonts = fonts
        self.ctx = self._new_context()
        if background is not None:
            self.clear(background)

    def _new_context(self) -> Canvas2D:
        canvas = self.surface.getCanvas()
        canvas.restoreToCount(1)
        canvas.resetMatrix()
        if self.scale != 1.0:
            canvas.scale(self.scale, self.scale)
        return Canvas2D(canvas, self._fonts, owner=self, pixels=self._array)

    def reset(self, background: str | None = None) -> Canvas2D:
        """Start a frame: a fresh context (default state, no clip) and cleared pixels
        (transparent, or ``background``). Returns the new ``ctx``."""
        self.ctx = self._new_context()
        self.clear(background or "transparent")
        return self.ctx

    def clear(self, css_color: str = "transparent") -> None:
        """Fill every pixel with a colour, ignoring the context's transform and clip."""
        rgba = parse_color(css_color)
        if rgba is None:
            raise ValueError(f"not a CSS colour: {css_color!r}")
        r, g, b, a = rgba
        a8 = int(round(a * 255))
        px = bytes((round(b * a8 / 255), round(g * a8 / 255), round(r * a8 / 255), a8))
        self._array.view(np.uint32).fill(np.frombuffer(px, np.uint32)[0])  # one 32-bit store

    def pixels(self) -> np.ndarray:
        """The (H, W, 4) uint8 BGRA premultiplied array skia draws into (no copy)."""
        return self._array

    def rgba(self) -> np.ndarray:
        """A copy as (H, W, 4) uint8 RGBA, un-premultiplied."""
        bgra = self._array.astype(np.float32)
        a = bgra[..., 3:4]
        rgb = np.where(a > 0, bgra[..., 2::-1] * 255.0 / np.maximum(a, 1), 0)
        return np.concatenate([np.clip(np.rint(rgb), 0, 255), a], axis=-1).astype(np.uint8)

    def png_bytes(self) -> bytes:
        data = self.surface.makeImageSnapshot().encodeToData(skia.EncodedImageFormat.kPNG, 100)
        return bytes(data)

    def to_png(self, path: str | Path) -> None:
        Path(path).write_bytes(self.png_bytes())
