"""A model defined in the user's own Python file: ``model: {python: "FILE.py:FUNCTION"}``.

The file (relative to the preset's folder) is imported under a unique module name and
``FUNCTION()`` is called with no arguments. It returns a mapping with:

- ``model``: an ``nn.Module``,
- ``inputs``: a tensor, a tuple/list of tensors passed as ``model(*inputs)``, or a dict of
  keyword arguments passed as ``model(**inputs)``,
- ``target``: a tensor, a tuple or dict of tensors (passed to the loss as given), or absent /
  None: then the loss is called with the output alone,
- ``loss``: ``"mse"`` (``F.mse_loss``), ``"cross_entropy"`` (``F.cross_entropy``: the model
  outputs logits, the target holds class indices or class probabilities), ``"bce"``
  (``F.binary_cross_entropy``: the model outputs *probabilities* in [0, 1], e.g. it ends
  with a sigmoid; the target is a float tensor of the same shape), or a callable
  ``loss(output, target) -> scalar tensor`` (``loss(output)`` without a target).

Trace names: parameters are named as ``model.named_parameters()`` names them, buffers as
``named_buffers()``; the input is ``input`` (``input0``, ``input1``... for several, the keyword
for a dict), the target is ``target`` (``target0``... for a tuple, ``target_KEY`` for a dict).

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
import warnings
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
                      guard: Callable[[str], Any] | None = None,
                      where: tuple[str, int] | None = None) -> Built:
    """A Built for ``loss(model(*inputs), target)``.

    fail(message, hint) makes the exception raised for a wrong argument; guard(what) is a
    context manager wrapping calls into user code (python files turn user exceptions into
    PresetErrors with it). seed, when given, seeds torch before every run. where (file, line):
    the user's line that warnings raised from bprender's or torch's own code are reported at
    (a loss given by name warns from bprender's call); default the first caller outside bprender.
    """
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise fail(f"`model` is the class {model.__name__}, not a model", f"use {model.__name__}()")
    if not isinstance(model, nn.Module):
        raise fail(f"`model` must be a torch.nn.Module, got {type(model).__name__}", None)
    args, kwargs, input_names = _model_inputs(inputs, fail)
    targets, target_names = _targets(target, fail)
    loss_fn = _loss_function(loss, fail)
    takes_labels = _is_cross_entropy(loss)

    leaves: dict[str, torch.Tensor] = {}
    constants: dict[str, torch.Tensor] = {}
    roles: dict[str, str] = {}
    for name, p in model.named_parameters():
        (leaves if p.requires_grad else constants)[name] = p
        if not p.requires_grad:
            roles[name] = "frozen"
    for name, b in model.named_buffers():
        if name not in constants and isinstance(b, torch.Tensor):
            constants[name] = b
            roles[name] = "buffer"
    for name, t in zip(input_names + target_names, list(args) + list(kwargs.values()) + targets):
        if t.requires_grad and t.grad_fn is None:
            leaves[name] = t
        elif not t.requires_grad:
            constants[name] = t
    given = zip(input_names + target_names, list(args) + list(kwargs.values()) + targets)
    for name, t in [*given, *model.named_parameters()]:
        if isinstance(t, torch.Tensor) and t.numel() == 0:
            raise fail(f"`{name}` has shape {list(t.shape)}: no elements, so no value or gradient "
                       "to show", "give every tensor at least one element (one row of inputs)")
    guard = guard or (lambda what: contextlib.nullcontext())
    the_target = tuple(targets) if isinstance(target, (tuple, list)) else target
    where = where or _caller_outside()
    registry: dict = {}   # shows a warning once per location, as Python's default filter does

    def run() -> torch.Tensor:
        if seed is not None:
            torch.manual_seed(seed)
        with _warnings_at(where, registry):
            return _run()

    def _run() -> torch.Tensor:
        with guard("while running the forward pass"):
            out = model(*args, **kwargs)
        if takes_labels and isinstance(out, torch.Tensor) and isinstance(target, torch.Tensor) \
                and target.is_floating_point() and target.dim() == out.dim() - 1:
            raise fail(f"cross-entropy takes class indices as integers, but the target is "
                       f"{str(target.dtype).replace('torch.', '')}", "pass target.long()")
        with guard("while computing the loss"):
            value = loss_fn(out) if target is None else loss_fn(out, the_target)
        if not isinstance(value, torch.Tensor):
            raise fail(f"the loss must be a tensor, got {type(value).__name__}", None)
        if value.numel() != 1:
            raise fail(f"the loss has shape {list(value.shape)}, not a scalar",
                       "reduce it with .mean() or .sum()")
        if value.grad_fn is None:
            raise fail("the loss does not depend on any parameter that requires grad", None)
        return value

    def predict(x: torch.Tensor):
        with guard("while running the model on a grid of inputs"):
            return model(x)

    one_input = len(args) == 1 and not kwargs
    return Built(run=run, leaves=leaves, constants=constants, module=model, roles=roles,
                 predict=predict if one_input else None, features=args[0] if one_input else None)


_PACKAGES = tuple(str(Path(m.__file__).resolve().parent) for m in (torch, sys.modules["bprender"]))


def _ours(filename: str) -> bool:
    """A file of bprender or torch (not the user's)."""
    with contextlib.suppress(OSError, ValueError):
        return str(Path(filename).resolve()).startswith(_PACKAGES)
    return False


def _caller_outside() -> tuple[str, int] | None:
    """The innermost calling frame outside bprender and torch: the user's script or notebook."""
    frame = sys._getframe(1)
    while frame is not None and _ours(frame.f_code.co_filename):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else None


@contextlib.contextmanager
def _warnings_at(where: tuple[str, int] | None, registry: dict):
    """Warnings raised inside bprender's or torch's own code (F.mse_loss's broadcasting warning
    when the loss is given by name) are reported at the user's line instead."""
    if where is None:
        yield
        return
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for w in caught:
            filename, lineno = where if _ours(w.filename) else (w.filename, w.lineno)
            warnings.warn_explicit(w.message, w.category, filename, lineno, registry=registry)


def _model_inputs(inputs: Any, fail) -> tuple[tuple, dict, list[str]]:
    """model(*args, **kwargs) from a tensor, a tuple/list of tensors or a dict of keyword
    arguments; with the trace names: input (input0, input1...) or the keywords."""
    if isinstance(inputs, torch.Tensor):
        return (inputs,), {}, ["input"]
    if isinstance(inputs, Mapping) and inputs and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in inputs.items()):
        return (), dict(inputs), list(inputs)
    if isinstance(inputs, (tuple, list)) and inputs and all(isinstance(t, torch.Tensor) for t in inputs):
        names = ["input"] if len(inputs) == 1 else [f"input{i}" for i in range(len(inputs))]
        return tuple(inputs), {}, names
    raise fail("`inputs` must be a tensor, a tuple of tensors or a dict of keyword arguments "
               f"(name: tensor), got {type(inputs).__name__}", None)


def _targets(target: Any, fail) -> tuple[list, list[str]]:
    """The target's tensors and trace names: target, target0/target1... for a tuple,
    target_KEY for a dict, none when absent (the loss takes the output alone)."""
    if target is None:
        return [], []
    if isinstance(target, torch.Tensor):
        return [target], ["target"]
    if isinstance(target, (tuple, list)) and target and all(isinstance(t, torch.Tensor) for t in target):
        return list(target), [f"target{i}" for i in range(len(target))]
    if isinstance(target, Mapping) and target and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in target.items()):
        return list(target.values()), [f"target_{k}" for k in target]
    raise fail("`target` must be a tensor, a tuple or dict of tensors, or None (a loss that takes "
               f"the output alone), got {type(target).__name__}", None)


