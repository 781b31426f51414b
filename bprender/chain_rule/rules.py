"""Tensor chain rules: for each op kind, the line a backward step shows for one edge it sends
gradient along: the local rule, then one example element worked out with the trace's numbers
(the largest-magnitude element of the gradient sent), or norms where the trace kept no values.

Every rule returns candidate lines, most detailed first; the first that fits the band is shown.
The result printed is always the trace's own gradient (what PyTorch computed), the factors
before it are the forward values and the arriving gradient that make it up."""
from __future__ import annotations

import itertools
import math

from ..fmt import MINUS, num, to_float
from .symbols import Symbols, _wrap, d, op_kind
from .tensors import Folds, Tensor, idx, product, terms_sum

SUBSCRIPT_LETTER = {"n": "ₙ", "k": "ₖ", "p": "ₚ", "m": "ₘ", "h": "ₕ", "t": "ₜ", "s": "ₛ", "l": "ₗ"}
LN_EPS = 1e-5  # LayerNorm's default eps (the trace does not keep it; 4 digits never see it)


class Ctx:
    """One backward step of one op node: its arriving gradient, its output and its operands."""

    def __init__(self, symbols: Symbols, folds: Folds, node_id: str, arriving: dict | None):
        self.symbols, self.folds = symbols, folds
        self.view = symbols.graph.node(node_id)
        self.tnode = self.view.trace or {}
        self.label = op_kind(self.view)   # the op, also where the node shows a step's name
        self.attrs = self.tnode.get("attrs") or {}
        self.inputs = self.tnode.get("inputs") or []
        self.sym = symbols.of(node_id)
        self.own = "∂L/∂L" if self.view.kind == "loss" else d(self.sym)
        self.g = Tensor(arriving)
        self.out = Tensor(self.view.value)

    def attr(self, name: str, default):
        value = self.attrs.get(name, default)
        return to_float(value) if isinstance(value, (int, float, str)) else default

    def operand(self, pos: int) -> tuple[str, Tensor]:
        if pos >= len(self.inputs):
            return "x", Tensor(None)
        inp = self.inputs[pos]
        if "edge" in inp:
            producer = self.symbols.producer_of_edge[inp["edge"]]
            return self.symbols.of(producer), Tensor(self.folds.raw_value(inp["edge"]))
        t = Tensor(inp.get("value"))
        name = self.symbols.const(inp["const"]) if inp.get("const") else None
        if not name:
            s = t.scalar()
            name = num(s) if s is not None else "c"
        return name, t

    def ref(self, pos: int, index) -> str | None:
        """An operand element by name, through folded view ops ("fc.weight[k,1]")."""
        sym, t = self.operand(pos)
        if t.numel == 1:
            return _wrap(sym)
        inp = self.inputs[pos]
        mapped = self.folds.map(inp["edge"], tuple(index)) if "edge" in inp else tuple(index)
        if mapped is None:  # not a plain re-indexing: name the reshaped operand itself
            return self.folds.view_name(inp["edge"], sym) + idx(index)
        return _wrap_indexed(sym) + idx(mapped)

    def gref(self, index) -> str:
        return self.own + ("" if self.g.numel == 1 else idx(index))

    def target(self, pos: int, index=None) -> str | None:
        """∂L/∂(the operand), with an element index in the view node's own shape."""
        sym, _ = self.operand(pos)
        base = d(sym)
        inp = self.inputs[pos] if pos < len(self.inputs) else {}
        if index is None or "edge" not in inp:
            return base
        producer = self.symbols.graph.node(self.symbols.producer_of_edge[inp["edge"]])
        if Tensor(producer.value).numel == 1:
            return base
        mapped = self.folds.map(inp["edge"], tuple(index))
        if mapped is None:
            return d(self.folds.view_name(inp["edge"], sym)) + idx(index)
        return base + idx(mapped)

    def norm_line(self, pos: int, sent: Tensor, rule: str) -> str:
        return f"{self.target(pos)} = {rule};  norm {self.g.norm_text()} → {sent.norm_text()}"


def _wrap_indexed(symbol: str) -> str:
    """A symbol to put [i,j] after: a call like σ(Addmm₂) needs no extra brackets."""
    head = symbol.split("(", 1)[0]
    if symbol.endswith(")") and head and " " not in head and _balanced_call(symbol[len(head):]):
        return symbol
    return _wrap(symbol)


