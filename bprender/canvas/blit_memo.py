"""BlitMemo: the pixels a draw call left, remembered, so the same call on the same pixels is a paste.

Why: on this skia build, blending glyph masks into a BGRA surface costs about 2 us per glyph
(a caption line of 60 glyphs: 0.1 ms), and a frame sets the same header, caption and panel texts
frame after frame. A raster draw is a pure function of the pixels it can touch, the call and the
state it draws with (paint, device transform, clip): so when a draw with the same key meets the
same pixels as a draw it remembers, the pixels it leaves are the remembered ones, exactly.

A key is remembered from its second draw on (a text fading in, or under a moving camera, is
drawn once per key: no copies for it), and the first of a key's draws that meets other pixels
(an edge or a particle came under it) is drawn normally and remembered again.
The region must hold every pixel the draw can change (the caller's bounds, rounded out by a
pixel); only regions of at least MIN_AREA pixels are worth it (a small text draws in a few us).
"""
from __future__ import annotations

import math

import numpy as np

MIN_AREA = 1500          # device px: below this a draw costs about what the comparison does
MAX_BYTES = 16 << 20     # the remembered blocks (before and after) per canvas: start over past this


class BlitMemo:
    """Over one (H, W, 4) uint8 pixel array that a skia raster canvas draws into."""

    __slots__ = ("_px", "_w", "_h", "_entries", "_seen", "_bytes")

    def __init__(self, pixels: np.ndarray):
        self._h, self._w = pixels.shape[:2]
        self._px = pixels.view(np.uint32).reshape(self._h, self._w)  # a pixel as one number
        self._entries: dict = {}  # key -> (region, pixels before as bytes, pixels after)
        self._seen: set = set()   # keys drawn once, not remembered yet
        self._bytes = 0

    def region(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int] | None:
        """The device pixel rows and columns (y0, y1, x0, x1) around a device rectangle (one
        pixel more on each side, within the array), or None when it is too small to remember."""
        if not (x0 <= x1 and y0 <= y1):  # NaN, or a bad rectangle
            return None
        r = (max(0, math.floor(y0) - 1), min(self._h, math.ceil(y1) + 1),
             max(0, math.floor(x0) - 1), min(self._w, math.ceil(x1) + 1))
        if (r[1] - r[0]) * (r[3] - r[2]) < MIN_AREA:
            return None
        return r

    def paste(self, key, region) -> bool:
        """Paste the pixels the draw `key` left when it met the pixels there now; False (nothing
        done) when it is not remembered for them."""
        hit = self._entries.get(key)
        if hit is None or hit[0] != region:
            return False
        block = self._px[region[0]:region[1], region[2]:region[3]]
        if block.tobytes() != hit[1]:  # a copy and a memcmp: faster than numpy's comparison
            del self._entries[key]  # other pixels now: draw, and remember from the next draw on
            self._bytes -= 2 * hit[2].nbytes
            return False
        block[...] = hit[2]
        return True

    def before(self, key, region):
        """Called before drawing `key` normally: a copy of the region's pixels when the draw is
        to be remembered (its second draw), else None."""
        if key not in self._seen:
            if len(self._seen) > 4096:
                self._seen.clear()
            self._seen.add(key)
            return None
        return self._px[region[0]:region[1], region[2]:region[3]].tobytes()

    def after(self, key, region, before) -> None:
        """Called after drawing `key` with the copy `before` gave: remember what it left."""
        after = self._px[region[0]:region[1], region[2]:region[3]].copy()
        if self._bytes + 2 * after.nbytes > MAX_BYTES:
            self._entries.clear()
            self._bytes = 0
        old = self._entries.get(key)
        if old is not None:
            self._bytes -= 2 * old[2].nbytes
        self._entries[key] = (region, before, after)
        self._bytes += 2 * after.nbytes
