"""The neurons view: an MLP as the classic network diagram.

One circle per neuron (input features, then each Linear layer's units, then the loss), one edge
per weight. A neuron shows its activation (after the activation function) and ∂L/∂(that
activation); a weight's edge carries ∂L/∂W[i, j], so its colour and width show the weight's
gradient. The backward pass runs layer by layer, from the loss to the first layer.

The trace is read as a chain: from the loss back to the input, every op has exactly one input
that carries gradient apart from its parameters. Linear layers are the matmul ops (Addmm, Mm,
Mv) fed by a 2-D parameter (+ a bias, in the Addmm or in an Add right after); elementwise
activations (Sigmoid, Relu, Tanh, ...) between them; re-shaping ops (View, ...) are skipped;
whatever follows the last Linear layer and its activations is "the loss". Anything else (a
convolution, a norm, attention, a residual branch, an expression) raises a BprenderError
naming the view that fits.

For a batch, neurons show one sample (the first, or --sample K); weight gradients are
PyTorch's, summed over the batch. Plain data in, plain data out: no torch here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import BprenderError
from ..chain_rule.tensors import alternatives
from ..fmt import num, to_float
from ..notation import Notation
from .flags import apply_flags, layer_flags
from .graph import Step, ViewEdge, ViewGraph, ViewNode

INTRO = "the neurons view draws stacks of Linear layers with elementwise activations"
ELSEWHERE = "use --view modules or --view ops"

MATMULS = {"Addmm", "Mm", "Mv"}
# ops that only re-shape the data between layers (the same numbers)
RESHAPES = {"View", "UnsafeView", "Reshape", "Squeeze", "Unsqueeze", "Alias", "Clone"}
# ops on the way from a parameter to the op using it (W.t() in nn.Linear)
PARAM_VIEWS = RESHAPES | {"T", "Transpose", "Permute", "Expand"}
# elementwise activation op label -> (the function's name in captions, its derivative)
ACTIVATIONS = {
    "Sigmoid": ("σ", "a(1 − a)"), "Tanh": ("tanh", "1 − tanh²(z)"), "Relu": ("relu", "[z > 0]"),
    "LeakyRelu": ("leaky_relu", ""), "Gelu": ("gelu", ""), "Elu": ("elu", ""), "Celu": ("celu", ""),
    "Selu": ("selu", ""), "Softplus": ("softplus", "σ(z)"), "Silu": ("silu", ""), "Mish": ("mish", ""),
    "Hardtanh": ("hardtanh", ""), "Hardsigmoid": ("hardsigmoid", ""), "Hardswish": ("hardswish", ""),
    "LogSigmoid": ("logsigmoid", ""), "Threshold": ("threshold", ""), "Rrelu": ("rrelu", ""),
    "RreluWithNoise": ("rrelu", ""),
}

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
MAX_LINES = 3


@dataclass
class _Param:
    leaf: dict          # the trace's leaves[] entry
    node: str           # the leaf's node id
    edge: dict          # the edge leaving the leaf on the way to the op using it
    flips: int          # transposes on that way


@dataclass
class _Layer:
    op: dict                         # the matmul node
    weight: _Param
    bias: _Param | None = None
    z: dict | None = None            # the node whose output is z = Wa + b
    acts: list[dict] = field(default_factory=list)  # activation nodes after it, in order
    title: str = ""                  # its number as the captions name it ("2")

    @property
    def a(self) -> dict:
        return self.acts[-1] if self.acts else self.z

    @property
    def module(self) -> str:
        return self.weight.leaf.get("name", "").rpartition(".")[0] or self.op.get("module") or ""


def neurons_view(trace: dict, names: Notation | None = None, sample: int = 0) -> ViewGraph:
    """sample: which sample of a batch the neurons show (0: the first)."""
    names = names or Notation(trace, "torch")
    nodes = {n["id"]: n for n in trace["nodes"]}
    into: dict[str, list[dict]] = {}
    for e in trace["edges"]:
        into.setdefault(e["to"], []).append(e)
    for edges in into.values():
        edges.sort(key=lambda e: e.get("slot") or 0)
    leaves = {leaf["node"]: leaf for leaf in trace.get("leaves", []) if leaf.get("node")}
    uses: dict[str, int] = {}
    for e in trace["edges"]:
        uses[e["from"]] = uses.get(e["from"], 0) + 1

    try:
        layers, tail = _read_chain(trace, nodes, into, leaves)
    except _NotAStack as err:
        raise BprenderError(_message(trace, nodes, leaves, str(err))) from None
    return _build(trace, layers, tail, uses, names, sample)


# --- reading the trace as a stack of layers ------------------------------------------------

class _NotAStack(Exception):
    """Why the chain walk failed (used when no better-known foreign layer explains it)."""


def _read_chain(trace, nodes, into, leaves) -> tuple[list[_Layer], list[dict]]:
    chain = []  # (node, params, data edges), from the loss back to the input
    current, seen = trace["loss"]["node"], set()
    while current is not None and current not in seen:
        seen.add(current)
        node = nodes[current]
        params, data = [], []
        for e in into.get(current, []):
            param = _param(e, nodes, into, leaves)
            if param is not None:
                params.append(param)
            else:
                data.append(e)
        if len(data) > 1:
            raise _NotAStack(f"{_where(node)} combines {len(data)} values that carry gradient (a branch or a "
                             f"residual connection, which a stack of layers does not have): {ELSEWHERE}")
        chain.append((node, params))
        current = data[0]["from"] if data else None
    chain.reverse()

    layers: list[_Layer] = []
    end = len(chain)
    for k, (node, params) in enumerate(chain):
        label = node["label"]
        weights = [p for p in params if len(p.leaf.get("shape") or []) == 2]
        biases = [p for p in params if len(p.leaf.get("shape") or []) == 1]
        if label in MATMULS and len(weights) == 1 and len(params) == len(weights) + len(biases) <= 2 \
                and node["kind"] != "loss":
            layers.append(_Layer(op=node, weight=weights[0], bias=biases[0] if biases else None, z=node))
        elif label == "Add" and len(params) == 1 and biases and layers and layers[-1].bias is None \
                and not layers[-1].acts:
            layers[-1].bias, layers[-1].z = biases[0], node
        elif label in ACTIVATIONS and not params and layers and node["kind"] != "loss":
            layers[-1].acts.append(node)
        elif label in RESHAPES and not params and layers and node["kind"] != "loss":
            continue
        else:
            end = k
            break
    tail = [node for node, _ in chain[end:]]
    if not layers:
        first = chain[0][0] if chain else None
        raise _NotAStack(f"this model has no Linear layers{_computes(trace, nodes, leaves)}: use --view ops"
                         if first is None or first["label"] not in MATMULS else
                         f"{_where(first)} does not read as a Linear layer: {ELSEWHERE}")
    if any(params or node["label"] in MATMULS for node, params in chain[end:]):
        raise _NotAStack(f"this model has {_where(chain[end][0])} between Linear layers, which is neither a "
                         f"Linear layer nor an elementwise activation: {ELSEWHERE}")
    if not tail:
        raise _NotAStack(f"there is no loss after the last Linear layer ({_layer_name(layers[-1], len(layers))})")
    return layers, tail


def _param(edge, nodes, into, leaves) -> _Param | None:
    """The parameter an input edge brings (through W.t() and the like), else None."""
    node, last, flips = nodes[edge["from"]], edge, 0
    while node["kind"] != "leaf":
        inputs = into.get(node["id"], [])
        if node["label"] not in PARAM_VIEWS or len(inputs) != 1:
            return None
        flips += node["label"] in ("T", "Transpose")
        last = inputs[0]
        node = nodes[last["from"]]
    leaf = leaves.get(node["id"])
    return _Param(leaf, node["id"], last, flips) if leaf else None


def _where(node: dict) -> str:
    module = node.get("module") or ""
    return f"{node['label']}" + (f" (module {module})" if module else "")


def _computes(trace, nodes, leaves) -> str:
    ops = []
    for node in reversed(trace["nodes"]):
        if node["kind"] != "leaf" and node["label"] not in ops:
            ops.append(node["label"])
    names = [leaf["name"] for leaf in trace.get("leaves", [])]
    if not ops:
        return ""
    return f" (it computes {', '.join(ops[:5])}{', …' if len(ops) > 5 else ''}" + \
        (f" on {', '.join(names[:4])}{', …' if len(names) > 4 else ''})" if names else ")")


def _message(trace, nodes, leaves, reason: str) -> str:
    """The error: name the known non-MLP layers the model has, else the walk's reason."""
    weight_dims = {leaf["name"].rpartition(".")[0]: len(leaf.get("shape") or [])
                   for leaf in trace.get("leaves", []) if leaf.get("name", "").endswith(".weight")}
    plain_matmul = any(n["label"] in ("Mm", "Bmm") and not any(
        nodes[e["from"]]["kind"] == "leaf" for e in trace["edges"] if e["to"] == n["id"]) for n in trace["nodes"])
    found = []
    for node in reversed(trace["nodes"]):  # ids run from the loss back: reversed is forward order
        if node["kind"] == "leaf":
            continue
        name = _foreign(node["label"], weight_dims.get(node.get("module") or ""), plain_matmul)
        if name:
            item = name + (f" (module {node['module']})" if node.get("module") else "")
            if item not in found:
                found.append(item)
    if not found:
        return f"{INTRO}; {reason}"
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return f"{INTRO}; this model has {', '.join(found[:3])}{more}: {ELSEWHERE}"


