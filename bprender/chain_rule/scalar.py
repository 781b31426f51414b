"""The scalar chain rule: an elementwise op's local derivative as a formula over its operands'
symbols, shown with one number per factor: "∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6"."""
from __future__ import annotations

from ..fmt import MINUS, num, to_float
from .symbols import BINARY, SUPERSCRIPT, UNARY, Symbols, _wrap, op_kind

ELEMENTWISE = set(UNARY) | set(BINARY) | {"Pow"}


def local_derivative(symbols: Symbols, node_id: str, slot: int) -> str:
    """∂node/∂input[slot] as a formula over the operands, or a generic ∂N/∂x."""
    node = symbols.graph.node(node_id)
    kind = op_kind(node)
    ops = symbols.operands(node_id)
    if kind == "Pow" and ops:
        exponent = (node.trace.get("attrs") or {}).get("exponent")
        if isinstance(exponent, (int, float)):
            e1 = num(to_float(exponent) - 1)
            power = "" if e1 == "1" else e1.replace(MINUS, "-").translate(SUPERSCRIPT)
            return f"{num(exponent)}·{_wrap(ops[0])}{power}"
    if kind in UNARY and ops:
        operand = _wrap(ops[0]) if kind in ("Log", "Sqrt", "Reciprocal") else ops[0]  # 1/(w·w), not 1/w·w
        return UNARY[kind][1].format(a=operand)
    if kind in BINARY and len(ops) == 2 and slot < 2:
        return BINARY[kind][1][slot].format(a=_wrap(ops[0]), b=_wrap(ops[1]))
    return "∂" + _wrap(symbols.of(node_id)) + "/∂" + _wrap(ops[slot] if slot < len(ops) else "x")
