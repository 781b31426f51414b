"""Raster backend speed, side by side: drawing, whole video render, and ffmpeg alone.

    python bench/render.py [--quick] [--reps N] [--full]
    python bench/render.py --pipe [--reps N]

Two scenes at 1280x720 / 30 fps, built with the default settings of presets/linear.yaml:
- "linear": presets/linear.yaml (8 nodes), its whole timeline;
- "40 nodes": a small torch model traced with bprender.trace.trace_model (one Linear layer used
  in 7 gated residual steps: 40 nodes, 65 edges, 127 particles). By default a 12 s window of its
  timeline centred on the backward pass (all tracks shifted, so the frames are those of the full
  scene); ``--full`` renders the whole timeline (about 70 s; the encode-only figure then holds
  ~2000 frames, 7.5 GB, in memory).

For each scene:
- draw ms/frame: paint_frame on a RasterSurface, median over frames spread over the timeline
  (every one of them drawn, even where it is the same picture as the one before);
- loop ms/frame: raster_frames over every frame of the timeline, the loop the video and GIF
  writers read (a frame the same as the one before is not drawn again, and of the others only
  the damage since the one before: damage.py), total / frames, and total / frames drawn (what
  a changing picture costs in the loop, against draw's from-scratch figure); beside it the same
  loop drawing every changing frame whole (no damage), interleaved with it;
- video fps: bprender.render.render_video (draw + encode, streaming), quality final and draft;
- ratio: render_video time / write_mp4 time on the same frames pre-rendered into memory, told
  the same holds (not encoded again) as render_video tells it (1.0 = encoder-bound: drawing
  costs nothing on top of ffmpeg; since the holds are skipped, ffmpeg gets only the frames that
  are drawn, so the ratio is now mostly how drawing compares with encoding a frame).
Repetitions are interleaved (video, encode-only, video, ...) and the figures are medians.
``--pipe`` instead: the whole video and ffmpeg alone with ffmpeg's stdin pipe at Linux's default
64 KB against the 1 MB bprender asks for (encode/ffmpeg.py), interleaved, medians.
Targets (issue 14): ratio <= 1.15, draw <= 2 ms per frame for 40 nodes.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bprender.canvas import RasterSurface  # noqa: E402
from bprender.encode import ffmpeg  # noqa: E402
from bprender.encode import write_mp4  # noqa: E402
from bprender.paint import paint_frame  # noqa: E402
from bprender.pipeline import fonts_for, open_preset, scene_of, scene_settings, trace_of  # noqa: E402
from bprender.render import drawn_times, font_book, frame_times, raster_frames, render_video  # noqa: E402
from bprender.scene import build_scene  # noqa: E402

TARGET_RATIO = 1.15
TARGET_DRAW_MS = 2.0


# -- scenes ------------------------------------------------------------------------------------
def linear_scene() -> tuple[dict, dict]:
    preset = open_preset(ROOT / "presets" / "linear.yaml")
    return scene_of(trace_of(preset), preset), scene_settings(preset)


def forty_node_trace() -> dict:
    import torch
    from torch import nn

    from bprender.trace import trace_model

    class GatedShared(nn.Module):
        """x <- x + h * sigmoid(h), h = fc(x), 7 times with the same layer (fan-out)."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            for _ in range(7):
                h = self.fc(x)
                x = x + h * torch.sigmoid(h)
            return x

    torch.manual_seed(0)
    return trace_model(GatedShared(), torch.randn(2, 3), torch.randn(2, 3), "mse",
                       title="40-node benchmark", description="One Linear layer used in 7 gated residual steps.")


def forty_node_scene(settings: dict) -> dict:
    # the ops view with view-only ops shown, so the scene really has 40 nodes to draw
    return build_scene(forty_node_trace(), dict(settings, collapse_views=False), fonts_for(settings))


def window(scene: dict, start: float, length: float) -> dict:
    """The scene's frames from ``start`` for ``length`` seconds as a scene of its own: every
    track (everything the painter reads that changes with time) is shifted by -start."""
    if start <= 0 and length >= scene["duration"]:
        return scene
    out = copy.deepcopy(scene)

    def shift(obj):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key in ("track", "shown") and isinstance(value, list):
                    for k in value:
                        k[0] -= start
                elif key == "tracks" and isinstance(value, dict):
                    for track in value.values():
                        for k in track:
                            k[0] -= start
                else:
                    shift(value)
        elif isinstance(obj, list):
            for value in obj:
                shift(value)

    shift(out)
    out["duration"] = length
    return out


