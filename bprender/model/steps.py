"""A model written as named steps, the way a lecturer writes it on the board::

    y_pred = w * x + b
    loss = (y_pred - y_true) ** 2

One step per line (blank lines and ``#`` comments are skipped; ``;`` separates steps on one line,
as in Python). A step is ``name = formula`` or ``name OP= formula`` (OP one of ``+ - * / ** @``);
the formula is the expression language of :mod:`.expression` over the params, the inputs and the
names earlier steps assigned. Assigning a name again makes a new value under the same name, and
``c += e`` is ``c = c + (e)``: a new value, as micrograd's ``Value`` has it (PyTorch's in-place
``+=`` would overwrite the old ``c``, which the graph may still need). The loss is the value of
the last step, or of the name given as ``loss:`` (its last assignment).

The steps run as written: a name is bound to the one tensor its step computed, so a name used
twice is one tensor feeding two ops (a fan-out in autograd), never a copy of its formula.
``Built.names`` holds (name, value) of every step of the last run; the trace labels nodes by it.

Errors are :class:`~bprender.errors.StepError` naming the line of the steps text and the column.
"""
from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from typing import Any

import torch

from bprender.errors import PresetError, StepError

from . import Built
from .expression import (_BINOPS, FUNCTIONS, Rejected, _as_tensor, _check_names, _eval, check, declared_tensors,
                         evaluation_hint, first_line)
from .syntax import read_steps

KEY = "model.steps"

_STATEMENTS = {"Import": "an import", "ImportFrom": "an import", "FunctionDef": "a function definition",
               "ClassDef": "a class definition", "For": "a for loop", "While": "a while loop",
               "If": "an if statement", "With": "a with statement", "Return": "return", "Delete": "del",
               "Global": "global", "Nonlocal": "nonlocal", "Try": "try", "Raise": "raise",
               "Assert": "assert", "Pass": "pass", "AnnAssign": "an annotated assignment"}


@dataclass(frozen=True)
class Step:
    name: str
    op: type | None        # the ast operator of `name OP= formula`, else None
    formula: ast.expr
    line: int              # 1-based, in the steps text
    column: int


def _statement(stmt: ast.stmt) -> Step:
    """One statement as a Step, or a StepError saying why it is not `name = formula`."""
    where = {"step_line": stmt.lineno, "column": stmt.col_offset + 1}
    if isinstance(stmt, ast.Assign):
        if len(stmt.targets) != 1:
            raise StepError("one name per step (a = b = ... is not allowed)", **where)
        target, op = stmt.targets[0], None
    elif isinstance(stmt, ast.AugAssign):
        target, op = stmt.target, type(stmt.op)
        if op not in _BINOPS:
            raise StepError(f"operator {type(stmt.op).__name__}= is not allowed", **where,
                            hint="allowed: = += -= *= /= **= @=")
    elif isinstance(stmt, ast.Expr):
        raise StepError("not an assignment: a step gives its value a name, name = formula",
                        **where, hint="e.g. loss = " + ast.unparse(stmt.value)[:40])
    else:
        kind = _STATEMENTS.get(type(stmt).__name__, type(stmt).__name__)
        raise StepError(f"{kind} is not allowed: a step is name = formula", **where)
    if not isinstance(target, ast.Name):
        what = {"Tuple": "several names", "List": "several names", "Attribute": "an attribute",
                "Subscript": "an element (indexing)", "Starred": "a starred name"}
        raise StepError(f"a step assigns to one plain name, not {what.get(type(target).__name__, 'that')}",
                        step_line=target.lineno, column=target.col_offset + 1)
    return Step(target.id, op, stmt.value, stmt.lineno, target.col_offset + 1)


