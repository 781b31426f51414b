"""The Python Canvas 2D (skia), its recording twin, fonts and CSS parsing."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bprender.canvas import (FontBook, RasterSurface, RecordingCanvas2D, ops_diff, ops_equal,
                             parse_color, parse_font)

FONTS = Path(__file__).resolve().parent.parent / "bprender" / "assets" / "fonts"


def surface(w=60, h=60, bg="white"):
    return RasterSurface(w, h, background=bg)


def rgb(s, x, y):
    """(r, g, b) at pixel (x, y) of an opaque surface."""
    b, g, r, _ = s.pixels()[y, x]
    return int(r), int(g), int(b)


def ink(s, threshold=128):
    """Bounding box (x0, y0, x1, y1) of dark pixels on a white surface."""
    dark = s.pixels()[..., 1] < threshold
    ys, xs = np.nonzero(dark)
    assert xs.size, "nothing drawn"
    return xs.min(), ys.min(), xs.max(), ys.max()


# -- fonts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bprender-sans.ttf", "bprender-sans-bold.ttf"])
def test_font_files_small_renamed_and_cover_math(name):
    ttLib = pytest.importorskip("fontTools.ttLib")
    path = FONTS / name
    assert path.is_file() and path.stat().st_size < 150 * 1024
    font = ttLib.TTFont(path)
    cmap = font.getBestCmap()
    for ch in "∂·−²³⁻¹∇∑√≈≤≥×÷αβσ→←é":
        assert ord(ch) in cmap, ch
    assert font["name"].getDebugName(1) == "bprender sans"
    assert "kern" in font and "GSUB" not in font
    assert (FONTS / "LICENSE.txt").read_text().count("Bitstream") > 1


def test_fontbook_measure_kerns_and_weights():
    fb = FontBook()
    a, v, av = (fb.measure(t, "20px bprender-sans") for t in ("A", "V", "AV"))
    assert av < a + v - 0.5  # the A-V kerning pair applies
    assert fb.measure("Hello", "bold 20px bprender-sans") > fb.measure("Hello", "20px bprender-sans")
    assert fb.measure("x", "20px Unknown, sans-serif") == fb.measure("x", "20px bprender-sans")
    m = fb.metrics("20px bprender-sans")
    assert 18 < m.ascent < 19.5 and 4 < m.descent < 5.5
    assert abs(m.em_ascent + m.em_descent - 20) < 1e-9


# -- parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("#f00", (255, 0, 0, 1.0)), ("#F008", (255, 0, 0, 0x88 / 255)),
    ("#00ff00", (0, 255, 0, 1.0)), ("#0000ff80", (0, 0, 255, 128 / 255)),
    ("rgb(1, 2, 3)", (1, 2, 3, 1.0)), ("rgba(1,2,3,0.5)", (1, 2, 3, 0.5)),
    ("rgb(1 2 3 / 25%)", (1, 2, 3, 0.25)), ("rgb(100%, 0%, 50%)", (255, 0, 128, 1.0)),
    ("rgba(300, -5, 3, 2)", (255, 0, 3, 1.0)), (" White ", (255, 255, 255, 1.0)),
    ("transparent", (0, 0, 0, 0.0)), ("red", (255, 0, 0, 1.0)),
])
def test_parse_color(text, expected):
    got = parse_color(text)
    assert got[:3] == expected[:3] and abs(got[3] - expected[3]) < 1e-9


@pytest.mark.parametrize("text", ["", "#ff", "#fffff", "rgb(1,2)", "rgb(1, 2%, 3)", "rgb(1 2 3 /)",
                                  "nosuchcolour", "hsl(0 0% 0%)", "#ggg", 5, None])
def test_parse_color_rejects(text):
    assert parse_color(text) is None


def test_parse_font():
    f = parse_font("bold 14px bprender-sans")
    assert (f.weight, f.size, f.families, f.css) == (700, 14.0, ("bprender-sans",), "bold 14px bprender-sans")
    f = parse_font("italic 600 12pt/1.5 'My Font', sans-serif")
    assert (f.style, f.weight, f.size, f.families) == ("italic", 600, 16.0, ("My Font", "sans-serif"))
    for bad in ["14px", "bold", "14 px Arial", "huge 14px Arial", "bold bold 14px A", "14em A"]:
        assert parse_font(bad) is None, bad


# -- state ---------------------------------------------------------------------------------
def test_defaults_save_restore_and_invalid_values():
    ctx = surface().ctx
    assert (ctx.fillStyle, ctx.strokeStyle, ctx.lineWidth, ctx.globalAlpha, ctx.font,
            ctx.textAlign, ctx.textBaseline, ctx.lineCap, ctx.lineJoin) == (
        "#000000", "#000000", 1.0, 1.0, "10px sans-serif", "start", "alphabetic", "butt", "miter")
    ctx.save()
    ctx.fillStyle, ctx.lineWidth, ctx.globalAlpha = "rgba(255, 0, 0, 0.5)", 3, 0.25
    ctx.font, ctx.textAlign, ctx.lineCap = "bold 20px bprender-sans", "center", "round"
    ctx.setLineDash([1, 2, 3])
    ctx.translate(5, 5)
    assert ctx.fillStyle == "rgba(255, 0, 0, 0.5)" and ctx.getLineDash() == [1, 2, 3, 1, 2, 3]
    for prop, bad in [("lineWidth", 0), ("lineWidth", -1), ("lineWidth", math.nan),
                      ("lineWidth", math.inf), ("globalAlpha", 1.5), ("globalAlpha", -0.1),
                      ("globalAlpha", math.nan), ("fillStyle", "nope"), ("strokeStyle", "#12"),
                      ("font", "huge"), ("textAlign", "middle"), ("textBaseline", "center"),
                      ("lineCap", "flat"), ("lineJoin", "sharp"), ("miterLimit", 0)]:
        before = getattr(ctx, prop)
        setattr(ctx, prop, bad)
        assert getattr(ctx, prop) == before, prop
    ctx.setLineDash([1, -1])
    assert ctx.getLineDash() == [1, 2, 3, 1, 2, 3]
    ctx.restore()
    assert (ctx.fillStyle, ctx.lineWidth, ctx.globalAlpha, ctx.font, ctx.textAlign,
            ctx.lineCap, ctx.getLineDash(), ctx.getTransform()) == (
        "#000000", 1.0, 1.0, "10px sans-serif", "start", "butt", [], (1, 0, 0, 1, 0, 0))
    ctx.restore()  # empty stack: nothing happens
    assert ctx.fillStyle == "#000000"


def test_restore_brings_back_transform_and_clip():
    s = surface()
    ctx = s.ctx
    ctx.fillStyle = "red"
    ctx.save()
    ctx.beginPath()
    ctx.rect(0, 0, 20, 20)
    ctx.clip()
    ctx.translate(10, 10)
    ctx.fillRect(0, 0, 30, 30)  # clipped to 10..20
    ctx.restore()
    assert rgb(s, 15, 15) == (255, 0, 0) and rgb(s, 25, 25) == (255, 255, 255)
    ctx.fillStyle = "blue"
    ctx.fillRect(40, 40, 5, 5)  # no clip, no translation any more
    assert rgb(s, 42, 42) == (0, 0, 255)


# -- geometry ------------------------------------------------------------------------------
def test_translated_fill_rect_lands_in_right_pixels():
    s = surface()
    s.ctx.fillStyle = "#ff0000"
    s.ctx.translate(10, 20)
    s.ctx.fillRect(0, 0, 5, 5)
    assert rgb(s, 10, 20) == (255, 0, 0) and rgb(s, 14, 24) == (255, 0, 0)
    assert rgb(s, 9, 20) == (255, 255, 255) and rgb(s, 15, 25) == (255, 255, 255)
    assert rgb(s, 2, 2) == (255, 255, 255)


def test_scale_and_hidpi_base_transform():
    s = RasterSurface(30, 20, scale=2, background="white")
    assert s.pixels().shape == (40, 60, 4)
    s.ctx.fillStyle = "black"
    s.ctx.fillRect(10, 5, 5, 5)  # CSS px -> device 20..30, 10..20
    assert rgb(s, 21, 11) == (0, 0, 0) and rgb(s, 31, 11) == (255, 255, 255)
    s.ctx.setTransform(1, 0, 0, 1, 0, 0)  # relative to the base scale
    s.ctx.fillRect(0, 0, 2, 2)
    assert rgb(s, 3, 3) == (0, 0, 0) and rgb(s, 5, 5) == (255, 255, 255)


def test_path_segments_use_transform_at_time_added():
    s = surface()
    ctx = s.ctx
    ctx.fillStyle = "black"
    ctx.beginPath()
    ctx.rect(0, 0, 10, 10)
    ctx.translate(30, 0)
    ctx.rect(0, 0, 10, 10)  # lands at x 30..40
    ctx.resetTransform()
    ctx.fill()
    assert rgb(s, 5, 5) == (0, 0, 0) and rgb(s, 35, 5) == (0, 0, 0)
    assert rgb(s, 20, 5) == (255, 255, 255) and rgb(s, 5, 20) == (255, 255, 255)


def test_arc_clockwise_and_counterclockwise():
    for ccw, filled, empty in [(False, (30, 30), (18, 18)), (True, (18, 18), (30, 30))]:
        s = surface(50, 50)
        ctx = s.ctx
        ctx.beginPath()
        ctx.moveTo(25, 25)
        ctx.arc(25, 25, 15, 0, math.pi / 2, ccw)
        ctx.closePath()
        ctx.fill()
        assert rgb(s, *filled) == (0, 0, 0) and rgb(s, *empty) == (255, 255, 255)
    s = surface(50, 50)
    s.ctx.beginPath()
    s.ctx.arc(25, 25, 10, 0, 2 * math.pi)
    s.ctx.fill()
    assert rgb(s, 25, 25) == (0, 0, 0) and rgb(s, 25, 17) == (0, 0, 0)
    assert rgb(s, 25, 37) == (255, 255, 255) and rgb(s, 33, 33) == (255, 255, 255)
    with pytest.raises(ValueError):
        s.ctx.arc(0, 0, -1, 0, 1)


def test_bezier_and_quadratic_fill():
    s = surface(60, 60)
    ctx = s.ctx
    ctx.beginPath()
    ctx.moveTo(5, 50)
    ctx.bezierCurveTo(5, 0, 55, 0, 55, 50)
    ctx.fill()
    assert rgb(s, 30, 30) == (0, 0, 0) and rgb(s, 30, 55) == (255, 255, 255)
    assert rgb(s, 6, 15) == (255, 255, 255)  # outside the curve's shoulder
    ctx.strokeStyle = "blue"
    ctx.lineWidth = 4
    ctx.beginPath()
    ctx.moveTo(0, 57)
    ctx.quadraticCurveTo(30, 57, 60, 57)
    ctx.stroke()
    assert rgb(s, 30, 57) == (0, 0, 255)


def test_round_rect():
    s = surface(60, 60)
    ctx = s.ctx
    ctx.beginPath()
    ctx.roundRect(10, 10, 40, 40, 12)
    ctx.fill()
    assert rgb(s, 30, 30) == (0, 0, 0) and rgb(s, 11, 11) == (255, 255, 255)
    assert rgb(s, 11, 30) == (0, 0, 0)
    s2 = surface(60, 60)
    s2.ctx.beginPath()
    s2.ctx.roundRect(50, 50, -40, -40, [12])  # negative size: same shape
    s2.ctx.fill()
    assert np.array_equal(s.pixels(), s2.pixels())
    s3 = surface(60, 60)
    s3.ctx.beginPath()
    s3.ctx.roundRect(10, 10, 40, 40, [0, 20, 0, 20])  # ul, ur, lr, ll
    s3.ctx.fill()
    assert rgb(s3, 11, 11) == (0, 0, 0) and rgb(s3, 49, 11) == (255, 255, 255)
    assert rgb(s3, 49, 49) == (0, 0, 0) and rgb(s3, 11, 49) == (255, 255, 255)
    with pytest.raises(ValueError):
        s3.ctx.roundRect(0, 0, 5, 5, [-1])
    with pytest.raises(ValueError):
        s3.ctx.roundRect(0, 0, 5, 5, [1, 2, 3, 4, 5])


def test_global_alpha_blends():
    s = surface()
    ctx = s.ctx
    ctx.fillStyle = "red"
    ctx.globalAlpha = 0.5
    ctx.fillRect(0, 0, 10, 10)
    r, g, b = rgb(s, 5, 5)
    assert r == 255 and abs(g - 127.5) <= 1 and abs(b - 127.5) <= 1
    ctx.fillStyle = "rgba(0, 0, 255, 0.5)"  # alpha multiplies: 0.25 of blue
    ctx.fillRect(20, 0, 10, 10)
    r, g, b = rgb(s, 25, 5)
    assert abs(r - 191) <= 1 and abs(g - 191) <= 1 and b == 255
    ctx.globalAlpha = 1
    ctx.clearRect(0, 0, 10, 10)
    assert tuple(s.pixels()[5, 5]) == (0, 0, 0, 0)


def test_line_dash_draws_gaps():
    s = surface(60, 10)
    ctx = s.ctx
    ctx.lineWidth = 4
    ctx.setLineDash([10, 10])
    ctx.beginPath()
    ctx.moveTo(0, 5)
    ctx.lineTo(60, 5)
    ctx.stroke()
    assert rgb(s, 5, 5) == (0, 0, 0) and rgb(s, 15, 5) == (255, 255, 255)


# -- text ----------------------------------------------------------------------------------
def _text_surface(**props):
    s = surface(320, 60)
    ctx = s.ctx
    ctx.font = "20px bprender-sans"
    for k, v in props.items():
        setattr(ctx, k, v)
    ctx.fillText("Gradient ∂L/∂w", 160, 30)
    return s


def test_fill_text_draws_with_bundled_font():
    s = _text_surface()
    x0, y0, x1, y1 = ink(s)
    assert 160 <= x0 <= 162 and 30 - 20 < y0 < 30 and 28 <= y1 <= 31  # ink sits on the baseline
    assert (s.pixels()[..., 1] < 128).sum() > 200


def test_text_align_center_shifts_by_half_width():
    width = _text_surface().ctx.measureText("Gradient ∂L/∂w").width
    assert 120 < width < 160
    left = ink(_text_surface(textAlign="left"))
    start = ink(_text_surface())
    center = ink(_text_surface(textAlign="center"))
    right = ink(_text_surface(textAlign="right"))
    assert left == start
    assert abs((left[0] - center[0]) - width / 2) <= 1
    assert abs((left[0] - right[0]) - width) <= 1


def test_text_baseline_top_vs_alphabetic():
    fb = FontBook()
    em_ascent = fb.metrics("20px bprender-sans").em_ascent
    alpha = ink(_text_surface())
    top = ink(_text_surface(textBaseline="top"))
    assert abs((top[1] - alpha[1]) - em_ascent) <= 1
    middle = ink(_text_surface(textBaseline="middle"))
    assert top[1] > middle[1] > alpha[1]


def test_text_max_width_squeezes():
    s = surface(200, 60)
    s.ctx.font = "20px bprender-sans"
    s.ctx.fillText("Gradient ∂L/∂w", 10, 30, 50)
    x0, _, x1, _ = ink(s)
    assert x1 - x0 <= 51


# -- recording -----------------------------------------------------------------------------
def paint(ctx):
    ctx.save()
    ctx.fillStyle = "#ff0000"
    ctx.lineWidth = 2
    ctx.translate(10, 20)
    ctx.beginPath()
    ctx.roundRect(0, 0, 40, 20, 6)
    ctx.fill()
    ctx.arc(5, 5, 3, 0, math.pi, True)
    ctx.setLineDash([4, 2])
    ctx.font = "bold 14px bprender-sans"
    ctx.fillText("w", 1, 2.5)
    ctx.restore()


def test_recording_logs_exact_ops():
    rec = RecordingCanvas2D()
    paint(rec)
    assert rec.ops == [
        ["save"], ["set", "fillStyle", "#ff0000"], ["set", "lineWidth", 2.0],
        ["translate", 10.0, 20.0], ["beginPath"], ["roundRect", 0.0, 0.0, 40.0, 20.0, 6.0],
        ["fill"], ["arc", 5.0, 5.0, 3.0, 0.0, math.pi, True], ["setLineDash", [4.0, 2.0]],
        ["set", "font", "bold 14px bprender-sans"], ["fillText", "w", 1.0, 2.5], ["restore"]]
    assert all(type(v) is float for op in rec.ops for v in op[1:]
               if isinstance(v, (int, float)) and not isinstance(v, bool))
    assert rec.lineWidth == 1.0 and rec.font == "10px sans-serif"  # restored
    paint(surface().ctx)  # the same painter runs on the skia canvas


def test_recording_measure_text_logs_nothing():
    rec = RecordingCanvas2D(FontBook())
    rec.font = "20px bprender-sans"
    w = rec.measureText("AV").width
    assert w == pytest.approx(FontBook().measure("AV", "20px bprender-sans"))
    assert rec.ops == [["set", "font", "20px bprender-sans"]]
    assert RecordingCanvas2D().measureText("x").width == 0.0


def test_ops_equal_tolerance():
    a = [["moveTo", 1.0, 2.0], ["set", "fillStyle", "#fff"], ["arc", 0.0, 0.0, 1.0, 0.0, 3.0, True]]
    b = [["moveTo", 1.0 + 1e-9, 2.0], ["set", "fillStyle", "#fff"], ["arc", 0, 0, 1, 0, 3, True]]
    assert ops_equal(a, b)
    assert not ops_equal(a, [["moveTo", 1.001, 2.0]] + b[1:])
    assert not ops_equal(a, b[:2])
    assert not ops_equal(a, [b[0], ["set", "fillStyle", "#ffffff"], b[2]])
    assert not ops_equal([["arc", 1.0, True]], [["arc", 1.0, 1.0]])
    assert ops_equal([["x", 1000.0]], [["x", 1000.0005]], tol=1e-6)
    assert ops_equal([["x", float("nan")]], [["x", float("nan")]])
    assert "op 1" in ops_diff(a, [b[0], ["fill"], b[2]])


def test_png_bytes(tmp_path):
    s = surface(8, 8)
    data = s.png_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    s.to_png(tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes() == data


@pytest.mark.parametrize("shape", ["rect", "rrect", "curve", "line", "arc"])
def test_a_remembered_stroke_outline_draws_the_stroke_s_pixels(shape):
    """The raster canvas fills a stroke's remembered outline (canvas/stroke_memo.py) instead of
    stroking: the same pixels as skia's own stroke, over widths, device scales (hairlines
    included), caps and dashes."""
    def draw(ctx, width, scale, dash):
        ctx.fillStyle = "#ffffff"
        ctx.fillRect(0, 0, 200, 120)
        ctx.save()
        ctx.translate(7.3, 5.1)
        ctx.scale(scale, scale)
        ctx.beginPath()
        if shape == "rect":
            ctx.rect(10.5, 10.2, 60.3, 40.7)
        elif shape == "rrect":
            ctx.roundRect(10.5, 10.2, 60.3, 40.7, 8.0)
        elif shape == "curve":
            ctx.moveTo(5, 80)
            ctx.bezierCurveTo(40, 10, 90, 100, 150, 20)
        elif shape == "line":
            ctx.moveTo(5.5, 60.2)
            ctx.lineTo(170.1, 61.7)
        else:
            ctx.arc(60.2, 50.1, 30.3, 0, 2 * math.pi)
        ctx.setLineDash([6.0, 4.0] if dash else [])
        ctx.strokeStyle = "rgba(200, 40, 30, 0.8)"
        ctx.lineWidth = width
        ctx.lineCap = "round" if width > 3 else "butt"
        ctx.globalAlpha = 0.9
        ctx.stroke()
        ctx.restore()

    remembered = 0
    for width in (0.6, 1.0, 1.5, 2.2, 5.0, 9.0):
        for scale in (0.077, 0.3, 1.0, 1.25, 3.0):
            for dash in (False, True):
                memo, direct = RasterSurface(200, 120), RasterSurface(200, 120)
                direct.ctx._strokes = None
                draw(memo.ctx, width, scale, dash)
                draw(direct.ctx, width, scale, dash)
                assert np.array_equal(memo.pixels(), direct.pixels()), (shape, width, scale, dash)
                remembered += len(memo.ctx._strokes._outlines)
    assert remembered > 10   # the outlines were really used, not only direct strokes
