"""MP4 (H.264) from a stream of BGRA frames, piped into ffmpeg as they are drawn.

Choices, and why:
- libx264, yuv420p, even width and height: what PowerPoint, Keynote, browsers and phones
  all play. The RGB->YUV conversion uses the BT.709 matrix (limited range) and the
  stream is tagged BT.709, so colours match in players that honour the tags.
- ``-movflags +faststart``: the index (moov) goes before the data, so a browser or a
  slide tool can start playing before the whole file is read.
- Quality presets: "final" = x264 preset veryfast, CRF 19: on these flat diagrams it takes
  about half medium's CPU (deep_sigmoid's 748 sent frames: 8.3 s against 14.9 s) for files of
  the same size and a smallest per-frame SSIM of 0.982-0.998 (bench/manim.py); "draft" =
  preset ultrafast, CRF 23 (a quarter less CPU again, files 2-3x bigger, for previews). On 2
  cores at 1280x720: see bench/encode.py.
- Holds (``held``): a frame the same as the one before is not sent; ffmpeg stamps each frame it
  gets with its time in the whole video (setpts, ``-fps_mode vfr``), so the MP4 shows a
  picture until the next one (variable frame durations on the fps clock). A paced lecture is
  mostly holds: linear sends 511 of its 1554 frames, deep_sigmoid 700 of 5766.
- Deterministic: the same frames give the same bytes. x264 is deterministic for a fixed
  thread count, but the count is written into the stream (and above ~6 it changes the
  lookahead), so we fix ``-threads 4`` rather than let it follow the machine's cores;
  bitexact flags and ``-map_metadata -1`` keep version strings and dates out of the
  container.
- Streaming: each frame is written to ffmpeg before the next is pulled from the
  iterator, so the caller may reuse one buffer and memory stays flat for any length.
- Atomic: the file appears only when ffmpeg succeeded; on any error the partial output is
  deleted and an existing file at ``path`` is left as it was.
- Streams: into ``-`` (standard output), a FIFO or a device, ffmpeg writes a fragmented MP4
  (``frag_keyframe+empty_moov``: playable as it arrives, no seek back to write the index) straight
  into it as the frames are encoded. Where standard output has no file descriptor (a notebook,
  a test runner), the finished file is copied there instead.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Callable, Iterable, Sequence

import numpy as np

from bprender.encode.atomic import STDOUT, atomic_output, is_stream
from bprender.encode.ffmpeg import BITEXACT_ARGS, FFmpegPipe, check_frame, raw_input_args
from bprender.errors import BprenderError

QUALITY = {
    "final": {"preset": "veryfast", "crf": 19},
    "draft": {"preset": "ultrafast", "crf": 23},
}
X264_THREADS = 4
TAIL = 3  # sent_frames: frames always sent before the last one


MP4_SUFFIXES = (".mp4", ".m4v", ".mov")


def check_size(width: int, height: int) -> None:
    """H.264 in yuv420p needs even dimensions; say so in the user's terms."""
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise BprenderError(f"video {name} must be a positive whole number, got {value!r}")
    if width % 2 or height % 2:
        raise BprenderError(
            f"video size {width}x{height} must have an even width and height "
            f"(H.264 yuv420p), e.g. {width + width % 2}x{height + height % 2}")


def sent_frames(held: Sequence[bool]) -> list[int]:
    """The frames that go to the encoder: each one not held (a held frame is the same picture
    as the one before it), the first, and the last TAIL + 1. The tail is for the B-frames: x264
    derives the last frames' decode times from earlier frames' times, and the MP4 muxer sums
    the track's length from those, so a hold at the very end would make the track as much too
    short (measured: linear's last 3.1 s hold lost); a few consecutive frames at the end keep the
    length exact for x264's B-frame delay (2 with 3 B-frames, pyramid)."""
    last = len(held) - 1
    return [i for i, h in enumerate(held) if not h or i == 0 or i >= last - TAIL]


def pts_expression(sent: Sequence[int]) -> str:
    """An ffmpeg expression of N (the n-th frame through the pipe) giving its frame number in
    the whole video: N plus a step at each hold, so its length grows with the holds, not with
    the frames."""
    terms, skipped = ["N"], 0
    for n, index in enumerate(sent):
        if index - n > skipped:
            terms.append(f"{index - n - skipped}*gte(N,{n})")
            skipped = index - n
    return "+".join(terms)