def parse_steps(text: Any, declared: set[str], loss: str | None = None) -> tuple[list[Step], int]:
    """The checked steps and the index of the loss step; ``declared`` are params and inputs."""
    steps = [_statement(stmt) for stmt in read_steps(text).body]
    if not steps:
        raise PresetError("has no steps, only blank lines or comments", key=KEY,
                          hint="e.g. loss = (w * x - y) ** 2")
    first_line: dict[str, int] = {}
    for step in steps:
        first_line.setdefault(step.name, step.line)
    assigned: set[str] = set()
    for step in steps:
        if step.name in declared:
            raise StepError(f"{step.name!r} is a param or input; give the new value its own name",
                            step_line=step.line, column=step.column, hint=f"e.g. {step.name}2 = ...")
        if step.name in FUNCTIONS:
            raise StepError(f"{step.name!r} is a function name; choose another name",
                            step_line=step.line, column=step.column)
        available = declared | assigned

        def unknown(node: ast.Name, names: set[str], step=step) -> Rejected:
            if node.id in first_line:
                later = first_line[node.id]
                where = "on this line" if later == step.line else f"on line {later}"
                return Rejected(f"{node.id!r} is used before it is assigned ({where})", node, hint=None)
            close = difflib.get_close_matches(node.id, sorted(names | set(first_line) | set(FUNCTIONS)),
                                              n=1, cutoff=0.6)
            return Rejected(f"unknown name {node.id!r}: not a param, an input or a name an earlier "
                            "step assigns", node,
                            hint=f"did you mean {close[0]!r}?" if close else
                            "known here: " + (", ".join(sorted(names)) or "none"))

        try:
            if step.op is not None and step.name not in available:
                raise Rejected(f"{step.name} {_BINOPS[step.op]}= ... needs a value of {step.name} from an "
                               "earlier step", None, hint=f"e.g. {step.name} = ... on a line before")
            check(step.formula, available, unknown)
        except Rejected as err:
            node = err.node if getattr(err.node, "lineno", None) is not None else None
            raise StepError(err.what, step_line=node.lineno if node else step.line,
                            column=node.col_offset + 1 if node else step.column, hint=err.hint) from None
        assigned.add(step.name)
    if loss is None:
        return steps, len(steps) - 1
    if not isinstance(loss, str) or loss not in assigned:
        close = difflib.get_close_matches(str(loss), sorted(assigned), n=1)
        what = "is a param or input, not a step" if loss in declared else "is not a name any step assigns"
        raise PresetError(f"{loss!r} {what}", key="model.loss",
                          hint=f"did you mean {close[0]!r}?" if close else
                          "leave loss out to use the last step, " + steps[-1].name)
    return steps, max(i for i, s in enumerate(steps) if s.name == loss)


def _value(step: Step, env: dict) -> Any:
    value = _eval(step.formula, env)
    if step.op is None:
        return value
    return _binop(env[step.name], step.op, value)   # c += e is c = c + (e): see the module doc


def _binop(a: Any, op: type, b: Any) -> Any:
    if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        a = _as_tensor(a)   # IEEE semantics (1/0 -> inf), as in the expression evaluator
    if op is ast.MatMult:
        return _as_tensor(a) @ _as_tensor(b)
    return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
            ast.Div: lambda: a / b, ast.Pow: lambda: a ** b}[op]()


def build_steps(text: Any, params: Any, inputs: Any, loss: str | None = None, *, seed: int = 0) -> Built:
    """Check the steps, make the leaves and constants, and check (by one run) that the loss is a
    scalar that depends on a param."""
    names = set(_check_names(params, "params")) | set(_check_names(inputs, "inputs"))
    leaves, constants = declared_tensors(params, inputs, seed)
    steps, loss_at = parse_steps(text, names, loss)
    names: list[tuple[str, Any]] = []

    def run() -> torch.Tensor:
        env: dict[str, Any] = {**leaves, **constants}
        names.clear()
        out = None
        for k, step in enumerate(steps):
            try:
                env[step.name] = _value(step, env)
            except (RuntimeError, OverflowError) as exc:   # OverflowError: a huge integer literal
                raise StepError(f"cannot evaluate: {first_line(exc)}", step_line=step.line,
                                column=step.column, hint=evaluation_hint(exc)) from None
            names.append((step.name, env[step.name]))
            if k == loss_at:
                out = env[step.name]
        _check_loss(out, steps[loss_at])
        return out

    run()   # errors now, before any tracing; the tensors of this run are simply dropped
    return Built(run=run, leaves=leaves, constants=constants, module=None, names=names)


def _check_loss(out: Any, step: Step) -> None:
    where = {"step_line": step.line, "column": step.column}
    loss = "the loss" if step.name == "loss" else f"the loss {step.name}"
    if isinstance(out, torch.Tensor) and out.numel() != 1:
        raise StepError(f"{loss} has shape {list(out.shape)}, not a scalar", **where,
                        hint="wrap it in sum(...) or mean(...)")
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise StepError(f"{loss} does not depend on any param, so there is nothing "
                        "to backpropagate", **where, hint="declare the values to differentiate under params")
    if out.grad_fn is None:
        raise StepError(f"{loss} is a param itself; apply at least one operation", **where)
