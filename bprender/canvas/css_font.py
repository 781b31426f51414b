"""The CSS ``font`` shorthand as the canvas ``font`` property takes it.

``[style] [variant] [weight] [stretch] size[/line-height] family[, family]*``, for example
``"bold 14px bprender-sans"``. Sizes in absolute units (px, pt, pc, in, cm, mm, q) are
accepted; relative sizes (em, %, keywords) and system fonts (caption, menu...) are not, and an
unparsable string is ignored by the canvas, as the spec says.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .memo import memo_parser

_UNITS = {"px": 1.0, "pt": 4.0 / 3.0, "pc": 16.0, "in": 96.0, "cm": 96.0 / 2.54,
          "mm": 96.0 / 25.4, "q": 96.0 / 101.6}
_SIZE = re.compile(r"^((?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)(px|pt|pc|in|cm|mm|q)(?:/(\S*))?$")
_STYLES = {"italic", "oblique"}
_VARIANTS = {"small-caps"}
_WEIGHTS = {"bold": 700, "bolder": 700, "lighter": 100}
_STRETCHES = {"ultra-condensed", "extra-condensed", "condensed", "semi-condensed",
              "semi-expanded", "expanded", "extra-expanded", "ultra-expanded"}
_IDENT = re.compile(r"^-?[a-z_\u0080-\uffff][a-z0-9_\-\u0080-\uffff]*$", re.I)


@dataclass(frozen=True)
class FontSpec:
    style: str          # "normal" | "italic" | "oblique"
    variant: str        # "normal" | "small-caps" (parsed, not drawn)
    weight: int         # 1..1000
    size: float         # px
    families: tuple[str, ...]  # unquoted names, in order
    css: str            # the spec-style serialisation (the getter's value)


@memo_parser(1024)
def parse_font(text: str) -> FontSpec | None:
    """The font a CSS shorthand names, or None when the canvas must ignore it."""
    return _parse(text)


def _parse(text: str) -> FontSpec | None:
    s = text.strip()
    # "14px / 1.2 Arial" -> "14px/1.2 Arial"
    s = re.sub(r"\s*/\s*", "/", s)
    tokens = s.split(None)
    style, variant, weight, weight_kw, stretch = "normal", "normal", 400, None, "normal"
    seen: set[str] = set()
    for i, tok in enumerate(tokens):
        low = tok.lower()
        m = _SIZE.match(low)
        if m:
            if len(seen) > 4 or (m.group(3) is not None and not _line_height_ok(m.group(3))):
                return None
            size = float(m.group(1)) * _UNITS[m.group(2)]
            families = _families(s.split(None, i + 1)[i + 1] if len(tokens) > i + 1 else "")
            if not families:
                return None
            return FontSpec(style, variant, weight, size, tuple(f for f, _ in families),
                            _serialize(style, variant, weight, weight_kw, stretch, size, families))
        if low == "normal":
            seen.add(f"normal{i}")
        elif low in _STYLES and "style" not in seen:
            style = low
            seen.add("style")
        elif low in _VARIANTS and "variant" not in seen:
            variant = low
            seen.add("variant")
        elif (low in _WEIGHTS or re.fullmatch(r"\d+(\.\d+)?", low)) and "weight" not in seen:
            if low in _WEIGHTS:
                weight, weight_kw = _WEIGHTS[low], low
            else:
                w = float(low)
                if not 1 <= w <= 1000:
                    return None
                weight = int(round(w))
            seen.add("weight")
        elif low in _STRETCHES and "stretch" not in seen:
            stretch = low
            seen.add("stretch")
        else:
            return None
    return None


def _line_height_ok(lh: str) -> bool:
    return lh == "normal" or re.fullmatch(r"(\d+\.?\d*|\.\d+)(px|pt|em|%)?", lh) is not None


def _families(text: str) -> list[tuple[str, bool]] | None:
    """[(name, quoted)] or None when the list is malformed."""
    out = []
    for part in text.split(","):
        p = part.strip()
        if not p:
            return None
        if len(p) >= 2 and p[0] == p[-1] and p[0] in "'\"":
            out.append((p[1:-1], True))
            continue
        words = p.split()
        if not all(_IDENT.match(w) for w in words):
            return None
        out.append((" ".join(words), False))
    return out


def _serialize(style, variant, weight, weight_kw, stretch, size, families) -> str:
    parts = []
    if style != "normal":
        parts.append(style)
    if variant != "normal":
        parts.append(variant)
    if weight_kw is not None:
        parts.append(weight_kw)
    elif weight != 400:
        parts.append("bold" if weight == 700 else str(weight))
    if stretch != "normal":
        parts.append(stretch)
    parts.append(f"{size:g}px")
    fams = ", ".join(f'"{name}"' if quoted else name for name, quoted in families)
    return " ".join(parts) + " " + fams
