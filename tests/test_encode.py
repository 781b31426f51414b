"""Encoders: MP4, GIF and stills are correct, deterministic, atomic and streaming."""
from __future__ import annotations

import hashlib
import os
import sys
import tracemalloc
import xml.etree.ElementTree as ET

import numpy as np
import pytest

av = pytest.importorskip("av")
Image = pytest.importorskip("PIL.Image")
skia = pytest.importorskip("skia")

from bprender.encode import atomic_output, write_gif, write_mp4, write_still
from bprender.encode import video as video_mod
from bprender.errors import BprenderError
from testkit import frames_by_time, top_level_boxes

W, H, FPS = 64, 48, 15
N = 15  # one second

COLOURS = [(230, 40, 40), (40, 90, 230), (40, 170, 60)]  # RGB


def frames(n=N, width=W, height=H, *, reuse=True, fail_at=None, exc=RuntimeError):
    """Deterministic BGRA frames: a coloured bar sweeping over a white background."""
    buf = np.empty((height, width, 4), np.uint8)
    for i in range(n):
        if fail_at is not None and i == fail_at:
            raise exc("drawing failed")
        f = buf if reuse else np.empty((height, width, 4), np.uint8)
        f[...] = 255
        r, g, b = COLOURS[(i * len(COLOURS)) // n]
        x = (i * (width - 16)) // max(1, n - 1)
        f[:, x:x + 16, :3] = (b, g, r)
        yield f


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------- MP4

def test_mp4_stream_properties(tmp_path):
    out = tmp_path / "clip.mp4"
    seen = []
    n = write_mp4(out, frames(), width=W, height=H, fps=FPS, quality="draft", progress=seen.append)
    assert n == N and seen == list(range(1, N + 1))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (W, H)
        assert stream.average_rate == FPS
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == N
    # colours survive: the bar in the first frame is red, the background white
    first = decoded[0].astype(int)
    assert np.abs(first[H // 2, 4] - COLOURS[0]).max() < 25
    assert np.abs(first[H // 2, W - 4] - (255, 255, 255)).max() < 10
    boxes = top_level_boxes(out.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("quality", ["draft", "final"])
def test_mp4_deterministic(tmp_path, quality):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    write_mp4(a, frames(), width=W, height=H, fps=FPS, quality=quality)
    write_mp4(b, frames(), width=W, height=H, fps=FPS, quality=quality)
    assert sha(a) == sha(b)


# A clip with holds: which picture each of its 45 frames (3 s at 15 fps) shows. Pictures 0-5
# move, picture 5 is held for frames 5-29, pictures 6-10 move again, picture 10 is held to the end.
HOLD_PICTURES = [0, 1, 2, 3, 4] + [5] * 25 + [6, 7, 8, 9] + [10] * 11


def picture(k, buf):
    """Picture k of the held clip: a bar at its own place and colour on white."""
    buf[...] = 255
    r, g, b = COLOURS[k % len(COLOURS)]
    x = 4 * k
    buf[:, x:x + 12, :3] = (b, g, r)
    return buf


def held_clip():
    buf = np.empty((H, W, 4), np.uint8)
    for k in HOLD_PICTURES:
        yield picture(k, buf)


def test_sent_frames_and_their_times():
    held = [i > 0 and HOLD_PICTURES[i] == HOLD_PICTURES[i - 1] for i in range(len(HOLD_PICTURES))]
    sent = video_mod.sent_frames(held)
    # every change, and the last TAIL + 1 frames (they end the video on time)
    assert video_mod.TAIL == 3
    assert sent == [0, 1, 2, 3, 4, 5, 30, 31, 32, 33, 34, 41, 42, 43, 44]
    # the n-th frame sent is frame N + (the frames held before it) of the video
    assert video_mod.pts_expression(sent) == "N+24*gte(N,6)+6*gte(N,11)"
    assert video_mod.pts_expression(list(range(5))) == "N"


@pytest.mark.parametrize("quality", ["draft", "final"])
def test_mp4_holds_are_stored_once_and_keep_their_time(tmp_path, quality):
    """A held frame is not encoded again: the MP4 has fewer pictures, each shown until the next,
    and plays the full 3 s with every frame time showing its own picture."""
    held = [i > 0 and HOLD_PICTURES[i] == HOLD_PICTURES[i - 1] for i in range(len(HOLD_PICTURES))]
    out, cfr = tmp_path / "held.mp4", tmp_path / "cfr.mp4"
    seen = []
    n = write_mp4(out, held_clip(), width=W, height=H, fps=FPS, quality=quality, held=held, progress=seen.append)
    assert n == len(HOLD_PICTURES) and seen == list(range(1, n + 1))
    write_mp4(cfr, held_clip(), width=W, height=H, fps=FPS, quality=quality)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert float(stream.duration * stream.time_base) == pytest.approx(len(HOLD_PICTURES) / FPS)
        assert container.duration / 1e6 == pytest.approx(len(HOLD_PICTURES) / FPS)
        assert stream.base_rate == FPS
        pts = [round(float(f.pts * f.time_base) * FPS) for f in container.decode(video=0)]
    assert pts == video_mod.sent_frames(held)
    shown = frames_by_time(out, FPS, rgb=True)
    plain = frames_by_time(cfr, FPS, rgb=True)
    assert len(shown) == len(plain) == len(HOLD_PICTURES)
    buf = np.empty((H, W, 4), np.uint8)
    for i, k in enumerate(HOLD_PICTURES):
        want = picture(k, buf)[..., 2::-1].astype(int)
        assert np.abs(shown[i].astype(int) - want).mean() < 4, i
        assert np.abs(shown[i].astype(int) - plain[i].astype(int)).mean() < 3, i
    assert out.stat().st_size < cfr.stat().st_size


def test_mp4_held_count_must_match(tmp_path):
    with pytest.raises(BprenderError, match="held"):
        write_mp4(tmp_path / "x.mp4", frames(), width=W, height=H, fps=FPS, quality="draft",
                  held=[False] * (N + 5))


def test_mp4_odd_size_rejected(tmp_path):
    with pytest.raises(BprenderError, match="even"):
        write_mp4(tmp_path / "x.mp4", frames(width=63), width=63, height=H, fps=FPS)
    assert not (tmp_path / "x.mp4").exists()


def test_mp4_unknown_quality(tmp_path):
    with pytest.raises(BprenderError, match="draft"):
        write_mp4(tmp_path / "x.mp4", frames(), width=W, height=H, fps=FPS, quality="best")


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_mp4_failure_midway_leaves_old_file(tmp_path, exc):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous")
    with pytest.raises(exc):
        write_mp4(out, frames(fail_at=7, exc=exc), width=W, height=H, fps=FPS, quality="draft")
    assert out.read_bytes() == b"previous"
    assert leftovers(tmp_path) == []
    fresh = tmp_path / "fresh.mp4"
    with pytest.raises(exc):
        write_mp4(fresh, frames(fail_at=7, exc=exc), width=W, height=H, fps=FPS, quality="draft")
    assert not fresh.exists() and leftovers(tmp_path) == []


def test_mp4_ffmpeg_failure_reports_stderr(tmp_path, monkeypatch):
    monkeypatch.setitem(video_mod.QUALITY, "draft", {"preset": "no-such-preset", "crf": 23})
    out = tmp_path / "clip.mp4"
    with pytest.raises(BprenderError, match="ffmpeg failed") as info:
        write_mp4(out, frames(), width=W, height=H, fps=FPS, quality="draft")
    assert "preset" in str(info.value).lower()
    assert not out.exists() and leftovers(tmp_path) == []


def test_mp4_wrong_frame_shape(tmp_path):
    with pytest.raises(ValueError, match="BGRA"):
        write_mp4(tmp_path / "x.mp4", frames(width=32), width=W, height=H, fps=FPS)
    assert leftovers(tmp_path) == [] and not (tmp_path / "x.mp4").exists()


def test_missing_directory_is_user_error(tmp_path):
    with pytest.raises(BprenderError, match="does not exist"):
        write_mp4(tmp_path / "nope" / "x.mp4", frames(), width=W, height=H, fps=FPS)
    with pytest.raises(BprenderError, match="does not exist"):
        write_gif(tmp_path / "nope" / "x.gif", frames, width=W, height=H, fps=FPS)
    with pytest.raises(BprenderError, match="does not exist"):
        write_still(tmp_path / "nope" / "x.png", lambda c: None, width=W, height=H)


def test_atomic_output(tmp_path):
    out = tmp_path / "a.txt"
    out.write_text("old")
    with pytest.raises(ZeroDivisionError):
        with atomic_output(out) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".txt" and tmp.name.startswith(".")
            tmp.write_text("half")
            1 / 0
    assert out.read_text() == "old" and leftovers(tmp_path) == []
    with atomic_output(out) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new" and leftovers(tmp_path) == []


def test_mp4_memory_is_flat(tmp_path):
    """300 fresh 320x240 frames (92 MB in all) stream through with a small peak."""
    n, w, h = 300, 320, 240
    frame_bytes = w * h * 4
    tracemalloc.start()
    try:
        write_mp4(tmp_path / "long.mp4", frames(n, w, h, reuse=False), width=w, height=h,
                  fps=30, quality="draft")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * frame_bytes, f"peak {peak} bytes vs {n * frame_bytes} bytes of frames"


# ---------------------------------------------------------------- GIF

def test_gif(tmp_path):
    out = tmp_path / "clip.gif"
    seen = []
    n = write_gif(out, frames, width=W, height=H, fps=FPS, progress=seen.append)
    assert n == N and seen == list(range(1, 2 * N + 1))
    with Image.open(out) as im:
        assert im.size == (W, H)
        assert im.info.get("loop") == 0
        assert im.n_frames == N
        durations, pictures = [], []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
            pictures.append(np.asarray(im.convert("RGB")).astype(int))
    assert abs(sum(durations) - 1000 * N / FPS) <= 10, durations
    for i, (pic, ref) in enumerate(zip(pictures, frames())):
        expected = ref[..., 2::-1].astype(int)
        assert np.abs(pic - expected).mean() < 4, i
    assert leftovers(tmp_path) == []


def test_gif_true_duration_at_15fps(tmp_path):
    """45 frames at 15 fps = 3 s exactly (delays 7/6/7 cs, not a rounded 6 or 7 each)."""
    out = tmp_path / "three.gif"
    write_gif(out, lambda: frames(45), width=W, height=H, fps=15)
    with Image.open(out) as im:
        total = 0
        for i in range(im.n_frames):
            im.seek(i)
            total += im.info["duration"]
    assert abs(total - 3000) <= 10


def test_gif_deterministic(tmp_path):
    a, b = tmp_path / "a.gif", tmp_path / "b.gif"
    write_gif(a, frames, width=W, height=H, fps=FPS)
    write_gif(b, frames, width=W, height=H, fps=FPS)
    assert sha(a) == sha(b)


def test_gif_failure_leaves_old_file(tmp_path):
    out = tmp_path / "clip.gif"
    out.write_bytes(b"previous")
    calls = []

    def flaky():
        calls.append(1)
        return frames(fail_at=5 if len(calls) == 2 else None)  # fails in the second pass

    with pytest.raises(RuntimeError):
        write_gif(out, flaky, width=W, height=H, fps=FPS)
    assert out.read_bytes() == b"previous" and leftovers(tmp_path) == []


def test_gif_memory_is_flat(tmp_path):
    n, w, h = 300, 320, 240
    tracemalloc.start()
    try:
        write_gif(tmp_path / "long.gif", lambda: frames(n, w, h, reuse=False), width=w, height=h,
                  fps=15)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * w * h * 4


# ---------------------------------------------------------------- stills

def draw_sample(canvas):
    canvas.drawCircle(30, 24, 12, skia.Paint(AntiAlias=True, Color=skia.Color(230, 40, 40)))
    typeface = skia.FontMgr.RefDefault().legacyMakeTypeface("", skia.FontStyle())
    canvas.drawString("dL/dw", 4, 44, skia.Font(typeface, 10), skia.Paint(AntiAlias=True))


def test_still_png(tmp_path):
    out = tmp_path / "f.png"
    write_still(out, draw_sample, width=W, height=H)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (W, H)
        rgb = np.asarray(im.convert("RGB")).astype(int)
    assert tuple(rgb[24, 30]) == (230, 40, 40)
    assert tuple(rgb[2, W - 2]) == (255, 255, 255)


def test_still_svg_is_self_contained(tmp_path):
    out = tmp_path / "f.svg"
    write_still(out, draw_sample, width=W, height=H)
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == f"0 0 {W} {H}"
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert "text" not in tags and "path" in tags


def test_still_pdf(tmp_path):
    out = tmp_path / "f.pdf"
    write_still(out, draw_sample, width=W, height=H)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"%%EOF" in data[-64:]
    assert f"/MediaBox [0 0 {W} {H}]".encode() in data


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_still_deterministic(tmp_path, suffix):
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    write_still(a, draw_sample, width=W, height=H)
    write_still(b, draw_sample, width=W, height=H)
    assert sha(a) == sha(b)


def test_still_unknown_suffix(tmp_path):
    with pytest.raises(BprenderError) as info:
        write_still(tmp_path / "f.jpg", draw_sample, width=W, height=H)
    assert all(s in str(info.value) for s in (".png", ".svg", ".pdf"))
    assert list(tmp_path.iterdir()) == []


def test_still_failure_leaves_old_file(tmp_path):
    out = tmp_path / "f.png"
    out.write_bytes(b"previous")

    def broken(canvas):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_still(out, broken, width=W, height=H)
    assert out.read_bytes() == b"previous" and leftovers(tmp_path) == []


def test_still_bad_background(tmp_path):
    with pytest.raises(BprenderError, match="hex colour"):
        write_still(tmp_path / "f.png", draw_sample, width=W, height=H, background="white")


@pytest.mark.skipif(sys.platform != "linux", reason="F_SETPIPE_SZ is Linux's")
def test_ffmpeg_reads_frames_through_a_pipe_widened_to_a_megabyte():
    """A 3.7 MB frame through Linux's default 64 KB pipe is ~56 wake-ups of ffmpeg; through 1 MB, 4."""
    import fcntl

    from bprender.encode.ffmpeg import PIPE_BYTES, FFmpegPipe, raw_input_args, widen_pipe
    with open("/proc/sys/fs/pipe-max-size") as f:
        most = int(f.read())
    pipe = FFmpegPipe([*raw_input_args(4, 4, 30), "-f", "null", "-"])
    with pipe:
        granted = fcntl.fcntl(pipe._proc.stdin.fileno(), fcntl.F_GETPIPE_SZ)
        pipe.write(bytes(4 * 4 * 4))
    assert PIPE_BYTES == 1 << 20
    assert granted == pipe.pipe_bytes >= min(PIPE_BYTES, most)
    read, write = os.pipe()
    try:  # the benchmark's A side: back to the default
        assert widen_pipe(write, 64 << 10) == 64 << 10
    finally:
        os.close(read)
        os.close(write)
