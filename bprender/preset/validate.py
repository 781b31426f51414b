"""Check preset data against the schema, normalise it and fill defaults.

Errors are PresetError with `key` set (a dotted path) but no file or line: the caller knows
where each key came from and fills those in (Preset.locate).
"""
from __future__ import annotations

import difflib
import keyword
import math
import numbers
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from ..errors import PresetError
from ..model.syntax import TooDeep, read_steps
from ..model.syntax import parse as parse_text
from .schema import MAX_SIDE, MIN_SIDE, SCHEMA, Key, all_keys, lookup

__all__ = ["validate", "validate_override", "did_you_mean"]


def validate(data: object, *, base_dir: Path, name: str) -> dict:
    """A normalised copy of `data` with every default filled in; raises PresetError."""
    if data is None:
        raise PresetError("the preset is empty; it needs at least a `model:` section",
                          hint="see presets/linear.yaml for an example")
    if not isinstance(data, Mapping):
        raise PresetError("the top level must be a mapping of keys (title:, model:, render:, ...),"
                          f" got {show(data)}")
    raw_model = data.get("model")
    if "model" in data and (raw_model is None or isinstance(raw_model, Mapping)):
        _check_model_source(raw_model or {})   # before the fields: "both" beats "file missing"
    out = _section(SCHEMA, data, "", base_dir)
    if out["title"] is None:
        out["title"] = name
    _check_model(out["model"], base_dir)
    _check_train(out["train"])
    return out


def validate_override(dotted: str, value: object, *, base_dir: Path) -> object:
    """Check one dotted option given outside the file (e.g. a CLI flag); return it normalised.

    A string given for a number option is parsed ("24" -> 24).
    """
    key = lookup(dotted)
    if key is None or key.kind in ("section", "tensors", "renames"):
        raise PresetError("unknown option", key=dotted,
                          hint=did_you_mean(dotted, all_keys()) or None)
    if isinstance(value, str) and key.kind in ("int", "number"):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
    return _check(key, value, dotted, base_dir)


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"did you mean '{close[0]}'?" if close else ""


# ---- describing values in messages -------------------------------------------------------

