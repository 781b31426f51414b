"""Milliseconds per frame for the Python Canvas 2D at 1280x720: 40 rounded boxes with two text
lines each (the second changes every frame, so its layout is not cached), 60 bezier edges and
200 circles. Run: python bench/canvas.py [frames]"""
from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bprender.canvas import RasterSurface  # noqa: E402


def scene(seed: int = 0):
    rnd = random.Random(seed)
    boxes = [(60 + (i % 8) * 150, 60 + (i // 8) * 130, 120, 56) for i in range(40)]
    edges = []
    for _ in range(60):
        a, b = rnd.sample(boxes, 2)
        edges.append((a[0] + 60, a[1] + 56, b[0] + 60, b[1]))
    return boxes, edges


def frame(ctx, boxes, edges, t: float) -> None:
    ctx.fillStyle = "#ffffff"
    ctx.fillRect(0, 0, 1280, 720)
    ctx.lineWidth = 2
    for i, (x0, y0, x1, y1) in enumerate(edges):
        ctx.strokeStyle = "rgba(200, 40, 40, 0.8)" if i % 2 else "rgba(40, 80, 200, 0.8)"
        ctx.beginPath()
        ctx.moveTo(x0, y0)
        my = (y0 + y1) / 2
        ctx.bezierCurveTo(x0, my, x1, my, x1, y1)
        ctx.stroke()
    for i, (x, y, w, h) in enumerate(boxes):
        ctx.fillStyle = "#f3f4f6"
        ctx.strokeStyle = "#374151"
        ctx.lineWidth = 1.5
        ctx.beginPath()
        ctx.roundRect(x, y, w, h, 8)
        ctx.fill()
        ctx.stroke()
        ctx.fillStyle = "#111827"
        ctx.textAlign = "center"
        ctx.textBaseline = "middle"
        ctx.font = "bold 14px bprender-sans"
        ctx.fillText(f"MulBackward{i}", x + w / 2, y + 18)
        ctx.font = "12px bprender-sans"
        ctx.fillText(f"∂L/∂x = {math.sin(t + i):+.4f}", x + w / 2, y + 38)
    for k in range(200):
        ex = edges[k % 60]
        u = (t * 0.3 + k / 200) % 1.0
        px, py = ex[0] + (ex[2] - ex[0]) * u, ex[1] + (ex[3] - ex[1]) * u
        ctx.fillStyle = "#dc2626" if k % 3 else "#2563eb"
        ctx.beginPath()
        ctx.arc(px, py, 2 + (k % 5), 0, 2 * math.pi)
        ctx.fill()


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    surf = RasterSurface(1280, 720)
    boxes, edges = scene()
    frame(surf.ctx, boxes, edges, 0.0)  # warm up (typefaces, static labels)
    start = time.perf_counter()
    for f in range(frames):
        frame(surf.reset(), boxes, edges, f / 30)
        surf.pixels()
    ms = (time.perf_counter() - start) * 1000 / frames
    print(f"{ms:.2f} ms/frame (1280x720, 40 boxes x 2 text lines, 60 beziers, 200 circles, "
          f"{frames} frames)")


if __name__ == "__main__":
    main()