def _foreign(label: str, weight_dims: int | None, plain_matmul: bool) -> str:
    """A readable name for an op that marks a layer the neurons view cannot draw."""
    if "Convolution" in label or label.startswith("Conv"):
        return f"Conv{weight_dims - 2}d" if weight_dims and weight_dims > 2 else "a convolution"
    pool = re.match(r"(Max|Avg|AdaptiveMax|AdaptiveAvg)Pool(\d)D", label)
    if pool:
        return f"{pool.group(1)}Pool{pool.group(2)}d"
    for key, name in (("LayerNorm", "LayerNorm"), ("BatchNorm", "BatchNorm"), ("GroupNorm", "GroupNorm"),
                      ("InstanceNorm", "InstanceNorm"), ("Embedding", "Embedding"), ("Lstm", "LSTM"),
                      ("Gru", "GRU"), ("Rnn", "an RNN"), ("Dropout", "Dropout")):
        if key in label:
            return name
    if label == "Softmax" and plain_matmul:
        return "self-attention"
    if label in ("Bmm", "ScaledDotProductAttention", "ScaledDotProductFlashAttentionForCpu"):
        return "attention"
    return ""


# --- building the diagram -----------------------------------------------------------------

def _build(trace: dict, layers: list[_Layer], tail: list[dict], uses: dict[str, int], names: Notation,
           sample: int = 0) -> ViewGraph:
    first = layers[0]
    widths_in = []
    orient = []  # per layer: True when the weight is stored [out, in] (nn.Linear)
    for k, layer in enumerate(layers):
        out = (layer.z.get("value") or {}).get("shape") or []
        out = out[-1] if out else 1
        rows, cols = layer.weight.leaf["shape"]
        if layer.op["label"] == "Mv":
            standard = layer.weight.flips % 2 == 0
        else:
            standard = layer.weight.flips % 2 == 1
        n_out, n_in = (rows, cols) if standard else (cols, rows)
        if n_out != out or (k and n_in != widths_in[-1][1]):
            raise BprenderError(f"{INTRO}; the layer shapes do not chain at {_layer_name(layer, k)} "
                                f"({layer.weight.leaf['name']} is {rows}×{cols}): {ELSEWHERE}")
        widths_in.append((n_in, n_out))
        orient.append(standard)

    n_inputs = widths_in[0][0]
    x_summary = _input_value(first, n_inputs)
    x_rows = _rows(x_summary, n_inputs, "inputs", first, 0)
    a_rows, g_rows, z_rows, d_rows = [x_rows], [], [], []
    for k, layer in enumerate(layers):
        width = widths_in[k][1]
        a_rows.append(_rows(layer.a.get("value"), width, "activations", layer, k))
        g_rows.append(_rows(layer.a.get("grad"), width, "gradients", layer, k))
        z_rows.append(_rows(layer.z.get("value"), width, "values", layer, k))
        d_rows.append(_rows(layer.z.get("grad"), width, "gradients", layer, k))
    shape = (x_summary or {}).get("shape") or []
    batch = int(shape[0]) if len(shape) == 2 else len(x_rows)
    s = _sample_index(sample, batch, [x_rows] + a_rows[1:] + g_rows + z_rows + d_rows)

    weight_grads, bias_grads, shares = [], [], []
    for k, layer in enumerate(layers):
        n_in, n_out = widths_in[k]
        wgrad, share = _weight_grad(layer.weight, uses, d_rows[k], a_rows[k], n_in, n_out, orient[k], batch, s)
        weight_grads.append(wgrad)
        shares.append(share)
        bias_grads.append(_grad_values(layer.bias, uses) if layer.bias else None)
    # wide columns: the first and last neurons and those with the largest gradients (inputs: the
    # largest weight gradients leaving them), an ellipsis node for the rest
    shown = [_pick(_column_norms(weight_grads[0]), n_inputs)]
    for k in range(len(layers)):
        shown.append(_pick([abs(to_float(g)) for g in g_rows[k][s]], widths_in[k][1]))

    graph = ViewGraph(kind="neurons", shape="circle", edge_labels=False)
    n_hidden = len(layers) - 1
    ids: list[list[str]] = [[f"x{j}" for j in shown[0]]]
    columns = [_column(graph, shown[0], n_inputs, 0, lambda j: ViewNode(
        id=f"x{j}", kind="const", label="x" + _sub(j + 1), value=_scalar(x_rows[s][j]), group="inputs",
        op=f"input feature {j + 1}" + _sample_note(batch, s)))]

    for k, layer in enumerate(layers):
        n_in, n_out = widths_in[k]
        module = layer.module
        layer.title = _title(layer, k, names)
        last = k == len(layers) - 1
        wgrad, bgrad = weight_grads[k], bias_grads[k]
        ids.append([f"l{k}n{i}" for i in shown[k + 1]])

        def neuron(i, k=k, layer=layer, module=module, last=last, bgrad=bgrad, n_out=n_out):
            if last:
                label = "y" + (_sub(i + 1) if n_out > 1 else "")  # ŷ: not in the bundled font
            else:
                letter = "a" if names.lecture else "h"   # the lecture's a = σ(z), as its captions say
                numbered = len(layers) > 1 if names.lecture else n_hidden > 1   # a¹₁ as its captions say
                label = letter + (str(k + 1).translate(SUP) if numbered else "") + _sub(i + 1)
            info = [f"a = {_function(layer)}", f"z = {num(z_rows[k][s][i])}"]
            if bgrad is not None:
                info.append(f"∂L/∂b = {num(bgrad[i])}")
            return ViewNode(id=f"l{k}n{i}", kind="op", label=label, value=_scalar(a_rows[k + 1][s][i]),
                            grad=_scalar(g_rows[k][s][i]), module=names.layer(module),
                            group=names.group(module) if module else _layer_name(layer, k),
                            op=", ".join(info) + _sample_note(batch, s))

        columns.append(_column(graph, shown[k + 1], n_out, k + 1, neuron))
        for i in shown[k + 1]:
            for j in shown[k]:
                graph.edges.append(ViewEdge(id=f"w{k}:{i}:{j}", src=f"x{j}" if k == 0 else f"l{k - 1}n{j}",
                                            dst=f"l{k}n{i}", carries_grad=True, grad=_scalar(wgrad[i][j])))

    loss = trace["loss"]
    loss_node = next(n for n in tail if n["id"] == loss["node"]) if any(
        n["id"] == loss["node"] for n in tail) else tail[-1]
    tail_text = " → ".join(names.op(n["label"]) for n in tail if n["label"] not in RESHAPES)
    graph.nodes.append(ViewNode(id="loss", kind="loss", label="L", value=loss.get("value") or loss_node.get("value"),
                                grad=loss_node.get("grad"), op=tail_text,
                                module=names.layer(loss_node.get("module") or "")))
    for i in shown[-1]:
        graph.edges.append(ViewEdge(id=f"out{i}", src=f"l{len(layers) - 1}n{i}", dst="loss", carries_grad=True,
                                    grad=_scalar(g_rows[-1][s][i])))
    _link_ellipses(graph, shown, [n_inputs] + [w[1] for w in widths_in], ids)

    graph.forward = columns + [["loss"]]
    out_grads = [g_rows[-1][s][i] for i in shown[-1]]
    graph.steps = [_loss_step(graph, tail_text, loss, out_grads, ids[-1], batch, widths_in[-1][1], names, s)]
    for k in range(len(layers) - 1, -1, -1):
        graph.steps.append(_layer_step(k, layers[k], ids, widths_in[k], g_rows[k][s], d_rows[k][s],
                                       a_rows[k][s], weight_grads[k], bias_grads[k], batch, uses, shown, shares[k],
                                       names, len(layers), s))
    graph.notes = _notes(batch, shown, [n_inputs] + [w[1] for w in widths_in], any(shares), s)
    # vanishing / exploding layers: their neurons carry the flag, the caption names them
    by_module: dict[str, list[str]] = {}
    for k, layer in enumerate(layers):
        if layer.module:
            by_module.setdefault(layer.module, []).extend(ids[k + 1])
    apply_flags(graph, layer_flags(trace), by_module, names=names)
    return graph


