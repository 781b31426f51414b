"""Bitmap: a small RGBA image made by the painter (a heatmap glyph) for Canvas 2D drawImage.

Plain bytes and a key: the recording canvas logs the key ([width, height, checksum]) in place of
the pixels, as web_player/paint.js's makeBitmap does, so the op logs compare the images too;
the skia canvas makes its skia.Image from the bytes once and keeps it here.
"""
from __future__ import annotations


def checksum(rgba) -> int:
    """A 32-bit rolling hash of the bytes (the same arithmetic as paint.js's checksum)."""
    h = 0
    for b in rgba:
        h = (h * 31 + b) & 0xFFFFFFFF
    return h


class Bitmap:
    __slots__ = ("width", "height", "rgba", "key", "skia_image")

    def __init__(self, width: int, height: int, rgba: bytes):
        self.width = width
        self.height = height
        self.rgba = bytes(rgba)  # unpremultiplied RGBA, row-major
        self.key = [float(width), float(height), float(checksum(self.rgba))]
        self.skia_image = None  # made by the skia canvas on first use
