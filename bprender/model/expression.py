"""A formula over named leaves, e.g. ``(w * x + b - y_true) ** 2``.

The formula is parsed with ``ast.parse(mode="eval")`` and evaluated by walking the tree with
torch operations; it is never passed to ``eval`` or ``exec``. Only this small language is
accepted, everything else is rejected with a message naming the construct:

- numbers (int or float literals),
- names declared under ``params`` (leaves that require grad) or ``inputs`` (constants),
- binary operators ``+ - * / ** @`` and unary ``-`` / ``+``,
- calls with exactly one positional argument to these functions (elementwise unless noted):
  ``sum`` and ``mean`` (reduce to a scalar), ``exp``, ``log``, ``sqrt``, ``square``, ``abs``,
  ``sin``, ``cos``, ``tanh``, ``sigmoid``, ``relu``; or the same as a method without arguments,
  as micrograd writes it: ``z.relu()`` is ``relu(z)``.

The result must be a scalar; wrap a tensor-valued formula in ``sum(...)`` or ``mean(...)``.
Params and inputs are float32 tensors built from a number or a nested list. Text nested too
deeply is refused before any recursive walk (see :mod:`.syntax`). The checker is shared with
:mod:`.steps`, which only words its messages differently.
"""
from __future__ import annotations

import ast
import difflib
import keyword
from typing import Any, Callable, Mapping

import torch

from bprender.errors import PresetError

from . import Built
from .syntax import TooDeep
from .syntax import parse as parse_text

KEY = "model.expression"

FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sum": torch.sum,
    "mean": torch.mean,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "square": torch.square,
    "abs": torch.abs,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.MatMult: "@"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}

_ALLOWED_HINT = ("allowed: numbers, names from params/inputs, + - * / ** @, unary -, and "
                 "one-argument calls to " + ", ".join(sorted(FUNCTIONS)))

# What to call the constructs we reject, so the message says what the user wrote.
_CONSTRUCT_NAMES = {
    "Attribute": "attribute access", "Subscript": "indexing (subscript)", "Lambda": "lambda",
    "ListComp": "list comprehension", "SetComp": "set comprehension",
    "DictComp": "dict comprehension", "GeneratorExp": "generator expression",
    "Compare": "comparison", "BoolOp": "and/or", "IfExp": "conditional expression (if/else)",
    "List": "list literal", "Tuple": "tuple literal", "Set": "set literal",
    "Dict": "dict literal", "JoinedStr": "f-string", "FormattedValue": "f-string",
    "NamedExpr": "assignment expression (:=)", "Starred": "starred argument (*)",
    "Await": "await", "Yield": "yield", "YieldFrom": "yield", "Slice": "slice",
}


class Rejected(Exception):
    """A construct the allow-list refuses: `what` ("lambda is not allowed"), the AST `node` it
    is about, and whether the expression message names its column (as it always has for
    refused constructs). Callers word it: :func:`parse` as before, :mod:`.steps` per line."""

    def __init__(self, what: str, node: ast.AST | None = None, hint: str | None = _ALLOWED_HINT,
                 column: bool = False):
        super().__init__(what)
        self.what, self.node, self.hint, self.column = what, node, hint, column


def _reject(what: str, node: ast.AST | None = None) -> Rejected:
    return Rejected(f"{what} is not allowed", node, column=True)


def _expression_error(err: Rejected) -> PresetError:
    where = ""
    if err.column and err.node is not None and getattr(err.node, "col_offset", None) is not None:
        where = f" in an expression at column {err.node.col_offset + 1}"
    elif err.column:
        where = " in an expression"
    return PresetError(err.what + where, key=KEY, hint=err.hint)


def _unknown_leaf(node: ast.Name, names: set[str]) -> Rejected:
    hint = _did_you_mean(node.id, names | set(FUNCTIONS))
    return Rejected(f"unknown name {node.id!r}: not declared under params or inputs", node,
                    hint=hint or "declared: " + (", ".join(sorted(names)) or "none"))


