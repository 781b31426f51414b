"""The graph a viewer sees, built from a trace: the autograd nodes plus the named constants
(x, y_true, inputs, targets) that feed them, so the picture reads like the formula.

Plain data in, plain data out: no torch here (DESIGN rule 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .fmt import num, summary_scalar


@dataclass
class ViewNode:
    id: str
    kind: str             # "loss" | "op" | "leaf" | "const"
    label: str            # the op or the name
    sub: str = ""         # a small second line: unnamed constants, module path
    value: dict | None = None   # forward value summary
    grad: dict | None = None    # gradient arriving at the node (None for constants)
    trace: dict | None = None   # the trace node (None for constants)


@dataclass
class ViewEdge:
    id: str
    src: str              # forward direction: producer
    dst: str              # consumer
    carries_grad: bool
    grad: dict | None = None
    slot: int | None = None


@dataclass
class ViewGraph:
    nodes: list[ViewNode] = field(default_factory=list)
    edges: list[ViewEdge] = field(default_factory=list)

    def node(self, node_id: str) -> ViewNode:
        return self._by_id()[node_id]

    def _by_id(self) -> dict[str, ViewNode]:
        return {n.id: n for n in self.nodes}


def ops_view(trace: dict) -> ViewGraph:
    """The autograd graph op by op, with named constants as their own nodes."""
    graph = ViewGraph()
    for tnode in trace["nodes"]:
        kind = tnode["kind"]
        label = tnode["name"] if kind == "leaf" and tnode.get("name") else tnode["label"]
        graph.nodes.append(ViewNode(
            id=tnode["id"], kind=kind, label=label, sub=_subtitle(tnode),
            value=tnode.get("value"), grad=tnode.get("grad"), trace=tnode))
    for tedge in trace["edges"]:
        graph.edges.append(ViewEdge(id=tedge["id"], src=tedge["from"], dst=tedge["to"],
                                    carries_grad=True, grad=tedge.get("grad"), slot=tedge.get("slot")))
    consts: dict[str, ViewNode] = {}
    for tnode in trace["nodes"]:
        for slot, inp in enumerate(tnode.get("inputs") or []):
            name = inp.get("const") if "const" in inp else None
            if not name:
                continue
            const_id = f"c:{name}"
            if const_id not in consts:
                consts[const_id] = ViewNode(id=const_id, kind="const", label=name, value=inp.get("value"))
                graph.nodes.append(consts[const_id])
            graph.edges.append(ViewEdge(id=f"{const_id}->{tnode['id']}", src=const_id, dst=tnode["id"],
                                        carries_grad=False, slot=slot))
    return graph


def _subtitle(tnode: dict) -> str:
    """Unnamed scalar constants of an op (the 2 of x**2), else its module path."""
    if tnode["kind"] == "leaf":
        return ""
    exponent = (tnode.get("attrs") or {}).get("exponent")
    if tnode["label"] == "Pow" and isinstance(exponent, (int, float)):
        return "^" + num(exponent)
    unnamed = [summary_scalar(i.get("value")) for i in tnode.get("inputs") or []
               if "const" in i and not i.get("const")]
    unnamed = [v for v in unnamed if v is not None]
    if unnamed:
        return ", ".join(num(v) for v in unnamed[:2])
    return tnode.get("module") or ""
