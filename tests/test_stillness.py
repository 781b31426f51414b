"""Frames the same as the one before are not drawn again: the skipped frames must be exactly
the pixels a fresh drawing gives, on every frame of real scenes (a camera, training steps, a
side-by-side composite), and the skip must really happen in the holds."""
from __future__ import annotations

import numpy as np
import pytest

from bprender.pipeline import Request, open_source, scene_for
from bprender.render import drawn_times, frame_times, raster_frames, raster_frames_ahead, render_frame
from bprender.stillness import Stillness, moving_spans

FPS = 6
SMALL = Request(size=(320, 180))


def small_scene(*names: str) -> dict:
    return scene_for([open_source(name, SMALL) for name in names], cache=True)


@pytest.mark.parametrize("names", [("linear",), ("training",), ("deep_sigmoid",), ("linear", "mlp")],
                         ids=lambda names: "+".join(names))
def test_skipped_frames_are_the_frames_drawn_afresh(names):
    scene = small_scene(*names)
    times = frame_times(scene, FPS)
    drawn = drawn_times(scene, times)
    assert 0 < sum(drawn) < len(times)   # some frames are skipped, not all
    for frames in (raster_frames(scene, FPS), raster_frames_ahead(scene, FPS)):
        for i, (t, frame) in enumerate(zip(times, frames)):
            if not drawn[i] or (i + 1 < len(times) and not drawn[i + 1]):
                assert np.array_equal(frame, render_frame(scene, t)), (names, t)


def test_the_holds_of_linear_are_not_drawn():
    scene = small_scene("linear")
    times = frame_times(scene, 30)
    drawn = drawn_times(scene, times)
    settled = max(b for a, b in moving_spans(scene) if a <= times[-1])   # then the final hold
    after = [d for t, d in zip(times, drawn) if t > settled]
    assert len(after) > 10 and not any(after[1:])
    assert sum(drawn) < 0.85 * len(times)


def test_the_drawing_thread_paints_only_the_frames_that_change(monkeypatch):
    """raster_frames_ahead's worker never sees a hold: it paints each drawn frame once, and the
    consumer's side hands the frame it has on again (one array object through a hold). A caller's
    ``drawn`` whose first flag is False (no frame before it to repeat) still draws that frame."""
    import bprender.render as render
    scene = small_scene("linear")
    times = frame_times(scene, FPS)
    drawn = drawn_times(scene, times)
    painted = []
    paint = render.Redraw.paint
    monkeypatch.setattr(render.Redraw, "paint", lambda self, surface, t: (painted.append(t), paint(self, surface, t)))
    frames = list(raster_frames_ahead(scene, FPS, times=times, drawn=drawn))
    assert painted == [t for t, d in zip(times, drawn) if d]
    assert len(frames) == len(times)
    for i in range(1, len(times)):
        assert (frames[i] is frames[i - 1]) == (not drawn[i]), i
    painted.clear()
    first = list(raster_frames_ahead(scene, FPS, times=times[:4], drawn=[False, False, True, False]))
    assert painted == [times[0], times[2]]
    assert np.array_equal(first[1], render_frame(scene, times[0]))
    assert np.array_equal(first[3], render_frame(scene, times[2]))


def test_stillness_of_a_hand_made_scene():
    scene = {"a": {"track": [[1.0, 0.0], [2.0, 1.0], [3.0, 1.0]]},       # a ramp, then a hold
             "b": [{"tracks": {"lit": [[5.0, 0.0], [5.0, 1.0]]}}],           # a jump at 5
             "poly": [[0.5, 0.5], [0.7, 0.9]]}                               # a route: not a track
    assert moving_spans(scene)[0][0] == 1.0
    still = Stillness(scene)
    assert still.same(0.6, 0.9)          # before anything moves
    assert not still.same(0.9, 1.5)      # the ramp
    assert still.same(2.0, 2.9)          # the hold: the ramp ended at 2
    assert not still.same(2.9, 3.1)      # the track's last keyframe
    assert still.same(3.1, 4.9)
    assert not still.same(4.9, 5.0)      # the jump shows at 5 itself
    assert still.same(5.1, 9.0)


def test_the_video_shows_each_frame_time_its_picture(tmp_path):
    """render_video does not encode the holds again (a variable frame rate MP4): decoded by
    time, the video still shows at each sampled frame time the skia frame for that time, and
    lasts the animation's frame count."""
    import av

    from bprender.render import render_video
    from testkit import frames_by_time
    scene = small_scene("linear")
    out = tmp_path / "linear.mp4"
    render_video(scene, out, fps=FPS, quality="draft")
    times = frame_times(scene, FPS)
    shown = frames_by_time(out, FPS, rgb=True)
    assert len(shown) == len(times)
    with av.open(str(out)) as container:
        pictures = sum(1 for _ in container.decode(video=0))
    assert pictures < sum(drawn_times(scene, times)) + 5 < len(times)
    for i in range(0, len(times), max(1, len(times) // 12)):
        want = render_frame(scene, times[i])[..., 2::-1].astype(int)
        assert np.abs(shown[i].astype(int) - want).mean() < 3, times[i]


def test_a_still_stretch_is_one_picture():
    """Stillness.stretch: two times in one stretch are the same frame, a moving time is in none,
    and the stretches are numbered in time order."""
    scene = small_scene("linear")
    still = Stillness(scene)
    times = frame_times(scene, 30)
    stretches = [still.stretch(t) for t in times]
    assert None in stretches and len({s for s in stretches if s is not None}) > 3
    numbered = [s for s in stretches if s is not None]
    assert numbered == sorted(numbered)
    for (t1, s1), (t2, s2) in zip(zip(times, stretches), zip(times[1:], stretches[1:])):
        if s1 is not None and s1 == s2:
            assert still.same(t1, t2), (t1, t2)
        if s2 is None:
            assert not still.same(t1, t2), (t1, t2)
    for a, b in moving_spans(scene):
        assert still.stretch(a) is None and still.stretch(b) is not None


def test_the_header_and_the_caption_are_pasted_while_they_stand_still(monkeypatch):
    """A raster canvas drawing the same frame again pastes its header and caption (paint_band):
    their painters are not called from the third draw on, and the frame is the same."""
    import bprender.paint as paint
    from bprender.canvas import RasterSurface
    from bprender.render import font_book

    scene = small_scene("linear")
    calls = []
    for name in ("paint_header", "paint_caption"):
        real = getattr(paint, name)
        monkeypatch.setattr(paint, name, lambda *a, real=real, name=name: (calls.append(name), real(*a)))
    t = next(t for t in frame_times(scene, 30) if t > scene["duration"] / 2 and Stillness(scene).stretch(t) is not None)
    surface = RasterSurface(scene["width"], scene["height"], fonts=font_book(scene))
    frames = []
    for _ in range(4):
        calls.clear()
        paint.paint_frame(surface.ctx, scene, t)
        frames.append((surface.pixels().copy(), list(calls)))
    assert frames[0][1] == ["paint_header", "paint_caption"]
    assert frames[3][1] == []
    assert all(np.array_equal(frames[0][0], px) for px, _ in frames)
    assert np.array_equal(frames[3][0], render_frame(scene, t))
