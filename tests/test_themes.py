"""Every theme's colour roles stay apart where they are shown together (issue 12: in the dark
theme the "vanishing" flag looked like the forward-value yellow).

Two measures, written out here from their definitions rather than taken from a library:
- WCAG 2.1 contrast ratio (relative luminance of sRGB): text and muted text 4.5:1 on what they
  are drawn on; marks drawn on the background (edges, particles, the legend's coloured words)
  3:1, WCAG's minimum for graphics and large text.
- CIEDE2000 colour difference (ΔE₀₀, Sharma, Wu & Dalal 2005) between every two mark colours:
  at least MIN_DELTA_E, where about 10 is told apart at a glance for large patches and thin
  edges and small particles need more.
"""
from __future__ import annotations

import itertools
import math

import pytest

from bprender.scene.themes import CAPTION_TINTS, ROLES, THEMES, readable

# the colours that mark something on the graph at the same time: values going forward, the loss,
# gradient signs and magnitude, NaN/Inf, the vanishing/exploding flag. ("zero" is left out: an
# exact-zero gradient is a deliberately faint hairline.)
MARKS = ("forward", "forward_glow", "loss", "positive", "negative", "nonfinite", "flag", "magnitude")
MIN_DELTA_E = 15.0
TEXT_ON = {"text": ("background", "panel", "node_fill", "leaf_fill", "const_fill"),
           "muted": ("background", "panel", "node_fill"), "caption_text": ("caption_fill",)}


def rgb(hex_color: str) -> tuple[float, float, float]:
    h = hex_color.lstrip("#")
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))


def linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_color: str) -> float:
    r, g, b = (linear(c) for c in rgb(hex_color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def lab(hex_color: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour."""
    r, g, b = (linear(c) for c in rgb(hex_color))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e_2000(c1: str, c2: str) -> float:
    L1, a1, b1 = lab(c1)
    L2, a2, b2 = lab(c2)
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dl, dc = L2 - L1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    d_big_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6)) - 0.2 * math.cos(math.radians(4 * h_bar - 63)))
    d_theta = 30 * math.exp(-((h_bar - 275) / 25) ** 2)
    r_c = 2 * math.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25 ** 7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (d_big_h / s_h) ** 2 + r_t * (dc / s_c) * (d_big_h / s_h))


def test_the_measures_give_known_values():
    """The formulas as written here give the known numbers, so the thresholds mean what they say."""
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)   # the classic "just fails AA" grey
    assert lab("#ffffff") == pytest.approx((100.0, 0.0, 0.0), abs=0.05)
    assert lab("#ff0000") == pytest.approx((53.24, 80.09, 67.20), abs=0.05)   # sRGB red in L*a*b* (D65)
    assert delta_e_2000("#ff0000", "#ff0000") == 0.0
    assert delta_e_2000("#000000", "#ffffff") == pytest.approx(100.0, abs=0.01)
    assert delta_e_2000("#ff0000", "#0000ff") == pytest.approx(52.88, abs=0.05)
    assert delta_e_2000("#f5b700", "#fbbf24") < 5    # the old dark theme's forward yellow and flag amber


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_every_theme_defines_every_role(theme):
    assert set(THEMES[theme]) == set(ROLES)


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_mark_colours_are_distinguishable_from_each_other(theme):
    palette = THEMES[theme]
    close = [(a, b, round(delta_e_2000(palette[a], palette[b]), 1)) for a, b in itertools.combinations(MARKS, 2)
             if delta_e_2000(palette[a], palette[b]) < MIN_DELTA_E]
    assert not close, f"{theme}: colour pairs closer than ΔE₀₀ {MIN_DELTA_E}: {close}"


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_the_flag_stands_apart_from_the_forward_value(theme):
    palette = THEMES[theme]
    for role in ("forward", "forward_glow"):
        assert delta_e_2000(palette["flag"], palette[role]) >= MIN_DELTA_E, (theme, role)


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_marks_contrast_with_the_background(theme):
    palette = THEMES[theme]
    low = [(role, round(contrast(palette[role], palette["background"]), 2)) for role in MARKS
           if contrast(palette[role], palette["background"]) < 3.0]
    assert not low, f"{theme}: marks under 3:1 on the background: {low}"


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_text_contrast(theme):
    palette = THEMES[theme]
    low = [(text, ground, round(contrast(palette[text], palette[ground]), 2))
           for text, grounds in TEXT_ON.items() for ground in grounds
           if contrast(palette[text], palette[ground]) < 4.5]
    assert not low, f"{theme}: text under 4.5:1: {low}"


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_caption_tints_read_on_the_band(theme):
    """A backward step's formula terms are tinted like their marks (scene/formula.py): every tint
    used for caption text has 4.5:1 on the caption band, still looks tinted (apart from the
    band's plain text), and the gradient signs' tints stay apart from each other and from the
    local derivative's."""
    palette = THEMES[theme]
    tints = {role: palette["caption_" + role] for role in CAPTION_TINTS}
    low = [(role, round(contrast(c, palette["caption_fill"]), 2)) for role, c in tints.items()
           if contrast(c, palette["caption_fill"]) < 4.5]
    assert not low, f"{theme}: caption tints under 4.5:1 on the band: {low}"
    plain = [role for role, c in tints.items() if delta_e_2000(c, palette["caption_text"]) < 20]
    assert not plain, f"{theme}: tints that look like the plain caption text: {plain}"
    shown = ("positive", "negative", "magnitude", "forward_glow")
    close = [(a, b) for a, b in itertools.combinations(shown, 2) if delta_e_2000(tints[a], tints[b]) < MIN_DELTA_E]
    assert not close, f"{theme}: caption tints too close: {close}"


def test_a_tint_is_made_readable_not_refused():
    """readable() lightens a dark mark on a dark band and darkens a light one on a light band,
    keeping its hue, and leaves a colour that already reads alone."""
    dark_band, light_band = "#1d2330", "#e8eaf0"
    lighter = readable("#1f5fbf", dark_band)
    assert contrast("#1f5fbf", dark_band) < 4.5 <= contrast(lighter, dark_band)
    assert luminance(lighter) > luminance("#1f5fbf") and rgb(lighter)[2] == max(rgb(lighter))  # still blue
    darker = readable("#4ea1ff", light_band)
    assert contrast(darker, light_band) >= 4.5 and luminance(darker) < luminance("#4ea1ff")
    assert readable("#ffffff", dark_band) == "#ffffff"