# --- wide layers: which neurons a column shows -------------------------------------------

MAX_COLUMN = 4          # neurons drawn per column (more no longer fit a 720p frame readably); a
KEEP_FIRST, KEEP_LAST = 1, 1   # wider layer shows its first and last ones, the rest by largest gradient


def _pick(scores: list[float], width: int) -> list[int]:
    """The neuron indices a column shows, ascending: all of a narrow layer; else the first and
    last ones and those with the largest scores (ties: the lower index)."""
    if width <= MAX_COLUMN:
        return list(range(width))
    ends = set(range(KEEP_FIRST)) | set(range(width - KEEP_LAST, width))
    rest = sorted((i for i in range(width) if i not in ends),
                  key=lambda i: (-(scores[i] if math.isfinite(scores[i]) else math.inf), i))
    return sorted(ends | set(rest[:MAX_COLUMN - len(ends)]))


def _column_norms(wgrad: list[list]) -> list[float]:
    """Per input neuron j: the norm of the weight gradients leaving it (column j)."""
    n_in = len(wgrad[0]) if wgrad else 0
    return [math.sqrt(sum(to_float(row[j]) ** 2 for row in wgrad)) for j in range(n_in)]


def _column(graph: ViewGraph, shown: list[int], width: int, c: int, make) -> list[str]:
    """A column's neurons, with an ellipsis node ("… 776 more") before the last ones; their ids."""
    hidden = width - len(shown)
    out = []
    for position, i in enumerate(shown):
        if hidden and position == len(shown) - KEEP_LAST:
            graph.nodes.append(ViewNode(id=f"more{c}", kind="const", label="…", sub=f"{hidden} more",
                                        group="inputs" if c == 0 else graph.nodes[-1].group,
                                        op=f"{hidden} of {width} neurons not drawn"))
            out.append(f"more{c}")
        graph.nodes.append(make(i))
        out.append(graph.nodes[-1].id)
    return out


