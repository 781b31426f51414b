"""The names a viewer reads. Lecture notation by default: a model's layers (its Linear and Conv
modules, counted in the order the forward pass calls them) have parameters W¹, b¹, W², b²...,
each call's output is z¹ = W¹x + b¹ and the activation after it a¹ = σ(z¹) (as in Nielsen's
"Neural Networks and Deep Learning"), LayerNorm's parameters are γ and β, attention's projections
W_Q, W_K, W_V, W_O and their outputs Q, K, V; ops are named by what they mean (σ, ReLU, max-pool,
"+ residual"). `--names torch` (preset `notation: torch`) shows PyTorch's own names instead
("0.weight", Addmm), and a preset's `names:` map renames anything on top of either.

Everything here is read from what every trace keeps (parameter names, module paths and classes,
op labels, sequence numbers), at scene-build time: a saved trace renders with either naming.
Plain data only (no torch)."""
from __future__ import annotations

import bisect
import difflib
import math
import re

from .errors import BprenderError, PresetError

STYLES = ("lecture", "torch")
SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
PLAIN_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉", "01234567890123456789")

# the ops that compute a layer's z (Linear: Addmm, or Mm/Mv without a bias; Conv: Convolution)
LAYER_OPS = {"Addmm", "Mm", "Mv", "Convolution", "Linear"}
LAYER_CLASS = re.compile(r"^(Lazy)?(Linear|Bilinear|Conv(Transpose)?[123]d)$")
NORM_CLASS = re.compile(r"Norm")
# elementwise activations: their output is a¹ after z¹
ACTIVATIONS = {"Sigmoid", "Tanh", "Relu", "LeakyRelu", "Gelu", "Elu", "Celu", "Selu", "Softplus", "Silu",
               "Mish", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid"}
# attention projections named by their role (module name -> letter), when q, k and v are siblings
ROLES = {"q": "Q", "k": "K", "v": "V", "query": "Q", "key": "K", "value": "V", "q_proj": "Q", "k_proj": "K",
         "v_proj": "V", "out": "O", "o": "O", "out_proj": "O", "o_proj": "O"}

# op label -> what it means, for a box's title (the bundled font has no superscript T: the
# lecture's column-vector Wx + b, not PyTorch's row-major x·Wᵀ + b)
OP_MEANING = {
    "Addmm": "Wx + b", "Linear": "Wx + b", "Mm": "matmul", "Bmm": "matmul", "Mv": "matmul", "Dot": "dot",
    "Convolution": "W ⋆ x + b", "Sigmoid": "σ", "Relu": "ReLU", "Tanh": "tanh", "Gelu": "GELU",
    "LeakyRelu": "leaky ReLU", "Softplus": "softplus", "Silu": "SiLU", "Exp": "exp", "Log": "log",
    "MaxPool2DWithIndices": "max-pool", "MaxPool1DWithIndices": "max-pool", "AvgPool2D": "avg-pool",
    "AdaptiveAvgPool2D": "avg-pool", "Softmax": "softmax", "LogSoftmax": "log-softmax",
    "NllLoss": "NLL loss", "MseLoss": "MSE loss", "BinaryCrossEntropy": "BCE loss", "L1Loss": "L1 loss",
    "NativeLayerNorm": "LayerNorm", "NativeBatchNorm": "BatchNorm", "Embedding": "embedding",
    "View": "reshape", "UnsafeView": "reshape", "Reshape": "reshape", "T": "transpose",
    "Transpose": "transpose", "Permute": "permute", "Expand": "broadcast", "Add": "+", "Sub": "−",
    "Mul": "×", "Div": "÷", "Neg": "negate", "Pow": "power", "Sum": "Σ", "Mean": "mean", "Sqrt": "√",
    "Abs": "|·|", "Reciprocal": "1/·", "Clone": "copy",
}
# op label -> a word to number (matmul₁, matmul₂) where a caption needs a name and no formula fits
OP_WORD = {"Mm": "matmul", "Bmm": "matmul", "Mv": "matmul", "Softmax": "softmax", "LogSoftmax": "logsoftmax",
           "MaxPool2DWithIndices": "maxpool", "NativeLayerNorm": "LN", "Convolution": "conv", "Addmm": "linear",
           "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Sum": "sum", "Mean": "mean"}
# an op's symbol -> a word, where a label is the symbol alone ("step 2: × (multiply)" in a menu)
SYMBOL_WORD = {"+": "add", "−": "subtract", "×": "multiply", "÷": "divide", "1/·": "reciprocal",
               "Σ": "sum", "√": "square root", "|·|": "absolute value", "⋆": "convolution"}
# a module class -> what it means (the modules view's title for a numbered activation module)
CLASS_MEANING = {"Sigmoid": "σ", "ReLU": "ReLU", "Tanh": "tanh", "GELU": "GELU", "LeakyReLU": "leaky ReLU",
                 "Softmax": "softmax", "Flatten": "flatten", "MaxPool2d": "max-pool", "AvgPool2d": "avg-pool",
                 "Dropout": "dropout", "Identity": "identity", "SiLU": "SiLU", "BatchNorm1d": "BatchNorm",
                 "BatchNorm2d": "BatchNorm", "LayerNorm": "LayerNorm", "Softplus": "softplus"}


def sup(k: int) -> str:
    return str(k).translate(SUP)


def plain(name: str) -> str:
    """A name as typed on a keyboard: W¹ is W1, x₂ is x2 (a `names:` key may be either)."""
    return name.translate(PLAIN_DIGITS)


class Notation:
    """Display names for one trace. style "lecture" or "torch"; renames: {name: display name},
    a name being PyTorch's (0.weight, fc, Addmm) or the lecture's (W¹, layer 1, z¹)."""

    def __init__(self, trace: dict, style: str = "lecture", renames: dict | None = None):
        if style not in STYLES:
            raise BprenderError(f"--names: no naming called '{style}' (namings: {', '.join(STYLES)})")
        self.style = style
        self.lecture = style == "lecture"
        nodes = trace.get("nodes") or []
        self.classes = dict(trace.get("modules") or {})
        self._layers, self._roles = _layers(trace)
        numbered = [p for p in self._layers if p not in self._roles and _stacked(p, self.classes)]
        self.layer_number = {p: k for k, p in enumerate(numbered, 1)}
        self._one_layer = len(numbered) == 1
        self._norms = [p for p, c in self.classes.items() if NORM_CLASS.search(c)]
        first = first_calls(nodes)
        self._norms.sort(key=lambda p: first.get(p, math.inf))
        # the parameters: those with gradient (leaves) and the frozen ones (constants of role frozen)
        params = [leaf["name"] for leaf in trace.get("leaves") or []] + \
            [c["name"] for c in trace.get("inputs") or [] if c.get("role") == "frozen"]
        self._params = {name: self._param(name) for name in params}
        self.formulas: dict[str, str] = {}   # node id -> what its symbol stands for (z¹ -> W¹x + b¹)
        self.renames: dict[str, str] = {}
        self._top_layers: list[int] | None = None
        self._symbols = _symbols(trace, self) if self.lecture else {}
        if renames:
            self._check(renames, trace)
            self.formulas = {}
            self._symbols = _symbols(trace, self) if self.lecture else {}   # formulas in the new names

    # --- parameters and modules ----------------------------------------------------------

    def _param(self, name: str) -> str:
        if not self.lecture:
            return name
        path, _, attr = name.rpartition(".")
        letter = {"weight": "W", "bias": "b"}.get(attr)
        if path in self._roles and letter:
            return f"{letter}_{self._roles[path]}"
        if path in self.layer_number and letter:
            return letter + ("" if self._one_layer else sup(self.layer_number[path]))
        if path in self._norms and attr in ("weight", "bias"):
            greek = "γ" if attr == "weight" else "β"
            return greek + ("" if len(self._norms) == 1 else sup(self._norms.index(path) + 1))
        return name

    def param(self, name: str) -> str:
        """A parameter's name: W¹ for "0.weight" (the lecture), "0.weight" (torch)."""
        shown = self._params.get(name) or self._param(name)
        return self._renamed(name, shown)

    def layer(self, path: str) -> str:
        """A module as a layer of the model: "layer 1" for the first Linear/Conv layer (lecture),
        its path otherwise; "" stays "" (no module)."""
        if not path:
            return path
        shown = path
        if self.lecture and path in self.layer_number and _numeric(path) and not self._one_layer:
            shown = f"layer {self.layer_number[path]}"
        return self._renamed(path, shown)

    def module(self, path: str) -> str:
        """A module's title (modules view): a numbered layer is "layer k", a numbered activation
        module (nn.Sequential's "1": Sigmoid) is what it computes (σ); a named one its path."""
        if self.lecture and path and path not in self.layer_number and _numeric(path) \
                and self.classes.get(path) in CLASS_MEANING:
            return self._renamed(path, CLASS_MEANING[self.classes[path]])
        return self.layer(path)

    def where(self, path: str) -> str:
        """Where an op sits, for its box and tooltip: its layer ("layer 1"), also for the numbered
        activation module after a layer; else the module's path."""
        if self.lecture and _numeric(path.split(".")[0]) and path.split(".")[0] == path:
            return self.group(path)
        return self.layer(path)

    def formula(self, node_id: str) -> str:
        """What a node's lecture symbol stands for: W¹x + b¹ for z¹, σ(z¹) for a¹; "" if none."""
        return self.formulas.get(node_id, "")

    def group(self, path: str) -> str:
        """The legend group of a top-level module: a numbered activation module belongs to the
        layer before it (nn.Sequential(Linear, Sigmoid, Linear, ...): groups layer 1, layer 2...)."""
        top = path.split(".")[0]
        if self.lecture and _numeric(top) and top not in self.layer_number:
            if self._top_layers is None:   # the numbered top-level layers, by index (once)
                self._top_layers = sorted(int(p) for p in self.layer_number if p.isdigit())
            k = bisect.bisect_left(self._top_layers, int(top))
            if k:
                return self.layer(str(self._top_layers[k - 1]))
        return self.layer(top)

    # --- ops --------------------------------------------------------------------------------

    def symbol(self, node_id: str) -> str:
        """The lecture's symbol for an op's output (z¹, a¹, Q), "" when it has none."""
        symbol = self._symbols.get(node_id, "")
        return self._renamed(symbol, symbol) if symbol else ""

    def op(self, label: str) -> str:
        """What an op computes, as its box says it: σ for Sigmoid (lecture), Sigmoid (torch)."""
        shown = OP_MEANING.get(label, label) if self.lecture else label
        return self._renamed(label, shown)

    def word(self, label: str) -> str:
        """A word to number where a caption must name an op that has no symbol or formula."""
        return OP_WORD.get(label, _snake(label)) if self.lecture else label

    def const(self, name: str) -> str:
        """A named constant: a python model's `input` is x in the lecture, a frozen parameter is
        named as a parameter (W¹ of a frozen first layer)."""
        if name in self._params:
            return self.param(name)
        shown = "x" if self.lecture and name == "input" else name
        return self._renamed(name, shown)

    # --- renames ------------------------------------------------------------------------------

    def _renamed(self, original: str, shown: str) -> str:
        for key in (original, shown):
            if key in self.renames:
                return self.renames[key]
        return shown

    def known(self, trace: dict) -> list[str]:
        """Every name a `names:` key may give, PyTorch's and the lecture's."""
        out = []
        for leaf in trace.get("leaves") or []:
            out += [leaf["name"], self._params.get(leaf["name"], leaf["name"])]
        for path in self.classes:
            out += [path, self.layer(path), self.module(path)]
        for node in trace.get("nodes") or []:
            if node["kind"] != "leaf":
                out.append(node["label"])
                if self.lecture:
                    out.append(OP_MEANING.get(node["label"], node["label"]))
            if node.get("module"):
                out.append(node["module"])
        out += list(self._symbols.values())
        out += [c["name"] for c in trace.get("inputs") or []]
        if any(c["name"] == "input" for c in trace.get("inputs") or []) and self.lecture:
            out.append("x")
        return list(dict.fromkeys(n for n in out if n))

    def _check(self, renames: dict, trace: dict) -> None:
        known = self.known(trace)
        by_plain = {plain(n): n for n in known}
        for key, value in renames.items():
            name = key if key in known else by_plain.get(plain(str(key)))
            if name is None:
                close = difflib.get_close_matches(plain(str(key)), list(by_plain), n=1, cutoff=0.5)
                hint = f"did you mean '{by_plain[close[0]]}'? " if close else ""
                raise PresetError(f"nothing in this model is called '{key}'", key=f"names.{key}",
                                  hint=f"{hint}names: {', '.join(known[:12])}{', …' if len(known) > 12 else ''}")
            self.renames[name] = str(value)


def spelled(label: str) -> str:
    """A label that is an op's bare symbol, with its word: "×" -> "× (multiply)", "(·)³" ->
    "(·)³ (power)"; any other label ("ReLU", "g₂", "σ") is itself."""
    word = SYMBOL_WORD.get(label, "power" if label.startswith("(·)") else "")
    return f"{label} ({word})" if word else label


def notation_for(trace: dict, settings: dict) -> Notation:
    """The naming a scene's settings ask for ({"names": style, "renames": {...}})."""
    return Notation(trace, settings.get("names") or "lecture", settings.get("renames") or None)


# --- reading the model's layers out of the trace --------------------------------------------

CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}


