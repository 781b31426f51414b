"""A backward step's caption: which rule each op kind gets, and the lines for the step."""
from __future__ import annotations

import math

from ..fmt import MINUS, num, shape_text, size_text, summary_scalar, summary_text
from . import elementwise, nn
from .rules import Ctx
from .scalar import ELEMENTWISE, local_derivative
from .symbols import Symbols, d, op_kind
from .tensors import Folds, Tensor, alternatives, idx, product, terms_sum

FACTORED = {"Sigmoid", "Tanh", "Relu", "Exp", "Log", "Sqrt"}

# op label -> rule(ctx, operand position, gradient sent) -> candidate lines
RULES = {
    "MseLoss": nn.mse_loss, "NllLoss": nn.nll_loss, "BinaryCrossEntropy": nn.bce_loss,
    "LogSoftmax": nn.log_softmax, "Softmax": nn.softmax, "NativeLayerNorm": nn.layer_norm,
    "Convolution": nn.convolution, "MaxPool2DWithIndices": nn.max_pool,
    "Sum": elementwise.reduction, "Mean": elementwise.reduction,
    **{label: nn.matmul for label in nn.MATMUL},
    **{label: elementwise.view_op for label in elementwise.VIEW_RULES},
}


def _folds(symbols: Symbols) -> Folds:
    if not hasattr(symbols, "_folds"):
        symbols._folds = Folds(symbols.trace, symbols.producer_of_edge)
    return symbols._folds


def _scalar_line(symbols: Symbols, node_id: str, g: float | None, own: str, producer: str, slot: int,
                 grad: dict | None) -> str:
    """The scalar chain rule with one number per factor: ∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6."""
    head = f"{d(symbols.of(producer))} = {own} · {elementwise.factor_text(local_derivative(symbols, node_id, slot))}"
    sent = summary_scalar(grad)
    if g is not None and sent is not None and g != 0 and math.isfinite(g) and math.isfinite(sent):
        return f"{head} = {num(g)} · {num(sent / g)} = {num(sent)}"
    return f"{head} = {summary_text(grad)}"


def edge_line(symbols: Symbols, node_id: str, arriving: dict | None, producer: str, slot: int,
              grad: dict | None):
    """The caption slot for one edge a node sends gradient along: its local rule with the
    numbers, as one line or alternatives (some of several "\n"-separated lines)."""
    node = symbols.graph.node(node_id)
    own = "∂L/∂L" if node.kind == "loss" else d(symbols.of(node_id))
    g = summary_scalar(arriving)
    sent = Tensor(grad)
    kind = op_kind(node)
    if kind in ELEMENTWISE | {"Sum", "Mean"} and g is not None and sent.scalar() is not None:
        line = _scalar_line(symbols, node_id, g, own, producer, slot, grad)
        if kind in FACTORED:  # σ(1 − σ) and friends: show the factors themselves
            ctx = Ctx(symbols, _folds(symbols), node_id, arriving)
            factors = elementwise._factors(ctx, slot, (0,) * len(ctx.out.shape))
            if factors is not None:
                head = line[:line.index(" = ", line.index(" · "))]
                line = alternatives([f"{head} = {product(g, *factors)} = {num(sent.scalar())}", line])
        return line
    ctx = Ctx(symbols, _folds(symbols), node_id, arriving)
    if slot >= len(ctx.inputs) or not grad:
        return _scalar_line(symbols, node_id, g, own, producer, slot, grad)
    try:
        if kind in RULES:
            return alternatives(RULES[kind](ctx, slot, sent))
        if kind in ELEMENTWISE:
            return alternatives(elementwise.elementwise(ctx, slot, sent, node_id))
    except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError):
        pass  # a trace the rule does not understand: say what is known instead
    return _scalar_line(symbols, node_id, g, own, producer, slot, grad)


def step_lines(symbols: Symbols, node_id: str, arriving: dict | None, sends: list[tuple]) -> list:
    """Caption slots for one backward step (scene/text.py fits them to the band): node_id
    received `arriving` and sends gradient to each (producer id, operand position, edge
    gradient[, trace edge id])."""
    node = symbols.graph.node(node_id)
    if node.kind == "leaf":
        return [leaf_line(node.label, arriving)]
    lines: list = []
    if node.kind == "loss":
        lines.append(f"∂L/∂L = {summary_text(arriving)}   (backward starts at the loss)")
    for send in sends:
        producer, slot, grad = send[:3]
        lines.append(edge_line(symbols, node_id, arriving, producer, slot, grad))
    return lines


def leaf_line(name: str, grad: dict | None) -> str:
    tail = f"   (accumulated into the leaf {name})"
    t = Tensor(grad)
    e = t.biggest()
    if t.numel > 1 and e is not None:
        size = f"{size_text(t.shape)}, ‖·‖ = {t.norm_text()}"   # "4 values": a bare 4 reads as a value
        return alternatives([f"{name}.grad = ∂L/∂{name} ({size}), e.g. {name}.grad{idx(e)} = {num(t.at(e))}{tail}",
                          f"{name}.grad = ∂L/∂{name} ({size}), e.g. {idx(e)} = {num(t.at(e))}{tail}",
                          f"{name}.grad = ∂L/∂{name}, e.g. {idx(e)} = {num(t.at(e))}{tail}",
                          f"{name}.grad = {summary_text(grad)}{tail}"])
    return f"{name}.grad = {summary_text(grad)}{tail}"


def fanin_line(symbols: Symbols, node_id: str, parts: list[dict | None], total: dict | None):
    """The engine's silent sum where one value feeds several ops. For tensors it is the tensors
    that add, element by element: the edges' norms (‖0.572‖, ‖0.812‖) do not add up to the sum's
    (‖1.01‖), so a line of norms says so instead of writing them as a sum."""
    n = len(parts)
    target = d(symbols.of(node_id))
    tensors = [Tensor(p) for p in parts]
    whole = Tensor(total)
    e = whole.biggest()
    if whole.numel > 1:
        norms = ", ".join(t.norm_text() for t in tensors[:4]) + (", …" if n > 4 else "")
        norm_note = f"(the edges' norms {norms} do not add: the sum's norm is {whole.norm_text()})"
        tail = f"   (used {n} times: the {n} gradient tensors add, element by element)"
        if e is not None and all(t.values is not None and t.shape == whole.shape for t in tensors):
            terms = [num(t.at(e)) for t in tensors]
            example = f"{target}{idx(e)} = {terms_sum(terms, 4)} = {num(whole.at(e))}"
            short = f"{example}   (used {n} times: the tensors add, element by element)"
            return alternatives([f"{example}{tail}; {norm_note}", f"{short}\n{norm_note}", f"{example}{tail}", short])
        return alternatives([f"{target} = the sum of the {n} gradient tensors arriving, element by element "
                             f"({norm_note})",
                             f"{target} = the sum of the {n} gradient tensors arriving ({norm_note})"])
    tail = f"   (used {n} times: gradients add)"
    terms = " + ".join(summary_text(p) for p in parts).replace("+ " + MINUS, MINUS + " ")
    return f"{target} = {terms} = {summary_text(total)}{tail}"
