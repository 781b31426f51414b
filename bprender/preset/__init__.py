"""Presets: a YAML file describing one animation (model, render, pacing, gif).

    preset = load_preset("presets/linear.yaml")      # validated, defaults filled
    preset = apply_overrides(preset, {"render.fps": 24})
    preset.data["render"]["size"]                    # -> [1280, 720]

Every user mistake is a PresetError located at the file, line and dotted key.
The schema (keys, defaults, docs) lives in bprender.preset.schema.
"""
from __future__ import annotations

import copy
import difflib
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import PresetError, StepError
from .schema import SCHEMA, all_keys, defaults, lookup
from .validate import validate, validate_override
from .yaml_lines import TEXT_LINE, load_yaml_lines

__all__ = ["Preset", "PresetError", "load_preset", "preset_from_dict", "settings_from_dict", "apply_overrides",
           "builtin_presets_dir", "list_builtin_presets", "resolve_preset_path",
           "SCHEMA", "all_keys", "defaults", "lookup"]


@dataclass(frozen=True, eq=False)
class Preset:
    """A validated preset. `data` holds every key with defaults filled; treat it as read-only.

    `lines` maps dotted keys ("render.fps") to their 1-based line in `path` ("" is the root).
    Relative paths in data (model.python, render.font) are relative to `base_dir`.
    """
    path: Path | None
    data: dict
    lines: Mapping[str, int] = field(default_factory=dict)
    base_dir: Path = None       # type: ignore[assignment]  # default: path's folder, or cwd
    name: str = None            # type: ignore[assignment]  # default: path's stem, or "preset"

    def __post_init__(self) -> None:
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))
        if self.base_dir is None:
            base = self.path.parent if self.path is not None else Path.cwd()
            object.__setattr__(self, "base_dir", base.absolute())
        if self.name is None:
            object.__setattr__(self, "name", self.path.stem if self.path is not None else "preset")

    def get(self, dotted: str):
        """data at a dotted key, e.g. preset.get("render.fps")."""
        value = self.data
        for part in dotted.split("."):
            value = value[part]
        return value

    def line_of(self, key: str | None) -> int | None:
        """The line of `key`, else of its nearest parent key that is in the file."""
        k = key or ""
        while True:
            if k in self.lines:
                return self.lines[k]
            if not k:
                return None
            k = k.rpartition(".")[0]

    def error(self, key: str | None, message: str, hint: str | None = None) -> PresetError:
        """A PresetError about `key`, located in this preset's file."""
        return PresetError(message, path=self.path, line=self.line_of(key), key=key, hint=hint)

    def locate(self, err: PresetError) -> PresetError:
        """`err` with its path and line filled in from its key where they are missing; a
        StepError on the file's own line when its text's lines are the file's."""
        if err.path is not None and err.line is not None:
            return err
        first = self.lines.get(f"{err.key}{TEXT_LINE}")
        if isinstance(err, StepError) and first is not None:
            return err.at(self.path, first)
        return err.located(self.path, self.line_of(err.key))


# ---- loading -----------------------------------------------------------------------------

