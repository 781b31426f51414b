"""A model defined in the user's own Python file: ``model: {python: "FILE.py:FUNCTION"}``.

The file (relative to the preset's folder) is imported under a unique module name and
``FUNCTION()`` is called with no arguments. It returns a mapping with:

- ``model``: an ``nn.Module``,
- ``inputs``: a tensor, or a tuple/list of tensors passed as ``model(*inputs)``,
- ``target``: a tensor,
- ``loss``: ``"mse"`` (``F.mse_loss``), ``"cross_entropy"`` (``F.cross_entropy``: the model
  outputs logits, the target holds class indices or class probabilities), ``"bce"``
  (``F.binary_cross_entropy``: the model outputs *probabilities* in [0, 1], e.g. it ends
  with a sigmoid; the target is a float tensor of the same shape), or a callable
  ``loss(output, target) -> scalar tensor``.

Trace names: parameters are named as ``model.named_parameters()`` names them; the input is
``input`` (``input0``, ``input1``... for several), the target is ``target``.

Mistakes (missing file or function, a wrong return value, an unknown loss, an exception in
the user's code) raise ``PresetError`` with key ``model.python``; an exception in user code
is reported with its type, message and the user file's line, not bprender's traceback.
"""
from __future__ import annotations

import contextlib
import difflib
import importlib.util
import itertools
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from bprender.errors import PresetError

from . import Built

KEY = "model.python"

LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": F.mse_loss,
    "cross_entropy": F.cross_entropy,
    "bce": F.binary_cross_entropy,
}

RETURN_KEYS = ("model", "inputs", "target", "loss")

_counter = itertools.count()


def _value_error(message: str, hint: str | None = None) -> Exception:
    return ValueError(message + (f" ({hint})" if hint else ""))


def build_from_module(model: Any, inputs: Any, target: Any, loss: Any, *,
                      seed: int | None = None,
                      fail: Callable[[str, str | None], Exception] = _value_error,
                      guard: Callable[[str], Any] | None = None) -> Built:
    """A Built for ``loss(model(*inputs), target)``.

    fail(message, hint) makes the exception raised for a wrong argument; guard(what) is a
    context manager wrapping calls into user code (python files turn user exceptions into
    PresetErrors with it). seed, when given, seeds torch before every run.
    """
    if not isinstance(model, nn.Module):
        raise fail(f"`model` must be a torch.nn.Module, got {type(model).__name__}", None)
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    if not isinstance(inputs, (tuple, list)) or not inputs or \
            not all(isinstance(t, torch.Tensor) for t in inputs):
        raise fail("`inputs` must be a tensor or a tuple of tensors, got "
                   f"{type(inputs).__name__}", None)
    inputs = tuple(inputs)
    if not isinstance(target, torch.Tensor):
        raise fail(f"`target` must be a tensor, got {type(target).__name__}", None)
    if isinstance(loss, str):
        if loss not in LOSSES:
            close = difflib.get_close_matches(loss, list(LOSSES), n=1)
            raise fail(f"unknown loss {loss!r}",
                       f"did you mean {close[0]!r}?" if close else
                       "use " + ", ".join(repr(k) for k in LOSSES) + " or a callable")
        loss_fn = LOSSES[loss]
    elif callable(loss):
        loss_fn = loss
    else:
        raise fail(f"`loss` must be a loss name or a callable(output, target), got "
                   f"{type(loss).__name__}", None)

    leaves: dict[str, torch.Tensor] = {}
    constants: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        (leaves if p.requires_grad else constants)[name] = p
    names = ["input"] if len(inputs) == 1 else [f"input{i}" for i in range(len(inputs))]
    for name, t in zip(names + ["target"], inputs + (target,)):
        if t.requires_grad and t.grad_fn is None:
            leaves[name] = t
        elif not t.requires_grad:
            constants[name] = t
    for name, t in [*zip(names + ["target"], inputs + (target,)), *model.named_parameters()]:
        if t.numel() == 0:
            raise fail(f"`{name}` has shape {list(t.shape)}: no elements, so no value or gradient "
                       "to show", "give every tensor at least one element (one row of inputs)")
    guard = guard or (lambda what: contextlib.nullcontext())

    def run() -> torch.Tensor:
        if seed is not None:
            torch.manual_seed(seed)
        with guard("while running the forward pass"):
            out = model(*inputs)
        with guard("while computing the loss"):
            value = loss_fn(out, target)
        if not isinstance(value, torch.Tensor):
            raise fail(f"the loss must be a tensor, got {type(value).__name__}", None)
        if value.numel() != 1:
            raise fail(f"the loss has shape {list(value.shape)}, not a scalar",
                       "reduce it with .mean() or .sum()")
        if value.grad_fn is None:
            raise fail("the loss does not depend on any parameter that requires grad", None)
        return value

    return Built(run=run, leaves=leaves, constants=constants, module=model)


