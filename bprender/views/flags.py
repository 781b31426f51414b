"""Vanishing and exploding gradients, flagged per layer, for every view that shows the layer.

A *layer* is what the gradient-norm chart shows as one bar (layers.layer_norms): a module with
parameters (all its parameters together), or a parameter that belongs to no module. Its norm is
the norm of all its parameters' gradients together.

The rule (ISSUE 4: "below 1e-4 or above 1e3 times the largest layer norm"):

- exploding: the layer's norm is above EXPLODING (1e3) times the norm of the *reference
  layer*, the layer nearest the loss (the first whose parameter gradient the engine computes):
  gradients explode on their way back from the loss, so that is where they are measured from
  (no layer can be 1e3 times the largest, so "largest" cannot be the reference here). An
  infinite norm is exploding too.
- vanishing: the layer's norm is below VANISHING (1e-4) times the largest norm among the layers
  that are not exploding (so when nothing explodes: the largest layer norm, as the issue says;
  and a model whose first layers explode does not also get its healthy last layers called
  vanishing).

Views call `layer_flags(trace)` once, then `apply_flags(graph, flags, ...)`: the flagged layers'
nodes get `flag = "vanishing" | "exploding"` and `graph.notes` gets one caption line per kind
naming the layers. Plain data only (no torch).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..layers import layer_norms
from ..fmt import num, to_float
from .graph import ViewGraph

VANISHING = 1e-4
EXPLODING = 1e3
MAX_NAMED = 3  # layers named in one note; more are counted


@dataclass
class LayerFlag:
    layer: str              # the layer's name: module path, or the parameter's name
    kind: str               # "vanishing" | "exploding"
    norm: float             # the layer's gradient norm
    ratio: float            # norm / the reference norm
    reference: str          # the layer compared with
    type: str = ""          # module type when it can be told from the trace ("Linear", ...)
    leaf_nodes: list[str] = field(default_factory=list)  # its parameters' trace node ids


def layer_flags(trace: dict) -> list[LayerFlag]:
    """The flagged layers, in the chart's order (the order the leaves are listed)."""
    # layers whose parameters are in the graph (an unused parameter has no gradient, not a small one)
    layers = [(name, norm, ids) for name, norm, ids in layer_norms(trace) if ids and not math.isnan(norm)]
    if len(layers) < 2:
        return []
    fired = {s["node"]: k for k, s in enumerate(trace.get("backward", []))}
    # the reference for exploding: the layer whose parameters get their gradient first
    nearest = min(layers, key=lambda layer: min((fired.get(i, math.inf) for i in layer[2]), default=math.inf))
    types = layer_types(trace)
    flags: list[LayerFlag] = []
    exploding = set()
    ref_name, ref_norm = nearest[0], nearest[1]
    if 0 < ref_norm < math.inf:
        for name, norm, ids in layers:
            if name != ref_name and (norm > EXPLODING * ref_norm):
                exploding.add(name)
                flags.append(LayerFlag(name, "exploding", norm, norm / ref_norm, ref_name,
                                       types.get(name, ""), list(ids)))
    calm = [(name, norm) for name, norm, _ in layers if name not in exploding and math.isfinite(norm)]
    if calm:
        top_name, top_norm = max(calm, key=lambda item: item[1])
        if top_norm > 0:
            for name, norm, ids in layers:
                if name not in exploding and norm < VANISHING * top_norm:
                    flags.append(LayerFlag(name, "vanishing", norm, norm / top_norm, top_name,
                                           types.get(name, ""), list(ids)))
    order = {name: k for k, (name, _, _) in enumerate(layers)}
    flags.sort(key=lambda f: order[f.layer])
    return flags


def flag_notes(flags: list[LayerFlag], names=None) -> list[str]:
    """One caption line per kind, e.g. "Vanishing gradient: layer 1 (Linear) gets 3.1e−6 of
    the gradient norm of layer 8, the largest" (names: a Notation; None: module paths)."""
    flags = [_renamed(f, names) for f in flags] if names is not None else flags
    notes = []
    for kind in ("vanishing", "exploding"):
        these = [f for f in flags if f.kind == kind]
        if not these:
            continue
        ref = these[0].reference
        if kind == "vanishing":
            tail = f"of the gradient norm of layer {ref}, the largest"
        else:
            tail = f"times the gradient norm of layer {ref}, the one nearest the loss"
        shown = these[:MAX_NAMED]
        types = {f.type for f in shown}
        typed = len(types) == 1 and "" not in types
        names = [f.layer if typed else _layer_name(f) for f in shown]
        if len(these) > MAX_NAMED:
            names.append(f"{len(these) - MAX_NAMED} more")
        named = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        if typed:
            named += f" ({types.pop()})"
        ratios = ", ".join(num(f.ratio, 2) for f in shown) + (", …" if len(these) > MAX_NAMED else "")
        layers, verb = ("layer", "gets") if len(these) == 1 else ("layers", "get")
        notes.append(f"{kind.capitalize()} gradient: {layers} {named} {verb} {ratios} {tail}")
    return notes


def layer_title(name: str, names) -> str:
    """A chart row's or a flag's layer as the notation names it: a module path as its layer
    ("layer 1"), a parameter outside any module by its name."""
    if names is None:
        return name
    return names.param(name) if name in names._params else names.layer(name)


