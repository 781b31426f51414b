"""What gets traced: a preset's ``model:`` mapping turned into a runnable loss.

Three sources give the same :class:`Built` object:

- ``model: {expression: "...", params: {...}, inputs: {...}}`` (see :mod:`.expression`),
- ``model: {steps: "y = ...\nloss = ...", params: {...}, inputs: {...}}`` (see :mod:`.steps`),
- ``model: {python: "FILE.py:FUNCTION"}`` (see :mod:`.python_file`).

Mistakes the user can fix raise :class:`bprender.errors.PresetError` with a dotted ``key``
(``model.expression``, ``model.python``, ``model.params.w`` ...), a step's mistake a
:class:`bprender.errors.StepError` with its line; the caller locates it in the preset file.
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
    names: (name, value) of every step of the last run(), in order (steps models; the trace
        labels each value's node with its name), else empty.
    predict: x -> the model's output for inputs x shaped like ``features`` (python models
        called as model(x) on one input tensor), else None; the training trace evaluates it
        over a grid of the input plane when that tensor has two features (trace/boundary.py).
    features: that one input tensor (the samples), else None.
    """
    run: Callable[[], Any]
    leaves: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    module: Any = None
    roles: dict = field(default_factory=dict)
    names: list = field(default_factory=list)
    predict: Callable[[Any], Any] | None = None
    features: Any = None


def build_model(spec: Mapping[str, Any], base_dir: str | Path = ".") -> Built:
    """Build from a preset's ``model:`` mapping; ``base_dir`` resolves python file paths."""
    if not isinstance(spec, Mapping):
        raise PresetError("must be a mapping with `expression`, `steps` or `python`", key="model")
    # a validated preset holds every key, the unused ones as None
    given = [k for k in ("expression", "steps", "python") if spec.get(k) is not None]
    if len(given) != 1:
        raise PresetError("needs exactly one of `expression`, `steps` or `python`", key="model",
                          hint="e.g. expression: (w * x + b - y_true) ** 2")
    seed = spec.get("seed", 0)
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise PresetError(f"must be an integer, got {seed!r}", key="model.seed")
    if given == ["steps"]:
        from .steps import build_steps
        return build_steps(spec["steps"], spec.get("params") or {}, spec.get("inputs") or {},
                           spec.get("loss"), seed=seed)
    if given == ["expression"]:
        from .expression import build_expression
        return build_expression(spec["expression"], spec.get("params") or {},
                                spec.get("inputs") or {}, seed=seed)
    from .python_file import build_python
    return build_python(spec["python"], base_dir, seed=seed)


__all__ = ["Built", "build_model"]