def _link_ellipses(graph: ViewGraph, shown, widths, ids) -> None:
    """An ellipsis node stands for neurons wired like the ones drawn: an edge without gradient to
    the next column's last neuron keeps it in its column (the layout orders a column to reduce
    crossings, so it usually ends up next to that neuron, not always between the others)."""
    present = {n.id for n in graph.nodes}
    for c in range(len(ids)):
        node = f"more{c}"
        if node not in present:
            continue
        targets = [ids[c + 1][-1]] if c + 1 < len(ids) else ["loss"]
        for dst in dict.fromkeys(targets):
            graph.edges.append(ViewEdge(id=f"{node}>{dst}", src=node, dst=dst, carries_grad=False))


def _notes(batch: int, shown, widths, share: bool, s: int = 0) -> list[str]:
    """End-caption lines for what the picture leaves out (a narrow layer on a small batch needs
    none: the loss step's caption already names the sample drawn)."""
    notes = []
    if share:
        notes.append(f"Neurons show sample {s + 1} of {batch}; the weight edges show its share δ·a of ∂L/∂W.")
    if any(len(s) < w for s, w in zip(shown, widths)):
        notes.append("Wide layers show their first, last and largest-gradient neurons; … stands for the rest.")
    return notes


def _layer_name(layer: _Layer, k: int) -> str:
    return layer.module or f"{k + 1}"


