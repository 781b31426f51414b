"""Record backward passes inside the user's own training loop.

    rec = bprender.Recorder(model)                 # or: with bprender.record(model) as rec:
    for step, (x, y) in enumerate(loader):
        with rec.step(capture=step in (0, 49, 99)):
            loss = criterion(model(x), y)
            loss.backward()
        optimizer.step(); optimizer.zero_grad()
    rec.save("run.trace.json")

Steps are numbered 0, 1, 2... in the order ``rec.step()`` is entered. While a step runs,
``torch.autograd.backward`` (what ``loss.backward()`` calls) is wrapped: the wrapper calls the
real one with the same arguments, so the run is the one it would be without recording; it
notes the loss of the step's first backward call (a detached copy). A captured step also runs
the user's forward under :class:`bprender.trace.capture.Capture` (a dispatch mode and module path
hooks that only watch) and its first backward call with node hooks that return nothing; everything
is removed when the step ends, also when it raises. Nothing here draws a random number, so the RNG
state is untouched.

The saved file is a ``bprender.trace/1`` trace: the first captured step's trace at the top level
(any trace reader renders it) plus a ``recording`` section (docs/formats.md).
"""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from bprender import jsonio
from bprender.errors import BprenderError
from bprender.model import Built

from .capture import SCHEMA, Capture
from .summary import materialize, summarize


def _loss_of(tensors: Any) -> torch.Tensor | None:
    """The loss a backward call starts from: a one-element tensor (the first of a sequence)."""
    if isinstance(tensors, (tuple, list)) and tensors:
        tensors = tensors[0]
    if isinstance(tensors, torch.Tensor) and tensors.numel() == 1:
        return tensors
    return None


