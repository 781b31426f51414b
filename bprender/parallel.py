"""A long video split into frame ranges, each drawn and encoded by its own worker process, the
pieces joined without re-encoding (``bprender video --jobs N``).

A frame is a pure function of (scene, time, view), so any range of frames can be drawn
anywhere: worker k gets the scene and frames [a_k, b_k) of the video's frame times, and writes
them as an MP4 segment with the same encoder settings; ffmpeg's concat demuxer then copies the
segments, in order, into one MP4 (``-c copy``: no second encode, no quality lost). Each segment
starts on a key frame, so the joined file plays and seeks like any other; its bytes differ from
a one-process render's (x264 cannot carry its state across a cut) but are the same for the same
N. On Linux the workers are forked before any drawing starts (no bprender thread is running
then; spawned workers would re-run the caller's main script, which a notebook or `python -`
does not have); elsewhere they are spawned.

Whether it pays depends on the machine: one process already draws in a thread beside the
encoder and x264 runs 4 threads, so on 2 cores the encoder has both of them (see README and
bench/jobs.py for the figures measured here); with more cores than x264 can fill, it does.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import queue as queue_module
import sys
import tempfile
from pathlib import Path
from typing import Callable

from .encode import atomic_output
from .encode.ffmpeg import BITEXACT_ARGS, ffmpeg_exe
from .encode.video import MP4_SUFFIXES, check_size
from .errors import BprenderError

_progress_queue = None   # in a worker: where it reports frames done


def frame_ranges(count: int, jobs: int) -> list[tuple[int, int]]:
    """[a, b) index ranges covering 0..count in `jobs` near-equal contiguous parts (fewer when
    there are fewer frames than jobs)."""
    jobs = max(1, min(jobs, count))
    bounds = [round(k * count / jobs) for k in range(jobs + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _init_worker(queue) -> None:
    global _progress_queue
    _progress_queue = queue


def _render_range(scene: dict, times: list[float], path: str, fps, quality: str, view) -> int:
    from .encode import write_mp4
    from .render import drawn_times, raster_frames_ahead
    drawn = drawn_times(scene, times)   # a range's first frame is always drawn (and sent)
    frames = raster_frames_ahead(scene, fps, view=view, times=times, drawn=drawn)

    def report(n: int) -> None:
        if _progress_queue is not None and (n % 10 == 0 or n == len(times)):
            _progress_queue.put(10 if n % 10 == 0 else n % 10)
    try:
        return write_mp4(path, frames, width=scene["width"], height=scene["height"], fps=fps,
                         quality=quality, held=[not d for d in drawn], progress=report)
    finally:
        frames.close()


def join_segments(segments: list[Path], path, listing: Path) -> None:
    """Copy the MP4 segments, in order, into one MP4 at path (atomically)."""
    import subprocess
    listing.write_text("".join(f"file '{s.as_posix()}'\n" for s in segments), encoding="utf-8")
    with atomic_output(path, MP4_SUFFIXES, "an MP4 video") as tmp:
        args = [ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                "-c", "copy", "-movflags", "+faststart", *BITEXACT_ARGS, "-f", "mp4", "-y", str(tmp)]
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
            raise BprenderError(f"cannot join the video's parts into {path}: {last}")


def render_video_in_ranges(scene: dict, path, *, fps, quality: str, view: dict | None,
                           progress: Callable[[int], None] | None, span, jobs: int) -> None:
    from .encode.atomic import is_stream
    from .render import frame_times
    if is_stream(path):
        raise BprenderError("--jobs writes a file: it cannot stream into standard output or a pipe "
                            "(leave --jobs out, or give a file name)")
    check_size(scene["width"], scene["height"])
    times = frame_times(scene, fps, span)
    ranges = frame_ranges(len(times), jobs)
    spawn = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    queue = spawn.Queue()
    with tempfile.TemporaryDirectory(prefix=f"bprender-tmp-{os.getpid()}-") as folder:
        segments = [Path(folder) / f"part{k:04d}.mp4" for k in range(len(ranges))]
        with concurrent.futures.ProcessPoolExecutor(len(ranges), mp_context=spawn, initializer=_init_worker,
                                                    initargs=(queue,)) as pool:
            futures = [pool.submit(_render_range, scene, times[a:b], str(seg), fps, quality, view)
                       for (a, b), seg in zip(ranges, segments)]
            done = 0
            try:
                while not all(f.done() for f in futures) or not queue.empty():
                    try:
                        done += queue.get(timeout=0.1)
                        if progress is not None:
                            progress(done)
                    except queue_module.Empty:   # nothing reported in the last 0.1 s
                        pass
                for f in futures:
                    f.result()          # a worker's error, raised here
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        join_segments(segments, path, Path(folder) / "parts.txt")
