"""What the renderers write: MP4 and GIF decoded back, determinism, and frames as a pure
function of time. Clips are kept short (tiny pacing, small sizes) so the file runs in seconds."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.render import frame_count, raster_frames, render_frame
from testkit import invoke as run_cli
from testkit import frames_by_time, ok, top_level_boxes

# the shortest pacing; its captions' reading times set most of its length (README, "Pacing")
SHORT = """\
title: "Short clip"
model:
  expression: (w * x + b - y_true) ** 2
  params: {w: 2.0, b: 1.0}
  inputs: {x: 3.0, y_true: 8.0}
pacing: {intro: 0.2, forward_step: 0.2, loss: 0.2, backward_step: 0.3, pause: 0.1, hold: 0.4}
"""

VIDEO = ["--size", "320x180", "--fps", "8", "--quality", "draft"]


@pytest.fixture(scope="module")
def short_preset(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("presets") / "short.yaml"
    path.write_text(SHORT)
    return path


def invoke(runner, *args):
    """Run a command that must succeed."""
    return ok(run_cli(runner, *args))


def scene_json(runner, preset, tmp_path, *args) -> dict:
    out = tmp_path / "scene.json"
    invoke(runner, "scene", preset, "-o", out, *args)
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def video_file(runner, short_preset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("video") / "clip.mp4"
    result = invoke(runner, "video", short_preset, "-o", out, *VIDEO)
    assert f"wrote {out}" in result.output
    return out


def test_video_stream(runner, short_preset, video_file, tmp_path):
    scene = scene_json(runner, short_preset, tmp_path, "--size", "320x180", "--fps", "8")
    expected = round(scene["duration"] * 8)
    assert expected == frame_count(scene, 8) > 8 * 30   # the captions' reading time: over 30 s
    with av.open(str(video_file)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (320, 180)
        assert stream.base_rate == 8
        assert float(stream.duration * stream.time_base) == pytest.approx(expected / 8)
        frames = list(container.decode(video=0))
    # the holds are not stored again: fewer pictures than frames, the frames by time all there
    assert len(frames) < expected == len(frames_by_time(video_file, 8))
    assert (frames[0].width, frames[0].height) == (320, 180)
    assert frames[0].format.name == "yuv420p"


def test_video_faststart(video_file):
    boxes = top_level_boxes(video_file.read_bytes())
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_video_deterministic(runner, short_preset, video_file, tmp_path):
    again = tmp_path / "again.mp4"
    invoke(runner, "video", short_preset, "-o", again, *VIDEO, "-q")
    assert again.read_bytes() == video_file.read_bytes()


def gif_info(path: Path):
    with Image.open(path) as im:
        assert im.format == "GIF"
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
        return im.size, im.info.get("loop"), im.n_frames, durations


@pytest.mark.parametrize("fps", [5, 15])
def test_gif(runner, short_preset, tmp_path, fps):
    out = tmp_path / "clip.gif"
    result = invoke(runner, "gif", short_preset, "-o", out, "--width", "160", "--fps", str(fps))
    assert f"wrote {out}" in result.output
    duration = scene_json(runner, short_preset, tmp_path)["duration"]
    size, loop, n_frames, durations = gif_info(out)
    assert size == (160, 90)
    assert loop == 0
    assert n_frames == round(duration * fps)
    # the GIF lasts the scene, to within half a frame (its length need not be whole frames)
    assert abs(sum(durations) - 1000 * duration) <= 500 / fps + 20, (sum(durations), duration)


def test_gif_plays_its_frames_in_real_time(runner, tmp_path):
    """Whatever the scene's length, the delays add up to n_frames / fps (centisecond
    rounding never accumulates)."""
    out = tmp_path / "linear.gif"
    preset = tmp_path / "lin.yaml"
    preset.write_text(SHORT.replace("hold: 0.4", "hold: 0.3"))  # 3.7 s
    invoke(runner, "gif", preset, "-o", out, "--width", "160", "--fps", "15", "-q")
    _, _, n_frames, durations = gif_info(out)
    assert abs(sum(durations) - 1000 * n_frames / 15) <= 20


def test_quiet(runner, short_preset, tmp_path):
    for command, args in (("video", VIDEO), ("gif", ["--width", "160", "--fps", "5"])):
        out = tmp_path / f"q.{'mp4' if command == 'video' else 'gif'}"
        loud = invoke(runner, command, short_preset, "-o", out, *args)
        assert "wrote" in loud.output
        out.unlink()
        quiet = invoke(runner, command, short_preset, "-o", out, *args, "-q")
        assert quiet.output == "", quiet.output
        assert out.exists()


# --------------------------------------------------------------------------- frames vs time

@pytest.fixture(scope="module")
def small_scene(short_preset) -> dict:
    preset = open_preset(str(short_preset), {"render.size": "320x180"})
    return scene_of(trace_of(preset), preset)


TIMES = (0.5, 1.0, 10.0)  # the title, then the forward pass


def frames_at(scene: dict, fps: int, times) -> dict:
    wanted = {round(t * fps): t for t in times}
    got = {}
    for i, frame in enumerate(raster_frames(scene, fps)):
        if i in wanted:
            got[wanted[i]] = frame.copy()  # raster_frames reuses one buffer
    assert len(got) == len(wanted)
    return got


def test_frame_is_a_function_of_time(small_scene):
    assert frame_count(small_scene, 24) == round(small_scene["duration"] * 24)
    at24 = frames_at(small_scene, 24, TIMES)
    at60 = frames_at(small_scene, 60, TIMES)
    for t in TIMES:
        alone = render_frame(small_scene, t)
        assert alone.shape == (180, 320, 4)
        assert np.array_equal(at24[t], at60[t]), t
        assert np.array_equal(at24[t], alone), t
    # and the clip does move: different times give different pictures
    assert not np.array_equal(at24[0.5], at24[10.0])
