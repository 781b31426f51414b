"""Which softmax ops are attention weights: a softmax over the last dimension of a token x token
tensor whose input is a matrix product (q·kᵀ), maybe scaled, shifted or masked on the way. A
softmax of a batch's class scores (samples x classes, square by chance) is not one."""
from __future__ import annotations

PRODUCTS = {"Mm", "Bmm", "Matmul", "Baddbmm"}
# ops between q·kᵀ and the softmax that keep it a score matrix: a scale, a mask, a bias, a reshape
ON_THE_WAY = {"Mul", "Div", "Add", "Sub", "MaskedFill", "Where", "View", "UnsafeView", "Reshape", "Clone",
              "Expand", "Contiguous"}


def attention_weights(trace: dict) -> set[str]:
    """The ids of the trace's softmax nodes that compute attention weights."""
    nodes = {n["id"]: n for n in trace["nodes"]}
    producer = {e["id"]: e["from"] for e in trace["edges"]}   # an edge runs producer -> consumer
    out = set()
    for n in trace["nodes"]:
        shape = (n.get("value") or {}).get("shape") or []
        if n["label"] != "Softmax" or len(shape) < 2 or shape[-1] != shape[-2] or shape[-1] < 2:
            continue
        if _from_a_product(n, nodes, producer):
            out.add(n["id"])
    return out


def _from_a_product(node: dict, nodes: dict, producer: dict, depth: int = 6) -> bool:
    for inp in node.get("inputs") or []:
        src = nodes.get(producer.get(inp.get("edge")))
        if src is None:
            continue
        if src["label"] in PRODUCTS:
            return True
        if depth and src["label"] in ON_THE_WAY and _from_a_product(src, nodes, producer, depth - 1):
            return True
    return False
