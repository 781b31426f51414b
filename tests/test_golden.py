"""Golden images of key frames of linear.yaml, drawn by the skia backend.

Regenerate only on purpose: python -m pytest tests/test_golden.py --regen-golden
(then look at every image in tests/baseline/ before committing it).
"""
from __future__ import annotations

import numpy as np
import pytest

from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.render import render_frame
from imagecompare import bgra_to_rgb, check_golden


@pytest.fixture(scope="module")
def scene():
    preset = open_preset("linear")
    return scene_of(trace_of(preset), preset)


def key_times(scene) -> dict[str, float]:
    """Start, mid-forward, mid-backward (particles in flight) and the final frame."""
    phases = {p["name"]: p for p in scene["phases"]}
    forward = phases["forward"]
    steps = [e["t"] for e in scene["events"] if e["name"].startswith("backward:")]
    # half way through a step's animation (a step holds longer while its caption is read)
    animation = open_preset("linear").data["pacing"]["backward_step"]
    return {"start": 0.5, "forward": (forward["t0"] + forward["t1"]) / 2,
            "backward": steps[2] + 0.5 * animation, "end": scene["duration"]}


@pytest.mark.parametrize("name", ["start", "forward", "backward", "end"])
def test_linear_key_frames(scene, name, regen_golden):
    t = key_times(scene)[name]
    check_golden(f"linear-{name}", bgra_to_rgb(render_frame(scene, t)), regen_golden)


def test_an_altered_frame_fails_the_comparison(scene):
    """The harness must be able to fail: a frame with a changed patch is rejected."""
    rgb = bgra_to_rgb(render_frame(scene, scene["duration"]))
    rgb[200:260, 300:420] = 255 - rgb[200:260, 300:420]
    with pytest.raises(AssertionError, match="pixels differ"):
        check_golden("linear-end", rgb, regen=False)


def test_frames_at_different_times_differ(scene):
    times = key_times(scene)
    frames = {name: render_frame(scene, t) for name, t in times.items()}
    for a in frames:
        for b in frames:
            if a < b:
                assert not np.array_equal(frames[a], frames[b]), (a, b)


GALLERY = ["mlp", "deep_sigmoid", "deep_relu", "cnn", "attention", "shared_layer"]


@pytest.mark.parametrize("preset", GALLERY)
def test_gallery_final_frames_in_their_default_view(preset, regen_golden):
    """The last frame of each gallery preset in the view its preset names."""
    p = open_preset(preset)
    scene = scene_of(trace_of(p), p)
    check_golden(f"{preset}-{scene['view']}-end", bgra_to_rgb(render_frame(scene, scene["duration"])), regen_golden)


@pytest.mark.parametrize("view", ["ops", "neurons", "modules"])
def test_each_view_of_one_preset(view, regen_golden):
    """The same trace (mlp) in every view, mid-way through the backward pass."""
    from bprender.preset import apply_overrides
    p = apply_overrides(open_preset("mlp"), {"view": view})
    scene = scene_of(trace_of(p), p)
    steps = [e["t"] for e in scene["events"] if e["name"].startswith("backward:")]
    t = steps[len(steps) // 2] + 0.5
    check_golden(f"mlp-view-{view}", bgra_to_rgb(render_frame(scene, t)), regen_golden)


def test_linear_contact_sheet(regen_golden):
    """bprender sheet's layout: the key frames of linear (laid out at 640x360, the sheet's
    default) three to a row with their step labels, drawn at half size to keep the file small."""
    from bprender.sheet import sheet_pixels
    p = open_preset("linear", {"render.size": "640x360"})
    scene = scene_of(trace_of(p), p)
    check_golden("linear-sheet", bgra_to_rgb(sheet_pixels(scene, cols=3, scale=0.5)), regen_golden)


def test_side_by_side(regen_golden):
    """Two presets in panels on one clock, their charts on one shared log axis."""
    from bprender.pipeline import side_by_side
    scene = side_by_side([open_preset("deep_sigmoid"), open_preset("deep_relu")])
    assert [p["scene"]["title"] for p in scene["panels"]] == [open_preset(n).data["title"]
                                                             for n in ("deep_sigmoid", "deep_relu")]
    ticks = [[tick["text"] for tick in p["scene"]["chart"]["ticks"]] for p in scene["panels"]]
    assert ticks[0] == ticks[1]  # one shared axis
    check_golden("side-by-side-deep", bgra_to_rgb(render_frame(scene, scene["duration"])), regen_golden)


@pytest.mark.parametrize("view", ["ops", "modules"])
def test_fine_tuning_final_frame_draws_the_parts_without_gradient(view, regen_golden):
    """tests/data/finetune.yaml: a frozen backbone, a buffer and a detached shortcut, in grey."""
    from pathlib import Path
    preset = open_preset(str(Path(__file__).parent / "data" / "finetune.yaml"), {"view": view})
    scene = scene_of(trace_of(preset), preset)
    check_golden(f"finetune-{view}-end", bgra_to_rgb(render_frame(scene, scene["duration"])), regen_golden)


def test_wide_neurons_view_final_frame(regen_golden):
    """tests/data/mnist_mlp.yaml: 784-32-10 on a batch of 64, sample 1, wide columns cut down."""
    from pathlib import Path
    preset = open_preset(str(Path(__file__).parent / "data" / "mnist_mlp.yaml"))
    scene = scene_of(trace_of(preset), preset)
    check_golden("mnist_mlp-neurons-end", bgra_to_rgb(render_frame(scene, scene["duration"])), regen_golden)
