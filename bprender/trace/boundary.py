"""The model's output over its input plane, for a model whose input has exactly two features
(an XOR net, a 2-4-1 MLP): what the predictions panel draws as a decision boundary.

The plane is a GRID x GRID grid spanning the samples' range on each feature, MARGIN of the
range wider on each side. At every training step the model is run on the grid's points with
the parameters that step's forward pass used, under torch.no_grad(), with the random number
generator's state and the module's buffers (a BatchNorm's running statistics) put back after:
the training itself does not change by one bit (tests/test_boundary.py checks it against a plain
loop). Values are float32-shortened as everywhere in the trace.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bprender.model import Built

from .summary import _shorten

GRID = 24       # points per side of the plane
MARGIN = 0.15   # of the samples' range, on each side
POINTS = 256    # samples kept as the plane's dots


@dataclass
class Plane:
    points: torch.Tensor   # (GRID * GRID, 2): row r (y[r], bottom to top), column c (x[c])
    x: list[float]
    y: list[float]
    samples: list[list[float]]   # the first POINTS samples' two features
    outputs: int           # numbers per point: 1 (a score, a probability) or 2 (two classes' logits)


def _axis(lo: float, hi: float, dtype) -> torch.Tensor:
    pad = (hi - lo) * MARGIN if hi > lo else 1.0
    return torch.linspace(lo - pad, hi + pad, GRID, dtype=torch.float64).to(dtype)


def _short(t: torch.Tensor) -> list[float]:
    return [_shorten(v, np.float32) for v in t.double().reshape(-1).tolist()]


@torch.no_grad()
def _run(built: Built, points: torch.Tensor) -> torch.Tensor | None:
    """The model's output on points, leaving no trace in the RNG, the buffers or the graph."""
    module = built.module
    buffers = [(b, b.detach().clone()) for b in module.buffers()] if module is not None else []
    with torch.random.fork_rng(devices=[]):
        out = built.predict(points)
    for b, saved in buffers:
        b.copy_(saved)
    return out if isinstance(out, torch.Tensor) else None


def plane_of(built: Built) -> Plane | None:
    """The plane of a model with one input tensor of shape (samples, 2) whose output has one
    or two numbers per point; None for any other model (nothing to draw)."""
    x = built.features
    if built.predict is None or not isinstance(x, torch.Tensor) or not x.is_floating_point() \
            or x.dim() != 2 or x.shape[1] != 2 or x.shape[0] < 1:
        return None
    data = x.detach().double()
    axes = [_axis(float(data[:, k].min()), float(data[:, k].max()), x.dtype) for k in (0, 1)]
    ys, xs = torch.meshgrid(axes[1], axes[0], indexing="ij")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1).to(device=x.device)
    samples = [_short(row) for row in x.detach()[:POINTS]]
    plane = Plane(points, _short(axes[0]), _short(axes[1]), samples, 0)
    out = _run(built, points)
    if out is None or not out.is_floating_point() or out.dim() == 0 or out.shape[0] != GRID * GRID \
            or out.numel() not in (GRID * GRID, 2 * GRID * GRID):
        return None
    plane.outputs = out.numel() // (GRID * GRID)
    return plane


def plane_outputs(built: Built, plane: Plane) -> list[float]:
    """The model's outputs over the plane now, row-major (row, column, output)."""
    out = _run(built, plane.points)
    return _short(out) if out is not None and out.numel() == GRID * GRID * plane.outputs else []


__all__ = ["GRID", "MARGIN", "POINTS", "Plane", "plane_of", "plane_outputs"]
