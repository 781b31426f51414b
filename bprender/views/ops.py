"""The ops view: the autograd graph op by op (micrograd / torchviz style), with the named
constants (x, y_true, input, target) as their own nodes so the picture reads like the formula,
and every backward step captioned with the chain rule and its real numbers.

View-only ops (View, T, Expand, ...) add nothing to the math; by default they are folded into
the edge they sit on, so `W.t()` reads as W feeding the matmul directly.

A steps model's named values (y_pred = w * x + b) are labelled with their names, the op under it;
a name assigned more than once (c = a + b; c += c + 1) is numbered in the order of its
assignments (c₁, c₂), so the boxes and the captions say which value is meant.

The parts without gradient are drawn too, as kind "frozen": the trace's frozen op nodes (a frozen
layer, a value computed from the inputs) and the named parameters and buffers that do not require
grad; they connect by edges that carry no gradient wherever a constant input says where it came
from (``"from"``: a frozen op, or the graph node a detached branch left).
"""
from __future__ import annotations

from ..chain_rule import Symbols, fanin_line, step_lines
from ..chain_rule.symbols import SUB, SUPERSCRIPT
from ..fmt import num, summary_scalar
from ..notation import Notation, residual_adds
from .flags import apply_flags, layer_flags
from .attention import attention_weights
from .graph import Step, ViewEdge, ViewGraph, ViewNode

# ops that only re-index their input: same numbers, another shape or order
VIEW_ONLY = {"View", "T", "Expand", "Transpose", "UnsafeView", "Reshape", "Permute", "Unsqueeze",
             "Squeeze", "Alias", "AsStrided", "Unfold", "Unbind", "Slice", "Select"} - {"Unbind", "Slice", "Select"}
MAX_LINES = 3
NO_GRAD_GROUP = "no gradient"   # legend group of frozen parts outside any module


def ops_view(trace: dict, collapse: bool = True, names: Notation | None = None) -> ViewGraph:
    names = names or Notation(trace, "torch")
    folded = _foldable(trace) if collapse else set()
    frozen_folded = _foldable_frozen(trace) if collapse else set()
    graph = ViewGraph(kind="ops")
    steps = step_labels(trace)
    residual = residual_adds(trace) if names.lecture else set()
    weights = attention_weights(trace)
    for tnode in trace["nodes"]:
        if tnode["id"] in folded or tnode["id"] in frozen_folded:
            continue
        node = _op_node(tnode, steps, names, residual)
        if node.id in weights:
            node.attention = (node.value, node.grad)
        graph.nodes.append(node)

    # an edge into a folded node continues along that node's own outgoing edges
    source = {}  # trace edge id -> the node its gradient reaches in this view
    by_consumer_input = {e["to"]: e for e in trace["edges"] if e["to"] in folded}
    for tedge in trace["edges"]:
        src = tedge["from"]
        while src in folded:
            src = by_consumer_input[src]["from"]
        source[tedge["id"]] = src
    for tedge in trace["edges"]:
        if tedge["to"] in folded:
            continue
        graph.edges.append(ViewEdge(id=tedge["id"], src=source[tedge["id"]], dst=tedge["to"], carries_grad=True,
                                    grad=tedge.get("grad"), slot=tedge.get("slot")))
    _add_constants(graph, trace, folded, frozen_folded, source, names)
    apply_flags(graph, layer_flags(trace), names=names)  # vanishing / exploding: the layers' parameters
    graph.steps = _steps(trace, graph, folded, source, names)
    return graph


def _op_node(tnode: dict, steps: dict[str, str], names: Notation, residual: set[str]) -> ViewNode:
    """A trace node's box: a parameter by its name (W¹), a steps model's value by its name with
    the op under it, a layer's output by the lecture's symbol (z¹ over "Wx + b"), another op by
    what it computes (σ, max-pool, "+ residual"; PyTorch's Sigmoid, MaxPool2DWithIndices with
    --names torch)."""
    kind, label, node_id = tnode["kind"], tnode["label"], tnode["id"]
    module = tnode.get("module") or ""
    op = "no gradient" if kind == "frozen" else tnode.get("op") or ""
    sub = _subtitle(tnode, names)
    symbol = word = ""
    power = _power(tnode) if names.lecture else ""
    if power:   # (·)² says what ^2 under "power" did
        sub = "" if sub.startswith("^") else sub
    if kind == "leaf" and tnode.get("name"):
        title = names.param(tnode["name"])
    elif node_id in steps:   # the name on top, the op it computes under it
        title = steps[node_id]
        meaning = power or names.op(label)
        sub = f"{meaning} {sub}" if sub else meaning
    elif names.symbol(node_id):
        title = symbol = names.symbol(node_id)
        sub = names.formula(node_id) or names.op(label)
        op = f"{symbol} = {sub}"
    elif kind == "loss" and names.lecture:
        title, sub = "L", names.op(label)
        op = sub
    else:
        title = "+ residual" if node_id in residual else names.formula(node_id) or power or names.op(label)
        word = names.word(label) if names.lecture else ""
    group = NO_GRAD_GROUP if kind == "frozen" and not module else names.group(module) if module else ""
    return ViewNode(id=node_id, kind=kind, label=title, sub=sub, value=tnode.get("value"), grad=tnode.get("grad"),
                    trace=tnode, module=names.where(module), op=op, group=group, symbol=symbol, word=word)


def _power(tnode: dict) -> str:
    """x**2 as the lecture writes the op: (·)²; "" for another op or a non-integer exponent."""
    exponent = (tnode.get("attrs") or {}).get("exponent")
    if tnode["label"] != "Pow" or not isinstance(exponent, (int, float)) or not float(exponent).is_integer():
        return ""
    return "(·)" + str(int(exponent)).translate(SUPERSCRIPT)


