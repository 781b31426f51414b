"""Elementwise ops, reductions and view ops on tensors: the scalar rule applied element by
element, shown on one element, e.g. "∂L/∂z = ∂L/∂σ · σ(1 − σ), e.g. [0,2]: 0.12 · 0.54 · (1 − 0.54) = 0.03"."""
from __future__ import annotations

from ..fmt import MINUS, num, shape_text
from .rules import Ctx, broadcast_sum
from .scalar import local_derivative
from .symbols import SUPERSCRIPT
from .tensors import Tensor, factor, idx, product

# a short form of the local derivative, for when the formula over the symbols does not fit
SHORT = {"Sigmoid": "σ(1 − σ)", "Tanh": "(1 − tanh²)", "Relu": "[input > 0]", "Exp": "exp(input)",
         "Log": "1/input", "Sqrt": "1/(2√input)", "Abs": "sign(input)", "Sin": "cos(input)", "Cos": "−sin(input)"}


def factor_text(text: str) -> str:
    """Bracket a local derivative that is a sum at its top level (1 − tanh²(x)) for a product."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if depth == 0 and c in "+−" and 0 < i < len(text) - 1 and text[i - 1] == " " and text[i + 1] == " ":
            return f"({text})"
    return text


def _factors(ctx: Ctx, pos: int, e) -> list | None:
    """The local derivative's factors at element e, as numbers or short texts; None if unknown."""
    a_t = ctx.operand(0)[1]
    b_t = ctx.operand(1)[1] if len(ctx.inputs) > 1 else Tensor(None)
    a, b, y = a_t.broadcast_at(e), b_t.broadcast_at(e), ctx.out.at(e)
    label = ctx.label
    need = {"Sigmoid": [y], "Tanh": [y], "Exp": [y], "Sqrt": [y], "Relu": [a], "Log": [a], "Abs": [a],
            "Sin": [a], "Cos": [a], "Pow": [a], "Neg": [], "Add": [], "Sub": [],
            "Mul": [b] if pos == 0 else [a], "Div": [b] if pos == 0 else [a, b]}.get(label)
    if need is None or any(v is None for v in need):
        return None
    if label == "Sigmoid":
        return [y, f"(1 − {num(y)})"]
    if label == "Tanh":
        return [f"(1 − {factor(y)}²)"]
    if label == "Exp":
        return [y]
    if label == "Sqrt":
        return [f"1/(2 · {num(y)})"]
    if label == "Relu":
        return [f"[{num(a)} > 0]"]
    if label == "Log":
        return [f"1/{factor(a)}"]
    if label == "Abs":
        return [f"sign({num(a)})"]
    if label == "Sin":
        return [f"cos({num(a)})"]
    if label == "Cos":
        return [f"(−sin({num(a)}))"]
    if label == "Pow":
        exponent = ctx.attr("exponent", None)
        if exponent is None:
            return None
        e1 = num(exponent - 1)
        power = "" if e1 == "1" else e1.replace(MINUS, "-").translate(SUPERSCRIPT)
        return [f"{num(exponent)} · {factor(a)}{power}"]
    if label == "Neg":
        return [f"({MINUS}1)"]
    if label == "Add":
        return ["1"]
    if label == "Sub":
        return ["1" if pos == 0 else f"({MINUS}1)"]
    if label == "Mul":
        return [b if pos == 0 else a]
    if label == "Div":
        return [f"1/{factor(b)}"] if pos == 0 else [f"({MINUS}{factor(a)}/{factor(b)}²)"]
    return None


def elementwise(ctx: Ctx, pos: int, sent: Tensor, node_id: str) -> list[str]:
    local = factor_text(local_derivative(ctx.symbols, node_id, pos))
    short = SHORT.get(ctx.label, local)
    target = ctx.target(pos)
    lines = []
    if sent.numel < ctx.g.numel and ctx.label in ("Add", "Sub"):  # broadcast: summed back
        return broadcast_sum(ctx, pos, sent, sign="−" if ctx.label == "Sub" and pos == 1 else "")
    if sent.numel < ctx.g.numel:
        return [f"{target} = {ctx.own} · {local}, summed over the broadcast dims;  norm {sent.norm_text()}",
                f"{target} = {ctx.own} · {short}, summed over the broadcast dims;  norm {sent.norm_text()}"]
    e = sent.biggest()
    factors = _factors(ctx, pos, e) if e is not None and ctx.g.values is not None else None
    if factors is not None:
        example = f"{product(ctx.g.at(e), *factors)} = {num(sent.at(e))}"
        where = f"e.g. {idx(e)}: " if e else ""
        for rule in dict.fromkeys([local, short]):
            lines.append(f"{target} = {ctx.own} · {rule}, {where}{example}")
            lines.append(f"{target}{idx(e)} = {ctx.own}{idx(e)} · {rule} = {example}")
        lines.append(f"{target} = {ctx.own} · {local}\n{where}{example}")
    for rule in dict.fromkeys([local, short]):
        lines.append(ctx.norm_line(pos, sent, f"{ctx.own} · {rule}"))
    return lines


def reduction(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """Sum / Mean: every element gets the arriving gradient (over n for a mean)."""
    _, x = ctx.operand(pos)
    target = ctx.target(pos)
    g = ctx.g.scalar()
    n = max(1, x.numel // max(1, ctx.g.numel))
    if ctx.label == "Sum":
        rule = f"{ctx.own} · 1"
        example = f"every element gets {num(g)}" if g is not None else ""
    else:
        rule = f"{ctx.own} · 1/n"
        example = f"every element gets {num(g)}/{n} = {num(g / n)}" if g is not None else ""
    lines = [f"{target} = {rule}: {example}"] if example else []
    lines.append(f"{target} = {rule}, copied back over the reduced dims;  norm {sent.norm_text()}")
    return lines


VIEW_RULES = {
    "View": "reshaped back", "Reshape": "reshaped back", "UnsafeView": "reshaped back",
    "Unsqueeze": "reshaped back", "Squeeze": "reshaped back", "Alias": "passed through",
    "T": "transposed back", "Transpose": "transposed back", "Permute": "permuted back",
    "Expand": "summed over the expanded dims", "Select": "put back in place, 0 elsewhere",
    "Slice": "put back in place, 0 elsewhere", "Unbind": "stacked back", "Clone": "passed through",
}


def view_op(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """A view-only op left unfolded: the same numbers, re-indexed back to the input's shape."""
    how = VIEW_RULES[ctx.label]
    target = ctx.target(pos)
    lines = []
    if how.endswith("back") or how == "passed through":
        lines.append(f"{target} = {ctx.own} {how} to {shape_text(sent.shape)}: the same numbers "
                     f"(local derivative 1);  norm {sent.norm_text()}")
    lines.append(f"{target} = {ctx.own} {how} ({shape_text(sent.shape)});  norm {sent.norm_text()}")
    return lines
