"""Views of one trace: the same backward pass drawn at the scale that reads best.

- ops: the autograd graph, op by op (view-only ops folded by default)
- neurons: an MLP as the classic network diagram, one edge per weight
- modules: one node per module, gradient norms aggregated
"""
from __future__ import annotations

from .graph import Step, ViewEdge, ViewGraph, ViewNode
from .ops import ops_view

VIEWS = ("ops", "neurons", "modules")


def make_view(trace: dict, kind: str = "ops", collapse: bool = True, depth: int | None = None,
              expand=()) -> ViewGraph:
    """depth and expand shape the modules view (views/blocks.py); the other views ignore them."""
    if kind == "ops":
        return ops_view(trace, collapse=collapse)
    if kind == "neurons":
        from .neurons import neurons_view
        return neurons_view(trace)
    if kind == "modules":
        from .modules import modules_view
        return modules_view(trace, depth=depth, expand=expand)
    raise ValueError(f"unknown view {kind!r}; choose one of {', '.join(VIEWS)}")


__all__ = ["Step", "ViewEdge", "ViewGraph", "ViewNode", "make_view", "ops_view", "VIEWS"]
