"""Readable names for every node's output: leaves, constants and a steps model's named values
(y_pred) by name, other ops by formula (w·x + b), so a caption reads like the forward expression."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..fmt import MINUS, num, summary_scalar

if TYPE_CHECKING:  # the views import this package: no import cycle at run time
    from ..views.graph import ViewGraph

MAX_SYMBOL = 22  # longer formulas fall back to the op's name: a caption must fit one line

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

# Operator precedence of a formula's outermost operation: an operand is bracketed only when
# its own outermost operation binds more loosely than the place it is put in.
ATOM, POWER, PRODUCT, SUM = 4, 3, 2, 1

# op label -> (formula over operand symbols, local derivative per input slot as text)
UNARY = {
    "Exp": ("exp({a})", "exp({a})"), "Log": ("log({a})", "1/{a}"), "Tanh": ("tanh({a})", "1 − tanh²({a})"),
    "Sigmoid": ("σ({a})", "σ({a})(1 − σ({a}))"), "Relu": ("relu({a})", "[{a} > 0]"), "Neg": ("−{a}", "−1"),
    "Sum": ("Σ{a}", "1"), "Mean": ("mean({a})", "1/n"), "Sqrt": ("√{a}", "1/(2√{a})"),
    "Abs": ("|{a}|", "sign({a})"), "Sin": ("sin({a})", "cos({a})"), "Cos": ("cos({a})", "−sin({a})"),
    "Reciprocal": ("1/{a}", "−1/{a}²"),   # PyTorch computes 10 / f as f.reciprocal() · 10
}
BINARY = {
    "Add": ("{a} + {b}", ("1", "1")), "Sub": ("{a} − {b}", ("1", "−1")), "Mul": ("{a}·{b}", ("{b}", "{a}")),
    "Div": ("{a}/{b}", ("1/{b}", "−{a}/{b}²")),
}
# op label -> (its precedence, the precedence each operand needs to go unbracketed)
BINARY_PRECEDENCE = {"Add": (SUM, (SUM, SUM)), "Sub": (SUM, (SUM, PRODUCT)),
                     "Mul": (PRODUCT, (PRODUCT, PRODUCT)), "Div": (PRODUCT, (PRODUCT, POWER))}


def op_kind(node) -> str:
    """The op a view node computes ("Add"): its label, unless the label is a step's name
    (y_pred), when the trace node still holds the op's label."""
    return (node.trace or {}).get("label") or node.label


def is_named(node) -> bool:
    """An op node whose value has a name (a steps model's y_pred, the lecture's z¹): its symbol
    is that name, not a formula."""
    return node.kind in ("op", "loss") and bool(node.symbol or (node.trace or {}).get("name"))