def _balanced_call(text: str) -> bool:
    """'(…)' whose first bracket closes only at the very end."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0 and i < len(text) - 1:
            return False
    return depth == 0


def _sigma(letters) -> str:
    return "Σ" + "".join(SUBSCRIPT_LETTER.get(c, c) for c in letters)


def _sizes(specs: dict[str, tuple[int, ...]]) -> dict[str, int]:
    sizes = {}
    for spec, shape in specs.items():
        for c, s in zip(spec, shape):
            sizes[c] = max(sizes.get(c, 1), s)
    return sizes


def contraction(ctx: Ctx, pos: int, sent: Tensor, specs: dict[int, str], out_spec: str,
                scale: float = 1.0) -> list[str]:
    """A matrix product's gradient: ∂X[e] = Σ over the other index of ∂L/∂out · the other operand."""
    spec = specs[pos]
    (other, ospec), = [(p, s) for p, s in specs.items() if p != pos]
    _, y = ctx.operand(other)
    summed = [c for c in dict.fromkeys(out_spec + ospec) if c not in spec]
    sizes = _sizes({out_spec: ctx.g.shape, ospec: y.shape, spec: sent.shape})
    pre = "" if scale == 1 else f"{num(scale)} · "
    lines = []
    generic_target = ctx.target(pos, tuple(spec))
    generic_y = ctx.ref(other, tuple(ospec))
    generic = (f"{generic_target} = {pre}{_sigma(summed)} {ctx.gref(tuple(out_spec))} · {generic_y}"
               if generic_target and generic_y else None)
    e = sent.biggest()
    if e is not None and ctx.g.values is not None and y.values is not None and len(e) == len(spec):
        fixed = dict(zip(spec, e))
        result = num(sent.at(e))
        target = ctx.target(pos, e)
        combos = list(itertools.product(*(range(sizes[c]) for c in summed)))
        products = []
        for combo in combos:
            at = {**fixed, **dict(zip(summed, combo))}
            products.append(product(*( [scale] if scale != 1 else []),
                                    ctx.g.at(tuple(at[c] for c in out_spec)), y.at(tuple(at[c] for c in ospec))))
        if len(combos) == 1:
            at = {**fixed, **dict(zip(summed, combos[0]))}
            g_ref, y_ref = ctx.gref(tuple(at[c] for c in out_spec)), ctx.ref(other, tuple(at[c] for c in ospec))
            if target and y_ref:
                lines.append(f"{target} = {pre}{g_ref} · {y_ref} = {products[0]} = {result}")
        else:
            partial = {**fixed, **{c: c for c in summed}}
            g_ref = ctx.gref(tuple(partial[c] for c in out_spec))
            y_ref = ctx.ref(other, tuple(partial[c] for c in ospec))
            if target and y_ref:
                head = f"{target} = {pre}{_sigma(summed)} {g_ref} · {y_ref}"
                lines += [f"{head} = {terms_sum(products, shown)} = {result}" for shown in (3, 2, 1)]
                lines.append(f"{head} = {result}")
    if generic:
        lines.append(f"{generic};  norm {sent.norm_text()}")
    lines.append(f"{ctx.target(pos)} = {pre}{ctx.own} · (the other factor);  norm {sent.norm_text()}")
    return lines


def broadcast_sum(ctx: Ctx, pos: int, sent: Tensor, values: Tensor | None = None,
                  sign: str = "", what: str = "") -> list[str]:
    """∂L/∂b where b was broadcast over rows: the arriving gradient summed over them
    (optionally times another tensor `values` of the output's shape, shown as `what`)."""
    g, out_shape = ctx.g, ctx.g.shape
    shape = sent.shape
    e = sent.biggest()
    letters = iter("nmkpht")
    offset = len(out_shape) - len(shape)
    dims = []  # per output dim: a summed letter, or the target dim it follows
    for i, s in enumerate(out_shape):
        j = i - offset
        if j < 0 or (shape[j] == 1 and s > 1):
            dims.append(next(letters))
        else:
            dims.append(j)
    summed = [c for c in dims if isinstance(c, str)]
    sign_pre = MINUS if sign else ""
    times = f" · {what}" if what else ""
    lines = []
    if e is not None and g.values is not None and (values is None or values.values is not None):
        target = ctx.target(pos, e)
        at_fixed = [c if isinstance(c, str) else e[c] for c in dims]
        combos = list(itertools.product(*(range(out_shape[i]) for i, c in enumerate(dims) if isinstance(c, str))))
        terms = []
        for combo in combos:
            it = iter(combo)
            full = tuple(next(it) if isinstance(c, str) else c for c in at_fixed)
            terms.append(num(g.at(full)) if values is None else product(g.at(full), values.at(full)))
        if target:
            head = f"{target} = {sign_pre}{_sigma(summed) + ' ' if summed else ''}{ctx.gref(tuple(at_fixed))}"
            head += times.replace("[·]", idx(at_fixed)) if what else ""
            if len(terms) == 1:  # nothing broadcast over: the gradient passes as it is
                only = tuple(0 if isinstance(c, str) else c for c in at_fixed)
                head = f"{target} = {sign_pre}{ctx.gref(only)}" + (times.replace("[·]", idx(only)) if what else "")
                lines.append(f"{head} = {sign_pre}{terms[0]} = {num(sent.at(e))}" if what or sign
                             else f"{head} = {num(sent.at(e))}")
            else:
                total = [f"{sign_pre}({terms_sum(terms, shown)})" if sign else terms_sum(terms, shown)
                         for shown in (4, 3, 2, 1)]
                lines += [f"{head} = {t} = {num(sent.at(e))}" for t in total]
                lines.append(f"{head} = {num(sent.at(e))}")
    rows = math.prod(out_shape) // max(1, math.prod(shape))
    lines.append(f"{ctx.target(pos)} = {sign_pre}{ctx.own}{times.replace('[·]', '')} summed over {rows} row{'s' if rows != 1 else ''};"
                 f"  norm {sent.norm_text()}")
    return lines
