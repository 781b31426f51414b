"""Tracing: run a model's forward and backward pass under PyTorch and record it as plain
data (the ``bprender.trace/1`` dict described in docs/formats.md).

- ``trace_preset(preset)``: the model of a loaded preset (errors located in the preset file),
- ``trace_model(model, inputs, target, loss, title=..., description=...)``: the Python API,
- ``trace_built(built, title, description)``: the common lower level.
"""
from __future__ import annotations

from typing import Any

from bprender.errors import PresetError, StepError

from .capture import SCHEMA, op_label, trace_built


def trace_model(model: Any, inputs: Any, target: Any, loss: Any = "mse", *,
                title: str = "", description: str = "", train: dict | None = None) -> dict:
    """Trace ``loss(model(*inputs), target)`` once (forward and backward).

    loss is "mse", "cross_entropy", "bce" (expects probabilities) or a callable
    ``(output, target) -> scalar``. The parameters' ``.grad`` is populated as by a normal
    ``backward()``. ``train`` ({"steps", "optimizer", "lr", ...}, as a preset's validated
    train section) also records training steps; the model's parameters are then updated.
    """
    from bprender.model.python_file import build_from_module
    built = build_from_module(model, inputs, target, loss)
    return trace_built(built, title=title, description=description, train=train)


def trace_preset(preset: Any) -> dict:
    """Build and trace the model of a loaded preset (``.data``, ``.base_dir``, ``.error``)."""
    from bprender.model import build_model
    data = preset.data
    try:
        built = build_model(data["model"], preset.base_dir)
        return trace_built(built, title=data.get("title") or "",
                           description=data.get("description") or "", train=data.get("train"))
    except PresetError as exc:
        if exc.key and not exc.path:
            if isinstance(exc, StepError) and hasattr(preset, "locate"):
                raise preset.locate(exc) from None   # on the step's own line of the file
            located = preset.error(exc.key, exc.message, exc.hint)
            located.code = exc.code   # where in the user's own code, when it was there
            raise located from None
        raise


__all__ = ["SCHEMA", "op_label", "trace_built", "trace_model", "trace_preset"]
