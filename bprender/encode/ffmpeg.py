"""A small wrapper around one ffmpeg process that reads raw frames from a pipe.

ffmpeg's stderr goes to a temporary file rather than a pipe, so a chatty ffmpeg can never
block while we are blocked writing to its stdin (no deadlock, no reader thread). When
ffmpeg fails, the last line of that file becomes the one-line BprenderError message.

The pipe is widened to 1 MB where the OS allows it (Linux: F_SETPIPE_SZ, up to
/proc/sys/fs/pipe-max-size, 1 MB by default). A 1280x720 BGRA frame is 3.7 MB: through the
default 64 KB pipe it crosses in some 56 hand-offs between us and ffmpeg, each a wake-up of the
other side. Measured on the 40-node window's 141 frames (2 cores): ffmpeg reading them alone
0.58-0.80 s -> 0.24-0.30 s. Over 8 A/B pairs (two scenes, two qualities, two runs of
bench/render.py --pipe): encoding alone a median 10% sooner (-5% to +23%), a whole `render_video`
a median 5% sooner (-3% to +17%): a small gain, of the size of this machine's noise.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from fractions import Fraction
from typing import Sequence

import numpy as np

from bprender.errors import BprenderError

# Make the output a function of the input only: no encoder version or creation time in the
# container, no metadata copied from the (raw) input.
BITEXACT_ARGS = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1"]

PIPE_BYTES = 1 << 20  # what ffmpeg's stdin pipe is widened to, where the OS allows (see above)


def widen_pipe(fd: int, size: int = PIPE_BYTES) -> int:
    """Ask for a pipe buffer of ``size`` bytes on ``fd``, or the largest the OS grants a user
    (pipe-max-size) if that is less. Returns the buffer's size after, 0 where the OS has no such
    call (then the pipe is left as it is: a wider pipe is speed, never needed)."""
    try:
        import fcntl
        setsize, getsize = fcntl.F_SETPIPE_SZ, fcntl.F_GETPIPE_SZ
    except (ImportError, AttributeError):  # not Linux
        return 0
    try:
        fcntl.fcntl(fd, setsize, size)
    except OSError:  # over pipe-max-size for this user: take the most there is
        try:
            with open("/proc/sys/fs/pipe-max-size") as f:
                fcntl.fcntl(fd, setsize, min(size, int(f.read())))
        except (OSError, ValueError):
            pass
    try:
        return fcntl.fcntl(fd, getsize)
    except OSError:
        return 0


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped with imageio-ffmpeg (it includes libx264)."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # ImportError, or its binary missing on this platform
        raise BprenderError(f"cannot find ffmpeg (install imageio-ffmpeg): {exc}") from None


def fps_arg(fps: float | int | Fraction) -> str:
    """``fps`` as ffmpeg wants it: an exact rational string ("30", "30000/1001")."""
    value = Fraction(fps).limit_denominator(1001)
    if value <= 0:
        raise BprenderError(f"fps must be positive, got {fps!r}")
    return str(value)


def raw_input_args(width: int, height: int, fps, pix_fmt: str = "bgra") -> list[str]:
    """Input options for raw frames of ``width`` x ``height`` on stdin."""
    return ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}",
            "-r", fps_arg(fps), "-i", "-"]


def check_frame(frame: np.ndarray, width: int, height: int) -> memoryview:
    """The frame's bytes, after checking it is a (height, width, 4) uint8 array."""
    if (not isinstance(frame, np.ndarray) or frame.dtype != np.uint8
            or frame.shape != (height, width, 4)):
        got = f"{frame.shape} {frame.dtype}" if isinstance(frame, np.ndarray) else type(frame).__name__
        raise ValueError(f"expected a ({height}, {width}, 4) uint8 BGRA frame, got {got}")
    if not frame.flags.c_contiguous:
        frame = np.ascontiguousarray(frame)
    return memoryview(frame).cast("B")


def _first_cause(text: str) -> str:
    """ffmpeg's first error line (the cause; later lines are consequences), without its
    "[libx264 @ 0x55d...]" tag, as one line."""
    for line in text.strip().splitlines():
        line = re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", line.strip())
        if line:
            return " ".join(line.split())[:300]
    return ""


class FFmpegPipe:
    """Run ``ffmpeg <args>`` with frames written to its stdin.

    Use as a context manager: leaving the block normally closes stdin and waits for
    ffmpeg (raising BprenderError if it failed); leaving it with an exception kills ffmpeg.
    """

    def __init__(self, args: Sequence[str], *, what: str = "ffmpeg", stdout=None):
        """``stdout``: a file descriptor for ffmpeg's standard output (its output ``pipe:1``).
        The stdin pipe is widened to PIPE_BYTES (read here, so a benchmark can set it); the
        attribute ``pipe_bytes``: what the OS granted (0: it could not say)."""
        self.what = what
        self._stderr = tempfile.TemporaryFile()
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-loglevel", "error", "-y", *args]
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL if stdout is None else stdout,
                                          stderr=self._stderr)
        except OSError as exc:
            self._stderr.close()
            raise BprenderError(f"{what}: cannot start ffmpeg: {exc}") from None
        self.pipe_bytes = widen_pipe(self._proc.stdin.fileno(), PIPE_BYTES)

    def write(self, data) -> None:
        """Send bytes to ffmpeg; if ffmpeg has died, raise with its error output."""
        try:
            self._proc.stdin.write(data)
        except (BrokenPipeError, ConnectionResetError, ValueError):
            self._proc.wait()
            raise self._error() from None

    def close(self) -> None:
        """Finish the input, wait for ffmpeg, raise BprenderError if it failed."""
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        code = self._proc.wait()
        try:
            if code != 0:
                raise self._error()
        finally:
            self._stderr.close()

    def abort(self) -> None:
        """Stop ffmpeg now (after an error on our side); its output is discarded by the caller."""
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        self._proc.wait()
        self._stderr.close()

    def _error(self) -> BprenderError:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        code = self._proc.returncode
        tail = _first_cause(text) or "no error output"
        if code is not None and code < 0:
            tail = f"killed by signal {-code}" + (f"; {tail}" if text.strip() else "")
        return BprenderError(f"{self.what}: ffmpeg failed (exit code {code}): {' '.join(tail.split())}")

    def __enter__(self) -> "FFmpegPipe":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