def _did_you_mean(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def parse(text: Any, names: set[str]) -> ast.Expression:
    """Parse and check a formula; ``names`` are the declared params and inputs."""
    if not isinstance(text, str) or not text.strip():
        raise PresetError(f"must be a non-empty formula string, got {text!r}", key=KEY,
                          hint="e.g. (w * x + b - y_true) ** 2")
    try:
        tree = parse_text(text.strip(), "eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise PresetError(f"not a valid formula{col}: {exc.msg}", key=KEY,
                          hint=_ALLOWED_HINT) from None
    except TooDeep as exc:
        col = f" at column {exc.column}" if exc.column else ""
        raise PresetError(f"{exc.message}{col}", key=KEY, hint=exc.hint) from None
    try:
        check(tree.body, names)
    except Rejected as err:
        raise _expression_error(err) from None
    return tree


def check(node: ast.AST, names: set[str], unknown=_unknown_leaf) -> None:
    """Raise Rejected for anything outside the allow-list; ``unknown(name_node, names)`` words
    the error for a name that is not in ``names``."""
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise _reject(f"operator {type(node.op).__name__}", node)
        check(node.left, names, unknown)
        check(node.right, names, unknown)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise _reject(f"unary operator {type(node.op).__name__}", node)
        check(node.operand, names, unknown)
    elif isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = {str: "string", bytes: "bytes"}.get(type(v), type(v).__name__)
            raise _reject(f"{kind} constant {v!r}", node)
    elif isinstance(node, ast.Name):
        if node.id in names:
            return
        if node.id in FUNCTIONS:
            raise Rejected(f"function {node.id!r} must be called, e.g. {node.id}(x)", node)
        raise unknown(node, names)
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute) and node.func.attr in FUNCTIONS:
            # the method form micrograd writes: (b + a).relu() is relu(b + a)
            if node.args or node.keywords:
                raise Rejected(f".{node.func.attr}() takes no arguments here, got "
                               f"{len(node.args) + len(node.keywords)}", node,
                               hint=f"write x.{node.func.attr}() or {node.func.attr}(x)")
            check(node.func.value, names, unknown)
            return
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _reject(f"attribute access (.{node.func.attr})", node.func)
            raise _reject("calling the result of an expression", node)
        fname = node.func.id
        if fname not in FUNCTIONS:
            hint = _did_you_mean(fname, set(FUNCTIONS))
            raise Rejected(f"function {fname!r} is not allowed", node,
                           hint=hint or "allowed functions: " + ", ".join(sorted(FUNCTIONS)))
        if node.keywords:
            raise _reject(f"keyword argument in {fname}(...)", node)
        if len(node.args) != 1:
            raise Rejected(f"{fname}(...) takes exactly one argument, got {len(node.args)}", node,
                           hint=None)
        if isinstance(node.args[0], ast.Starred):
            raise _reject("starred argument (*)", node.args[0])
        check(node.args[0], names, unknown)
    else:
        kind = type(node).__name__
        raise _reject(_CONSTRUCT_NAMES.get(kind, kind), node)


def _as_tensor(v: Any) -> torch.Tensor:
    return v if isinstance(v, torch.Tensor) else torch.tensor(float(v), dtype=torch.float32)


def evaluate(tree: ast.Expression, env: Mapping[str, torch.Tensor]) -> Any:
    """Evaluate a checked tree with torch ops; returns a tensor (or a number for constants)."""
    return _eval(tree.body, env)


def _eval(node: ast.AST, env: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):   # x.relu(), checked to be an allowed function
            return FUNCTIONS[node.func.attr](_as_tensor(_eval(node.func.value, env)))
        return FUNCTIONS[node.func.id](_as_tensor(_eval(node.args[0], env)))
    if isinstance(node, ast.BinOp):
        a = _eval(node.left, env)
        b = _eval(node.right, env)
        if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
            a = _as_tensor(a)  # IEEE semantics (1/0 -> inf) instead of Python exceptions
        op = type(node.op)
        if op is ast.Add:
            return a + b
        if op is ast.Sub:
            return a - b
        if op is ast.Mult:
            return a * b
        if op is ast.Div:
            return a / b
        if op is ast.Pow:
            return a ** b
        if op is ast.MatMult:
            return _as_tensor(a) @ _as_tensor(b)
    raise AssertionError(f"unchecked node {type(node).__name__}")  # check() prevents this


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def evaluation_hint(exc: Exception) -> str:
    if isinstance(exc, OverflowError):
        return "a number is too big for a float32 tensor"
    return "check the shapes of params and inputs"


