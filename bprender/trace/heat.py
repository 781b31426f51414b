"""Heatmap previews of tensors for the trace: what a node's heatmap glyph draws.

A preview is a tensor cut to what a glyph can show and pooled to a readable grid:
a 1-d tensor (or a 2-d one with a single row or column, or an (N, C, 1, 1) activation) is a
strip; a 2-d tensor a grid (a weight W as out x in, a batch of activations as batch x
features); a 3-d one its first sample's grid (attention weights: token x token); a 4-d one
(N, C, H, W) one image per channel of the first sample, the first CHANNELS of them (a conv
weight (out, in, kh, kw): one image per filter, its first input channel). Bigger
images are max-|x| pooled: each cell keeps the element of its window with the largest
magnitude, sign and all (a NaN anywhere in the window makes the cell NaN), so the preview's
range is the tensor's own. Numbers are exact (float32-shortened as everywhere in the trace).
"""
from __future__ import annotations

import math

import numpy as np
import torch

GRID = 16       # cells per side of a grid
STRIP = 32      # cells of a strip
CHANNEL = 12    # cells per side of one channel's image
CHANNELS = 4    # channel images kept; the others are counted in "more"


def _windows(n: int, limit: int) -> tuple[int, int]:
    """(window, cells) along one axis of n elements pooled to at most limit cells."""
    window = max(1, math.ceil(n / limit))
    return window, math.ceil(n / window)


def max_abs_pool(x: np.ndarray, limits: tuple[int, int]) -> tuple[np.ndarray, list[int]]:
    """x (C, R, K) float64 pooled to at most limits cells per image: (pooled, [pr, pc]). In
    numpy: a captured training step pools every tensor of the graph, and a few numpy calls on a
    small array cost a fraction of as many torch ones (same picks: both take the first maximum)."""
    c, r, k = x.shape
    (pr, rows), (pc, cols) = _windows(r, limits[0]), _windows(k, limits[1])
    if pr == 1 and pc == 1:
        return x, [1, 1]
    padded = np.zeros((c, rows * pr, cols * pc), dtype=x.dtype)
    padded[:, :r, :k] = x  # a zero never beats a real element of its window
    w = padded.reshape(c, rows, pr, cols, pc).transpose(0, 1, 3, 2, 4).reshape(c, rows, cols, pr * pc)
    nan = np.isnan(w)
    pick = np.where(nan, -1.0, np.abs(w)).argmax(axis=-1)[..., None]
    out = np.take_along_axis(w, pick, axis=-1)[..., 0]
    out[nan.any(axis=-1)] = math.nan
    return out, [pr, pc]


def _cut(t: torch.Tensor, kernels: bool) -> tuple[str, torch.Tensor, int, tuple[int, int]] | None:
    """(layout, images (C, R, K), channels not kept, cell limits) or None (nothing to draw)."""
    while t.dim() > 4:
        t = t[0]
    if kernels and t.dim() == 4:  # a conv weight (out, in, kh, kw): each filter's first input channel
        kept = t[:CHANNELS, 0]
        return "channels", kept, t.shape[0] - kept.shape[0], (CHANNEL, CHANNEL)
    if t.dim() == 4 and t.shape[2] * t.shape[3] == 1:
        t = t[0].reshape(-1)
    if t.dim() == 4:
        chans = t[0]
        kept = chans[:CHANNELS]
        return "channels", kept, chans.shape[0] - kept.shape[0], (CHANNEL, CHANNEL)
    if t.dim() == 3:
        t = t[0]
    if t.dim() == 2 and 1 in t.shape:
        t = t.reshape(-1)
    if t.dim() == 1:
        return "strip", t.reshape(1, 1, -1), 0, (1, STRIP)
    if t.dim() == 2:
        return "grid", t.reshape(1, *t.shape), 0, (GRID, GRID)
    return None


def heat_of(t: torch.Tensor, shorten, kernels: bool = False) -> dict | None:
    """The preview of a float tensor of at least two elements (else None). shorten(array) writes
    the pooled numbers (a 1-d float64 numpy array of its own) as the trace does. kernels: t is a parameter (or its gradient), whose 4-d form is
    a conv weight, drawn filter by filter, not sample by sample."""
    if not t.is_floating_point() or t.numel() < 2:
        return None
    cut = _cut(t.detach(), kernels)
    if cut is None:
        return None
    layout, images, more, limits = cut
    if images.numel() == 0:
        return None
    pooled, pool = max_abs_pool(images.double().cpu().numpy(), limits)
    channels, rows, cols = pooled.shape
    return {"layout": layout, "rows": rows, "cols": cols, "channels": channels, "more": more,
            "pool": pool, "values": shorten(np.ascontiguousarray(pooled).reshape(-1))}
