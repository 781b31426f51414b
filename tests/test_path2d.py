"""Path2D (bprender/canvas/path2d.py): a path made once is the same picture as the same calls on
the current path, on the skia canvas (raster and its stroke memo, dashes, transforms, fill
rules, clips), leaves the current path alone, and is logged by its calls."""
from __future__ import annotations

import numpy as np
import pytest

from bprender.canvas import Path2D, RasterSurface, RecordingCanvas2D

CALLS = [("moveTo", 8.0, 50.0), ("bezierCurveTo", 20.0, 2.0, 60.0, 90.0, 92.0, 20.0), ("lineTo", 70.0, 70.0),
         ("quadraticCurveTo", 40.0, 95.0, 12.0, 80.0), ("closePath",), ("rect", 30.0, 30.0, 25.0, 18.0),
         ("roundRect", 55.0, 10.0, 30.0, 22.0, 6.0), ("arc", 30.0, 20.0, 9.0, 0.0, 5.0)]


def path_of(calls) -> Path2D:
    path = Path2D()
    for name, *args in calls:
        getattr(path, name)(*args)
    return path


def setup(ctx, transform, dash, width):
    ctx.setTransform(*transform)
    ctx.setLineDash(dash)
    ctx.lineWidth = width
    ctx.strokeStyle = "rgba(200, 30, 60, 0.8)"
    ctx.fillStyle = "#2060c0"


@pytest.mark.parametrize("transform", [(1, 0, 0, 1, 0, 0), (1.7, 0, 0, 1.7, -12.5, -8.25), (0.4, 0, 0, 0.4, 3, 3),
                                       (0.9, 0.3, -0.3, 0.9, 20, -5)])
@pytest.mark.parametrize("dash,width", [([], 1.5), ([], 6.0), ([7, 3], 2.5), ([], 0.8)])
def test_a_path2d_draws_the_pixels_of_the_same_calls_on_the_current_path(transform, dash, width):
    direct, made = RasterSurface(100, 100), RasterSurface(100, 100)
    path = path_of(CALLS)
    for rep in range(2):  # the second time from what the canvas built and the stroke memo kept
        for s in (direct, made):
            s.ctx.resetTransform()
            s.ctx.fillStyle = "white"
            s.ctx.fillRect(0, 0, 100, 100)
            setup(s.ctx, transform, dash, width)
        ctx = direct.ctx
        ctx.beginPath()
        for name, *args in CALLS:
            getattr(ctx, name)(*args)
        ctx.fill("evenodd")
        ctx.stroke()
        made.ctx.fill(path, "evenodd")
        made.ctx.stroke(path)
        assert np.array_equal(direct.pixels(), made.pixels()), f"draw {rep + 1} differs"
        assert (direct.pixels()[..., :3] != 255).any()  # something was drawn


def test_drawing_a_path2d_leaves_the_current_path_and_a_path_added_to_is_made_again():
    s, ref = RasterSurface(80, 80), RasterSurface(80, 80)
    for c in (s.ctx, ref.ctx):
        c.fillStyle = "white"
        c.fillRect(0, 0, 80, 80)
        c.fillStyle = "black"
        c.beginPath()
        c.rect(5, 5, 10, 10)
    path = path_of([("moveTo", 40.0, 40.0), ("lineTo", 70.0, 40.0), ("lineTo", 70.0, 70.0)])
    s.ctx.fill(path)
    path.lineTo(40.0, 70.0)  # a call added after the path was drawn: drawn with it next time
    s.ctx.fill(path)
    s.ctx.fill()  # the current path is still the 10 x 10 square
    ref.ctx.fill()
    ref.ctx.beginPath()
    ref.ctx.rect(40, 40, 30, 30)
    ref.ctx.fill()
    assert np.array_equal(s.pixels(), ref.pixels())


def test_clip_to_a_path2d():
    s = RasterSurface(60, 60)
    s.ctx.fillStyle = "white"
    s.ctx.fillRect(0, 0, 60, 60)
    s.ctx.save()
    s.ctx.clip(path_of([("rect", 10.0, 10.0, 20.0, 20.0)]))
    s.ctx.fillStyle = "black"
    s.ctx.fillRect(0, 0, 60, 60)
    s.ctx.restore()
    px = s.pixels()
    assert px[20, 20, 0] == 0 and px[45, 45, 0] == 255 and px[5, 20, 0] == 255


def test_the_recording_canvas_logs_a_path2d_by_its_calls():
    ctx = RecordingCanvas2D()
    path = path_of([("moveTo", 1, 2), ("bezierCurveTo", 3, 4, 5, 6, 7, 8), ("closePath",)])
    ctx.stroke(path)
    ctx.fill(path, "evenodd")
    route = ["Path2D", ["moveTo", 1.0, 2.0], ["bezierCurveTo", 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], ["closePath"]]
    assert ctx.ops == [["stroke", route], ["fill", route, "evenodd"]]
