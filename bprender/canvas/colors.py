"""CSS colour strings -> (r, g, b, a) with r, g, b in 0..255 (ints) and a in 0..1 (float).

Accepts what the Canvas 2D painter uses: #rgb, #rgba, #rrggbb, #rrggbbaa, rgb()/rgba() in the
legacy comma syntax and the modern space syntax (``rgb(255 0 0 / 50%)``), and a set of named
colours. Anything else is "unparsable": parse_color returns None and the canvas ignores it, as
the HTML spec says for fillStyle/strokeStyle.
"""
from __future__ import annotations

import re

from .memo import memo_parser

RGBA = tuple[int, int, int, float]

NAMED: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "white": (255, 255, 255), "red": (255, 0, 0), "green": (0, 128, 0),
    "lime": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0), "cyan": (0, 255, 255),
    "aqua": (0, 255, 255), "magenta": (255, 0, 255), "fuchsia": (255, 0, 255),
    "gray": (128, 128, 128), "grey": (128, 128, 128), "silver": (192, 192, 192),
    "maroon": (128, 0, 0), "navy": (0, 0, 128), "olive": (128, 128, 0), "purple": (128, 0, 128),
    "teal": (0, 128, 128), "orange": (255, 165, 0), "darkgray": (169, 169, 169),
    "darkgrey": (169, 169, 169), "lightgray": (211, 211, 211), "lightgrey": (211, 211, 211),
    "dimgray": (105, 105, 105), "dimgrey": (105, 105, 105), "whitesmoke": (245, 245, 245),
    "gainsboro": (220, 220, 220), "crimson": (220, 20, 60), "darkred": (139, 0, 0),
    "steelblue": (70, 130, 180), "royalblue": (65, 105, 225), "dodgerblue": (30, 144, 255),
    "darkblue": (0, 0, 139), "gold": (255, 215, 0), "darkorange": (255, 140, 0),
    "darkgreen": (0, 100, 0), "pink": (255, 192, 203), "brown": (165, 42, 42),
}

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TOKEN = re.compile(rf"^({_NUM})(%?)$")
_FUNC = re.compile(r"^(rgba?)\((.*)\)$", re.S)
_HEX = re.compile(r"^#([0-9a-f]{3,8})$")

@memo_parser(4096)
def parse_color(text: str) -> RGBA | None:
    """The colour a CSS string names, or None when it is not one we can parse."""
    return _parse(text.strip().lower())


def _parse(s: str) -> RGBA | None:
    if s == "transparent":
        return (0, 0, 0, 0.0)
    if s in NAMED:
        r, g, b = NAMED[s]
        return (r, g, b, 1.0)
    m = _HEX.match(s)
    if m:
        h = m.group(1)
        if len(h) in (3, 4):
            vals = [int(c * 2, 16) for c in h]
        elif len(h) in (6, 8):
            vals = [int(h[i:i + 2], 16) for i in range(0, len(h), 2)]
        else:
            return None
        a = vals[3] / 255.0 if len(vals) == 4 else 1.0
        return (vals[0], vals[1], vals[2], a)
    m = _FUNC.match(s)
    if m:
        return _parse_rgb(m.group(2))
    return None


def _tokens(parts: list[str]) -> list[tuple[float, bool]] | None:
    out = []
    for p in parts:
        m = _TOKEN.match(p.strip())
        if not m:
            return None
        out.append((float(m.group(1)), m.group(2) == "%"))
    return out


def _channel(v: float, pct: bool) -> int:
    v = v / 100.0 * 255.0 if pct else v
    return int(min(255.0, max(0.0, v)) + 0.5)  # round half up, as browsers do


def _alpha(v: float, pct: bool) -> float:
    return min(1.0, max(0.0, v / 100.0 if pct else v))


def _parse_rgb(body: str) -> RGBA | None:
    if "," in body:  # legacy syntax: 3 or 4 comma-separated, channels all numbers or all %
        parts = body.split(",")
        if len(parts) not in (3, 4):
            return None
        toks = _tokens(parts)
        if toks is None or len({pct for _, pct in toks[:3]}) != 1:
            return None
    else:  # modern syntax: "r g b" or "r g b / a"
        main, _, alpha = body.partition("/")
        parts = main.split()
        if len(parts) != 3 or (_ and not alpha.strip()):
            return None
        if alpha.strip():
            parts.append(alpha)
        toks = _tokens(parts)
        if toks is None:
            return None
    r, g, b = (_channel(v, pct) for v, pct in toks[:3])
    a = _alpha(*toks[3]) if len(toks) == 4 else 1.0
    return (r, g, b, a)


def serialize_color(rgba: RGBA) -> str:
    """The spec's serialisation of a fillStyle/strokeStyle colour: #rrggbb when opaque,
    else rgba(r, g, b, a) with a as short as round-trips through 8 bits."""
    r, g, b, a = rgba
    if a >= 1.0:
        return f"#{r:02x}{g:02x}{b:02x}"
    a8 = round(a * 255)
    alpha = round(a8 / 255, 2)
    if round(alpha * 255) != a8:
        alpha = round(a8 / 255, 3)
    text = f"{alpha:.3f}".rstrip("0").rstrip(".") if alpha not in (0.0, 1.0) else str(int(alpha))
    return f"rgba({r}, {g}, {b}, {text})"