def _title(layer: _Layer, k: int, names: Notation) -> str:
    """The layer as a caption names it: "layer 2" counted (lecture; a `names:` map may rename it),
    "layer 14" by its module path (torch)."""
    if names.lecture and layer.module and layer.module in names.layer_number:
        shown = names.layer(layer.module)
        return shown if shown != layer.module else f"layer {layer.module}"
    if names.lecture:
        return f"layer {k + 1}"
    return f"layer {_layer_name(layer, k)}"


def _function(layer: _Layer) -> str:
    if not layer.acts:
        return "z (no activation)"
    text = "z"
    for act in layer.acts:
        text = f"{ACTIVATIONS[act['label']][0]}({text})"
    return text


def _sample_note(batch: int, s: int = 0) -> str:
    return f"; sample {s + 1} of {batch}" if batch > 1 else ""


def _sample_index(sample: int, batch: int, rows: list[list[list]]) -> int:
    """The sample to show, checked against the batch and the rows the trace keeps of it."""
    if sample < 0 or sample >= batch:
        raise BprenderError(f"sample {sample + 1} (--sample, or sample: in the preset): the batch has {batch} sample{'s' if batch != 1 else ''}; "
                            f"choose 1 to {batch}")
    kept = min(len(r) for r in rows)
    if sample >= kept:
        raise BprenderError(f"sample {sample + 1} (--sample, or sample: in the preset): the trace keeps only the first {kept} samples of this "
                            f"batch of {batch} for its wide layers; choose 1 to {kept}")
    return sample