def show(value: object) -> str:
    """A value as the user would recognise it from their YAML."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a yes/no value ({str(value).lower()})"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, (list, tuple)):
        text = repr(list(value))
        return "a list " + (text if len(text) <= 40 else text[:37] + "...]")
    if isinstance(value, Mapping):
        return "a mapping"
    return f"{type(value).__name__} {value!s}"


def _expected(key: Key) -> str:
    if key.kind == "int":
        if key.min is not None and key.min >= 1:
            return "a positive integer"
        return "a whole number, 0 or more" if key.min == 0 else "a whole number"
    if key.kind == "number":
        return "a number" + (f" of {key.unit}" if key.unit else "")
    return {
        "text": "text",
        "bool": "true or false",
        "enum": "one of: " + ", ".join(key.choices),
        "size": "a size like 1280x720 or [1280, 720]",
        "font": "a path to a .ttf or .otf font file",
        "pyref": "FILE.py:FUNCTION, e.g. mynet.py:build",
        "expression": "a formula as text, e.g. (w * x + b - y_true) ** 2",
        "steps": "text with one step per line, e.g. steps: |  then y_pred = w * x + b",
        "tensors": "a mapping of names to numbers or nested lists of numbers",
        "names": "a list of names, e.g. [layers, encoder.layers.0]",
        "renames": "a mapping of names to the names to show, e.g. {W1: W_in, 0.bias: b_in}",
        "section": "a mapping of keys (" + ", ".join(key.children) + ")",
    }[key.kind]


def _type_error(key: Key, value: object, dotted: str) -> PresetError:
    hint = None
    if value is None and not key.required and key.default is not None:
        hint = f"leave the key out to use the default, {_fmt(key.default)}"
    elif key.kind == "text" and isinstance(value, (numbers.Number, bool)):
        hint = "put it in quotes to make it text"
    return PresetError(f"expected {_expected(key)}, got {show(value)}", key=dotted, hint=hint)


def _fmt(value: object) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]}x{value[1]}"
    return repr(value) if isinstance(value, str) else str(value)


# ---- sections ----------------------------------------------------------------------------

def _section(children: Mapping[str, Key], data: Mapping, prefix: str, base_dir: Path) -> dict:
    out: dict[str, Any] = {}
    for raw_name, value in data.items():
        dotted = prefix + str(raw_name)
        if not isinstance(raw_name, str):
            raise PresetError("keys must be text", key=dotted)
        key = children.get(raw_name)
        if key is None:
            raise PresetError("unknown key", key=dotted,
                              hint=_unknown_hint(raw_name, list(children), prefix))
        out[raw_name] = _check(key, value, dotted, base_dir)
    for name, key in children.items():
        if name in out:
            continue
        if key.required:
            raise PresetError("is missing; every preset needs one", key=prefix + name,
                              hint="e.g. model: {expression: (w * x - y) ** 2, params: {w: 1.0},"
                                   " inputs: {x: 2.0, y: 3.0}}")
        if key.kind == "section":
            out[name] = _check(key, None, prefix + name, base_dir)   # fills its defaults
        else:
            out[name] = _copy(key.default)
    return {name: out[name] for name in children}       # schema order


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _unknown_hint(name: str, valid: list[str], prefix: str) -> str:
    hint = did_you_mean(name, valid)
    if hint:
        return hint
    elsewhere = [k for k in all_keys(sections=True) if k.rsplit(".", 1)[-1] == name]
    if elsewhere:
        parent = elsewhere[0].rpartition(".")[0]
        where = f"under {parent}:" if parent else "at the top level"
        return f"did you mean '{elsewhere[0]}'? it belongs {where}"
    return "valid keys here: " + ", ".join(valid)


# ---- one value ---------------------------------------------------------------------------

def _check(key: Key, value: object, dotted: str, base_dir: Path) -> object:
    if value is None:
        if key.kind == "section":
            value = {}
        elif key.nullable:
            return None
        else:
            raise _type_error(key, value, dotted)
    return _CHECKERS[key.kind](key, value, dotted, base_dir)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_section(key: Key, value, dotted, base_dir):
    if not isinstance(value, Mapping):
        raise _type_error(key, value, dotted)
    return _section(key.children, value, dotted + ".", base_dir)


def _check_text(key: Key, value, dotted, base_dir):
    if not isinstance(value, str):
        raise _type_error(key, value, dotted)
    return value


def _range(key: Key, value, dotted) -> None:
    low, high = key.min, key.max
    too_low = low is not None and (value <= low if key.above else value < low)
    too_high = high is not None and value > high
    if not (too_low or too_high):
        return
    lo = _num(low) if low is not None else None
    hi = _num(high) if high is not None else None
    if key.above:
        want = f"greater than {lo}" + (f" and at most {hi}" if hi else "")
    elif lo is not None and hi is not None:
        want = f"between {lo} and {hi}"
    else:
        want = f"at least {lo}" if lo is not None else f"at most {hi}"
    unit = f" {key.unit}" if key.unit else ""
    raise PresetError(f"must be {want}{unit}, got {value}", key=dotted)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _check_int(key: Key, value, dotted, base_dir):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise _type_error(key, value, dotted)
    value = int(value)
    _range(key, value, dotted)
    return value


def _check_number(key: Key, value, dotted, base_dir):
    if not _is_number(value) or not math.isfinite(value):
        raise _type_error(key, value, dotted)
    _range(key, value, dotted)
    return float(value)


def _check_enum(key: Key, value, dotted, base_dir):
    if not isinstance(value, str):
        raise _type_error(key, value, dotted)
    if value.lower() in key.choices:
        return value.lower()
    raise PresetError(f"unknown value {value!r}; choose one of: " + ", ".join(key.choices),
                      key=dotted, hint=did_you_mean(value.lower(), list(key.choices)) or None)


_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def _check_size(key: Key, value, dotted, base_dir):
    w = h = None
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            w, h = int(m.group(1)), int(m.group(2))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        pair = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair):
            w, h = int(pair[0]), int(pair[1])
    if w is None or h is None:
        raise _type_error(key, value, dotted)
    if min(w, h) < MIN_SIDE or max(w, h) > MAX_SIDE:
        raise PresetError(f"width and height must be between {MIN_SIDE} and {MAX_SIDE} pixels,"
                          f" got {w}x{h}", key=dotted)
    if w % 2 or h % 2:
        raise PresetError(f"width and height must both be even (H.264 video in yuv420p needs"
                          f" even sizes), got {w}x{h}", key=dotted,
                          hint=f"try {w + w % 2}x{h + h % 2}")
    return [w, h]


def _check_font(key: Key, value, dotted, base_dir):
    if not isinstance(value, str) or not value.strip():
        raise _type_error(key, value, dotted)
    if Path(value).suffix.lower() not in (".ttf", ".otf"):
        raise PresetError(f"expected a .ttf or .otf font file, got {value!r}", key=dotted)
    found = base_dir / Path(value).expanduser()
    if not found.is_file():
        raise PresetError(f"font file not found: {found}", key=dotted,
                          hint="a relative path is taken from the preset's folder")
    try:
        with open(found, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise PresetError(f"cannot read the font file {found}: {exc.strerror}", key=dotted) from None
    if magic not in _FONT_MAGIC:
        raise PresetError(f"{found} is not a TrueType or OpenType font", key=dotted,
                          hint="give a .ttf or .otf file as fonts are distributed, not renamed")
    return value


# the first 4 bytes of the font files skia reads: TrueType, Apple TrueType, OpenType CFF, collection
_FONT_MAGIC = (b"\x00\x01\x00\x00", b"true", b"OTTO", b"ttcf")


def _check_pyref(key: Key, value, dotted, base_dir):
    if not isinstance(value, str):
        raise _type_error(key, value, dotted)
    file, sep, func = value.strip().rpartition(":")
    if not sep or not file.endswith(".py") or not func.isidentifier():
        hint = None
        if value.strip().endswith(".py"):
            hint = "add the name of the function that builds the model after a colon"
        raise PresetError(f"expected FILE.py:FUNCTION, e.g. mynet.py:build, got {value!r}",
                          key=dotted, hint=hint)
    found = base_dir / Path(file).expanduser()
    if not found.is_file():
        raise PresetError(f"model file not found: {found}", key=dotted,
                          hint="a relative path is taken from the preset's folder")
    return value.strip()


def _check_expression(key: Key, value, dotted, base_dir):
    if not isinstance(value, str) or not value.strip():
        raise _type_error(key, value, dotted)
    text = value.strip()
    if "^" in text:
        raise PresetError("use ** for powers: ^ is not a power in Python", key=dotted,
                          hint=f"e.g. {text.replace('^', '**')}")
    try:
        parse_text(text, "eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise PresetError(f"not a valid formula ({exc.msg}{where}): {_clip(text)}", key=dotted) from None
    except TooDeep as exc:
        where = f" at column {exc.column}" if exc.column else ""
        raise PresetError(f"{exc.message}{where}", key=dotted, hint=exc.hint) from None
    except (RecursionError, MemoryError):   # Python's parser on thousands of nested operators
        raise PresetError(f"the formula is nested too deeply to read ({len(text)} characters): "
                          f"{_clip(text)}", key=dotted, hint="split it, or write the model in Python "
                          "(model: {python: FILE.py:build})") from None
    return text


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_steps(key: Key, value, dotted, base_dir):
    if not isinstance(value, str) or not value.strip():
        raise _type_error(key, value, dotted)
    read_steps(value)     # syntax only; names and shapes are checked when the model is built
    return value          # unstripped: error lines count from the text's first line


def _check_tensors(key: Key, value, dotted, base_dir):
    if not isinstance(value, Mapping):
        raise _type_error(key, value, dotted)
    as_float = dotted.endswith("params")
    out = {}
    for name, v in value.items():
        where = f"{dotted}.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise PresetError(f"{str(name)!r} is not a valid name: use letters, digits and _,"
                              " not starting with a digit", key=where)
        if keyword.iskeyword(name):
            raise PresetError(f"{name!r} is a Python keyword and cannot be a name", key=where)
        out[name] = _tensor(v, where, as_float)
    return out


def _tensor(value: object, dotted: str, as_float: bool):
    """A number or a rectangular nested list of numbers (tuples become lists)."""
    def shape_of(v, index: str):
        if _is_number(v):
            if not math.isfinite(v):
                raise PresetError(f"numbers must be finite, got {v}{_at(index)}", key=dotted)
            return (float(v) if as_float or not isinstance(v, numbers.Integral) else int(v)), ()
        if isinstance(v, (list, tuple)):
            if not v:
                raise PresetError(f"empty list{_at(index)}: give at least one number", key=dotted)
            items = [shape_of(item, f"{index}[{i}]") for i, item in enumerate(v)]
            first = items[0][1]
            for i, (_, shape) in enumerate(items):
                if shape != first:
                    raise PresetError(
                        f"not a rectangular array: {index}[0] is {_shape(first)} but"
                        f" {index}[{i}] is {_shape(shape)}", key=dotted)
            return [item for item, _ in items], (len(v),) + first
        raise PresetError("expected a number or a nested list of numbers, got"
                          f" {show(v)}{_at(index)}", key=dotted)
    return shape_of(value, "")[0]


def _at(index: str) -> str:
    return f" at {index}" if index else ""


def _shape(shape: tuple) -> str:
    if not shape:
        return "a number"
    return "a list of " + "x".join(map(str, shape))


def _check_names(key: Key, value, dotted, base_dir):
    """A list of names; one name alone is taken as a list of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _type_error(key, value, dotted)
    return list(value)