class Symbols:
    """A readable name for every node's output: leaves and constants by name, ops by formula.

    `producer_of_edge` maps a trace edge to the node its gradient reaches in the view (view-only
    ops folded away); `trace` (optional) gives the tensor rules the raw trace: values of folded
    nodes and the edges through them."""

    def __init__(self, graph: ViewGraph, producer_of_edge: dict[str, str], trace: dict | None = None,
                 consts: dict[str, str] | None = None):
        self.graph = graph
        self.producer_of_edge = producer_of_edge
        self.trace = trace
        self.consts = consts or {}   # a constant's trace name -> its shown name (input -> x)
        self.names: dict[str, tuple[str, int]] = {}
        seen: dict[str, int] = {}
        for node in graph.nodes:  # numbered fallbacks, stable in node order
            base = node.word or node.label
            seen[base] = seen.get(base, 0) + 1
        self.numbered: dict[str, str] = {}
        index: dict[str, int] = {}
        for node in graph.nodes:
            base = node.word or node.label
            if node.symbol and node.kind in ("op", "loss"):
                self.numbered[node.id] = node.symbol
            elif seen[base] > 1 and node.kind in ("op", "loss"):
                index[base] = index.get(base, 0) + 1
                self.numbered[node.id] = f"{base}{str(index[base]).translate(SUB)}"
            else:
                self.numbered[node.id] = base

    def const(self, name: str) -> str:
        """A named constant as the picture labels it."""
        return self.consts.get(name, name)

    def operand_terms(self, node_id: str) -> list[tuple[str, int]]:
        """(symbol, precedence) of each operand of a node's forward op, constants included."""
        node = self.graph.node(node_id)
        out = []
        for inp in (node.trace or {}).get("inputs") or []:
            if "edge" in inp:
                out.append(self.term(self.producer_of_edge[inp["edge"]]))
            elif inp.get("const"):
                out.append((self.const(inp["const"]), ATOM))
            else:
                value = summary_scalar(inp.get("value"))
                text = num(value) if value is not None else "c"
                out.append((text, SUM if text.startswith(MINUS) else ATOM))
        return out

    def operands(self, node_id: str) -> list[str]:
        return [text for text, _ in self.operand_terms(node_id)]

    def of(self, node_id: str) -> str:
        return self.term(node_id)[0]

    def term(self, node_id: str) -> tuple[str, int]:
        if node_id in self.names:
            return self.names[node_id]
        # A formula is built from its operands' symbols, which are built from theirs: name the
        # operands first, deepest first, from an explicit stack, so a long chain (x = x * 1.001,
        # thousands of times) never recurses deeper than one level.
        stack, seen = [node_id], {node_id}
        pending = []
        while stack:
            current = stack.pop()
            pending.append(current)
            for inp in (self.graph.node(current).trace or {}).get("inputs") or []:
                producer = self.producer_of_edge.get(inp["edge"]) if "edge" in inp else None
                if producer is not None and producer not in self.names and producer not in seen:
                    seen.add(producer)
                    stack.append(producer)
        for current in reversed(pending[1:]):
            if current not in self.names:
                self.names[current] = self._term_of(current)
        return self._term_of(node_id)

    def _term_of(self, node_id: str) -> tuple[str, int]:
        """The symbol of one node, its operands already named (or named on the way: shallow)."""
        if node_id in self.names:
            return self.names[node_id]
        node = self.graph.node(node_id)
        result = (self.numbered[node_id], ATOM)
        if node.kind in ("op", "loss") and not is_named(node):
            formula = self._formula(node_id)
            if formula and len(formula[0]) <= MAX_SYMBOL:
                result = formula
        self.names[node_id] = result
        return result

    def _formula(self, node_id: str) -> tuple[str, int] | None:
        node = self.graph.node(node_id)
        terms = self.operand_terms(node_id)
        kind = op_kind(node)
        if kind == "Pow" and terms:
            exponent = (node.trace.get("attrs") or {}).get("exponent")
            if isinstance(exponent, (int, float)) and float(exponent).is_integer():
                power = num(exponent).replace(MINUS, "-").translate(SUPERSCRIPT)
                return f"{bracket(terms[0], ATOM)}{power}", POWER
            return None
        if kind in UNARY and terms:
            text = UNARY[kind][0].format(a=terms[0][0])
            return text, (SUM if text.startswith("−") else PRODUCT if kind == "Reciprocal" else ATOM)
        if kind in BINARY and len(terms) == 2:
            own, needs = BINARY_PRECEDENCE[kind]
            a, b = (bracket(t, need) for t, need in zip(terms, needs))
            return BINARY[kind][0].format(a=a, b=b), own
        return None


def bracket(term: tuple[str, int], needed: int) -> str:
    text, precedence = term
    return f"({text})" if precedence < needed else text


def _wrap(symbol: str) -> str:
    """Bracket anything but a plain name or number (for ∂L/∂(...) and products)."""
    plain = symbol.replace("_", "").replace(".", "").isalnum() or symbol[:-1].isalnum()
    return symbol if plain else f"({symbol})"


def d(symbol: str) -> str:
    """∂L/∂symbol, bracketing compound symbols."""
    return "∂L/∂" + _wrap(symbol)