def backward_window(scene: dict, length: float) -> dict:
    """A ``length`` s window inside the backward pass, where it changes most: of the starts
    0.5 s apart, the one with the most frames that are drawn (not held), the first of equals.
    (Centred on the backward pass, a paced timeline can put the whole window on one held step.)"""
    bwd = [p for p in scene["phases"] if p["name"] == "backward"]
    t0, t1 = (bwd[0]["t0"], bwd[0]["t1"]) if bwd else (0.0, scene["duration"])
    last = max(0.0, scene["duration"] - length)
    times = frame_times(scene, scene["fps"])
    drawn = drawn_times(scene, times)
    n = int(round(length * scene["fps"]))

    def busy(start: float) -> int:
        i = int(round(start * scene["fps"]))
        return sum(drawn[i + 1:i + n])  # the window's first frame is always drawn

    starts = [min(max(0.0, t0 + 0.5 * k), last) for k in range(int(max(0.0, t1 - t0 - length) / 0.5) + 1)]
    start = max(starts, key=busy)
    return window(scene, start, length)


# -- measurements ------------------------------------------------------------------------------
def draw_ms(scene: dict, samples: int) -> list[float]:
    surface = RasterSurface(scene["width"], scene["height"], fonts=font_book(scene))
    n = max(2, samples)
    times = [scene["duration"] * i / (n - 1) for i in range(n)]
    paint_frame(surface.ctx, scene, times[0])  # warm the caches
    out = []
    for t in times:
        t0 = time.perf_counter()
        paint_frame(surface.ctx, scene, t)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def loop_ms(scene: dict) -> tuple[float, int, int]:
    """(ms per frame, frames, frames drawn) of the raster loop over the whole timeline."""
    times = frame_times(scene, scene["fps"])
    drawn = sum(drawn_times(scene, times))
    t0 = time.perf_counter()
    n = sum(1 for _ in raster_frames(scene, scene["fps"]))
    return (time.perf_counter() - t0) * 1000 / n, n, drawn


def whole_loop_ms(scene: dict) -> float:
    """ms per frame of the same loop drawing every changing frame whole (no damage): the loop as
    it was before damage.py, side by side with loop_ms."""
    surface = RasterSurface(scene["width"], scene["height"], fonts=font_book(scene))
    times = frame_times(scene, scene["fps"])
    drawn = drawn_times(scene, times)
    t0 = time.perf_counter()
    for t, draw in zip(times, drawn):
        if draw:
            paint_frame(surface.ctx, scene, t)
    return (time.perf_counter() - t0) * 1000 / len(times)


def prerender(scene: dict) -> list:
    return [frame.copy() for frame in raster_frames(scene, scene["fps"])]


def time_video(scene: dict, quality: str, path: Path) -> float:
    t0 = time.perf_counter()
    render_video(scene, path, fps=scene["fps"], quality=quality)
    return time.perf_counter() - t0


def time_encode(frames: list, scene: dict, quality: str, path: Path) -> float:
    """write_mp4 alone on the frames, told the same holds as render_video tells it."""
    times = frame_times(scene, scene["fps"])
    held = [not d for d in drawn_times(scene, times)]
    t0 = time.perf_counter()
    write_mp4(path, frames, width=scene["width"], height=scene["height"], fps=scene["fps"], quality=quality,
              held=held)
    return time.perf_counter() - t0