def mp4_args(path: str | os.PathLike, width: int, height: int, fps, quality: str,
             fragmented: bool = False, sent: Sequence[int] | None = None) -> list[str]:
    """ffmpeg arguments: raw BGRA frames on stdin -> H.264 MP4 at ``path`` (fragmented: for a
    stream, e.g. ``pipe:1``). sent: the frame numbers (in the whole video) of the frames that
    come through the pipe, the others repeating the one before (sent_frames): each is stamped
    with its own time and shown until the next one's (variable frame durations)."""
    if quality not in QUALITY:
        raise BprenderError(f"unknown quality {quality!r}; choose one of: {', '.join(QUALITY)}")
    q = QUALITY[quality]
    stamps, vfr = "", []
    if sent is not None and list(sent) != list(range(len(sent))):
        stamps, vfr = f"setpts='{pts_expression(sent)}',", ["-fps_mode", "vfr"]
    return [
        *raw_input_args(width, height, fps, "bgra"),
        "-vf", stamps + "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p", *vfr,
        "-c:v", "libx264", "-preset", q["preset"], "-crf", str(q["crf"]),
        "-threads", str(X264_THREADS), "-pix_fmt", "yuv420p",
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-color_range", "tv",
        "-movflags", "+frag_keyframe+empty_moov+default_base_moof" if fragmented else "+faststart",
        *BITEXACT_ARGS,
        "-f", "mp4", str(path),
    ]


def write_mp4(path: str | os.PathLike, frames: Iterable[np.ndarray], *, width: int, height: int,
              fps, quality: str = "final", held: Sequence[bool] | None = None,
              progress: Callable[[int], None] | None = None) -> int:
    """Encode ``frames`` ((height, width, 4) uint8 BGRA arrays) to an MP4 at ``path``.

    ``held``: one flag per frame, True where the frame is the same picture as the one before
    (a hold). Held frames are not sent to ffmpeg at all: the frame before is shown for longer
    (a variable frame rate MP4 that plays with the same timing, frame i at i / fps).
    ``progress(n)`` is called after the n-th frame has been handed to ffmpeg (or skipped).
    Returns the number of frames written (held ones included). Raises BprenderError for odd
    sizes, an unknown quality, a missing output folder or an ffmpeg failure (with the tail of
    its stderr).
    """
    check_size(width, height)
    sent = sent_frames(held) if held is not None else None
    if is_stream(path):
        with _stream_fd(path) as fd:
            if fd is not None:
                args = mp4_args("pipe:1", width, height, fps, quality, fragmented=True, sent=sent)
                return _encode(args, path, frames, width, height, progress, sent, stdout=fd)
    with atomic_output(path, MP4_SUFFIXES, "an MP4 video") as tmp:
        return _encode(mp4_args(tmp, width, height, fps, quality, sent=sent), path, frames, width, height,
                       progress, sent)


def _encode(args, path, frames, width, height, progress, sent=None, stdout=None) -> int:
    count = 0
    wanted = set(sent) if sent is not None else None
    with FFmpegPipe(args, what=f"writing {path}", stdout=stdout) as pipe:
        for frame in frames:
            if wanted is None or count in wanted:
                pipe.write(check_frame(frame, width, height))
            count += 1
            if progress is not None:
                progress(count)
        if count == 0:
            raise BprenderError(f"cannot write {path}: no frames to encode")
        if sent and count != sent[-1] + 1:  # the last frame sets the video's length
            raise BprenderError(f"cannot write {path}: {count} frames came, 'held' is for {sent[-1] + 1}")
    return count


@contextlib.contextmanager
def _stream_fd(path):
    """A file descriptor ffmpeg can write the stream into, or None (then copy a finished file)."""
    if os.fspath(path) == STDOUT:
        try:
            sys.stdout.flush()
            fd = sys.stdout.buffer.fileno()
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            fd = None
        yield fd
        return
    try:
        f = open(path, "wb")
    except OSError as exc:
        raise BprenderError(f"cannot write {path}: {exc.strerror}") from None
    with f:
        yield f.fileno()
