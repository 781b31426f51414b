"""The node budget: how many nodes a view may draw. Past a few hundred boxes nothing is readable,
and the scene stage has per-pair work (each node's gradient paths to the loss), so a bigger graph
is refused before anything heavy runs (ops, neurons: a one-line message naming the view that fits)
or drawn coarser (modules: repeated blocks folded, then stretches of the forward pass merged).
README ("Big models") states the figure.
"""
from __future__ import annotations

from ..errors import BprenderError

NODE_BUDGET = 300  # drawn nodes (ops, leaves, constants)


def ops_node_count(trace: dict, folded: set[str]) -> int:
    """The nodes the ops view would draw: the trace's nodes less the folded ones, plus one per
    named constant. Counted without building anything (a 5,000-op chain is counted in ms)."""
    consts = set()
    for n in trace["nodes"]:
        if n["id"] in folded:
            continue
        for inp in n.get("inputs") or []:
            if inp.get("const"):
                consts.add(inp["const"])
    return len(trace["nodes"]) - len(folded) + len(consts)


def over_budget(view: str, count: int) -> BprenderError:
    return BprenderError(f"--view {view}: this graph has {count:,} nodes, over the {view} view's budget of "
                         f"{NODE_BUDGET}; the modules view draws it (--view modules, view: modules in a preset; "
                         f"--depth and --expand choose how much of it)")