MAX_SHOWN_NAME = 60  # characters of a name to show (a box line is cut at the view's width anyway)


def _check_renames(key: Key, value, dotted, base_dir):
    """name -> the name to show; whether the model has that name is checked once it is traced
    (bprender/notation.py). YAML reads a key like 0 or 1.5 as a number: it is the name "0"."""
    if not isinstance(value, Mapping):
        raise _type_error(key, value, dotted)
    out = {}
    for name, shown in value.items():
        if isinstance(name, bool) or not isinstance(name, (str, int, float)) or not str(name).strip():
            raise PresetError(f"expected a name, got {show(name)}", key=dotted)
        where = f"{dotted}.{name}"
        if isinstance(shown, bool) or not isinstance(shown, (str, int, float)) or not str(shown).strip():
            raise PresetError(f"expected the name to show as text, got {show(shown)}", key=where)
        if len(str(shown)) > MAX_SHOWN_NAME:
            raise PresetError(f"a shown name may be at most {MAX_SHOWN_NAME} characters, got {len(str(shown))}",
                              key=where)
        out[str(name)] = str(shown)
    return out


def _check_bool(key: Key, value, dotted, base_dir):
    if not isinstance(value, bool):
        raise _type_error(key, value, dotted)
    return value


_CHECKERS: dict[str, Callable[[Key, Any, str, Path], Any]] = {
    "section": _check_section, "text": _check_text, "int": _check_int, "bool": _check_bool,
    "number": _check_number, "enum": _check_enum, "size": _check_size, "font": _check_font,
    "pyref": _check_pyref, "expression": _check_expression, "steps": _check_steps,
    "tensors": _check_tensors, "names": _check_names, "renames": _check_renames,
}