def _tensor(value: Any, key: str, requires_grad: bool) -> torch.Tensor:
    def ok(v):
        if isinstance(v, bool):
            return False
        if isinstance(v, (int, float)):
            return True
        return isinstance(v, list) and all(ok(x) for x in v)
    if not ok(value):
        raise PresetError(f"must be a number or a nested list of numbers, got {value!r}", key=key)
    try:
        t = torch.tensor(value, dtype=torch.float32)
    except (ValueError, TypeError) as exc:
        raise PresetError(f"not a rectangular nested list of numbers: {exc}", key=key) from None
    return t.requires_grad_(requires_grad)


def _check_names(mapping: Any, section: str) -> dict:
    if not isinstance(mapping, Mapping):
        raise PresetError(f"must be a mapping of name: value, got {mapping!r}",
                          key=f"model.{section}")
    for name in mapping:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise PresetError(f"{name!r} is not a valid name (letters, digits, _)",
                              key=f"model.{section}")
        if name in FUNCTIONS:
            raise PresetError(f"{name!r} is a function name; choose another name",
                              key=f"model.{section}.{name}")
    return dict(mapping)


def declared_tensors(params: Any, inputs: Any, seed: int) -> tuple[dict, dict]:
    """(leaves, constants) of a formula model: the declared names checked (never under both
    params and inputs), then made into tensors after seeding torch."""
    params = _check_names(params, "params")
    inputs = _check_names(inputs, "inputs")
    both = sorted(set(params) & set(inputs))
    if both:
        raise PresetError(f"{both[0]!r} is declared under both params and inputs",
                          key=f"model.inputs.{both[0]}")
    torch.manual_seed(seed)
    leaves = {n: _tensor(v, f"model.params.{n}", True) for n, v in params.items()}
    constants = {n: _tensor(v, f"model.inputs.{n}", False) for n, v in inputs.items()}
    return leaves, constants


def build_expression(expression: Any, params: Any, inputs: Any, *, seed: int = 0) -> Built:
    """Check the formula, make the leaves and constants, and check the result is a scalar."""
    tree = parse(expression, set(_check_names(params, "params")) | set(_check_names(inputs, "inputs")))
    leaves, constants = declared_tensors(params, inputs, seed)
    env = {**leaves, **constants}

    def run() -> torch.Tensor:
        try:
            out = evaluate(tree, env)
        except (RuntimeError, OverflowError) as exc:   # OverflowError: a huge integer literal
            raise PresetError(f"cannot evaluate: {first_line(exc)}", key=KEY,
                              hint=evaluation_hint(exc)) from None
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            raise PresetError("the result does not depend on any param, so there is nothing "
                              "to backpropagate", key=KEY,
                              hint="declare the values to differentiate under params")
        if out.numel() != 1:
            raise PresetError(f"the result has shape {list(out.shape)}, not a scalar", key=KEY,
                              hint="wrap it in sum(...) or mean(...)")
        if out.grad_fn is None:
            raise PresetError("the result is a param itself; apply at least one operation",
                              key=KEY, hint="e.g. square(w)")
        return out

    with torch.no_grad():  # check shapes now, so errors come before any tracing
        try:
            probe = evaluate(tree, env)
        except (RuntimeError, OverflowError) as exc:   # OverflowError: a huge integer literal
            raise PresetError(f"cannot evaluate: {first_line(exc)}", key=KEY,
                              hint=evaluation_hint(exc)) from None
    if isinstance(probe, torch.Tensor) and probe.numel() != 1:
        raise PresetError(f"the result has shape {list(probe.shape)}, not a scalar", key=KEY,
                          hint="wrap it in sum(...) or mean(...)")
    return Built(run=run, leaves=leaves, constants=constants, module=None)
