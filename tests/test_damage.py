"""Only the damage is drawn again (damage.py): every frame the raster loops give must be, byte
for byte, the frame drawn afresh, on real scenes (a camera that moves and stands, heatmaps,
training steps, a composite, a highlighted and a hidden view), and the saving must be real."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from bprender.damage import Damage
from bprender.pipeline import Request, open_source, scene_for
from bprender.render import drawn_times, frame_times, raster_frames, raster_frames_ahead, render_frame

FPS = 10
SMALL = Request(size=(320, 180))


def small_scene(*names: str) -> dict:
    return scene_for([open_source(name, SMALL) for name in names], cache=True)


def assert_frames_fresh(scene: dict, view: dict | None = None, fps: float = FPS) -> None:
    times = frame_times(scene, fps)
    drawn = drawn_times(scene, times)
    for loop in (raster_frames(scene, fps, view=view), raster_frames_ahead(scene, fps, view=view)):
        for i, (t, frame) in enumerate(zip(times, loop)):
            if drawn[i]:
                fresh = render_frame(scene, t, view=view)
                if not np.array_equal(frame, fresh):
                    off = np.argwhere((frame != fresh).any(-1))
                    pytest.fail(f"frame {i} (t={t:.3f}) differs from the fresh frame at {len(off)} pixels, "
                                f"first {off[0].tolist()}")


@pytest.mark.parametrize("name", ["linear", "deep_sigmoid", "cnn", "attention", "training", "micrograd_ops"])
def test_every_frame_is_the_fresh_frame(name):
    assert_frames_fresh(small_scene(name))


def test_a_composite_and_views_are_the_fresh_frames():
    assert_frames_fresh(small_scene("linear", "mlp"), fps=6)
    mlp = small_scene("mlp")
    assert_frames_fresh(mlp, view={"highlight": mlp["nodes"][-1]["id"]}, fps=6)
    assert_frames_fresh(mlp, view={"hidden": [mlp["nodes"][0]["group"]]}, fps=6)


def test_the_damage_is_small_where_little_moves():
    """linear moves a particle or a ring at a time: most drawn frames are a part of the frame,
    and a small one (at 320x180, where a node's margin is a large share of it)."""
    scene = small_scene("linear")
    damage = Damage(scene)
    times = frame_times(scene, 30)
    drawn = [t for t, d in zip(times, drawn_times(scene, times)) if d]
    shares = []
    for a, b in zip(drawn, drawn[1:]):
        within = damage.between(a, b)
        shares.append(None if within is None else
                      sum((r[2] - r[0]) * (r[3] - r[1]) for r in within["rects"]) / (320 * 180))
    partial = [s for s in shares if s is not None]
    assert len(partial) > 0.8 * len(shares)
    assert sum(partial) / len(partial) < 0.3


def test_a_camera_move_damages_its_view():
    scene = scene_for([open_source("deep_sigmoid", Request(size=(1280, 720)))], cache=True)
    damage = Damage(scene)
    cam = scene["camera"]
    x = cam["track"]["x"]
    moves = [ta for (ta, va), (tb, vb) in zip(x, x[1:]) if va != vb]
    views = [damage.between(t + 0.01, t + 0.02) for t in moves]
    views = [w for w in views if w is not None]
    assert len(views) > len(moves) / 2
    for within in views:
        x0, y0, x1, y1 = within["rects"][0]
        assert x0 <= cam["x"] and y0 <= cam["y"] and x1 >= cam["x"] + cam["w"] and y1 >= cam["y"] + cam["h"]
        assert within["nodes"] is None   # all of the graph in view is drawn again


def test_what_it_cannot_place_damages_the_whole_frame():
    scene = copy.deepcopy(small_scene("linear"))
    scene["header"]["phase"]["track"] = [[0.0, 0], [1.0, 1]]
    scene["something_new"] = {"track": [[2.0, 0.0], [3.0, 1.0]]}
    damage = Damage(scene)
    assert damage.between(0.2, 0.3) is None       # the header's phase moves
    assert damage.between(2.2, 2.3) is None       # a part of the Scene it does not know moves
    panels = small_scene("linear", "mlp")
    assert Damage(panels).between(1.0, 1.1) is None