def _stacked(path: str, classes: dict) -> bool:
    """A layer of the model's own stack, numbered: one whose every enclosing module is a plain
    container (nn.Sequential, ...). A Linear inside a block of its own (a TransformerEncoderLayer's
    linear1) is part of that block, not "layer 13" of the model, and keeps its own name."""
    parts = path.split(".")
    return all(classes.get(".".join(parts[:k]), "Sequential") in CONTAINERS for k in range(1, len(parts)))


def _numeric(path: str) -> bool:
    return path.rpartition(".")[2].isdigit()


def _snake(label: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", label).lower()


def first_calls(nodes: list[dict], order: dict | None = None) -> dict[str, float]:
    """Module path -> when the forward pass first ran one of its ops: the smallest sequence number
    (a frozen op has none: `order` places it just before the first op using its value). One pass."""
    order = order or {}
    first: dict[str, float] = {}
    for n in nodes:
        at = order.get(n["id"], n.get("seq"))
        if at is not None and n.get("module") is not None:
            first[n["module"]] = min(first.get(n["module"], math.inf), float(at))
    return first


def forward_order(trace: dict) -> dict[str, float]:
    """Node id -> a number that sorts the forward pass: the sequence number of a graph op; a
    frozen op (no autograd node, no number) just before the earliest op that uses its value."""
    nodes = trace.get("nodes") or []
    order = {n["id"]: float(n["seq"]) for n in nodes if n.get("seq") is not None}
    users = [(inp["from"], n["id"]) for n in nodes for inp in n.get("inputs") or [] if inp.get("from")]
    for _ in range(len(nodes)):   # a frozen chain is placed back from its user, one op per round
        changed = False
        for src, user in users:
            if src not in order or order[src] > order.get(user, float("inf")) - 1e-3:
                at = order.get(user, float("inf")) - 1e-3
                if at < order.get(src, float("inf")):
                    order[src], changed = at, True
        if not changed:
            break
    return order


def _layers(trace: dict) -> tuple[list[str], dict[str, str]]:
    """The Linear/Conv modules in forward order, and the attention projections among them
    (path -> role letter). A module is a layer when its class says so (python models keep their
    classes), else when it has a weight and computes a layer op."""
    classes = trace.get("modules") or {}
    nodes = trace.get("nodes") or []
    weights = {p["name"].rpartition(".")[0] for p in (trace.get("leaves") or []) + [
               c for c in trace.get("inputs") or [] if c.get("role") == "frozen"]
               if p["name"].endswith(".weight") and len(p.get("shape") or []) >= 2}   # frozen layers count too
    computes = {n.get("module") for n in nodes if n["label"] in LAYER_OPS and n["kind"] in ("op", "loss", "frozen")}
    paths = [p for p in weights if p and p in computes and (not classes or LAYER_CLASS.match(classes.get(p, "")))]
    order = forward_order(trace)
    first = first_calls([n for n in nodes if n["label"] in LAYER_OPS], order)
    paths.sort(key=lambda p: (first.get(p, math.inf), p))
    children: dict[str, set[str]] = {}
    for p in paths:
        parent, _, name = p.rpartition(".")
        children.setdefault(parent, set()).add(name)
    roles = {}
    for p in paths:
        parent, _, name = p.rpartition(".")
        if name in ROLES and len({ROLES[s] for s in children[parent] if s in ROLES} & {"Q", "K", "V"}) >= 2:
            roles[p] = ROLES[name]
    return paths, roles


def _symbols(trace: dict, notation: Notation) -> dict[str, str]:
    """Trace node id -> z¹ for each layer call (in forward order), a¹ for the activation right
    after it, Q/K/V for the attention projections' outputs."""
    nodes = {n["id"]: n for n in trace.get("nodes") or []}
    edges = {e["id"]: e for e in trace.get("edges") or []}
    consumers: dict[str, list[str]] = {}
    for e in trace.get("edges") or []:
        consumers.setdefault(e["from"], []).append(e["to"])
    for n in nodes.values():   # a frozen op's value reaches its users as a constant "from" it
        for inp in n.get("inputs") or []:
            if inp.get("from"):
                consumers.setdefault(inp["from"], []).append(n["id"])
    order = forward_order(trace)
    calls = sorted((n for n in nodes.values() if n["kind"] in ("op", "loss", "frozen") and n["label"] in LAYER_OPS
                    and n.get("module") in notation._layers and not n.get("name")),
                   key=lambda n: order.get(n["id"], 0.0))
    out = {}
    numbered = [n for n in calls if n["module"] not in notation._roles]
    for k, n in enumerate(numbered, 1):
        out[n["id"]] = "z" + ("" if len(numbered) == 1 else sup(k))
        notation.formulas[n["id"]] = _affine(n, nodes, edges, out, notation)
        after = consumers.get(n["id"], [])
        nxt = nodes.get(after[0]) if len(after) == 1 else None
        if nxt is not None and nxt["label"] in ACTIVATIONS and nxt["kind"] in ("op", "frozen") and not nxt.get("name"):
            out[nxt["id"]] = "a" + ("" if len(numbered) == 1 else sup(k))
            z = notation._renamed(out[n["id"]], out[n["id"]])
            notation.formulas[nxt["id"]] = f"{notation.op(nxt['label'])}({z})"
    for n in calls:
        role = notation._roles.get(n["module"])
        if role:
            notation.formulas[n["id"]] = _affine(n, nodes, edges, out, notation)
        if role in ("Q", "K", "V"):
            out[n["id"]] = role
    return out


def _affine(node: dict, nodes: dict, edges: dict, named: dict[str, str], notation: "Notation") -> str:
    """A layer call's formula in its own names: W²a¹ + b² (W¹ ⋆ x + b¹ for a convolution); its
    input is named where it has a name (the activation before it, the model's input x), else (·)."""
    module = node.get("module") or ""
    weight = notation.param(f"{module}.weight")
    bias = f"{module}.bias"
    has_bias = bias in notation._params
    data = []
    for inp in node.get("inputs") or []:
        if "edge" in inp:
            src = nodes.get(edges.get(inp["edge"], {}).get("from"))
            while src is not None and src["label"] in VIEW_ONLY and src["kind"] != "leaf":
                ins = src.get("inputs") or []
                src = nodes.get(edges.get(ins[0].get("edge"), {}).get("from")) if len(ins) == 1 and "edge" in ins[0] \
                    else None
            if src is not None and src["kind"] != "leaf":
                data.append(notation._renamed(named[src["id"]], named[src["id"]]) if src["id"] in named else "(·)")
        elif inp.get("from"):   # a frozen op's value, or the graph value a detached branch left
            data.append(notation._renamed(named[inp["from"]], named[inp["from"]]) if inp["from"] in named else "(·)")
        elif inp.get("const") and inp["const"] not in notation._params and (inp.get("value") or {}).get("shape"):
            data.append(notation.const(inp["const"]) if notation.lecture else inp["const"])
    x = data[0] if len(data) == 1 else "(·)"
    times = f" ⋆ {x}" if node["label"] == "Convolution" else x
    return f"{weight}{times}" + (f" + {notation.param(bias)}" if has_bias else "")


VIEW_ONLY = {"View", "T", "Expand", "Transpose", "UnsafeView", "Reshape", "Permute", "Unsqueeze", "Squeeze", "Alias"}


def residual_adds(trace: dict) -> set[str]:
    """Add nodes that add a tensor to something computed from that same tensor (x + f(x)): the
    residual connections. For each Add, a walk back from one operand looks for the other; it stops
    at ops older than the operand sought (an op's inputs are always older than it), so a block's
    walk stays inside the block however big the model."""
    nodes = {n["id"]: n for n in trace.get("nodes") or []}
    producers: dict[str, str] = {e["id"]: e["from"] for e in trace.get("edges") or []}

    def source(inp: dict) -> str | None:
        if "edge" in inp:
            return producers.get(inp["edge"])
        return f"c:{inp['const']}" if inp.get("const") else inp.get("from")

    def seq(node_id: str) -> float:
        value = (nodes.get(node_id) or {}).get("seq")
        return float(value) if value is not None else -1.0   # leaves, constants: before everything

    def computed_from(later: str, sought: str) -> bool:
        floor = seq(sought) if sought in nodes else -math.inf
        stack, seen = [later], {later}
        while stack:
            for inp in (nodes.get(stack.pop()) or {}).get("inputs") or []:
                s = source(inp)
                if s == sought:
                    return True
                if s and s in nodes and s not in seen and (nodes[s].get("seq") is None or seq(s) >= floor):
                    seen.add(s)
                    stack.append(s)
        return False

    out = set()
    for n in nodes.values():
        shape = (n.get("value") or {}).get("shape") or []
        if n["label"] != "Add" or n["kind"] not in ("op", "loss") or len(shape) < 2:
            continue  # a scalar formula's a + f(a) (micrograd's z = 2x + 2 + x) is no residual block
        srcs = [source(i) for i in n.get("inputs") or []]
        if len(srcs) == 2 and all(srcs):
            a, b = srcs
            if (b in nodes and computed_from(b, a)) or (a in nodes and computed_from(a, b)):
                out.add(n["id"])
    return out
