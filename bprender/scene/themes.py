"""Colour themes. The Scene names colours by role ("positive", "node_fill", ...) and carries
the palette of every theme; both painters look a role up in the current theme's palette at
paint time, so one laid-out scene is drawn in any theme (the player switches without a new
scene, and `bprender html` lays the graph out once for all of them)."""
from __future__ import annotations

import colorsys

# Sign colours follow the usual diverging-map convention: red positive, blue negative. A tensor's
# gradient has no one sign: it takes the neutral "magnitude" violet, its size shown by width and opacity.
# Heatmap glyphs blend from heat_mid (zero) to the sign colours (signed tensors) or to heat_seq
# (non-negative values: post-ReLU, probabilities), NaN/Inf cells in the NaN colour.
# The colour-blind theme uses Okabe-Ito vermillion/blue, distinguishable under all common
# colour-vision deficiencies; its NaN/Inf colour is black-ish instead of magenta.
# The flag colour (vanishing / exploding) is a green apart from every other mark colour: an amber
# flag looked like the forward-value yellow in the dark theme (CIEDE2000 2.0) and like the
# positive vermillion in the colour-blind one. Marks drawn on the background, the legend's words
# among them, keep WCAG's 3:1 for graphics (so the forward yellow is a darker gold on white);
# tests/test_themes.py checks every pair shown together in every theme.
THEMES: dict[str, dict[str, str]] = {
    "light": {
        "background": "#ffffff",
        "panel": "#f4f5f7",
        "text": "#1d2330",
        "muted": "#666d7a",
        "node_fill": "#ffffff",
        "node_stroke": "#9aa3b2",
        "leaf_fill": "#eef4ff",
        "const_fill": "#f3f3f3",
        "edge_idle": "#cfd5df",
        "forward": "#4b5563",
        "forward_glow": "#b58100",
        "loss": "#e8590c",
        "positive": "#d62728",
        "negative": "#1f5fbf",
        "zero": "#9ca3af",
        "nonfinite": "#c2008f",
        "flag": "#4d7c0f",
        "magnitude": "#6d3fc0",
        "heat_mid": "#f7f7f7",
        "heat_seq": "#0b6e4f",
        "caption_fill": "#1d2330",
        "caption_text": "#ffffff",
    },
    "dark": {
        "background": "#14161c",
        "panel": "#1f232c",
        "text": "#e8eaf0",
        "muted": "#9aa3b2",
        "node_fill": "#1f232c",
        "node_stroke": "#4b5563",
        "leaf_fill": "#1c2638",
        "const_fill": "#24272e",
        "edge_idle": "#394150",
        "forward": "#cbd5e1",
        "forward_glow": "#f5b700",
        "loss": "#ff8c42",
        "positive": "#ff5a5f",
        "negative": "#4ea1ff",
        "zero": "#6b7280",
        "nonfinite": "#ff4fd8",
        "flag": "#84cc16",
        "magnitude": "#b69cff",
        "heat_mid": "#2a2f3a",
        "heat_seq": "#5eead4",
        "caption_fill": "#e8eaf0",
        "caption_text": "#14161c",
    },
}
# Only the sign, loss, glow and NaN colours change; everything else is the light theme.
THEMES["colorblind"] = {**THEMES["light"], "forward_glow": "#a88f00", "loss": "#cc79a7",
                        "positive": "#d55e00", "negative": "#0072b2", "nonfinite": "#000000",
                        "magnitude": "#332288", "flag": "#009e73",
                        "heat_seq": "#117733"}

# A backward step's caption tints each term of its chain-rule formula like what it names on the
# graph (scene/formula.py): gradients in their sign (or magnitude, NaN, flag) colour, the local
# derivative in the op's forward colour. Text needs 4.5:1 on the caption band, which the mark
# colours do not all have there (the light theme's blue on its dark band is 2.6:1), so each
# tint is the mark colour made lighter or darker, hue and saturation kept, until it reads.
CAPTION_TINTS = ("positive", "negative", "zero", "nonfinite", "flag", "magnitude", "forward_glow")
TEXT_CONTRAST = 4.5


def _luminance(color: str) -> float:
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two "#rrggbb" colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(color: str, ground: str, ratio: float = TEXT_CONTRAST) -> str:
    """color, or the nearest lighter (on a dark ground) or darker (on a light one) colour of the
    same hue and saturation that has `ratio` contrast on ground."""
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, light, s = colorsys.rgb_to_hls(r, g, b)
    step = 0.01 if _luminance(ground) < 0.18 else -0.01
    out = color
    while contrast(out, ground) < ratio and 0.0 <= light <= 1.0:
        light = min(1.0, max(0.0, light + step))
        out = "#" + "".join(f"{round(c * 255):02x}" for c in colorsys.hls_to_rgb(h, light, s))
        if light in (0.0, 1.0):
            break
    return out


for _palette in THEMES.values():
    for _role in CAPTION_TINTS:
        _palette["caption_" + _role] = readable(_palette[_role], _palette["caption_fill"])

ROLES = tuple(THEMES["light"])  # every palette defines every role


def palettes() -> dict[str, dict[str, str]]:
    """Every theme's palette (copies: the Scene owns them)."""
    return {name: dict(colors) for name, colors in THEMES.items()}
