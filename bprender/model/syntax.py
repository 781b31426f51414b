"""Reading formula text into a Python AST without ever running out of stack.

``ast.parse`` itself fails on deep nesting (10,000 unary minus signs: MemoryError; 10,000 chained
terms: RecursionError), and our checker and evaluator walk the tree recursively. So the text is
parsed here, those failures become :class:`TooDeep`, and a tree nested more than ``MAX_DEPTH``
operations deep is refused before anything recursive touches it: a formula that deep would draw
as thousands of nodes anyway. Torch-free, so the preset validator can use it too, for formulas
and for the syntax of a model's ``steps`` text (:func:`read_steps`).
"""
from __future__ import annotations

import ast
from typing import Any

from bprender.errors import PresetError, StepError

MAX_DEPTH = 100    # nested operations in one formula or step; a graph that deep is unwatchable
# operations in one model's text: beyond this the layout alone takes minutes (measured: 300 ops
# in 8 s, 700 in 80 s for `bprender check`) and the video runs for over ten minutes
MAX_OPS = 400
_OPS = (ast.BinOp, ast.UnaryOp, ast.Call, ast.AugAssign)


class TooDeep(Exception):
    """The formula nests too deeply; line and column (1-based) of the deepest point if known."""

    hint = "split it into named steps, one name = formula per line, or shorten it"

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class TooBig(TooDeep):
    """More than MAX_OPS operations in one model's text."""

    hint = "shorten it, or write the model as a python file and use view: modules"


def parse(text: str, mode: str) -> ast.AST:
    """``ast.parse(text, mode=mode)``; raises SyntaxError as usual, TooDeep for deep nesting."""
    try:
        tree = ast.parse(text, mode=mode)
    except (RecursionError, MemoryError):
        # CPython's parser gives up on deep nesting with these; the text is short, so it is
        # the nesting, not a real lack of memory
        raise TooDeep(f"the formula is nested too deeply to read; at most {MAX_DEPTH} operations inside one "
                      "another", line=_longest_line(text)) from None
    check_depth(tree)
    return tree


def check_depth(tree: ast.AST) -> None:
    """Refuse a tree nested more than MAX_DEPTH expression levels, or holding more than MAX_OPS
    operations (iterative: no recursion)."""
    total = 0
    for part in (tree.body if isinstance(tree, ast.Module) else [tree]):
        stack = [(part, 0)]
        while stack:
            node, depth = stack.pop()
            total += isinstance(node, _OPS)
            if isinstance(node, ast.expr):
                depth += 1
                if depth > MAX_DEPTH:
                    raise TooDeep(f"the formula is nested more than {MAX_DEPTH} operations deep",
                                  line=getattr(node, "lineno", None),
                                  column=getattr(node, "col_offset", -1) + 1 or None)
            stack.extend((child, depth) for child in ast.iter_child_nodes(node))
        if total > MAX_OPS:
            raise TooBig(f"more than {MAX_OPS} operations in all: too many to animate",
                         line=getattr(part, "lineno", None))


def read_steps(text: Any) -> ast.Module:
    """Parse the steps text (syntax only; torch-free, so the preset validator uses it too)."""
    if not isinstance(text, str) or not text.strip():
        raise PresetError(f"must be text with one step per line, got {text!r}", key="model.steps",
                          hint="e.g. steps: |  then lines like y_pred = w * x + b")
    for number, line in enumerate(text.splitlines(), 1):
        if "^" in line.partition("#")[0]:
            raise StepError("use ** for powers: ^ is not a power in Python", step_line=number,
                            column=line.index("^") + 1, hint=f"e.g. {line.strip().replace('^', '**')}")
    try:
        return parse(text, "exec")
    except SyntaxError as exc:
        hint = None
        if "\n" not in text.strip():
            hint = "one step per line: write `steps: |` and the steps on the lines below it"
        raise StepError(f"not a valid step: {exc.msg}", step_line=exc.lineno or 1,
                        column=exc.offset or None, hint=hint) from None
    except TooDeep as exc:
        raise StepError(f"{exc.message}", step_line=exc.line or 1,
                        column=exc.column, hint=exc.hint) from None


def _longest_line(text: str) -> int:
    lines = text.splitlines() or [""]
    return max(range(len(lines)), key=lambda i: len(lines[i])) + 1
