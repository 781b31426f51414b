"""Tensor summaries for the trace JSON.

A summary is ``{"shape", "dtype", "stats": {"min", "max", "mean", "norm"}, "values"}``.

The budget: ``values`` (flattened, row-major, every element) is kept for a tensor of at most
``MAX_VALUES`` = 256 elements (``GRID * GRID``: a grid glyph's whole unpooled image), whatever it is:
a node's value or gradient, a parameter, an input, the gradient along one edge of a fan-out and the
fan-out's sum. So every number a caption quotes and every cell a glyph draws of such a tensor can
be checked against PyTorch element by element. A bigger tensor keeps its stats and, in the graph,
its ``heat`` preview (heat.py: cut and max-|x| pooled, each cell one real element); the elements
themselves are not kept. A bigger 2-D tensor (a batch of feature vectors) also keeps ``sample``:
its first row, when that row has at most ``MAX_SAMPLE`` elements, and ``samples``: its first
``KEPT_SAMPLES`` rows, so the neurons view can draw another sample of a real batch
(``--sample K``) and the trace stays small.
Float32/16 numbers are written with the shortest decimal that round-trips in their own
precision (0.1, not 0.10000000149011612). NaN and infinities stay floats here; jsonio
writes them as strings.

Writing a number that way costs a microsecond or two, and a captured training step keeps
thousands: ``summarize(..., defer=True)`` keeps a summary's number lists as :class:`Floats`
(a float32 numpy copy, taken now) and ``materialize`` writes them later, all in one vectorised
pass (``shortest``: the same strings, hence the same trace bytes).
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch

from .heat import GRID, heat_of

# The budget: elements kept in full (values), 256. Each number kept costs (a captured training
# step summarises every tensor, at save time); going from 64 to 256 grew cnn's trace by 11%
# (48 -> 54 KB) and left the other gallery traces as they were (a 2-D tensor within it drops its
# samples, which repeated values: bench/record.py's tiny conv net's recording got 7% smaller).
# 256 is a 16 x 16 grid glyph unpooled, every cell of a small tensor's glyph a kept element.
MAX_VALUES = GRID * GRID
MAX_SAMPLE = 1024
KEPT_SAMPLES = 4    # rows of a big 2-D tensor the neurons view can show (--sample 1..4);
                    # a tensor within MAX_VALUES keeps them all in values

_SHORT = {torch.float32: np.float32, torch.bfloat16: np.float32, torch.float16: np.float16}
_LARGEST = {t: float(np.finfo(t).max) for t in (np.float32, np.float16)}


def _shorten(x: float, np_type) -> float:
    # a zero is its own shortest form; the cache below cannot tell -0.0 from 0.0 (equal keys):
    # through it, -0.0 came out as whichever zero the process had met first
    if x == 0 or not math.isfinite(x):
        return x
    return _shorten_cached(x, np_type)


@functools.lru_cache(maxsize=1 << 16)   # a captured step summarises many equal numbers
def _shorten_cached(x: float, np_type) -> float:
    if abs(x) > _LARGEST[np_type]:   # beyond float32's range (a norm of huge numbers): no warning
        with np.errstate(over="ignore"):
            return float(str(np_type(x)))
    return float(str(np_type(x)))


def shortest(a: np.ndarray, np_type) -> list[float]:
    """The numbers of a (float32 or float64) array as the trace writes them: each the shortest
    decimal that round-trips in np_type, as a Python float; NaN and infinities as they are.
    The same floats as ``_shorten`` on each (numpy's string cast is its repr), in one pass."""
    a = np.asarray(a).reshape(-1)
    if a.size == 0:
        return []
    with np.errstate(over="ignore", invalid="ignore"):   # overflow to inf, signalling NaNs
        out = a.astype(np_type).astype(str).astype(np.float64)
        finite = np.isfinite(a)
        if not finite.all():
            out[~finite] = a[~finite]
    return out.tolist()


class Floats:
    """A summary's list of numbers not written yet: a private float32 copy (the tensor may
    change after the step: an optimizer step, an in-place op) and the precision to write them
    in. ``materialize`` turns it into the list ``summarize`` would have put there."""
    __slots__ = ("array", "np_type")

    def __init__(self, array: np.ndarray, np_type):
        self.array, self.np_type = array, np_type

    def tolist(self) -> list[float]:
        return shortest(self.array, self.np_type)


class Deferred:
    """A whole summary taken later, from a private copy of the tensor made now (the user's
    tensors change after the step: optimizer.step(), zero_grad(), in-place ops). The same
    summarize() on the same numbers, so the same summary; ``resolve`` takes it once (a summary
    shared by a node and an edge stays one dict) and drops the copy. safe: an exception gives
    None (an exotic tensor must not break the user's run)."""
    __slots__ = ("tensor", "heat", "kernels", "safe", "_summary")

    def __init__(self, tensor: torch.Tensor, heat: bool, kernels: bool, safe: bool):
        self.tensor, self.heat, self.kernels, self.safe = tensor, heat, kernels, safe
        self._summary: Any = Deferred

    def resolve(self) -> dict | None:
        if self._summary is Deferred:
            try:
                self._summary = summarize(self.tensor, heat=self.heat, kernels=self.kernels)
            except Exception:
                if not self.safe:
                    raise
                self._summary = None
            self.tensor = None
        return self._summary


_PENDING = (dict, list, Floats, Deferred)


def materialize(obj: Any) -> Any:
    """obj (a trace body, a summary...) with every Floats written as its list and every
    Deferred summary taken, in place for dicts and lists; returns obj."""
    if isinstance(obj, Floats):
        return obj.tolist()
    if isinstance(obj, Deferred):
        return obj.resolve()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, _PENDING):
                obj[k] = materialize(v)
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            if isinstance(v, _PENDING):
                obj[k] = materialize(v)
    return obj


