"""Under the camera, nodes, edges, particles and edge labels wholly outside the view are not
drawn (paint.in_view, mirrored in the player): the frame must be the same pixels as drawing
everything, at moments through the whole timeline, and fewer calls when the camera is close."""
from __future__ import annotations

import numpy as np
import pytest

import bprender.paint as paint
from bprender.canvas import RecordingCanvas2D
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.render import font_book, render_frame


@pytest.fixture(scope="module", params=["deep_sigmoid", "attention", "training"])
def scene(request):
    preset = open_preset(request.param)
    return scene_of(trace_of(preset, cache=True), preset)


def test_culling_draws_the_same_pixels(scene, monkeypatch):
    assert "camera" in scene
    fonts = font_book(scene)
    times = [scene["duration"] * k / 23 for k in range(24)] + [e["t"] + 0.6 for e in scene["events"][::3]]
    culled = [render_frame(scene, t, fonts) for t in times]
    monkeypatch.setattr(paint, "in_view", lambda lens, bounds: True)
    for t, frame in zip(times, culled):
        whole = render_frame(scene, t, fonts)
        assert np.array_equal(frame, whole), f"t={t:.2f}: culling changed {np.count_nonzero((frame != whole).any(-1))} pixels"


def test_a_close_camera_draws_fewer_calls(scene, monkeypatch):
    t = next(e["t"] + 0.6 for e in scene["events"] if e["name"] == "backward:1")

    def calls():
        ctx = RecordingCanvas2D()
        paint.paint_frame(ctx, scene, t)
        return len(ctx.ops)
    culled = calls()
    monkeypatch.setattr(paint, "in_view", lambda lens, bounds: True)
    assert culled < calls()
