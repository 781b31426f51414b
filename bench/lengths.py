"""How long the video of a big model gets: its length at normal pace, 1280x720, with repeated
backward steps told briefly (views/repeats.py) and told in full, for the README's table.

    python bench/lengths.py

Lengths are timeline seconds (what the viewer sits through), not render time: deterministic,
so one run says it.
"""
from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import bprender  # noqa: E402
from bprender.views import repeats  # noqa: E402


def mlp(layers: int):
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(layers) for m in (nn.Linear(8, 8), nn.Tanh())])
    return model, torch.randn(1, 8), torch.randn(1, 8)


def encoder(layers: int):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False), torch.randn(1, 4, 16), torch.randn(1, 4, 16)


def minutes(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s} s" if m else f"{s} s"


def row(name: str, view: str, make) -> None:
    """make(): a fresh animation (an animation keeps the scene it built)."""
    scene = make().scene()
    steps = sum(e["name"].startswith("backward:") for e in scene["events"])
    brief = sum("repeat_of" in e for e in scene["events"])
    with mock.patch.object(repeats, "MANY_STEPS", 10 ** 9):
        full = make().scene()["duration"] if brief else scene["duration"]
    told = f" ({minutes(full)} told in full)" if brief else ""
    print(f"| {name} | {view} | {len(scene['nodes'])} | {steps} | {minutes(scene['duration'])}{told} |")


def main() -> None:
    print("| model | view | nodes | backward steps | video |")
    print("|---|---|---|---|---|")
    for preset in ("deep_sigmoid", "attention"):
        row(preset, "preset's", lambda: bprender.animate(preset))
    for name, build in (("24 × (Linear(8, 8), Tanh)", lambda: mlp(24)), ("nn.TransformerEncoder, 6 layers", lambda: encoder(6))):
        model, x, y = build()
        for view in ("ops", "modules"):
            row(name, view, lambda: bprender.animate(model=model, inputs=x, target=y, loss="mse", view=view))


if __name__ == "__main__":
    main()
