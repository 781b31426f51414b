"""Does `bprender video --jobs N` pay on this machine? One process against N, side by side.

    python bench/jobs.py [--jobs 2] [--reps 3] [--quality final]

For linear and deep_sigmoid at 1280x720, 30 fps, the scene is built once (its trace cached);
then render_video with jobs=1 and with jobs=N run interleaved (1, N, 1, N, ...) so machine
noise hits both alike. Prints the medians, N's speed-up, and the machine's core count: one
process already draws in a thread beside x264's 4 threads, so N pays only where the cores
outnumber what the encoder fills.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bprender.pipeline import open_source, scene_for  # noqa: E402
from bprender.render import frame_count, render_video  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quality", default="final", choices=["draft", "final"])
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; quality {args.quality}; jobs 1 against {args.jobs}; {args.reps} runs each")
    print(f"{'scene':14s} {'frames':>7s} {'jobs=1':>9s} {'jobs=' + str(args.jobs):>9s} {'speed-up':>9s}")
    with tempfile.TemporaryDirectory() as folder:
        for name in ("linear", "deep_sigmoid"):
            scene = scene_for([open_source(name)], cache=True)
            times: dict[int, list[float]] = {1: [], args.jobs: []}
            for _ in range(args.reps):
                for jobs in (1, args.jobs):
                    t0 = time.perf_counter()
                    render_video(scene, Path(folder) / f"{name}-{jobs}.mp4", fps=30, quality=args.quality, jobs=jobs)
                    times[jobs].append(time.perf_counter() - t0)
            one, many = statistics.median(times[1]), statistics.median(times[args.jobs])
            print(f"{name:14s} {frame_count(scene, 30):7d} {one:8.2f}s {many:8.2f}s {one / many:8.2f}x")


if __name__ == "__main__":
    main()