def _input_value(layer: _Layer, n_inputs: int) -> dict | None:
    """The first layer's input: the op's constant argument whose last dimension is the input width."""
    for inp in layer.op.get("inputs") or []:
        value = inp.get("value") if "const" in inp else None
        shape = (value or {}).get("shape") or []
        if shape and shape[-1] == n_inputs:
            return value
    raise BprenderError(f"{INTRO}; the input of {_layer_name(layer, 0)} is not a constant tensor "
                        f"(does it require grad?): {ELSEWHERE}")


def _rows(summary: dict | None, width: int, what: str, layer: _Layer, k: int) -> list[list]:
    """A tensor summary's values as rows of `width` (one per sample); all-zero when missing
    (a gradient that never arrived)."""
    if summary is None:
        return [[0.0] * width]
    values = summary.get("values")
    if values is None and summary.get("samples") and all(len(r) == width for r in summary["samples"]):
        return summary["samples"]   # a big batch: the trace keeps its first few samples
    if values is None and summary.get("sample") is not None and len(summary["sample"]) == width:
        return [summary["sample"]]  # an older trace: the first sample only
    if values is None:
        count = 1
        for d in summary.get("shape") or []:
            count *= int(d)
        raise BprenderError(f"{INTRO}, one number per neuron, but a trace keeps the numbers of a batch's first "
                            f"sample only up to 1024 per sample and layer {_layer_name(layer, k)}'s {what} have "
                            f"{count} in all: use --view modules")
    if not values or len(values) % width:
        raise BprenderError(f"{INTRO}; {what} at layer {_layer_name(layer, k)} do not have {width} numbers per "
                            f"sample: {ELSEWHERE}")
    return [values[r:r + width] for r in range(0, len(values), width)]


def _grad_values(param: _Param, uses: dict[str, int]) -> list | None:
    """The parameter's .grad values (this use's share when the layer is used more than once)."""
    summary = param.leaf.get("grad") if uses.get(param.node, 0) <= 1 else param.edge.get("grad")
    return (summary or {}).get("values")


