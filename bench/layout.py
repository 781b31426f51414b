"""Nodes vs layout time, up to 5,000 nodes, side by side in one run.

    python bench/layout.py [--sizes 50,100,...] [--reps N]

Two measurements per size N:
- layout: bprender.layout.layered_layout (igraph's Sugiyama, our columns, bands and routes) on a
  chain of N boxes with a leaf into every second one (the shape of a deep network's graph), in
  an area large enough that it fits the first time (the scene stage retries smaller sizes when
  it does not: see scene/build.py's fit_layout);
- the whole stage after the trace for a real trace of a chain `x = x * 1.001` repeated to N
  ops (torch, outside the timing): the ops view (refused past the node budget, views/budget.py:
  the time is that of the message) and the modules view plus the scene at 1280x720, with the
  budget (it merges the chain into one box) and, up to --uncapped nodes, without it: one box per
  op, to show what the budget saves (the scene stage has per-pair work: gradient paths).

Medians over the repetitions; the last column is the layout time per node, so growth shows as
a ratio between rows.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402


class Chain(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))
        self.n = n

    def forward(self, x):
        x = x * self.w
        for _ in range(self.n - 1):
            x = x * 1.001
        return x


def synthetic(n: int):
    """N node ids, their sizes and edges: a chain with a leaf into every second node."""
    ids = [f"n{i}" for i in range(n)]
    edges = []
    for i in range(0, n - 2, 2):
        edges.append((f"a{i}", ids[i], ids[i + 2]))
        edges.append((f"b{i}", ids[i + 1], ids[i + 2]))
    return ids, {i: (110.0, 64.0) for i in ids}, edges


def median_time(fn, reps: int):
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50,100,200,500,1000,2000,5000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--uncapped", type=int, default=2000, help="largest N drawn without the budget")
    args = parser.parse_args()

    from bprender.canvas import FontBook
    from bprender.errors import BprenderError
    from bprender.layout import layered_layout
    from bprender.pipeline import open_preset, scene_settings
    from bprender.scene import build_scene
    from bprender.trace import trace_model
    from bprender.views import modules as modules_module
    from bprender.views.budget import NODE_BUDGET

    settings = scene_settings(open_preset("linear"))
    fonts = FontBook()
    layered_layout(*synthetic(10)[:2], synthetic(10)[2], (0, 0, 1e7, 1e7), (36, 18), (170, 70))  # warm igraph
    print(f"node budget: {NODE_BUDGET} drawn nodes")
    print(f"{'N':>6} {'layout ms':>10} {'ops view':>22} {'modules+scene ms':>17} {'boxes':>6} {'uncapped ms':>12} {'layout µs/node':>15}")
    for n in (int(s) for s in args.sizes.split(",")):
        ids, sizes, edges = synthetic(n)
        t_layout, _ = median_time(lambda: layered_layout(ids, sizes, edges, (0, 0, 1e7, 1e7), (36, 18), (170, 70)),
                                  args.reps)
        trace = trace_model(Chain(n), torch.tensor([1.0]), torch.tensor([2.0]), "mse")

        def ops():
            try:
                return build_scene(trace, {**settings, "view": "ops"}, fonts) and "drawn"
            except BprenderError:
                return "refused"

        t_ops, verdict = median_time(ops, args.reps)
        t_mod, scene = median_time(lambda: build_scene(trace, {**settings, "view": "modules"}, fonts), args.reps)
        uncapped = "-"
        if n <= args.uncapped:
            modules_module.NODE_BUDGET = 10 ** 9
            try:
                t_raw, _ = median_time(lambda: build_scene(trace, {**settings, "view": "modules"}, fonts), 1)
            finally:
                modules_module.NODE_BUDGET = NODE_BUDGET
            uncapped = f"{t_raw * 1000:.0f}"
        print(f"{n:>6} {t_layout * 1000:>10.1f} {verdict + f' {t_ops * 1000:.0f} ms':>22} {t_mod * 1000:>17.0f} "
              f"{len(scene['nodes']):>6} {uncapped:>12} {t_layout / n * 1e6:>15.1f}", flush=True)


if __name__ == "__main__":
    main()
