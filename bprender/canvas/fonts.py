"""FontBook: CSS family names -> skia typefaces, and text layout shared by drawing and measuring.

skia-python has no shaper, so text is laid out the way HarfBuzz lays out our fonts: one glyph per
character from the cmap, linear (unhinted) advances, plus the font's pair kerning. The bundled
fonts are built (tools/make_font.py) so that this is exact: no GSUB, and a 'kern' table equal to
their GPOS kerning. A user font that kerns only through GPOS is drawn without kerning here.

Glyph rendering uses the settings closest to Linux Chromium: antialiased edging, slight hinting,
subpixel positioning. Vertical metrics follow Blink (see FontMetrics.baseline_offset).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import skia

from ..errors import BprenderError
from .css_font import FontSpec, parse_font

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
DEFAULT_FAMILY = "bprender-sans"
DEFAULT_FILES = {DEFAULT_FAMILY: ASSETS / "bprender-sans.ttf",
                 DEFAULT_FAMILY + ":bold": ASSETS / "bprender-sans-bold.ttf"}
_ALIASES = {"bprender sans": DEFAULT_FAMILY}


def _key(name: str) -> str:
    return " ".join(name.strip().strip("'\"").lower().split())


@dataclass(frozen=True)
class FontMetrics:
    """Vertical metrics in px for one font at one size (positive ascent/descent)."""
    ascent: float        # -SkFontMetrics.fAscent
    descent: float       # SkFontMetrics.fDescent
    em_ascent: float     # Blink's NormalizedTypoAscent (sTypoAscender scaled to sum to 1em, 1/64 px)
    em_descent: float    # Blink's NormalizedTypoDescent

    def baseline_offset(self, text_baseline: str) -> float:
        """How far the alphabetic baseline lies below y for a textBaseline (Blink's
        TextMetrics::GetFontBaseline, with Linux's integer-rounded ascent/descent)."""
        if text_baseline == "top":
            return self.em_ascent
        if text_baseline == "middle":
            return (self.em_ascent - self.em_descent) / 2.0
        if text_baseline == "bottom":
            return -self.em_descent
        if text_baseline == "hanging":
            return round(self.ascent) * 0.8
        if text_baseline == "ideographic":
            return -float(round(self.descent))
        return 0.0


class TextLayout:
    """One line of text laid out in one font: glyphs, x positions, advance width, and a
    TextBlob with its baseline at y = 0 starting at x = 0."""
    __slots__ = ("blob", "width", "glyphs", "xpos")

    def __init__(self, font: skia.Font, text: str, kerning_scale: float):
        glyphs = font.textToGlyphs(text) if text else []
        widths = font.getWidths(glyphs) if glyphs else []
        kern = font.getTypeface().getKerningPairAdjustments(glyphs) if len(glyphs) > 1 else None
        xpos, x = [], 0.0
        for i, w in enumerate(widths):
            xpos.append(x)
            x += w
            if kern and i < len(kern) and kern[i]:
                x += kern[i] * kerning_scale
        self.glyphs, self.xpos, self.width = glyphs, xpos, x
        if glyphs:
            builder = skia.TextBlobBuilder()
            builder.allocRunPosH(font, glyphs, xpos, 0.0)
            self.blob = builder.make()
        else:
            self.blob = None


# Typefaces come only from files we name. An empty custom font manager loads them without
# starting fontconfig, which scans the system fonts for nothing and warns about newer configs.
_FONT_FILES = skia.FontMgr.New_Custom_Empty()


class FontBook:
    """CSS family name -> typeface files.

    ``files`` adds (or replaces) families: ``{"name": path}`` is the regular face and
    ``{"name:bold": path}`` the bold face (used for weight >= 600). Without a bold face, weight
    >= 600 is synthesised (skia embolden), and italic/oblique is a synthetic skew, as browsers
    do. The family "bprender-sans" (the bundled font) is always present, and every family the
    book does not know, generic names included, falls back to it.
    """

    def __init__(self, files: dict[str, str | Path] | None = None):
        self._files: dict[str, Path] = {}
        self._typefaces: dict[Path, skia.Typeface] = {}
        self._fonts: dict[tuple, tuple[skia.Font, float, str]] = {}
        self._metrics: dict[tuple, FontMetrics] = {}
        self._layouts: dict[tuple, TextLayout] = {}
        self._by_spec: dict[int, tuple] = {}  # id(spec) -> (spec, font, kscale, key)
        for name, path in {**DEFAULT_FILES, **(files or {})}.items():
            fam, _, face = name.partition(":")
            k = _key(fam) + (":bold" if face.strip().lower() == "bold" else "")
            p = Path(path)
            if not p.is_file():
                raise FileNotFoundError(f"font file for {name!r} not found: {p}")
            self._files[k] = p

    # -- fonts ---------------------------------------------------------------------------
    def family(self, families: tuple[str, ...]) -> str:
        """The first of a CSS family list that the book knows, else the default family."""
        for fam in families:
            k = _key(fam)
            k = _ALIASES.get(k, k)
            if k in self._files:
                return k
        return DEFAULT_FAMILY

    def typeface(self, path: Path) -> skia.Typeface:
        tf = self._typefaces.get(path)
        if tf is None:
            tf = _FONT_FILES.makeFromFile(str(path))
            if tf is None:
                raise BprenderError(f"not a font file skia can read: {path}")
            self._typefaces[path] = tf
        return tf

    def font(self, spec: FontSpec) -> tuple[skia.Font, float, tuple]:
        """(skia.Font, kerning scale px per design unit, cache key) for a parsed CSS font."""
        hit = self._by_spec.get(id(spec))
        if hit is not None and hit[0] is spec:
            return hit[1]
        result = self._font(spec)
        if len(self._by_spec) > 1024:
            self._by_spec.clear()
        self._by_spec[id(spec)] = (spec, result)  # holding spec keeps its id unique
        return result

    def _font(self, spec: FontSpec) -> tuple[skia.Font, float, tuple]:
        fam = self.family(spec.families)
        bold = spec.weight >= 600
        italic = spec.style != "normal"
        key = (fam, bold, italic, spec.size)
        hit = self._fonts.get(key)
        if hit is None:
            path = self._files.get(fam + ":bold") if bold else None
            synth_bold = bold and path is None
            tf = self.typeface(path or self._files[fam])
            font = skia.Font(tf, spec.size)
            font.setEdging(skia.Font.Edging.kAntiAlias)
            font.setHinting(skia.FontHinting.kSlight)
            font.setSubpixel(True)
            if synth_bold:
                font.setEmbolden(True)
            if italic:
                font.setSkewX(-0.25)
            hit = (font, spec.size / tf.getUnitsPerEm(), key)
            self._fonts[key] = hit
        return hit

    def layout(self, text: str, spec: FontSpec) -> TextLayout:
        font, kscale, fkey = self.font(spec)
        key = (text, fkey)
        lay = self._layouts.get(key)
        if lay is None:
            if len(self._layouts) > 8192:
                self._layouts.clear()
            lay = self._layouts[key] = TextLayout(font, text, kscale)
        return lay

    def _spec(self, css_font: str | FontSpec) -> FontSpec:
        if isinstance(css_font, FontSpec):
            return css_font
        spec = parse_font(css_font)
        if spec is None:
            raise ValueError(f"not a CSS font: {css_font!r}")
        return spec

    # -- public measuring ----------------------------------------------------------------
    def measure(self, text: str, css_font: str | FontSpec) -> float:
        """Advance width in px of text in a CSS font (same layout as drawing)."""
        return self.layout(text, self._spec(css_font)).width

    def metrics(self, css_font: str | FontSpec) -> FontMetrics:
        font, _, key = self.font(self._spec(css_font))
        m = self._metrics.get(key)
        if m is None:
            sk = font.getMetrics()
            asc, desc = -sk.fAscent, sk.fDescent
            typo = _typo_ascent_descent(font.getTypeface())
            em_a, em_d = _normalized(font.getSize(), *(typo or (asc, desc)))
            m = self._metrics[key] = FontMetrics(asc, desc, em_a, em_d)
        return m


def _typo_ascent_descent(tf: skia.Typeface) -> tuple[float, float] | None:
    data = tf.getTableData(int.from_bytes(b"OS/2", "big"))
    if not data or len(data) < 72:
        return None
    asc, desc = struct.unpack(">hh", bytes(data[68:72]))
    return (float(asc), float(-desc)) if asc > 0 else None


def _normalized(size: float, ascent: float, descent: float) -> tuple[float, float]:
    """Blink's TrySetNormalizedTypoAscentAndDescent: keep the ratio, sum to the em, round to
    LayoutUnits (1/64 px)."""
    height = ascent + descent
    if height <= 0 or ascent < 0 or ascent > height:
        return size, 0.0
    a = math.floor(ascent * size / height * 64 + 0.5)  # half up, like LayoutUnit::FromFloatRound
    d = round(size * 64) - a
    return a / 64.0, d / 64.0