def _number_summary(v: int | float) -> dict:
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return {"shape": [], "dtype": "int64",
                "stats": {"min": v, "max": v, "mean": float(v), "norm": float(abs(v))},
                "values": [v]}
    v = float(v)
    return {"shape": [], "dtype": "float64",
            "stats": {"min": v, "max": v, "mean": v, "norm": abs(v)}, "values": [v]}


def summarize(t: Any, heat: bool = False, kernels: bool = False, defer: bool = False) -> dict | None:
    """The summary of a tensor or a Python number; None for None. heat: add the tensor's
    heatmap preview (heat.py), for what the graph's nodes draw; kernels: t is a parameter or
    its gradient (a 4-d one is a conv weight); defer: leave float32/16 number lists as Floats
    for ``materialize`` (the caller must materialize before anyone reads them)."""
    if t is None:
        return None
    if isinstance(t, (bool, int, float)):
        return _number_summary(t)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"cannot summarize {type(t).__name__}")
    with torch.no_grad():
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        dtype = str(t.dtype).replace("torch.", "")
        out: dict[str, Any] = {"shape": list(t.shape), "dtype": dtype}
        n = t.numel()
        short = _SHORT.get(t.dtype)
        if n == 0:
            out["stats"] = {"min": None, "max": None, "mean": None, "norm": None}
            out["values"] = []
            return out
        exact_int = not (t.is_floating_point() or t.is_complex())
        if short is not None and n <= MAX_VALUES:
            # a small float tensor: one read-back, the statistics in Python (float64, as torch's
            # double ones; a captured training step summarises hundreds of these)
            listed = t.reshape(-1).float().tolist()
            lo, hi = min(listed), max(listed)
            if any(v != v for v in listed):
                lo = hi = mean = norm = math.nan
            elif math.inf in listed and -math.inf in listed:
                mean, norm = math.nan, math.inf      # inf + (-inf), as torch's mean gives
            else:
                mean = math.fsum(listed) / n
                norm = math.sqrt(math.fsum(v * v for v in listed))
        else:
            f = t.abs().double() if t.is_complex() else t.double()
            # one read-back for the four (the same numbers as four .item() calls)
            lo, hi, mean, norm = torch.stack((f.min(), f.max(), f.mean(), torch.linalg.vector_norm(f))).tolist()
        if exact_int:
            lo, hi = int(lo), int(hi)
        elif short is not None:
            lo, hi = _shorten(lo, short), _shorten(hi, short)
            mean, norm = _shorten(mean, short), _shorten(norm, short)
        out["stats"] = {"min": lo, "max": hi, "mean": mean, "norm": norm}
        if n <= MAX_VALUES and not t.is_complex():
            flat = t.reshape(-1)
            if t.dtype == torch.bool:
                values = [int(v) for v in flat.tolist()]
            elif short is not None:
                values = _floats(flat, short, defer)
            else:
                values = flat.tolist()
            out["values"] = values
        elif t.dim() == 2 and 0 < t.shape[1] <= MAX_SAMPLE and not t.is_complex():
            rows = t[:KEPT_SAMPLES]
            if short is not None and rows.dtype != torch.bool:
                kept = rows.float().numpy().copy()   # one copy for all rows
                samples = [Floats(row, short) if defer else shortest(row, short) for row in kept]
            else:
                samples = [_plain(row, short) for row in rows]
            out["sample"] = samples[0]          # the first row, as older readers take it
            if t.shape[0] > 1:
                out["samples"] = samples
        if heat:
            preview = heat_of(t, lambda pooled: _pooled(pooled, short, defer), kernels)
            if preview is not None:
                out["heat"] = preview
        return out


def _floats(flat: torch.Tensor, short, defer: bool):
    """A 1-D float32/16 tensor's numbers: written now, or a Floats to write later."""
    a = flat.float().numpy()
    return Floats(a.copy(), short) if defer else shortest(a, short)


def _pooled(pooled: np.ndarray, short, defer: bool):
    """A heat preview's numbers (float64 holding the tensor's own values; pooled is a fresh
    array or a copy of the tensor's numbers, never its memory)."""
    if short is None:
        return pooled.tolist()
    return Floats(pooled.astype(np.float32), short) if defer else shortest(pooled, short)


def _plain(flat: torch.Tensor, short) -> list:
    """A 1-D float tensor's numbers as the trace writes them."""
    if flat.dtype == torch.bool:
        return [int(v) for v in flat.tolist()]
    if short is not None:
        return [_shorten(v, short) for v in flat.float().tolist()]
    return flat.tolist()