def step_labels(trace: dict) -> dict[str, str]:
    """Node id -> the step name it computed ("y_pred"), numbered by assignment order where a
    name labels several nodes ("c₁", "c₂"); op nodes only."""
    named: dict[str, list[dict]] = {}
    for n in trace["nodes"]:
        if n["kind"] != "leaf" and n.get("name"):
            named.setdefault(n["name"], []).append(n)
    out = {}
    for name, nodes in named.items():
        if len(nodes) == 1:
            out[nodes[0]["id"]] = name
            continue
        for k, n in enumerate(sorted(nodes, key=lambda n: n.get("seq") or 0), 1):  # forward order
            out[n["id"]] = name + str(k).translate(SUB)
    return out


def _foldable(trace: dict) -> set[str]:
    """View-only op nodes with exactly one gradient input (so folding keeps the graph whole)."""
    inputs: dict[str, int] = {}
    for e in trace["edges"]:
        inputs[e["to"]] = inputs.get(e["to"], 0) + 1
    return {n["id"] for n in trace["nodes"]
            if n["kind"] == "op" and n["label"] in VIEW_ONLY and inputs.get(n["id"]) == 1}


def _foldable_frozen(trace: dict) -> set[str]:
    """Frozen view-only ops with one data input (W.t() of a frozen layer): folded like the others."""
    return {n["id"] for n in trace["nodes"]
            if n["kind"] == "frozen" and n["label"] in VIEW_ONLY and len(n.get("inputs") or []) == 1}


def _add_constants(graph: ViewGraph, trace: dict, folded: set[str], frozen_folded: set[str],
                   source: dict[str, str], names: Notation) -> None:
    roles = {i["name"]: i.get("role") for i in trace.get("inputs", [])}
    nodes = {n["id"]: n for n in trace["nodes"]}
    into = {e["to"]: e for e in trace["edges"] if e["to"] in folded}
    consts: dict[str, ViewNode] = {}
    edges: set[str] = set()

    def edge(src: str, dst: str, slot: int | None) -> None:
        edge_id = f"{src}->{dst}"
        if edge_id not in edges and src != dst:
            edges.add(edge_id)
            graph.edges.append(ViewEdge(id=edge_id, src=src, dst=dst, carries_grad=False, slot=slot))

    def resolve(node_id: str) -> str | None:
        """The view node a trace node id stands for (folded ones: what they fold into)."""
        while node_id in folded:
            node_id = into[node_id]["from"]
        if node_id in frozen_folded:
            return origin(nodes[node_id]["inputs"][0])
        return node_id if node_id in nodes else None

    def origin(inp: dict) -> str | None:
        """The view node a constant input comes from: its named node (fed by where it was
        computed, if known), else the op that computed it; None for an unnamed plain constant."""
        name = inp.get("const") if "const" in inp else None
        src = resolve(inp["from"]) if inp.get("from") else None
        if not name:
            return src
        const_id = f"c:{name}"
        if const_id not in consts:
            role = roles.get(name)
            consts[const_id] = ViewNode(id=const_id, kind="frozen" if role else "const", label=names.const(name),
                                        value=inp.get("value"), group=NO_GRAD_GROUP if role else "inputs",
                                        sub=role or "", op="no gradient" if role else "")
            graph.nodes.append(consts[const_id])
        if src is not None:
            edge(src, const_id, None)
        return const_id

    for tnode in trace["nodes"]:
        if tnode["id"] in folded or tnode["id"] in frozen_folded:
            continue
        for slot, inp in enumerate(tnode.get("inputs") or []):
            if "const" not in inp:
                continue
            src = origin(inp)
            if src is not None:
                edge(src, tnode["id"], slot)


def _steps(trace: dict, graph: ViewGraph, folded: set[str], source: dict[str, str], names: Notation) -> list[Step]:
    """The engine's firing order, each step captioned with the chain rule."""
    symbols = Symbols(graph, source, trace, consts={c["name"]: names.const(c["name"]) for c in trace.get("inputs", [])})
    fanout = {f["node"]: f for f in trace.get("fanout", [])}
    edge_grad = {e["id"]: e.get("grad") for e in trace["edges"]}
    nodes = {n["id"]: n for n in trace["nodes"]}
    steps = []
    for step in trace["backward"]:
        node_id = step["node"]
        if node_id in folded:
            continue
        sends = [(source[eid], _operand_position(nodes[node_id], eid), edge_grad[eid], eid) for eid in step["edges"]]
        lines = []
        if node_id in fanout:
            f = fanout[node_id]
            lines.append(fanin_line(symbols, node_id, [edge_grad[eid] for eid in f["edges"]], f["sum"]))
        lines += step_lines(symbols, node_id, graph.node(node_id).grad, sends)
        if len(lines) > MAX_LINES:
            lines = lines[:MAX_LINES - 1] + [f"… and {len(lines) - MAX_LINES + 1} more edges"]
        steps.append(Step(nodes=[node_id], edges=list(step["edges"]), lines=lines,
                          label=graph.node(node_id).label, ops=[node_id]))
    return steps


def _operand_position(consumer: dict, edge_id: str) -> int:
    """Which operand of the consumer's forward op an edge feeds (constants count too)."""
    for position, inp in enumerate(consumer.get("inputs") or []):
        if inp.get("edge") == edge_id:
            return position
    return 0


def _subtitle(tnode: dict, names: Notation) -> str:
    """Unnamed scalar constants of an op (the 2 of x**2), else its module (its layer)."""
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
    return names.where(tnode.get("module") or "")