def _weight_grad(param: _Param, uses, deltas, a_prev, n_in, n_out, standard, batch,
                 s: int = 0) -> tuple[list[list], bool]:
    """∂L/∂W[i][j] (i: neuron of this layer, j: of the layer before), from PyTorch's weight
    gradient; for a weight too big to keep its numbers, the sum over the batch of δᵢ · aⱼ when
    the trace keeps every sample, else sample s's term (the flag says it is that share only)."""
    values = _grad_values(param, uses)
    if values is None:
        whole = len(deltas) >= batch and len(a_prev) >= batch
        pairs = list(zip(deltas, a_prev)) if whole else [(deltas[s], a_prev[s])]
        return ([[sum(to_float(d[i]) * to_float(a[j]) for d, a in pairs) for j in range(n_in)]
                 for i in range(n_out)], not whole)
    if standard:
        return [[values[i * n_in + j] for j in range(n_in)] for i in range(n_out)], False
    return [[values[j * n_out + i] for j in range(n_in)] for i in range(n_out)], False


def _scalar(v) -> dict:
    """A 0-d tensor summary holding one number (strings stand for NaN/Inf, as in the trace)."""
    x = to_float(v)
    if isinstance(v, str) or not math.isfinite(x):
        norm = "NaN" if math.isnan(x) else "Infinity"
    else:
        v = float(v)
        norm = abs(v)
    return {"shape": [], "dtype": "float32", "stats": {"min": v, "max": v, "mean": v, "norm": norm}, "values": [v]}


def _sub(i: int) -> str:
    return str(i).translate(SUB)


def _pair(i: int, j: int) -> str:
    return _sub(i) + ("," if i > 9 or j > 9 else "") + _sub(j)


def _factor(x) -> str:
    """A number as the second factor of a product: negatives in brackets."""
    text = num(x)
    return f"({text})" if text.startswith("\u2212") else text


def _argmax(values) -> int:
    best, index = -1.0, 0
    for k, v in enumerate(values):
        x = abs(to_float(v))
        if math.isfinite(x) and x > best:
            best, index = x, k
    return index


def _norm(values: list[list]) -> float:
    return math.sqrt(sum(to_float(v) ** 2 for row in values for v in row))


def _loss_step(graph, tail_text, loss, grads, out_ids, batch, n_outputs, names: Notation, s: int = 0) -> Step:
    outputs = [graph.node(i).label for i in out_ids]
    value = (loss.get("value") or {}).get("values")
    loss_fn = tail_text.replace(" loss", "") if names.lecture else tail_text   # MSE(y, target)
    lines = [f"L = {loss_fn}(y, target)" + (f" = {num(value[0])}" if value else "")
             + "   (backward starts at ∂L/∂L = 1)"]
    shown = ", ".join(f"∂L/∂{name} = {num(g)}" for name, g in list(zip(outputs, grads))[:4])
    lines.append(shown + (f", … ({n_outputs} outputs)" if n_outputs > 4 else "")
                 + "   (the gradient arriving at each output)")
    if batch > 1:
        lines.append(f"Neurons show sample {s + 1} of {batch}; weight gradients add up over all {batch} samples.")
    return Step(nodes=["loss"], edges=[f"out{i[i.index('n') + 1:]}" for i in out_ids], lines=lines, label="loss")


def _derivative_example(layer: _Layer, g: float, d: float, a: float, z: float) -> str:
    """f'(z) at one neuron, from its own activation a and pre-activation z where the rule is
    known (σ' = a(1 − a), tanh' = 1 − a², relu' = [z > 0]), else the number d/g."""
    if len(layer.acts) == 1:
        label = layer.acts[0]["label"]
        if label == "Sigmoid":
            return f"{num(a)}·(1 − {num(a)})"
        if label == "Tanh":
            return f"(1 − {_factor(a)}²)"
        if label == "Relu":
            return f"[{num(z)} > 0]"
    return _factor(d / g)


