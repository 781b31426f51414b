"""Layers as the chart and the vanishing/exploding flags count them: a module's parameters
together, or a leaf parameter on its own when it belongs to no module."""
from __future__ import annotations

import math

from .fmt import to_float


def layer_norms(trace: dict) -> list[tuple[str, float, list[str]]]:
    """(layer name, gradient norm, leaf node ids) in the order the leaves are listed."""
    nodes = {n["id"]: n for n in trace["nodes"]}
    layers: dict[str, list] = {}
    for leaf in trace.get("leaves", []):
        node = nodes.get(leaf.get("node")) or {}
        module = node.get("module") or ""
        name = module if module else leaf["name"]
        norm = to_float(leaf["grad"]["stats"]["norm"]) if leaf.get("grad") and leaf["grad"].get("stats") else 0.0
        entry = layers.setdefault(name, [0.0, []])
        entry[0] += norm * norm
        if leaf.get("node"):
            entry[1].append(leaf["node"])
    return [(name, math.sqrt(sq) if math.isfinite(sq) else sq, ids) for name, (sq, ids) in layers.items()]