def load_preset(path: str | Path) -> Preset:
    """Read, validate and fill defaults. Raises PresetError for anything the user can fix."""
    p = Path(path)
    if not p.exists():
        hint = None
        builtin = builtin_presets_dir() / f"{p.stem}.yaml"
        if builtin.is_file() and p.resolve() != builtin.resolve():
            hint = f"there is a built-in preset called '{p.stem}': give just its name, {p.stem}"
        raise PresetError(f"no such preset file: {p}", hint=hint)
    if p.is_dir():
        raise PresetError("is a folder, not a preset file", path=p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PresetError("is not a text (UTF-8) file; a preset is YAML text", path=p) from None
    except OSError as exc:
        raise PresetError(f"cannot read: {exc.strerror}", path=p) from None
    data, lines = load_yaml_lines(text, path=p)
    return _validated(Preset(p, {}, lines), data)


def preset_from_dict(data: Mapping, *, base_dir: str | Path | None = None,
                     name: str = "preset") -> Preset:
    """The Python API's way in: same validation as a file; relative paths from base_dir (cwd)."""
    base = Path(base_dir).absolute() if base_dir is not None else None
    return _validated(Preset(None, {}, {}, base_dir=base, name=name), copy.deepcopy(data))


def settings_from_dict(data: Mapping, *, base_dir: str | Path | None = None,
                       name: str = "animation") -> Preset:
    """For a model given as Python objects (the Python API): every section but `model`
    validated as in a file; data["model"] is None."""
    if "model" in data:
        raise PresetError("the model is given as Python objects here; leave `model` out", key="model")
    # validation needs some model: a constant expression stands in and is dropped at once
    checked = preset_from_dict({**data, "model": {"expression": "0"}}, base_dir=base_dir, name=name)
    return Preset(None, {**checked.data, "model": None}, {}, base_dir=checked.base_dir, name=name)


def _validated(shell: Preset, data: object) -> Preset:
    try:
        clean = validate(data, base_dir=shell.base_dir, name=shell.name)
    except PresetError as err:
        raise shell.locate(err) from None
    return Preset(shell.path, clean, shell.lines, base_dir=shell.base_dir, name=shell.name)


# ---- overrides ---------------------------------------------------------------------------

def apply_overrides(preset: Preset, overrides: Mapping[str, object]) -> Preset:
    """A new Preset with dotted keys replaced, e.g. {"render.fps": 24, "render.size": "640x360"}.

    Values are checked with the preset rules; an error carries the option as its key and no
    file/line. None values are skipped (an option not given). Paths (render.font, the FILE of
    model.python) are taken relative to the current folder, as on a command line. Setting one of
    model.expression, model.steps or model.python drops the other two (python: params and
    inputs too; steps or python: loss too).
    """
    data = copy.deepcopy(preset.data)
    lines = dict(preset.lines)
    cwd = Path.cwd()
    for dotted, value in overrides.items():
        if value is None:
            continue
        clean = validate_override(dotted, value, base_dir=cwd)
        if dotted == "render.font":
            clean = str((cwd / clean).absolute())
        elif dotted == "model.python":
            file, _, func = clean.rpartition(":")
            clean = f"{(cwd / file).absolute()}:{func}"
            data["model"].update(expression=None, steps=None, loss=None, params={}, inputs={})
        elif dotted == "model.expression":
            data["model"].update(python=None, steps=None, loss=None)
        elif dotted == "model.steps":
            data["model"].update(python=None, expression=None)
        *parents, last = dotted.split(".")
        target = data
        for part in parents:
            target = target[part]
        target[last] = clean
        for k in [k for k in lines if k in (dotted, dotted + TEXT_LINE) or k.startswith(dotted + ".")]:
            del lines[k]
    if data["model"] is None:  # settings without a model (a saved trace's, the Python API's)
        checked = _validated(Preset(preset.path, {}, lines, base_dir=preset.base_dir, name=preset.name),
                             {**data, "model": {"expression": "0"}})
        return Preset(preset.path, {**checked.data, "model": None}, lines, base_dir=preset.base_dir,
                      name=preset.name)
    return _validated(Preset(preset.path, {}, lines, base_dir=preset.base_dir,
                             name=preset.name), data)


# ---- built-in presets --------------------------------------------------------------------

def builtin_presets_dir() -> Path:
    """presets/ of a source checkout if there is one, else the copy packaged in bprender."""
    source = Path(__file__).resolve().parents[2] / "presets"
    if source.is_dir():
        return source
    return Path(str(importlib.resources.files("bprender") / "presets"))


def list_builtin_presets() -> list[tuple[str, str, str, Path]]:
    """(name, title, description, path) of every built-in preset, sorted by name."""
    folder = builtin_presets_dir()
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.yaml")):
        preset = load_preset(path)          # a broken built-in is a bug: let it raise
        out.append((path.stem, preset.data["title"], preset.data["description"], path))
    return out


def _builtin_names() -> list[str]:
    folder = builtin_presets_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve_preset_path(arg: str | Path) -> Path:
    """An existing file as given; else a built-in preset name ("linear"); else PresetError."""
    p = Path(arg)
    if p.is_file():
        return p
    if p.is_dir():
        raise PresetError(f"{arg} is a folder, not a preset file")
    names = _builtin_names()
    text = str(arg)
    stem = text[:-5] if text.endswith(".yaml") else text
    if "/" not in text and "\\" not in text and stem in names:
        return builtin_presets_dir() / f"{stem}.yaml"
    close = difflib.get_close_matches(Path(stem).name, names, n=1)
    hint = (f"did you mean '{close[0]}'? " if close else "") + \
        ("built-in presets: " + ", ".join(names) if names else "no built-in presets found")
    raise PresetError(f"no such preset file: {arg}", hint=hint)
