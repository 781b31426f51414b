"""`bprender video --jobs N`: frame ranges drawn and encoded by worker processes, joined
without re-encoding. The joined video must be the one-process video's frames (up to the
encoder's loss at the cuts), the same bytes on a second run, and progress must count every frame."""
from __future__ import annotations

import av
import numpy as np
import pytest

from bprender.errors import BprenderError
from bprender.parallel import frame_ranges
from bprender.pipeline import Request, open_source, scene_for
from bprender.render import frame_count, render_video
from testkit import frames_by_time, invoke, ok

FPS = 10


@pytest.fixture(scope="module")
def scene():
    return scene_for([open_source("linear", Request(size=(320, 180)))], cache=True)


def decoded(path) -> list[np.ndarray]:
    """The pictures shown at each frame time (the MP4 holds a picture while it does not change)."""
    return [f.astype(np.int16) for f in frames_by_time(path, FPS, rgb=True)]


def test_frame_ranges_cover_every_frame_once():
    assert frame_ranges(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert frame_ranges(2, 4) == [(0, 1), (1, 2)]
    for count, jobs in ((1, 1), (149, 2), (150, 7)):
        ranges = frame_ranges(count, jobs)
        assert [i for a, b in ranges for i in range(a, b)] == list(range(count))


def test_jobs_give_the_one_process_video(scene, tmp_path):
    one, two, again = tmp_path / "one.mp4", tmp_path / "two.mp4", tmp_path / "again.mp4"
    counts = []
    render_video(scene, one, fps=FPS, quality="draft")
    render_video(scene, two, fps=FPS, quality="draft", jobs=2, progress=counts.append)
    render_video(scene, again, fps=FPS, quality="draft", jobs=2)
    assert two.read_bytes() == again.read_bytes()
    a, b = decoded(one), decoded(two)
    assert len(a) == len(b) == frame_count(scene, FPS)
    assert counts[-1] == len(a) and counts == sorted(counts)
    worst = max(float(np.abs(x - y).mean()) for x, y in zip(a, b))
    assert worst < 1.5                     # the same pictures, up to the encoder's rounding
    with av.open(str(two)) as container:
        stream = container.streams.video[0]
        assert float(stream.duration * stream.time_base) == pytest.approx(len(a) / FPS, abs=0.11)


def test_jobs_refuse_a_stream(scene):
    with pytest.raises(BprenderError, match="--jobs writes a file"):
        render_video(scene, "-", fps=FPS, jobs=2)


def test_the_cli_takes_jobs(runner, tmp_path):
    out = tmp_path / "v.mp4"
    ok(invoke(runner, "video", "linear", "-o", str(out), "--size", "320x180", "--fps", "8", "--quality", "draft",
              "--jobs", "2", "-q"))
    assert len(decoded(out)) > 50
    bad = invoke(runner, "video", "linear", "-o", str(out), "--jobs", "0")
    assert bad.exit_code == 2 and "--jobs" in bad.output
