"""Deterministic strict JSON for bprender's data files (trace, scene): the one serialiser.

``dumps`` sorts keys, indents by one space, keeps non-ASCII text as is and ends with a
newline, so the same data always gives the same bytes. Strict JSON has no NaN or
infinities: non-finite floats are written as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"``; in memory they are floats, and ``decode_numbers`` turns a trace read back
from a file into what the tracer made (floats round-trip exactly: ``repr`` is shortest).
"""
from __future__ import annotations

import json
import math
from typing import Any

NAN = "NaN"
POS_INF = "Infinity"
NEG_INF = "-Infinity"


def _encode_float(x: float) -> float | str:
    if math.isnan(x):
        return NAN
    if math.isinf(x):
        return POS_INF if x > 0 else NEG_INF
    return x


def clean(obj: Any) -> Any:
    """A copy of obj with tuples as lists and non-finite floats as strings."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float):
        return _encode_float(obj)
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    # numpy scalars and the like: fall back to their Python value when they have one
    item = getattr(obj, "item", None)
    if callable(item):
        return clean(item())
    return obj  # json.dumps raises TypeError for anything else: a bug in the caller


def dumps(obj: Any) -> str:
    """Deterministic strict JSON text for obj, with a trailing newline."""
    return json.dumps(clean(obj), sort_keys=True, indent=1, ensure_ascii=False,
                      allow_nan=False) + "\n"


def dumps_compact(obj: Any) -> str:
    """The same data on one line, without spaces (for embedding in a page), keys sorted."""
    return json.dumps(clean(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads(text: str) -> Any:
    """Parse JSON text (non-finite numbers stay as the strings dumps wrote)."""
    return json.loads(text)


NON_FINITE = {NAN: math.nan, POS_INF: math.inf, NEG_INF: -math.inf}


def to_float(value: Any) -> float:
    """A number from a JSON value that may be one of the non-finite strings."""
    if value == NAN:
        return math.nan
    if value == POS_INF:
        return math.inf
    if value == NEG_INF:
        return -math.inf
    return float(value)


def _number(value: Any) -> Any:
    return NON_FINITE[value] if isinstance(value, str) and value in NON_FINITE else value


def decode_numbers(obj: Any) -> Any:
    """A trace read from JSON with its non-finite numbers floats again: in tensor summaries
    (stats, values and sample; a heatmap preview's values), saved op attributes, and plain loss
    numbers. Names stay strings, even a leaf called "NaN"."""
    if isinstance(obj, list):
        return [decode_numbers(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        if key in ("stats", "attrs") and isinstance(value, dict):
            out[key] = {k: _number(v) for k, v in value.items()}
        elif key in ("values", "sample") and isinstance(value, list) and ("shape" in obj or "layout" in obj):
            out[key] = [_number(v) for v in value]
        elif key == "loss" and isinstance(value, str):
            out[key] = _number(value)
        else:
            out[key] = decode_numbers(value)
    return out
