"""What recording costs inside a training loop: bprender.Recorder against the plain loop.

    python bench/record.py [--reps N]

For each model, three kinds of training step are timed side by side in one run, interleaved
(plain, uncaptured, captured, plain, ...) so machine noise hits them alike:

- plain:      loss = loss_fn(model(x), y); loss.backward(); optimizer.step(); zero_grad()
- uncaptured: the same inside ``with rec.step():`` (records the loss only)
- captured:   the same inside ``with rec.step(capture=True):`` (the full trace)

Prints the median time of each and the ratios to plain. The captured traces are dropped after
each timed step (a real run keeps a few). A captured step copies what it summarises and leaves
the summaries to ``rec.save()``, outside the loop: "save" is the time rec.save() takes per
captured step it writes (the median of a few saves of one captured step). Goals: uncaptured
<= 1.1x, captured <= 10x (the full trace summarises every tensor of the forward and backward
pass).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import bprender  # noqa: E402


def models():
    """(name, model, x, y, loss_fn): gallery-sized models and a fine-tuning one."""
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    yield "mlp 2-3-1, batch 6", mlp, torch.randn(6, 2), torch.randn(6, 1), F.mse_loss
    deep = nn.Sequential(*[m for _ in range(7) for m in (nn.Linear(4, 4), nn.Sigmoid())], nn.Linear(4, 1))
    yield "deep 8-layer MLP, batch 4", deep, torch.randn(4, 4), torch.randn(4, 1), F.mse_loss
    mnist = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    yield "784-32-10, batch 64", mnist, torch.rand(64, 784), torch.randint(0, 10, (64,)), F.cross_entropy
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 2))
    yield "tiny conv net, batch 8", cnn, torch.randn(8, 1, 8, 8), torch.randint(0, 2, (8,)), F.cross_entropy
    block = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, batch_first=True)
    yield "transformer block, 4x8 tokens", block, torch.randn(4, 8, 16), torch.randn(4, 8, 16), F.mse_loss
    tune = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    for p in list(tune[0].parameters()) + list(tune[2].parameters()):
        p.requires_grad_(False)
    yield "fine-tune (2 frozen layers), batch 32", tune, torch.randn(32, 32), torch.randn(32, 1), F.mse_loss


def bench(model, x, y, loss_fn, reps: int) -> dict[str, float]:
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    rec = bprender.Recorder(model)

    def step(kind: str) -> float:
        t0 = time.perf_counter()
        if kind == "plain":
            loss = loss_fn(model(x), y)
            loss.backward()
        else:
            with rec.step(capture=kind == "captured"):
                loss = loss_fn(model(x), y)
                loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        elapsed = time.perf_counter() - t0
        # a run keeps a few captures; hundreds of kept traces would only time Python's garbage
        # collector walking them (the steps' losses stay: they are the cheap part)
        rec.captures.clear()
        return elapsed

    kinds = ("plain", "uncaptured", "captured")
    for kind in kinds:       # warm up: first calls allocate and compile kernels
        for _ in range(3):
            step(kind)
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(reps):
        for kind in kinds:
            times[kind].append(step(kind))
        # the plain/uncaptured pair dominates the goal: time it more often than the captured step
        for _ in range(4):
            times["plain"].append(step("plain"))
            times["uncaptured"].append(step("uncaptured"))
    out = {k: statistics.median(v) for k, v in times.items()}
    saves = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(5):
            rec.captures.clear()
            rec.steps.clear()     # the losses of the timed steps: not this capture's cost
            with rec.step(capture=True):
                loss_fn(model(x), y).backward()
            optimizer.step()
            optimizer.zero_grad()
            t0 = time.perf_counter()
            rec.save(Path(tmp) / "run.trace.json")
            saves.append(time.perf_counter() - t0)
    out["save"] = statistics.median(saves)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)  # steadier timings on a shared machine
    print(f"{'model':40} {'plain':>9} {'uncapt.':>9} {'capt.':>9} {'uncapt./plain':>14} {'capt./plain':>12} {'save':>9}")
    worst_u, worst_c = 0.0, 0.0
    for name, model, x, y, loss_fn in models():
        t = bench(model, x, y, loss_fn, args.reps)
        u, c = t["uncaptured"] / t["plain"], t["captured"] / t["plain"]
        worst_u, worst_c = max(worst_u, u), max(worst_c, c)
        print(f"{name:40} {t['plain'] * 1e3:8.3f}ms {t['uncaptured'] * 1e3:8.3f}ms {t['captured'] * 1e3:8.2f}ms "
              f"{u:13.3f}x {c:11.1f}x {t['save'] * 1e3:7.1f}ms")
    print(f"worst: uncaptured {worst_u:.3f}x (goal <= 1.1x), captured {worst_c:.1f}x (goal <= 10x)")


if __name__ == "__main__":
    main()
