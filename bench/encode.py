"""Encoder throughput: MP4 draft/final at 1280x720 with frames precomputed (drawing excluded).

    python bench/encode.py [--frames 120] [--gif]

Frames are a synthetic node-link diagram (30 nodes, 60 edges, labels, moving particles)
drawn with skia once, held in memory, then streamed to the encoder, so the figure is the
encoder's speed alone. --gif also times a 640x360, 15 fps GIF of the same length in
seconds and reports its size.
"""
from __future__ import annotations

import argparse
import math
import os
import tempfile
import time

import numpy as np
import skia

from bprender.encode import write_gif, write_mp4


def synthetic_frames(n: int, width: int, height: int, fps: float) -> list[np.ndarray]:
    buf = np.zeros((height, width, 4), np.uint8)
    canvas = skia.Surface(buf, colorType=skia.kBGRA_8888_ColorType).getCanvas()
    typeface = skia.FontMgr.RefDefault().legacyMakeTypeface("", skia.FontStyle())
    font = skia.Font(typeface, height / 40)
    rng = np.random.default_rng(0)
    nodes = [(rng.uniform(0.1, 0.85) * width, rng.uniform(0.15, 0.9) * height) for _ in range(30)]
    edges = [(i, (i * 7 + 3) % 30) for i in range(30)] + [(i, (i * 11 + 5) % 30) for i in range(30)]
    line = skia.Paint(AntiAlias=True, StrokeWidth=2, Style=skia.Paint.kStroke_Style,
                      Color=skia.ColorGRAY)
    ink = skia.Paint(AntiAlias=True, Color=skia.Color(30, 30, 30))
    red, blue = skia.Color(220, 50, 47), skia.Color(38, 110, 220)
    out = []
    for k in range(n):
        t = k / fps
        canvas.clear(skia.ColorWHITE)
        for a, b in edges:
            canvas.drawLine(*nodes[a], *nodes[b], line)
        for i, (x, y) in enumerate(nodes):
            canvas.drawCircle(x, y, height / 40, skia.Paint(AntiAlias=True, Color=red if math.sin(t + i) > 0 else blue))
            canvas.drawString(f"{math.sin(t * (i + 1) / 5):+.3f}", x + height / 30, y, font, ink)
        for j, (a, b) in enumerate(edges):
            s = (t * 0.7 + j * 0.13) % 1
            x = nodes[a][0] * (1 - s) + nodes[b][0] * s
            y = nodes[a][1] * (1 - s) + nodes[b][1] * s
            canvas.drawCircle(x, y, 3 + 2 * (j % 3), skia.Paint(AntiAlias=True, Color=red if j % 2 else blue))
        out.append(buf.copy())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--gif", action="store_true")
    args = parser.parse_args()
    frames = synthetic_frames(args.frames, 1280, 720, 30)
    with tempfile.TemporaryDirectory() as tmp:
        for quality in ("draft", "final"):
            path = os.path.join(tmp, f"{quality}.mp4")
            start = time.perf_counter()
            write_mp4(path, frames, width=1280, height=720, fps=30, quality=quality)
            seconds = time.perf_counter() - start
            print(f"mp4 {quality:5} 1280x720: {args.frames / seconds:6.1f} fps "
                  f"({seconds:.2f} s, {os.path.getsize(path) / 1e6:.2f} MB for "
                  f"{args.frames / 30:.1f} s of video)")
        if args.gif:
            n = round(args.frames / 30 * 15)
            small = synthetic_frames(n, 640, 360, 15)
            path = os.path.join(tmp, "clip.gif")
            start = time.perf_counter()
            write_gif(path, lambda: small, width=640, height=360, fps=15)
            seconds = time.perf_counter() - start
            print(f"gif 640x360 15 fps, {n} frames: {seconds:.2f} s, "
                  f"{os.path.getsize(path) / 1e3:.0f} KB")


if __name__ == "__main__":
    main()
