"""Modules view speed on a 12-block transformer (100+ leaf modules).

    python bench/modules.py [--blocks N] [--reps N]

The model (``build_transformer``, also used by tests/test_modules_view.py): a token embedding
Linear, N pre-norm blocks written with nn.Linear / nn.LayerNorm / nn.GELU / nn.Dropout
(single-head self-attention with q, k, v, out projections and an MLP, each with a residual),
a final LayerNorm and a Linear head; width 8, 4 tokens, MSE loss. 12 blocks: 135 leaf modules.

Prints, as medians over the repetitions: trace time (forward + backward under the recorder),
view time (bprender.views.make_view(trace, "modules")), scene time (bprender.scene.build_scene
at 1280x720 with linear.yaml's settings: mostly the layered layout). Target: view + scene < 2 s.
The blocks are drawn opened (`expand: [blocks]`: one node per module); by default they fold into
one "Block × 12" node, timed on the last line.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402


class Attention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.drop = nn.Dropout(0.1)
        self.scale = 1.0 / math.sqrt(d)

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        weights = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.drop(self.out(weights @ v))


class MLP(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(self.fc2(self.act(self.fc1(x))))


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1, self.attn, self.ln2, self.mlp = nn.LayerNorm(d), Attention(d), nn.LayerNorm(d), MLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    def __init__(self, blocks, d, d_in):
        super().__init__()
        self.embed = nn.Linear(d_in, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(blocks))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, 1)

    def forward(self, x):
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def build_transformer(blocks: int = 12, d: int = 8, tokens: int = 4, seed: int = 0):
    """(model, inputs, target) of the benchmark transformer, seeded."""
    torch.manual_seed(seed)
    model = Transformer(blocks, d, d_in=d)
    x = torch.randn(tokens, d)
    y = torch.randn(tokens, 1)
    return model, x, y


def leaf_modules(model: nn.Module) -> int:
    return sum(1 for m in model.modules() if not list(m.children()))


def settings_for(view: str = "modules") -> dict:
    from bprender.pipeline import open_preset, scene_settings
    settings = scene_settings(open_preset("linear"))
    settings["view"] = view
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=12)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    from bprender.canvas import FontBook
    from bprender.scene import build_scene
    from bprender.trace import trace_model
    from bprender.views import make_view

    settings = {**settings_for(), "expand": ["blocks"]}
    fonts = FontBook()
    times = {"trace": [], "view": [], "scene": []}
    for _ in range(args.reps):
        model, x, y = build_transformer(args.blocks)
        t0 = time.perf_counter()
        trace = trace_model(model, x, y, "mse")
        t1 = time.perf_counter()
        graph = make_view(trace, "modules", expand=["blocks"])
        t2 = time.perf_counter()
        scene = build_scene(trace, settings, fonts)  # builds the view again, then lays it out
        t3 = time.perf_counter()
        times["trace"].append(t1 - t0)
        times["view"].append(t2 - t1)
        times["scene"].append(t3 - t2)
    print(f"{args.blocks} blocks: {leaf_modules(model)} leaf modules, {len(trace['nodes'])} trace nodes -> "
          f"{len(graph.nodes)} view nodes, {len(graph.edges)} edges, {len(graph.steps)} steps")
    inside = all(0 <= n["x"] - n["w"] / 2 and n["x"] + n["w"] / 2 <= scene["width"]
                 and 0 <= n["y"] - n["h"] / 2 and n["y"] + n["h"] / 2 <= scene["height"] for n in scene["nodes"])
    print(f"all nodes inside the frame: {inside}")
    for name, values in times.items():
        print(f"{name:>6}: {statistics.median(values) * 1000:8.1f} ms (median of {len(values)})")
    total = statistics.median(times["view"]) + statistics.median(times["scene"])
    print(f"view + scene: {total * 1000:.1f} ms (target < 2000 ms)")
    t0 = time.perf_counter()
    folded = build_scene(trace, settings_for(), fonts)
    print(f"folded (the default): {len(folded['nodes'])} nodes, view + scene {(time.perf_counter() - t0) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
