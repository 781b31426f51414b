"""Views of one trace: the same backward pass drawn at the scale that reads best.

- ops: the autograd graph, op by op (view-only ops folded by default)
- neurons: an MLP as the classic network diagram, one edge per weight
- modules: one node per module, gradient norms aggregated
"""
from __future__ import annotations

from ..notation import Notation
from .graph import Step, ViewEdge, ViewGraph, ViewNode
from .budget import NODE_BUDGET, ops_node_count, over_budget
from .ops import _foldable, ops_view

VIEWS = ("ops", "neurons", "modules")


def make_view(trace: dict, kind: str = "ops", collapse: bool = True, depth: int | None = None,
              expand=(), names: Notation | None = None, sample: int | None = None) -> ViewGraph:
    """depth and expand shape the modules view (views/blocks.py); sample (1-based) picks the
    neurons view's sample of a batch; the other views ignore them.
    names: the notation the view's labels and captions use (default: lecture notation)."""
    names = names or Notation(trace, "torch")   # a view on its own: PyTorch's names; scenes pass theirs
    if kind == "ops":
        count = ops_node_count(trace, _foldable(trace) if collapse else set())
        if count > NODE_BUDGET:  # before any caption or layout work: the message comes in ms
            raise over_budget("ops", count)
        return ops_view(trace, collapse=collapse, names=names)
    if kind == "neurons":
        from .neurons import neurons_view
        graph = neurons_view(trace, names, (sample or 1) - 1)
        if len(graph.nodes) > NODE_BUDGET:
            raise over_budget("neurons", len(graph.nodes))
        return graph
    if kind == "modules":
        from .modules import modules_view
        return modules_view(trace, depth=depth, expand=expand, names=names)
    raise ValueError(f"unknown view {kind!r}; choose one of {', '.join(VIEWS)}")


__all__ = ["Step", "ViewEdge", "ViewGraph", "ViewNode", "make_view", "ops_view", "VIEWS"]
