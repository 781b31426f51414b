"""The chain rule's factors as tensors, for the big ops: which previews the trace already holds
(bprender/trace/heat.py) are the factors of a backward step, so the caption band can draw them
as heatmaps beside the formula (scene/chain_heat.py).

- Linear (an addmm or mm whose weight operand is a parameter seen through its transpose, as
  nn.Linear computes x·Wᵀ): δ = ∂L/∂z, the gradient arriving at the op's output, as out x batch;
  a⊤ (aᵀ), the op's input, batch x in; ∂L/∂W = δ·aᵀ, the weight's gradient, out x in (the outer
  product, summed over the batch); for a weight used more than once, this use's term (the
  gradient sent to its transpose), not the .grad that sums the uses.
- Conv2d: the input a, δ at the op's output, ∂L/∂K = a ⋆ δ (the kernels' gradient, filter by
  filter, as the weight's node glyph draws it).
- Attention: the softmax's weights A and the gradient ∂L/∂A arriving at them.

The result is named as the caption names its parameter (∂L/∂W¹, ∂L/∂W_Q), the generic ∂L/∂W or
∂L/∂K only for a parameter with no lecture symbol.
Each factor is a preview as the trace wrote it (pooled, its first sample or channels), turned
where the formula reads it the other way round (δ as a column); `stage` is when it appears in
the step, as the formula's terms do (scene/formula.py: 0 upstream, 1 local, 2 result).
"""
from __future__ import annotations

from ..views.attention import attention_weights

LINEAR = {"Addmm": (1, 2), "Mm": (0, 1)}      # op -> (input operand, weight operand)
TRANSPOSES = {"T", "Transpose", "Permute"}


def _heat(summary: dict | None) -> dict | None:
    """The preview of a summary; a single number (which has none) as a 1x1 one."""
    if not summary:
        return None
    heat = summary.get("heat")
    if heat and heat.get("values"):
        return heat
    values = summary.get("values")
    if values is not None and len(values) == 1:
        return {"layout": "strip", "rows": 1, "cols": 1, "channels": 1, "more": 0, "pool": [1, 1],
                "values": list(values)}
    return None


def transposed(heat: dict) -> dict:
    """A one-channel preview turned rows for columns (its pooling too)."""
    rows, cols = heat["rows"], heat["cols"]
    values = heat["values"]
    return {**heat, "rows": cols, "cols": rows, "pool": [heat["pool"][1], heat["pool"][0]],
            "values": [values[r * cols + c] for c in range(cols) for r in range(rows)]}


def _signed(summary: dict, grad: bool) -> bool:
    """A gradient's map is diverging; a value's too when it has a negative element (as glyphs.py)."""
    if grad:
        return True
    stats = summary.get("stats") or {}
    lo = stats.get("min")
    return isinstance(lo, (int, float)) and lo < 0 or any(
        isinstance(v, (int, float)) and v < 0 for v in _heat(summary)["values"])


def _term(name: str, summary: dict | None, grad: bool, stage: int, turn: bool = False) -> dict | None:
    heat = _heat(summary)
    if heat is None:
        return None
    if turn:
        if heat["channels"] != 1:
            return None
        heat = transposed(heat)
    return {"name": name, "heat": heat, "signed": _signed(summary, grad), "stage": stage}


class _Trace:
    def __init__(self, trace: dict, name_of=None):
        self.name_of = name_of    # a parameter's name -> how the scene shows it (or None)
        self.nodes = {n["id"]: n for n in trace["nodes"]}
        self.producer = {e["id"]: e["from"] for e in trace["edges"]}
        self.edge_grad = {e["id"]: e.get("grad") for e in trace["edges"]}
        self.uses: dict[str, int] = {}   # how many ops take each node's output
        for e in trace["edges"]:
            self.uses[e["from"]] = self.uses.get(e["from"], 0) + 1

    def operand(self, node: dict, k: int) -> tuple[dict | None, dict | None]:
        """(the producer node or None, the operand's value summary) of operand k."""
        inputs = node.get("inputs") or []
        if k >= len(inputs):
            return None, None
        inp = inputs[k]
        if "edge" in inp:
            src = self.nodes.get(self.producer.get(inp["edge"]))
            return src, (src or {}).get("value")
        return None, inp.get("value")