def _layer_step(k, layer: _Layer, ids, widths, grads, deltas, a_prev, wgrad, bgrad, batch, uses, shown,
                share: bool, names: Notation, n_layers: int, s: int = 0) -> Step:
    """A layer's backward step in three lines: δ at its neurons (with one worked neuron), the
    weight gradient δ·a (one worked weight), the norms. Lecture notation numbers the layer's
    symbols (δ², z², a², W²); PyTorch's names leave them plain and name the parameters."""
    n_in, n_out = widths
    name = layer.title or f"layer {_layer_name(layer, k)}"
    number = names.layer_number.get(layer.module, k + 1)
    up = str(number).translate(SUP) if names.lecture and n_layers > 1 else ""
    down = str(number - 1).translate(SUP) if up and number > 1 else ""   # the layer before: a¹ feeds layer 2
    weight = names.param(layer.weight.leaf["name"]) if not names.lecture or layer.module else "W" + up
    bias = names.param(layer.bias.leaf["name"]) if layer.bias and (not names.lecture or layer.module) else "b" + up
    delta, z, a = "δ" + up, "z" + up, "a" + up
    i = _argmax(deltas)
    g, d = to_float(grads[i]), to_float(deltas[i])
    lines = []
    if layer.acts:
        fnames = [ACTIVATIONS[act["label"]] for act in layer.acts]
        f = fnames[0][0] if len(fnames) == 1 else "f"
        rule = f"{f}'(z) = {fnames[0][1]}" if len(fnames) == 1 and fnames[0][1] else ""
        if g != 0 and math.isfinite(g) and math.isfinite(d):
            a_i = to_float(layer.a["value"]["values"][i]) if (layer.a.get("value") or {}).get("values") else math.nan
            z_i = to_float(layer.z["value"]["values"][i]) if (layer.z.get("value") or {}).get("values") else math.nan
            example = _derivative_example(layer, g, d, a_i, z_i) if math.isfinite(a_i) else _factor(d / g)
            example = f"e.g. {delta}{_sub(i + 1)} = {num(g)} · {example} = {num(d)}"
        else:
            example = f"e.g. {delta}{_sub(i + 1)} = {num(d)}"
        # the rule is a clause of its own (", where σ'(z) = a(1 − a)"): run into the chain it
        # read as δ = a(1 − a); the longest form that fits the band is shown
        lines.append(alternatives([
            f"{name}: {delta} = ∂L/∂{z} = ∂L/∂{a} · {f}'({z}), where {rule};   {example}" if rule else "",
            f"{name}: {delta} = ∂L/∂{a} · {f}'({z}), where {rule};   {example}" if rule else "",
            f"{name}: {delta} = ∂L/∂{z} = ∂L/∂{a} · {f}'({z});   {example}",
            f"{name}: {delta} = ∂L/∂{a} · {f}'({z});   {example}"]))
    else:
        lines.append(f"{name}: {delta} = ∂L/∂{z} = ∂L/∂{a} (no activation);   e.g. {delta}{_sub(i + 1)} = {num(d)}")
    j = _argmax(a_prev)
    a_name = "x" if k == 0 else "a" + down
    w_ij = f"∂L/∂{weight}{_pair(i + 1, j + 1)}"
    if share:
        lines.append(f"∂L/∂{weight}[i,j] = Σ over the {batch} samples of {delta}[i] · {a_name}[j]; edges: sample {s + 1}'s "
                     f"term, e.g. {num(deltas[i])} · {_factor(a_prev[j])} = {num(wgrad[i][j])}")
    elif batch > 1:
        lines.append(f"∂L/∂{weight}[i,j] = Σ over the {batch} samples of {delta}[i] · {a_name}[j]   "
                     f"e.g. {w_ij} = {num(wgrad[i][j])}")
    else:
        lines.append(f"∂L/∂{weight}[i,j] = {delta}[i] · {a_name}[j]   e.g. {w_ij} = {num(deltas[i])} · "
                     f"{_factor(a_prev[j])} = {num(wgrad[i][j])}")
    norms = f"‖∂L/∂{weight}‖ = {num(_norm(wgrad), 3)}"
    if bgrad is not None:
        norms += f", ‖∂L/∂{bias}‖ = {num(_norm([bgrad]), 3)}  (∂L/∂{bias} = {delta if batch == 1 else 'Σ ' + delta})"
    if uses.get(layer.weight.node, 0) > 1:
        norms += f"; {weight} is used {uses[layer.weight.node]} times: its .grad adds the uses"
    lines.append(norms)
    nodes = ids[k + 1]
    edges = [f"w{k}:{i}:{j}" for i in shown[k + 1] for j in shown[k]]
    return Step(nodes=list(nodes), edges=edges, lines=lines[:MAX_LINES], label=name, ops=[layer.op["id"]])