def _loss_function(loss: Any, fail) -> Callable:
    if isinstance(loss, str):
        if loss not in LOSSES:
            close = difflib.get_close_matches(loss, list(LOSSES), n=1)
            raise fail(f"unknown loss {loss!r}",
                       f"did you mean {close[0]!r}?" if close else
                       "use " + ", ".join(repr(k) for k in LOSSES) + " or a callable")
        return LOSSES[loss]
    if isinstance(loss, type):  # nn.MSELoss instead of nn.MSELoss(): calling it would build a loss
        prefix = "nn." if issubclass(loss, nn.Module) and loss.__module__.startswith("torch.nn") else ""
        raise fail(f"`loss` is the class {loss.__name__}, not a loss", f"use {prefix}{loss.__name__}()")
    if callable(loss):
        return loss
    raise fail(f"`loss` must be a loss name or a callable(output, target), got "
               f"{type(loss).__name__}", None)


def _is_cross_entropy(loss: Any) -> bool:
    return loss == "cross_entropy" or loss is F.cross_entropy or loss is F.nll_loss or \
        isinstance(loss, (nn.CrossEntropyLoss, nn.NLLLoss))


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
    code = None
    if isinstance(exc, SyntaxError) and exc.lineno and \
            Path(exc.filename or "").resolve() == user_file:
        where = f" at {user_file.name}:{exc.lineno}"
        text = f"SyntaxError: {exc.msg}"
        hint = (exc.text or "").strip() or None
        code = (str(user_file), exc.lineno)
    elif frame is not None:
        where = f" at {user_file.name}:{frame.lineno}"
        hint = (frame.line or "").strip() or None
        code = (str(user_file), frame.lineno)
    else:
        where, hint = "", None
    return PresetError(f"{what}{where}: {text}", key=KEY, hint=hint, code=code)


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
    missing = [k for k in RETURN_KEYS if k not in result and k != "target"]  # no target: loss(output)
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

    return build_from_module(result["model"], result["inputs"], result.get("target"),
                             result["loss"], seed=seed, fail=fail, guard=guard,
                             where=(str(path), _loss_line(func)))


def _loss_line(func) -> int:
    """The line of FUNCTION() that names the loss (else its first line): where a warning about
    the loss belongs."""
    import inspect
    with contextlib.suppress(OSError, TypeError):
        lines, first = inspect.getsourcelines(func)
        for k, line in enumerate(lines):
            if "loss" in line and ("=" in line or ":" in line) and not line.lstrip().startswith("#"):
                return first + k
        return first
    return func.__code__.co_firstlineno