# ---- across keys -------------------------------------------------------------------------

_SOURCES = {"expression": "`expression` (a formula)",
            "steps": "`steps` (named formulas, one per line)",
            "python": "`python` (FILE.py:FUNCTION)"}


def _check_model_source(model: Mapping) -> None:
    given = [k for k in _SOURCES if model.get(k) is not None]
    if not given:
        raise PresetError("needs either " + ", ".join(_SOURCES.values()).replace(", `python`", " or `python`"),
                          key="model")
    if len(given) > 1:
        raise PresetError(f"give either `{given[0]}` or `{given[1]}`, not both", key="model")


def _check_model(model: dict, base_dir: Path) -> None:
    _check_model_source(model)
    if model.get("python") is not None:
        for part in ("params", "inputs"):
            if model.get(part):
                raise PresetError("only used with model.expression or model.steps: a Python model"
                                  " builds its own tensors", key=f"model.{part}")
    if model.get("loss") is not None and model.get("steps") is None:
        raise PresetError("only used with model.steps: it names the step that is the loss",
                          key="model.loss", hint="an expression or a python model is the loss itself")
    shared = [n for n in model.get("inputs", {}) if n in model.get("params", {})]
    if shared:
        raise PresetError(f"{shared[0]!r} is both a param and an input; a name can only be one",
                          key=f"model.inputs.{shared[0]}")


def _check_train(train: dict) -> None:
    if train["optimizer"] != "sgd" and train["momentum"]:
        raise PresetError(f"momentum is only used with optimizer sgd, not {train['optimizer']}",
                          key="train.momentum", hint="leave momentum out, or use optimizer: sgd")
