"""What gets traced: a preset's ``model:`` mapping turned into a runnable loss.

Two sources give the same :class:`Built` object:

- ``model: {expression: "...", params: {...}, inputs: {...}}`` (see :mod:`.expression`),
- ``model: {python: "FILE.py:FUNCTION"}`` (see :mod:`.python_file`).

Mistakes the user can fix raise :class:`bprender.errors.PresetError` with a dotted ``key``
(``model.expression``, ``model.python``, ``model.params.w`` ...); the caller locates it in
the preset file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from bprender.errors import PresetError


@dataclass
class Built:
    """A model ready to trace.

    run: computes the forward pass and returns the scalar loss (a tensor with grad_fn).
    leaves: named leaf tensors that require grad (parameters), in a stable order.
    constants: named tensors that do not require grad (inputs, targets).
    module: the nn.Module for python models (used for module paths), else None.
    roles: constant name -> "frozen" (a parameter that does not require grad) or "buffer";
    inputs and targets have none.
    """
    run: Callable[[], Any]
    leaves: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    module: Any = None
    roles: dict = field(default_factory=dict)


def build_model(spec: Mapping[str, Any], base_dir: str | Path = ".") -> Built:
    """Build from a preset's ``model:`` mapping; ``base_dir`` resolves python file paths."""
    if not isinstance(spec, Mapping):
        raise PresetError("must be a mapping with `expression` or `python`", key="model")
    # a validated preset holds both keys, the unused one as None
    has_expr = spec.get("expression") is not None
    has_py = spec.get("python") is not None
    if has_expr == has_py:
        raise PresetError("needs exactly one of `expression` or `python`", key="model",
                          hint="e.g. expression: (w * x + b - y_true) ** 2")
    seed = spec.get("seed", 0)
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise PresetError(f"must be an integer, got {seed!r}", key="model.seed")
    if has_expr:
        from .expression import build_expression
        return build_expression(spec["expression"], spec.get("params") or {},
                                spec.get("inputs") or {}, seed=seed)
    from .python_file import build_python
    return build_python(spec["python"], base_dir, seed=seed)


__all__ = ["Built", "build_model"]