def _user_frame(exc: BaseException, user_file: Path) -> traceback.FrameSummary | None:
    frames = traceback.extract_tb(exc.__traceback__)
    target = str(user_file)
    for frame in reversed(frames):
        with contextlib.suppress(OSError):
            if str(Path(frame.filename).resolve()) == target:
                return frame
    return None


def _user_error(exc: BaseException, user_file: Path, what: str) -> PresetError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    frame = _user_frame(exc, user_file)
    if isinstance(exc, SyntaxError) and exc.lineno and \
            Path(exc.filename or "").resolve() == user_file:
        where = f" at {user_file.name}:{exc.lineno}"
        text = f"SyntaxError: {exc.msg}"
        hint = (exc.text or "").strip() or None
    elif frame is not None:
        where = f" at {user_file.name}:{frame.lineno}"
        hint = (frame.line or "").strip() or None
    else:
        where, hint = "", None
    return PresetError(f"{what}{where}: {text}", key=KEY, hint=hint)


@contextlib.contextmanager
def _on_path(folder: Path):
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


def build_python(spec: Any, base_dir: str | Path = ".", *, seed: int = 0) -> Built:
    """Import FILE.py (relative to base_dir), call FUNCTION() and check what it returns."""
    if not isinstance(spec, str) or ":" not in spec:
        raise PresetError(f"expected FILE.py:FUNCTION, got {spec!r}", key=KEY,
                          hint="e.g. python: mynet.py:build")
    file_part, func_name = spec.rsplit(":", 1)
    file_part, func_name = file_part.strip(), func_name.strip()
    if not file_part or not func_name.isidentifier():
        raise PresetError(f"expected FILE.py:FUNCTION, got {spec!r}", key=KEY,
                          hint="e.g. python: mynet.py:build")
    path = Path(file_part).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    path = path.resolve()
    if not path.is_file():
        raise PresetError(f"file not found: {path}", key=KEY,
                          hint="the path is relative to the preset's folder")

    @contextlib.contextmanager
    def guard(what: str):
        try:
            yield
        except PresetError:
            raise
        except SystemExit as exc:  # sys.exit() in user code must not end bprender silently
            raise PresetError(f"{what}: the code called sys.exit({exc.code!r})", key=KEY,
                              hint="return the mapping instead of exiting") from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # user code (even a BaseException of its own): the user's mistake
            raise _user_error(exc, path, what) from None

    mod_name = f"bprender_user_{path.stem}_{next(_counter)}"
    try:
        mod_spec = importlib.util.spec_from_file_location(mod_name, path)
    except Exception as exc:
        raise PresetError(f"cannot import {path.name}: {exc}", key=KEY) from None
    if mod_spec is None or mod_spec.loader is None:
        raise PresetError(f"cannot import {path.name}: not a Python file", key=KEY)
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[mod_name] = module
    with _on_path(path.parent):
        with guard(f"error while importing {path.name}"):
            mod_spec.loader.exec_module(module)
        func = getattr(module, func_name, None)
        if func is None or not callable(func):
            funcs = [n for n, v in vars(module).items()
                     if callable(v) and not n.startswith("_") and
                     getattr(v, "__module__", None) == mod_name]
            close = difflib.get_close_matches(func_name, funcs, n=1)
            hint = (f"did you mean {close[0]!r}?" if close else
                    ("functions in the file: " + ", ".join(sorted(funcs))) if funcs else None)
            what = "no function" if func is None else "not a function:"
            raise PresetError(f"{what} {func_name!r} in {path.name}", key=KEY, hint=hint)
        torch.manual_seed(seed)
        with guard(f"error in {func_name}()"):
            result = func()

    if not isinstance(result, Mapping):
        raise PresetError(f"{func_name}() must return a mapping with keys "
                          f"{', '.join(RETURN_KEYS)}; got {type(result).__name__}", key=KEY,
                          hint="return dict(model=..., inputs=..., target=..., loss='mse')")
    missing = [k for k in RETURN_KEYS if k not in result]
    extra = sorted(str(k) for k in result if k not in RETURN_KEYS)
    if extra:
        close = difflib.get_close_matches(extra[0], RETURN_KEYS, n=1)
        raise PresetError(f"{func_name}() returned an unexpected key {extra[0]!r}", key=KEY,
                          hint=f"did you mean {close[0]!r}?" if close else
                          "expected keys: " + ", ".join(RETURN_KEYS))
    if missing:
        raise PresetError(f"{func_name}() must return {', '.join(RETURN_KEYS)}; missing "
                          f"{', '.join(missing)}", key=KEY)

    def fail(message: str, hint: str | None) -> PresetError:
        return PresetError(f"{func_name}(): {message}", key=KEY, hint=hint)

    return build_from_module(result["model"], result["inputs"], result["target"],
                             result["loss"], seed=seed, fail=fail, guard=guard)
