"""Tensor values for the captions: read summaries back into shapes and flat values, pick an
example element, name elements through folded view ops, and offer alternative lines."""
from __future__ import annotations

import math

from ..fmt import MINUS, num, to_float



class Tensor:
    """A tensor summary as shape + flat row-major values (None when the trace kept only stats)."""

    def __init__(self, summary: dict | None):
        summary = summary or {}
        self.shape = tuple(int(s) for s in summary.get("shape") or [])
        values = summary.get("values")
        self.values = [to_float(v) for v in values] if values is not None else None
        stats = summary.get("stats") or {}
        self.norm = to_float(stats["norm"]) if stats.get("norm") is not None else None
        self.known = bool(summary)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def flat(self, index) -> int:
        k = 0
        for i, s in zip(index, self.shape):
            k = k * s + i
        return k

    def at(self, index) -> float | None:
        if self.values is None:
            return None
        return self.values[self.flat(index)] if len(index) == len(self.shape) else None

    def broadcast_at(self, index) -> float | None:
        """The element that broadcasting puts at `index` of a bigger output."""
        if self.values is None:
            return None
        tail = list(index[len(index) - len(self.shape):]) if self.shape else []
        tail = [0 if s == 1 else i for i, s in zip(tail, self.shape)]
        return self.values[self.flat(tail)] if self.shape else self.values[0]

    def unravel(self, k: int) -> tuple[int, ...]:
        out = []
        for s in reversed(self.shape):
            out.append(k % s)
            k //= s
        return tuple(reversed(out))

    def biggest(self) -> tuple[int, ...] | None:
        """The largest-magnitude element's index (first one on ties): the deterministic example."""
        if not self.values:
            return None
        k = max(range(len(self.values)), key=lambda i: (abs(self.values[i]) if math.isfinite(self.values[i])
                                                         else -1.0, -i))
        return self.unravel(k)

    def scalar(self) -> float | None:
        return self.values[0] if self.values is not None and len(self.values) == 1 else None

    def norm_text(self) -> str:
        return num(self.norm, 3) if self.norm is not None else "?"


def idx(index) -> str:
    """[0,2] for an element index, "" for a one-element tensor's."""
    return "[" + ",".join(str(i) for i in index) + "]" if index else ""


def factor(x: float, first: bool = False) -> str:
    """A number as a factor of a product: negatives bracketed unless they lead."""
    text = num(x)
    return text if first or not text.startswith(MINUS) else f"({text})"


def product(*xs: float | str) -> str:
    return " · ".join(x if isinstance(x, str) else factor(x, i == 0) for i, x in enumerate(xs))


def terms_sum(texts: list[str], shown: int) -> str:
    """a + b + … (N terms), minus signs folded in: a − b."""
    parts = texts[:shown]
    out = parts[0] if parts else "0"
    for p in parts[1:]:
        out += f" − {p[1:]}" if p.startswith(MINUS) else f" + {p}"
    if len(texts) > shown:
        out += f" + … ({len(texts)} terms)"
    return out


def alternatives(candidates: list[str | None]) -> list[str]:
    """A caption slot: the candidates, most detailed first (None and "" dropped). The scene
    stage takes the first that fits its caption band with the real font (scene/text.py); a
    candidate with "\n" in it is several lines, taken only where the step has the room."""
    return [c for c in candidates if c]


class Folds:
    """Where an operand element of an op lives in the view's node: through the view-only ops
    folded into the edge (T swaps the indices, View keeps the row-major order)."""

    def __init__(self, trace: dict | None, producer_of_edge: dict[str, str]):
        self.nodes = {n["id"]: n for n in (trace or {}).get("nodes", [])}
        self.edges = {e["id"]: e for e in (trace or {}).get("edges", [])}
        self.input_edge = {}
        for e in self.edges.values():
            self.input_edge.setdefault(e["to"], []).append(e)
        self.source = producer_of_edge

    def raw_value(self, edge_id: str) -> dict | None:
        """The operand as the op saw it (the folded node's output, not its source's)."""
        edge = self.edges.get(edge_id)
        return self.nodes[edge["from"]].get("value") if edge else None

    def view_name(self, edge_id: str, symbol: str) -> str:
        """The operand as the op saw it where its elements cannot be named through the fold:
        view(Addmm) for a reshaped Addmm."""
        edge = self.edges.get(edge_id)
        label = self.nodes[edge["from"]]["label"].lower() if edge else "view"
        return f"{label}({symbol})"

    def map(self, edge_id: str, index: tuple) -> tuple | None:
        """An operand index (ints, or letters for a summed index) in the view node's own shape,
        or None where the fold is not a plain re-indexing."""
        edge = self.edges.get(edge_id)
        if edge is None:
            return index
        node_id = edge["from"]
        target = self.source.get(edge_id, node_id)
        while node_id != target:
            node = self.nodes[node_id]
            ins = self.input_edge.get(node_id) or []
            if len(ins) != 1:
                return None
            below = self.nodes[ins[0]["from"]]
            index = _through(node, Tensor(node.get("value")).shape, Tensor(below.get("value")).shape, index)
            if index is None:
                return None
            node_id = below["id"]
        return index


def _through(node: dict, out_shape, in_shape, index):
    label = node["label"]
    if len(index) != len(out_shape):
        return None
    if label == "T" or label == "Transpose":
        attrs = node.get("attrs") or {}
        a, b = (attrs.get("dim0", 0), attrs.get("dim1", 1)) if label == "Transpose" else (0, 1)
        if len(index) < 2:
            return index
        a, b = a % len(index), b % len(index)
        out = list(index)
        out[a], out[b] = out[b], out[a]
        return tuple(out)
    if label in ("View", "Reshape", "UnsafeView", "Unsqueeze", "Squeeze", "Alias"):
        if tuple(out_shape) == tuple(in_shape):
            return index
        letters = [(i, x) for i, x in enumerate(index) if not isinstance(x, int)]
        if letters:  # a summed index survives only where it is a dim of size > 1 on both sides
            return None
        k = Tensor({"shape": list(out_shape)}).flat(index)
        return Tensor({"shape": list(in_shape)}).unravel(k)
    return None
