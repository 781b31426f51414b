"""A captured training step leaves its summaries for save time (summary.Deferred, summary.Floats)
and writes numbers in one vectorised pass (summary.shortest): the same floats, hence the same
trace bytes, as summarising everything inside the step one number at a time."""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import bprender
from bprender import jsonio
from bprender.trace import capture, record
from bprender.trace.summary import Deferred, Floats, _shorten, materialize, shortest, summarize

EDGES32 = [0.0, -0.0, 1e-45, -1e-45, 1.4e-45, 1.1754942e-38, 1.1754944e-38, 1.17549435e-38, 3.4028235e38,
           -3.4028235e38, math.nan, -math.nan, math.inf, -math.inf, 0.1, 1 / 3, 2.0 ** 24, 2.0 ** 24 + 1,
           16777217.0, 1e10, 123456789.0, 65504.0, 6e-8, 5.96e-8]


def _old_shorten(x: float, np_type) -> float:
    """summary._shorten before the vectorised pass, without its cache (which wrote -0.0 as
    whichever zero the process had met first)."""
    if not math.isfinite(x):
        return x
    with np.errstate(over="ignore"):
        return float(str(np_type(x)))


def _bits(x: float) -> bytes:
    """A float's identity: NaNs are all one (the trace writes every NaN as "NaN")."""
    return b"nan" if math.isnan(x) else struct.pack("<d", x)


def _same_as_old(values: np.ndarray, np_type) -> None:
    new = shortest(values, np_type)
    old = [_old_shorten(v, np_type) for v in values.tolist()]
    assert len(new) == len(old)
    bad = [(v, o, n) for v, o, n in zip(values.tolist(), old, new) if _bits(o) != _bits(n)]
    assert not bad, bad[:10]
    assert all(type(n) is float for n in new)
    assert [_bits(_shorten(v, np_type)) for v in values[:5000].tolist()] == [_bits(n) for n in new[:5000]]


def test_shortest_is_the_old_shortening_on_random_float32_bit_patterns():
    rng = np.random.default_rng(0)
    patterns = rng.integers(0, 2 ** 32, size=200_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    _same_as_old(patterns, np.float32)


def test_shortest_is_the_old_shortening_on_ordinary_numbers_and_edge_cases():
    rng = np.random.default_rng(1)
    ordinary = np.concatenate([rng.standard_normal(20_000), rng.uniform(-1e-3, 1e-3, 20_000),
                               rng.integers(-1000, 1000, 2000), np.arange(-300, 300)]).astype(np.float32)
    subnormals = np.arange(0, 5000, dtype=np.uint32).view(np.float32)   # 0, 1e-45, 3e-45...
    _same_as_old(np.concatenate([ordinary, subnormals, -subnormals, np.array(EDGES32, dtype=np.float32)]),
                 np.float32)


def test_shortest_of_float64_statistics_matches_including_beyond_float32s_range():
    """Means and norms are float64 written in float32's precision; 1e39 overflows to inf."""
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.standard_normal(5000) * 10.0 ** rng.integers(-40, 40, 5000),
                             np.array(EDGES32 + [1e39, -1e39, 1e300, 5e-324, 3.4028235677973366e38])])
    _same_as_old(values, np.float32)


def test_shortest_is_the_old_shortening_on_every_float16():
    every = np.arange(2 ** 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    _same_as_old(every, np.float16)


def test_shortest_of_nothing_is_an_empty_list():
    assert shortest(np.zeros(0, dtype=np.float32), np.float32) == []


def test_materialize_writes_floats_and_deferred_summaries_in_place_once():
    t = torch.tensor([[0.1, -2.5, float("nan")], [3.0, 1e-45, float("inf")]])
    summaries = capture._Summaries(defer=True)
    deferred = summaries(t, heat=True)
    assert isinstance(deferred, Deferred)
    expected = summarize(t.clone(), heat=True)
    t.mul_(7)   # the user's tensor changes after the step (optimizer.step, in-place ops)
    body = {"a": deferred, "b": [deferred], "c": Floats(np.array([0.1, 2.0], dtype=np.float32), np.float32)}
    materialize(body)
    assert jsonio.dumps(body["a"]) == jsonio.dumps(expected)
    assert body["b"][0] is body["a"]          # one summary shared, taken once
    assert body["c"] == [0.1, 2.0]


def _recording(model, x, y) -> str:
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = bprender.Recorder(model, norms=True)
    for step in range(3):
        with rec.step(capture=step in (0, 2)):
            F.mse_loss(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
    return jsonio.dumps(rec.trace)


def _model():
    torch.manual_seed(4)
    return nn.Sequential(nn.Linear(3, 70), nn.ReLU(inplace=True), nn.Linear(70, 2))


@pytest.mark.parametrize("how", ["too big to copy", "past the budget", "right away"])
def test_deferring_does_not_change_the_recording(how, monkeypatch):
    """Copies summarised at save, numbers written at save, or everything inside the step: the
    same bytes (an in-place ReLU and the optimizer change the tensors after they were seen)."""
    x, y = torch.randn(5, 3), torch.randn(5, 2)
    deferred = _recording(_model(), x, y)
    if how == "too big to copy":
        monkeypatch.setattr(capture._Summaries, "DEFER_ELEMENTS", 0)
    elif how == "past the budget":
        monkeypatch.setattr(capture._Summaries, "DEFER_BUDGET", 100)
    else:
        monkeypatch.setattr(record, "Capture", lambda built, name_const, defer: capture.Capture(built, name_const))
    assert _recording(_model(), x, y) == deferred