class Recorder:
    """Records the steps of a training loop; ``step(capture=True)`` keeps a full trace.

    model: the nn.Module (its parameters and buffers are named as named_parameters() and
    named_buffers() name them). norms=True also records each step's total parameter and
    gradient norm (read when the step's ``with`` block ends)."""

    def __init__(self, model: nn.Module, *, norms: bool = False, title: str = "",
                 description: str = ""):
        if isinstance(model, type):
            raise BprenderError(f"Recorder needs the model, not the class {model.__name__}: "
                                f"use Recorder({model.__name__}(...))")
        if not isinstance(model, nn.Module):
            raise BprenderError(f"Recorder needs a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.norms = norms
        self.title = title
        self.description = description
        self.steps: list[dict] = []      # one per completed step: {"step", "loss", norms...}
        # a step's loss stays a tensor until the trace is written (no summary in the loop)
        self.captures: list[dict] = []   # {"step", "trace": body}
        self._next = 0
        self._open = False

    # `with bprender.record(model) as rec:` reads as a block; nothing to undo at its end
    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def _built(self) -> Built:
        leaves, constants, roles = {}, {}, {}
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                leaves[name] = p
            else:
                constants[name], roles[name] = p, "frozen"
        for name, b in self.model.named_buffers():
            if name not in constants:
                constants[name], roles[name] = b, "buffer"
        return Built(run=lambda: None, leaves=leaves, constants=constants, module=self.model, roles=roles)

    @contextlib.contextmanager
    def step(self, capture: bool = False) -> Iterator[int]:
        """One training step: run the forward pass, the loss and ``loss.backward()`` inside.
        Yields the step's number."""
        if self._open:
            raise BprenderError("rec.step() blocks cannot be nested: end one step before the next")
        index = self._next
        self._next += 1
        losses: list[torch.Tensor] = []
        original = torch.autograd.backward
        cap, hooks = self._capture() if capture else (None, None)

        def backward(tensors, *args, **kwargs):
            loss = _loss_of(tensors)
            first = not losses and loss is not None
            if first:
                losses.append(loss.detach().clone())
            if first and cap is not None:
                return cap.backward(loss, lambda: original(tensors, *args, **kwargs))
            return original(tensors, *args, **kwargs)

        self._open = True
        torch.autograd.backward = backward
        try:
            with contextlib.ExitStack() as stack:
                if cap is not None:
                    stack.enter_context(hooks())
                    stack.enter_context(cap)
                yield index
        finally:
            if torch.autograd.backward is backward:
                torch.autograd.backward = original
            self._open = False
        self.steps.append(self._entry(index, losses))
        if cap is not None:
            if cap.body is None:
                warnings.warn(f"bprender: step {index} was to be captured, but no loss.backward() ran "
                              "inside its `with rec.step(...)` block", stacklevel=3)
            else:
                self.captures.append({"step": index, "trace": {
                    "title": self.title, "description": self.description, **cap.body}})

    def _capture(self) -> tuple[Capture, Any]:
        """A Capture for this model, and a context manager holding the root module's hooks that
        name its inputs (its forward's tensor arguments) and the target (a tensor from outside
        the step that the loss uses after the model ran)."""
        inside, seen_model, targets = [0], [False], [0]

        def name_target(t: torch.Tensor) -> str | None:
            if inside[0] or not seen_model[0]:
                return None
            name = "target" if targets[0] == 0 else f"target{targets[0]}"
            targets[0] += 1
            cap.add_constant(name, t)
            return name

        # the numbers are written at save time, outside the training loop (summary.Floats)
        cap = Capture(self._built(), name_const=name_target, defer=True)

        def pre(module, args, kwargs):
            if inside[0] == 0 and not seen_model[0]:
                tensors = [a for a in args if isinstance(a, torch.Tensor)]
                for k, t in enumerate(tensors):
                    cap.add_constant("input" if len(tensors) == 1 else f"input{k}", t)
                for key, t in kwargs.items():
                    if isinstance(t, torch.Tensor):
                        cap.add_constant(key, t)
            inside[0] += 1

        def post(module, args, output):
            inside[0] = max(0, inside[0] - 1)
            seen_model[0] = True

        @contextlib.contextmanager
        def hooks():
            handles = [self.model.register_forward_pre_hook(pre, with_kwargs=True),
                       self.model.register_forward_hook(post, always_call=True)]
            try:
                yield
            finally:
                for h in handles:
                    h.remove()

        return cap, hooks

    def _entry(self, index: int, losses: list) -> dict:
        entry: dict[str, Any] = {"step": index, "loss": losses[0] if losses else None}
        if self.norms:
            with torch.no_grad():
                params = [p.detach() for p in self.model.parameters()]
                grads = [p.grad.detach() for p in self.model.parameters() if p.grad is not None]
                entry["param_norm"] = _total_norm(params)
                entry["grad_norm"] = _total_norm(grads) if grads else None
        return entry

    @property
    def trace(self) -> dict:
        """The recording as a trace dict (what save() writes)."""
        if not self.captures:
            raise BprenderError("nothing to save: no step was captured; use rec.step(capture=True) "
                                "for at least one step")
        materialize(self.captures)   # in place: once, whichever of trace/save comes first
        first = self.captures[0]["trace"]
        return {"schema": SCHEMA, **first,
                "recording": {"steps": [{**e, "loss": _number(e["loss"]) if e["loss"] is not None else None}
                                        for e in self.steps],
                              "captures": list(self.captures)}}

    def save(self, path) -> Path:
        """Write the recording as strict JSON (same run, same bytes)."""
        from bprender.encode.atomic import atomic_output
        path = Path(path)
        text = jsonio.dumps(self.trace)
        with atomic_output(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return path


def _number(t: torch.Tensor) -> float:
    """A one-element tensor as the trace writes numbers (float32's shortest decimal)."""
    return summarize(t.reshape(()))["values"][0]


def _total_norm(tensors: list) -> float:
    norms = [torch.linalg.vector_norm(t.double()) for t in tensors]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def record(model: nn.Module, **options) -> Recorder:
    """``with bprender.record(model) as rec:`` (the same as ``rec = Recorder(model)``)."""
    return Recorder(model, **options)


__all__ = ["Recorder", "record"]
