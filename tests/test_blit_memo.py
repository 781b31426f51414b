"""The blit memo (bprender/canvas/blit_memo.py): a big text drawn again on the same pixels is
pasted, and the frame is the same, pixel for pixel, as one drawn without the memo."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skia

from bprender.canvas import FontBook, RasterSurface
from bprender.canvas.skia_canvas import Canvas2D

TEXTS = [  # (font, text, x, y, fill): regular, bold, synthetic italic, big, fractional places
    ("24px bprender-sans", "∂L/∂z⁴[0,0] = 0.6403 + 0.09799 = 0.7383  (used 2 times)", 20.3, 40.6, "#1d2330"),
    ("600 26px bprender-sans", "40-node benchmark: Wgjy", 30.0, 90.0, "#ffffff"),
    ("italic 30px bprender-sans", "italic ffj Wy (slanted)", 10.7, 140.25, "rgba(214, 39, 40, 0.6)"),
    ("64px bprender-sans", "Big Wj", 5.5, 230.9, "#1f5fbf"),
    ("bold 44px plain", "Emboldened Wj", 150.2, 190.4, "#000000"),  # no bold face: synthesised
]
FONTS = {"plain": Path(__file__).resolve().parent.parent / "bprender" / "assets" / "fonts" / "bprender-sans.ttf"}


def _noise(h: int, w: int, seed: int) -> np.ndarray:
    """An opaque background of random colours (premultiplied BGRA: alpha 255)."""
    px = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    px[..., 3] = 255
    return px


def _frame(ctx, scale: float = 1.0) -> None:
    ctx.setTransform(scale, 0, 0, scale, 0, 0)
    for font, text, x, y, fill in TEXTS:
        ctx.font = font
        ctx.fillStyle = fill
        ctx.fillText(text, x, y)
    ctx.textAlign = "center"
    ctx.fillText("centred, in a clip", 150, 275)  # under a clip: a part of it drawn
    ctx.save()
    ctx.beginPath()
    ctx.rect(40, 250, 150, 40)
    ctx.clip()
    ctx.fillText("centred, in a clip", 150, 285)
    ctx.restore()
    ctx.textAlign = "start"


@pytest.mark.parametrize("scale", [1.0, 0.5, 2.0])
def test_frames_through_the_memo_equal_frames_drawn_without_it(scale):
    """Frame after frame on a background that changes under the texts (new noise, then the same
    noise again: the memo's pastes), the memo's pixels equal plain drawing's everywhere, which
    also holds the region to every pixel a draw changes (a pasted region too small would leave
    the pixels outside it unchanged)."""
    w, h = 320, 300
    fonts = FontBook(FONTS)
    memo = RasterSurface(w, h, scale=scale, fonts=fonts)
    plain_px = np.zeros_like(memo.pixels())
    plain_surface = skia.Surface(plain_px, skia.ColorType.kBGRA_8888_ColorType, skia.AlphaType.kPremul_AlphaType)
    canvas = plain_surface.getCanvas()
    canvas.scale(scale, scale)
    plain = Canvas2D(canvas, fonts, owner=plain_surface)  # no pixels: no memo
    assert memo.ctx._blits is not None and plain._blits is None
    pasted = 0
    for frame, seed in enumerate([1, 1, 1, 2, 2, 1, 1, 3]):
        background = _noise(*memo.pixels().shape[:2], seed)
        memo.pixels()[...] = background
        plain_px[...] = background
        before = len(memo.ctx._blits._entries)
        _frame(memo.ctx)
        _frame(plain)
        assert np.array_equal(memo.pixels(), plain_px), f"frame {frame} differs"
        assert not np.array_equal(memo.pixels(), background)  # something was drawn
        pasted += before > 0 and frame in (2, 6)
    assert pasted == 2  # the third draw on the same pixels was a paste (the second remembers)
    assert memo.ctx._blits._entries, "the big texts were remembered"


def test_a_paste_needs_the_same_pixels_and_the_same_state():
    """A remembered text is pasted only for the same pixels, colour, alpha and place."""
    s = RasterSurface(400, 80, background="white")
    ctx = s.ctx
    ctx.font = "24px bprender-sans"

    def draw(color="#1d2330", alpha=1.0, x=10.0):
        s.clear("white")
        ctx.fillStyle = color
        ctx.globalAlpha = alpha
        ctx.fillText("A line long enough to be remembered", x, 40)
        return s.pixels().copy()

    first = draw()
    draw()
    memo = ctx._blits
    assert len(memo._entries) == 1
    key = next(iter(memo._entries))
    region = memo._entries[key][0]
    s.clear("white")
    assert memo.paste(key, region)  # the same white pixels: pasted, the text is there
    assert np.array_equal(s.pixels(), first)
    assert np.array_equal(draw(), first)
    assert not np.array_equal(draw(color="#d62728"), first)
    assert not np.array_equal(draw(alpha=0.5), first)
    assert not np.array_equal(draw(x=10.5), first)
    s.clear("#eeeeee")  # other pixels under it: not pasted, the entry is dropped
    assert not memo.paste(key, region)
    assert key not in memo._entries


def _band(ctx, lines, color):
    """A block as the painter draws one: it sets its own state, draws and leaves it changed."""
    ctx.globalAlpha = 0.8
    ctx.fillStyle = "#f4f1e8"
    ctx.beginPath()
    ctx.roundRect(10.5, 12.25, 290, 60, 8)
    ctx.fill()
    ctx.font = "22px bprender-sans"
    ctx.fillStyle = color
    for i, line in enumerate(lines):
        ctx.fillText(line, 20.3, 38.6 + 24 * i)
    ctx.beginPath()
    ctx.moveTo(1, 2)  # a path left open: the next draw finds it as a painted block leaves it


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_a_block_is_pasted_only_over_the_same_pixels_and_leaves_the_state_it_drew(scale):
    """draw_block: the third draw of a block over the same pixels is a paste (its function is
    not called), with the pixels and the context state of drawing it; other pixels under it,
    another key or another starting state draw it again."""
    fonts = FontBook(FONTS)
    memo = RasterSurface(320, 90, scale=scale, fonts=fonts)
    plain = RasterSurface(320, 90, scale=scale, fonts=fonts)
    plain.ctx._blits = None  # no pixel memo: draw_block just draws
    calls = []

    def band(ctx, lines, color):
        calls.append(ctx is memo.ctx)
        _band(ctx, lines, color)

    box = [0, 0, 320, 90]
    lines = ["δ = ∂L/∂z = 0.4128", "∂L/∂W = δ · aᵀ"]
    for frame, (seed, key, alpha) in enumerate([(1, "a", 1.0), (1, "a", 1.0), (1, "a", 1.0), (2, "a", 1.0),
                                                (1, "a", 1.0), (1, "a", 1.0), (1, "b", 1.0), (1, "a", 0.5)]):
        background = _noise(*memo.pixels().shape[:2], seed)
        for surface in (memo, plain):
            surface.pixels()[...] = background
            surface.ctx.save()  # each frame starts from the same state ...
            surface.ctx.globalAlpha = alpha  # ... but this: keyed (the band sets its own alpha)
            surface.ctx.draw_block((key,), lines, box, band, lines, "#1d2330")
        calls_memo = calls.count(True)
        assert np.array_equal(memo.pixels(), plain.pixels()), f"frame {frame} differs"
        for name in ("globalAlpha", "fillStyle", "font"):
            assert getattr(memo.ctx, name) == getattr(plain.ctx, name), (frame, name)
        memo.ctx.lineTo(50, 60)  # the open path came back too
        plain.ctx.lineTo(50, 60)
        memo.ctx.stroke()
        plain.ctx.stroke()
        assert np.array_equal(memo.pixels(), plain.pixels()), f"frame {frame}: the path left behind differs"
        memo.ctx.restore()
        plain.ctx.restore()
        calls.clear()
        pasted = calls_memo == 0
        assert pasted == (frame in (2, 5)), f"frame {frame}: pasted {pasted}"


def test_a_block_must_not_leave_a_clip_or_a_transform_behind():
    s = RasterSurface(200, 100, background="white")

    def clips(ctx):
        ctx.rect(0, 0, 50, 50)
        ctx.clip()

    def moves(ctx):
        ctx.translate(5, 0)

    for bad in (clips, moves):
        with pytest.raises(RuntimeError, match="must leave"):
            s.ctx.draw_block(("x",), None, [0, 0, 200, 100], bad)