def _renamed(f: LayerFlag, names) -> LayerFlag:
    """The flag with its layers named for the caption ("layer 1" is written "1" after the word)."""
    def short(name: str) -> str:
        title = layer_title(name, names)
        return title[len("layer "):] if title.startswith("layer ") else title
    return dataclasses.replace(f, layer=short(f.layer), reference=short(f.reference))


def _layer_name(f: LayerFlag) -> str:
    return f"{f.layer} ({f.type})" if f.type else f.layer


def apply_flags(graph: ViewGraph, flags: list[LayerFlag], nodes_of_layer: dict[str, list[str]] | None = None,
                names=None) -> None:
    """Mark the flagged layers' nodes and add the caption notes. A layer's nodes are its
    parameters' trace node ids (when the view shows them) plus nodes_of_layer[layer]."""
    if not flags:
        return
    by_id = {n.id: n for n in graph.nodes}
    for f in flags:
        for node_id in list(f.leaf_nodes) + list((nodes_of_layer or {}).get(f.layer, [])):
            node = by_id.get(node_id)
            if node is not None:
                node.flag = f.kind
    graph.notes.extend(flag_notes(flags, names))


# --- what kind of module a path is, told from its ops and parameter shapes ------------------

# op label (autograd name without "Backward0") -> the module that typically makes it
MODULE_OF_OP = {
    "Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Gelu": "GELU", "Silu": "SiLU", "Elu": "ELU",
    "LeakyRelu": "LeakyReLU", "Softmax": "Softmax", "LogSoftmax": "LogSoftmax", "Softplus": "Softplus",
    "Hardtanh": "Hardtanh", "NativeDropout": "Dropout", "MaxPool2DWithIndices": "MaxPool2d",
    "AvgPool2D": "AvgPool2d", "AdaptiveAvgPool2D": "AdaptiveAvgPool2d", "MaxPool1DWithIndices": "MaxPool1d",
}
MATMUL = {"Addmm", "Mm", "Matmul", "Bmm", "Linear"}
NORMS = {"NativeLayerNorm": "LayerNorm", "NativeBatchNorm": "BatchNorm", "CudnnBatchNorm": "BatchNorm",
         "NativeGroupNorm": "GroupNorm"}


def module_type(op_nodes: list[dict], params: list[tuple[str, list[int]]]) -> tuple[str, str]:
    """(type name, short description) of a module from its trace op nodes and its parameters
    (name, shape), e.g. ("Linear", "Linear 4→3"); ("", "") when nothing fits."""
    labels = [n["label"] for n in op_nodes]
    weight = next((shape for name, shape in params if name.rpartition(".")[2] == "weight"), None)
    if any(label.startswith("Convolution") for label in labels) and weight and len(weight) >= 3:
        dims = len(weight) - 2
        kernel = "×".join(str(k) for k in weight[2:])
        return f"Conv{dims}d", f"Conv{dims}d {weight[1]}→{weight[0]} {kernel}"
    if any(label in MATMUL for label in labels) and weight and len(weight) == 2:
        return "Linear", f"Linear {weight[1]}→{weight[0]}"
    for label in labels:
        if label in NORMS:
            name = NORMS[label]
            return name, f"{name} {weight[0]}" if weight else name
    if "Embedding" in labels and weight and len(weight) == 2:
        return "Embedding", f"Embedding {weight[0]}×{weight[1]}"
    if not params:
        kinds = {MODULE_OF_OP[label] for label in labels if label in MODULE_OF_OP}
        if len(kinds) == 1:
            name = kinds.pop()
            return name, name
        if labels == ["Mul"] and _looks_like_dropout(op_nodes[0]):
            return "Dropout", "Dropout"
    return "", ""


def _looks_like_dropout(node: dict) -> bool:
    """Dropout in training mode is `x * mask` with mask values 0 and 1/(1 − p) (> 1)."""
    for inp in node.get("inputs") or []:
        summary = inp.get("value") or {} if "const" in inp else {}
        stats = summary.get("stats")
        if not stats or stats.get("min") is None or not summary.get("shape"):
            continue
        low, high = to_float(stats["min"]), to_float(stats["max"])
        if high > 1 and low in (0.0, high):
            values = summary.get("values")
            if values is None or {to_float(v) for v in values} <= {0.0, high}:
                return True
    return False


def layer_types(trace: dict) -> dict[str, str]:
    """Module path -> type name, for the module paths that own parameters."""
    ops: dict[str, list[dict]] = {}
    for n in trace["nodes"]:
        if n["kind"] != "leaf" and n.get("module"):
            ops.setdefault(n["module"], []).append(n)
    params: dict[str, list] = {}
    nodes = {n["id"]: n for n in trace["nodes"]}
    for leaf in trace.get("leaves", []):
        module = (nodes.get(leaf.get("node")) or {}).get("module") or ""
        if module:
            params.setdefault(module, []).append((leaf["name"], leaf.get("shape") or []))
    return {path: module_type(ops.get(path, []), ps)[0] for path, ps in params.items()}


def summary_norm(summary: dict | None) -> float | None:
    """The norm of a tensor summary, None when there is none."""
    if not summary or not summary.get("stats"):
        return None
    return to_float(summary["stats"]["norm"])