def _result(t: _Trace, leaf: dict, generic: str) -> str:
    """The gradient's name as the caption writes it (∂L/∂W¹: the lecture's symbol for the
    parameter), else the generic one of the formula (∂L/∂W, ∂L/∂K) for a name with no symbol."""
    name = leaf.get("name") or leaf.get("label") or ""
    shown = t.name_of(name) if t.name_of and name else name
    return f"∂L/∂{shown}" if shown and shown != name else generic


def _linear(t: _Trace, node: dict) -> dict | None:
    at_input, at_weight = LINEAR[node["label"]]
    turn, _ = t.operand(node, at_weight)
    if turn is None or turn["label"] not in TRANSPOSES:
        return None
    leaf, _ = t.operand(turn, 0)
    if leaf is None or leaf.get("kind") != "leaf" or len((leaf.get("value") or {}).get("shape") or []) != 2:
        return None
    _, a = t.operand(node, at_input)
    out, in_ = leaf["value"]["shape"]
    uses = t.uses.get(leaf["id"], 1)
    if uses > 1:
        # a weight used more than once: its .grad sums the uses; this step's δ·a⊤ is the one use's
        # term, the gradient sent to its transpose (in x out, turned to out x in)
        w_grad = t.edge_grad.get(node["inputs"][at_weight].get("edge"))
        strip = (_heat(w_grad) or {}).get("rows") == 1
        w_turn = not strip or (in_ == 1 and out > 1)
    else:
        # a strip of ∂L/∂W (one row or one column of W) keeps W's orientation: out x in
        w_grad = leaf.get("grad")
        w_turn = bool(w_grad and (_heat(w_grad) or {}).get("rows") == 1 and in_ == 1 and out > 1)
    terms = [_term("δ", node.get("grad"), True, 0, turn=True), _term("a⊤", a, False, 1),
             _term(_result(t, leaf, "∂L/∂W"), w_grad, True, 2, turn=w_turn)]
    if any(x is None for x in terms):
        return None
    if uses > 1:
        terms[2]["note"] = f"one of {uses} uses"
    return {"kind": "linear", "terms": terms, "between": ["·", "="]}


def _conv(t: _Trace, node: dict) -> dict | None:
    _, a = t.operand(node, 0)
    leaf, _ = t.operand(node, 1)
    if leaf is None or leaf.get("kind") != "leaf" or t.uses.get(leaf["id"], 1) > 1:
        return None   # a kernel shared by several convs: its .grad is not this step's a ⋆ δ
    terms = [_term("a", a, False, 1), _term("δ", node.get("grad"), True, 0), _term(_result(t, leaf, "∂L/∂K"), leaf.get("grad"), True, 2)]
    if any(x is None for x in terms):
        return None
    return {"kind": "conv", "terms": terms, "between": ["⋆", "="]}


def _attention(node: dict) -> dict | None:
    terms = [_term("A", node.get("value"), False, 1), _term("∂L/∂A", node.get("grad"), True, 0)]
    if any(x is None for x in terms):
        return None
    return {"kind": "attention", "terms": terms, "between": [""]}


def step_factors(trace: dict, steps: list, name_of=None) -> list[dict | None]:
    """For each backward step (its `ops`: the trace op nodes it covers), the factors to draw: a
    Linear's or a conv's (the first among its ops), else attention weights'; None for a step
    with none (or where the trace holds no previews). name_of: a parameter's name -> the name
    the scene shows (Notation.param), so a gradient is called what the caption calls it."""
    t = _Trace(trace, name_of)
    weights = attention_weights(trace)
    return [_factors(t, [t.nodes[i] for i in step.ops if i in t.nodes], weights) for step in steps]


def _factors(t: _Trace, ops: list[dict], weights: set[str]) -> dict | None:
    for node in ops:
        found = _linear(t, node) if node["label"] in LINEAR else _conv(t, node) if node["label"] == "Convolution" else None
        if found is not None:
            return found
    for node in ops:
        if node["id"] in weights:
            found = _attention(node)
            if found is not None:
                return found
    return None
