"""Glyph coverage tone that matches Linux Chromium's canvas text.

Why: skia turns a glyph's grayscale (A8) coverage into the blend coverage through a "mask
gamma" lookup table chosen by the luminance of the text colour (SkScalerContext's pre-blend,
built by SkMaskGamma from a contrast and a gamma). The two builds use different constants:

* skia-python (skia's defaults): contrast 0.5, sRGB gamma -- dark text comes out much lighter
  (a glyph edge pixel of coverage 0.86 is blended as 0.69), light text on dark heavier;
* Chromium on Linux (its skia build defines SK_GAMMA_CONTRAST=0.2, SK_GAMMA_EXPONENT=1.2, and
  its canvas surfaces carry them as text contrast/gamma): a much milder table (0.86 -> 0.84).

skia-python cannot set a surface's text contrast/gamma (SkSurfaceProps' textContrast/textGamma
are not bound), but any mask filter on the paint makes the scaler context drop its pre-blend
(SkScalerContext::PreprocessRec calls rec.ignorePreBlend() when a mask filter is present), and
a TableMaskFilter then applies a table of our choosing to the very same A8 glyph masks. So a
text paint gets ``skia.TableMaskFilter.Create(<Chromium's table for its colour>)``: the exact
table Chromium uses, on the same coverage. Skia caches the filtered glyphs in the strike (the
filter is part of the strike key; there are only 8 tables), so a draw costs about the same.

Limit: glyphs too big for skia's glyph cache (about 256 device px) are drawn as paths, where
the filter would apply the table to path coverage, which neither browser nor skia does.

Usage (Canvas2D text drawing; skia-python cannot clear a paint's mask filter, so text is drawn
with a separate paint and shapes keep theirs unfiltered)::

    self._text_paints = TextPaints()                              # in __init__
    paint = self._text_paints.paint(self._fill_ready())          # in _text
    canvas.drawTextBlob(blob, x, y, paint)

or, one copy per draw, ``text_paint(paint)``.

The table is built as SkMaskGamma builds it (SkTMaskGamma<3,3,3>): the paint colour is reduced
to 3 bits per channel, turned into a gray luminance ((54 r + 183 g + 19 b) >> 8), reduced to 3
bits again, and the table for that level is the "correcting LUT" for contrast and gamma.
"""
from __future__ import annotations

import math
import struct

import skia

# Linux Chromium's skia build (skia/BUILD.gn: "Settings for text blitting").
CHROMIUM_LINUX_CONTRAST = 0.2
CHROMIUM_LINUX_GAMMA = 1.2
# skia's own defaults (SkTypes.h), which skia-python is built with: 0 means the sRGB curve.
SKIA_DEFAULT_CONTRAST = 0.5
SKIA_DEFAULT_GAMMA = 0.0

LUM_BITS = 3  # SkMaskGamma = SkTMaskGamma<3, 3, 3>


def _scale255(v: int, bits: int = LUM_BITS) -> int:
    """Expand a ``bits``-bit value to 8 bits by repeating its bits (sk_t_scale255)."""
    out, shift = 0, 8 - bits
    while shift > -bits:
        out |= (v << shift) if shift >= 0 else (v >> -shift)
        shift -= bits
    return out & 0xFF


def _to_luma(gamma: float, x: float) -> float:
    if gamma == 0.0:  # sRGB
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4
    return x ** gamma


def _from_luma(gamma: float, x: float) -> float:
    if gamma == 0.0:
        return x * 12.92 if x <= 0.0031308 else 1.055 * x ** (1.0 / 2.4) - 0.055
    return x ** (1.0 / gamma)


def _f32(x: float) -> float:
    """Round to float32: skia computes the table in floats."""
    return struct.unpack("f", struct.pack("f", x))[0]


def correcting_lut(src_lum: int, contrast: float, gamma: float) -> list[int]:
    """The 256-entry coverage table SkMaskGamma uses for text of gray luminance ``src_lum``
    (0..255) over a guessed background of the opposite luminance, with one gamma for paint and
    device (skia sets both to the same value)."""
    src = _f32(src_lum / 255.0)
    lin_src = _f32(_to_luma(gamma, src))
    dst = _f32(1.0 - src)
    lin_dst = _f32(_to_luma(gamma, dst))
    adj = _f32(contrast * lin_dst)  # the contrast boost fades out as the text gets lighter
    table = []
    for i in range(256):
        a = _f32(i / 255.0)
        a = _f32(a + (1.0 - a) * adj * a)
        if abs(src - dst) < 1.0 / 256.0:
            v = a
        else:
            out = _f32(_from_luma(gamma, _f32(lin_src * a + (1.0 - a) * lin_dst)))
            v = _f32((out - dst) / (src - dst))
        table.append(max(0, min(255, int(math.floor(255.0 * v + 0.5)))))
    return table


def luminance_level(color: int) -> int:
    """The 3-bit luminance level (0..7) skia picks the table by, for an ARGB colour int."""
    r, g, b = (color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF
    r, g, b = (_scale255(c >> (8 - LUM_BITS)) for c in (r, g, b))
    lum = (r * 54 + g * 183 + b * 19) >> 8
    return lum >> (8 - LUM_BITS)


def tables(contrast: float = CHROMIUM_LINUX_CONTRAST,
           gamma: float = CHROMIUM_LINUX_GAMMA) -> list[list[int]]:
    """The 8 tables, by luminance level."""
    return [correcting_lut(_scale255(level), contrast, gamma) for level in range(1 << LUM_BITS)]


_CHROMIUM_FILTERS: list[skia.MaskFilter] = [skia.TableMaskFilter.Create(t) for t in tables()]


def text_paint(paint: skia.Paint) -> skia.Paint:
    """A copy of ``paint`` for drawing text, with the Chromium tone filter for its colour (the
    original stays unfiltered for shapes: skia-python cannot clear a mask filter)."""
    p = skia.Paint(paint)
    p.setMaskFilter(_CHROMIUM_FILTERS[luminance_level(p.getColor())])
    return p


class TextPaints:
    """Toned copies of a canvas's paints, kept between draws: ``paint(src)`` returns a paint
    equal to ``src`` plus the tone filter. The canvas changes only a paint's colour (with its
    alpha) between text draws, so copies are kept per (paint, colour): a frame that cycles
    through a few text colours makes no copies at all after the first frame."""
    __slots__ = ("_cache",)
    LIMIT = 256

    def __init__(self):
        self._cache: dict[tuple, tuple[skia.Paint, skia.Paint, skia.Paint]] = {}

    def paint(self, src: skia.Paint) -> skia.Paint:
        key = (id(src), src.getColor())
        hit = self._cache.get(key)
        if hit is not None and hit[0] is src and hit[1] == src:
            return hit[2]
        toned = text_paint(src)
        if len(self._cache) >= self.LIMIT:
            self._cache.clear()
        self._cache[key] = (src, skia.Paint(src), toned)  # holding src keeps its id unique
        return toned


def mask_filters(contrast: float, gamma: float) -> list[skia.MaskFilter]:
    """The 8 filters for other constants (experiments: contrast 0, gamma 1 is raw coverage)."""
    return [skia.TableMaskFilter.Create(t) for t in tables(contrast, gamma)]