def bench_scene(name: str, scene: dict, reps: int, draw_samples: int, tmp: Path) -> dict:
    n_frames = len(frame_times(scene, scene["fps"]))
    print(f"\n{name}: {len(scene['nodes'])} nodes, {len(scene['edges'])} edges, "
          f"{len(scene['particles'])} particles, {n_frames} frames ({scene['duration']:.1f} s)", flush=True)
    draws, loops, wholes = [], [], []
    for _ in range(reps):
        draws.extend(draw_ms(scene, draw_samples))
        loops.append(loop_ms(scene))
        wholes.append(whole_loop_ms(scene))
    frames = prerender(scene)
    result = {"draw_ms": statistics.median(draws), "draw_p90": sorted(draws)[int(0.9 * (len(draws) - 1))],
              "loop_ms": statistics.median(ms for ms, _, _ in loops), "loop_frames": loops[0][1],
              "loop_drawn": loops[0][2], "whole_loop_ms": statistics.median(wholes)}
    for quality in ("final", "draft"):
        video, encode = [], []
        for _ in range(reps):  # interleaved: both see the same machine load
            video.append(time_video(scene, quality, tmp / f"video-{quality}.mp4"))
            encode.append(time_encode(frames, scene, quality, tmp / f"encode-{quality}.mp4"))
        same = (tmp / f"video-{quality}.mp4").read_bytes() == (tmp / f"encode-{quality}.mp4").read_bytes()
        v, e = statistics.median(video), statistics.median(encode)
        ratios = [a / b for a, b in zip(video, encode)]
        result[quality] = {"video_s": v, "encode_s": e, "fps": n_frames / v, "encode_fps": n_frames / e,
                           "ratio": statistics.median(ratios), "same_bytes": same}
    del frames
    d = result
    print(f"  draw      {d['draw_ms']:6.2f} ms/frame median  (p90 {d['draw_p90']:.2f}, "
          f"{len(draws)} frames)  target <= {TARGET_DRAW_MS}")
    print(f"  loop      {d['loop_ms']:6.2f} ms/frame over {d['loop_frames']} frames, {d['loop_drawn']} of them drawn "
          f"(the others the same picture as the one before): "
          f"{d['loop_ms'] * d['loop_frames'] / max(1, d['loop_drawn']):.2f} ms per drawn frame; "
          f"drawing each changing frame whole {d['whole_loop_ms']:.2f} ms/frame")
    for quality in ("final", "draft"):
        q = d[quality]
        print(f"  {quality:<6} video {q['fps']:6.1f} fps ({q['video_s']:.2f} s)   ffmpeg alone "
              f"{q['encode_fps']:6.1f} fps ({q['encode_s']:.2f} s)   ratio {q['ratio']:.3f}"
              f"  target <= {TARGET_RATIO}   same bytes: {q['same_bytes']}", flush=True)
    return result


def bench_pipe(name: str, scene: dict, reps: int, tmp: Path) -> None:
    """Whole video and encode-only, the pipe at 64 KB (Linux's default) against PIPE_BYTES."""
    frames, wide = prerender(scene), ffmpeg.PIPE_BYTES
    for quality in ("final", "draft"):
        seen: dict = {64 << 10: [], wide: []}
        for _ in range(reps):
            for size in seen:  # interleaved: both see the same machine load
                ffmpeg.PIPE_BYTES = size
                try:
                    seen[size].append((time_video(scene, quality, tmp / "v.mp4"),
                                       time_encode(frames, scene, quality, tmp / "e.mp4")))
                finally:
                    ffmpeg.PIPE_BYTES = wide
        for size, runs in seen.items():
            v, e = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            print(f"  {name:<9} {quality:<6} pipe {size >> 10:5d} KB: video {v:.3f} s, ffmpeg alone {e:.3f} s, "
                  f"ratio {statistics.median(r[0] / r[1] for r in runs):.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition, 4 s clips, fewer draw samples")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3, quick 1)")
    parser.add_argument("--full", action="store_true", help="render the 40-node scene's whole timeline")
    parser.add_argument("--pipe", action="store_true", help="A/B: ffmpeg's stdin pipe at 64 KB against 1 MB")
    args = parser.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    draw_samples = 40 if args.quick else 120

    linear, settings = linear_scene()
    forty = forty_node_scene(settings)
    if args.quick:
        linear = backward_window(linear, 4.0)
        forty = backward_window(forty, 4.0)
    elif not args.full:
        forty = backward_window(forty, 12.0)
    if args.pipe:
        print(f"pipe A/B, {reps} repetition(s), medians")
        with tempfile.TemporaryDirectory() as tmp:
            for name, scene in (("linear", linear), ("40 nodes", forty)):
                bench_pipe(name, scene, reps, Path(tmp))
        return
    import skia
    print(f"skia-python {skia.__version__}, {reps} repetition(s), medians")
    with tempfile.TemporaryDirectory() as tmp:
        results = {"linear": bench_scene("linear", linear, reps, draw_samples, Path(tmp)),
                   "40 nodes": bench_scene("40 nodes", forty, reps, draw_samples, Path(tmp))}
    print("\nsummary")
    for name, r in results.items():
        ok_draw = r["draw_ms"] <= TARGET_DRAW_MS
        print(f"  {name:<9} draw {r['draw_ms']:.2f} ms{'' if ok_draw or name != '40 nodes' else ' (over target)'}"
              f"  loop {r['loop_ms']:.2f} ms  ratio final {r['final']['ratio']:.3f} draft {r['draft']['ratio']:.3f}"
              f"  fps final {r['final']['fps']:.1f} draft {r['draft']['fps']:.1f}")


if __name__ == "__main__":
    main()
