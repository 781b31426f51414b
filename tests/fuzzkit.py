"""Hostile presets for the fuzz suite (tests/test_fuzz.py) and its long run (bench/fuzz.py).

A case is a preset written to a file, mutated by structure: values of the wrong type, missing and
unknown keys, extreme numbers, deep nesting, aliases, tags, long and hostile names, raw bytes. It
runs through the CLI in-process (click's CliRunner) and ends as one of:

- "success": exit 0, no exception;
- "refusal": exit 1 or 2 through click with a one-line "Error: ..." message and no file written;
- "traceback": any other exception or exit status (a bug: CliRunner caught what a terminal shows);
- "hang": slower than the case budget;
- "stray": a success or refusal that left a file it should not (a temporary file, a GIF work folder,
  an output after a refusal).
"""
from __future__ import annotations

import copy
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from bprender.cli import cli

BUDGET_S = 20.0  # per case; a real preset's check or small frame takes well under a second here

BASE = {
    "title": "fuzz",
    "description": "a case",
    "model": {"expression": "(w * x + b - y_true) ** 2", "params": {"w": 2.0, "b": 1.0},
              "inputs": {"x": 3.0, "y_true": 8.0}, "seed": 0},
    "render": {"size": "320x180", "fps": 10, "quality": "draft", "theme": "light"},
    "pacing": {"intro": 0.2, "forward_step": 0.2, "loss": 0.2, "backward_step": 0.2, "pause": 0.1,
               "hold": 0.2},
    "gif": {"width": 160, "fps": 5},
    "view": "ops",
}
TRAIN = {"steps": 3, "optimizer": "sgd", "lr": 0.1, "momentum": 0.0}

HOSTILE_TEXT = [
    "", " ", "\n", "x" * 300, "w" * 5000, "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "a\u202eb", "\u0000",
    "名前", "😀" * 50, "../../etc/passwd", "/dev/null", "-", "--help", "$(rm -rf ~)", "`id`", "'; DROP",
    "{{7*7}}", "%s%s%n", "\\", "\"", "'", "*", "&a", "!!python/object:os.system", "nan", "inf", "1e999",
    "0x10", "1_000", "yes", "no", "~", "null", "__import__('os').system('true')", "w.__class__",
    "exp(1000)", "log(0)", "w / 0", "sqrt(-w)", "w ** 1000", "(w", "w ^ 2", "lambda: 0", "relu(relu(relu(w)))",
]
EXTREME_NUMBERS = [0, -0.0, 1, -1, 2 ** 31, 2 ** 63, 2 ** 64, 10 ** 20, -(10 ** 20), 1e-320, 5e-324, 1e308,
                   1.7976931348623157e308, -1e308, 1e39, 1e-39, 0.5, 3.0000001, 119, 120, 121, 8192, 8193]
TAGGED = [
    "!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!binary aGVsbG8=",
    "!!set {a, b}", "!!omap [{a: 1}]", "!!timestamp 2001-12-14", "!!float 'nan'", "!!int '0x1f'",
    "!custom thing", "!<tag:example.com,2000:x> y", "!!str 12", "!!bool yes", "!!null ''", "!!merge <<",
    "2001-12-14t21:59:43.10-05:00", "0o17", "0b101", "+.inf", "-.inf", ".nan", "1:30:00", "=",
]


def _leaf_paths(tree, prefix=()):
    paths = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            paths.append(prefix + (key,))
            paths += _leaf_paths(value, prefix + (key,))
    return paths


def _set(tree, path, value):
    for key in path[:-1]:
        if not isinstance(tree.get(key), dict):
            tree[key] = {}
        tree = tree[key]
    tree[path[-1]] = value


def _delete(tree, path, _value=None):
    for key in path[:-1]:
        tree = tree.get(key)
        if not isinstance(tree, dict):
            return
    tree.pop(path[-1], None)


scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.sampled_from(EXTREME_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3000), max_size=20),
)
keys = st.one_of(st.sampled_from(["model", "render", "size", "fps", "w", "x", "params", "inputs", "train",
                                  "steps", "lr", "<<", "", "1", "yes"]), st.text(max_size=12))
values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(keys, kids, max_size=4)), max_leaves=12)
plausible = st.one_of(st.floats(-10, 10), st.integers(0, 60), st.sampled_from(
    ["ops", "neurons", "modules", "dark", "colorblind", "final", "adam", "640x360", "w * x", "sum(w * x)",
     "tanh(w) * x", "mean(sigmoid(w * x + b))", True, False]))
ALL_PATHS = _leaf_paths({**BASE, "train": TRAIN}) + [("model", "python"), ("render", "font"), ("collapse_views",),
                                                      ("model", "params", "w2"), ("train", "steps")]


@st.composite
def mutations(draw):
    """(kind, path, value) edits applied in order to a copy of BASE."""
    edits = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["set", "set", "set", "delete", "unknown", "nest", "tensor"]))
        path = draw(st.sampled_from(ALL_PATHS))
        if kind == "set":
            edits.append(("set", path, draw(st.one_of(values, plausible))))
        elif kind == "delete":
            edits.append(("delete", path, None))
        elif kind == "unknown":
            edits.append(("set", path[:-1] + (draw(keys),), draw(scalars)))
        elif kind == "nest":
            depth = draw(st.sampled_from([2, 10, 60, 63, 64, 65, 100, 300]))
            inner = draw(scalars)
            for _ in range(depth):
                inner = [inner] if draw(st.booleans()) else {"a": inner}
            edits.append(("set", path, inner))
        else:
            name = draw(st.sampled_from(["w", "x", "b", "y_true"]))
            part = "params" if name in ("w", "b") else "inputs"
            shape = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3))
            fill = draw(st.sampled_from([1.0, 0.0, -1e30, 1e30, float("nan"), float("inf"), 3]))
            value = fill
            for n in reversed(shape):
                value = [copy.deepcopy(value) for _ in range(n)]
            edits.append(("set", ("model", part, name), value))
    return edits


@st.composite
def texts(draw):
    """A preset file's bytes: BASE mutated by structure, dumped, then perhaps edited as text."""
    data = copy.deepcopy(BASE)
    if draw(st.booleans()):
        data["train"] = copy.deepcopy(TRAIN)
    for kind, path, value in draw(mutations()):
        (_set if kind == "set" else _delete)(data, path, value)
    try:
        text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False, width=2 ** 16)
    except (yaml.YAMLError, RecursionError, ValueError):
        text = yaml.safe_dump(BASE, sort_keys=False)
    raw = text.encode("utf-8", "surrogatepass")
    tweak = draw(st.sampled_from(["none", "none", "alias", "bomb", "tag", "bytes", "cut", "bom", "dup", "flow"]))
    lines = text.splitlines()
    if tweak == "alias":
        raw = (text.replace("pacing:", "pacing: &p", 1) + "gif: *p\n").encode("utf-8", "surrogatepass")
    elif tweak == "bomb":
        n = draw(st.integers(2, 12))
        rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, n)]
        raw = ("\n".join(rows) + "\n" + text).encode("utf-8", "surrogatepass")
    elif tweak == "tag":
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        key = lines[i].split(":", 1)[0] if lines and ":" in lines[i] else "title"
        lines[i:i + 1] = [f"{key}: {draw(st.sampled_from(TAGGED))}"]
        raw = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    elif tweak == "bytes":
        blob = draw(st.binary(min_size=1, max_size=16))
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + blob + raw[at:]
    elif tweak == "cut":
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif tweak == "bom":
        raw = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff\x00"])) + raw
    elif tweak == "dup":
        raw += lines[0].encode("utf-8", "surrogatepass") + b"\n" if lines else b""
    elif tweak == "flow":
        raw = yaml.safe_dump(data if _dumpable(data) else BASE, default_flow_style=True,
                             width=2 ** 16).encode("utf-8", "surrogatepass")
    return raw


def _dumpable(data) -> bool:
    try:
        yaml.safe_dump(data)
        return True
    except Exception:
        return False


MODULE_NAMES = ["body", "a\nb", "esc\x1b[2J", "\u202eflip", "x" * 300, "名前", "a b", "w", "loss", "0", "_"]
PY_MODEL = """\
import torch
from torch import nn


def build():
    torch.manual_seed(0)
    net = nn.Sequential()
    net.add_module({name!r}, nn.Linear({width}, 3))
    net.add_module({act!r}, nn.{activation}())
    net.add_module("head", nn.Linear(3, 1))
    return {{"model": net, "inputs": torch.full(({rows}, {width}), {fill}),
             "target": torch.zeros({rows}, 1), "loss": {loss!r}}}
"""


# Names known to fail in code this suite does not fix: bench/fuzz.py keeps them, the CI subset
# leaves them out until fixed. (Empty: a newline in a module name, which ended in an IndexError in
# the ops view's chain-rule text, is fixed.)
KNOWN_ELSEWHERE: list[str] = []


@st.composite
def python_cases(draw, names=tuple(MODULE_NAMES)):
    """(preset bytes, {file: text}): a Python model with hostile module names and shapes."""
    names = list(names)
    source = PY_MODEL.format(
        name=draw(st.sampled_from(names)), act=draw(st.sampled_from(names + ["act"])),
        width=draw(st.sampled_from([1, 2, 3])), rows=draw(st.sampled_from([0, 1, 2, 4])),
        fill=draw(st.sampled_from(["0.5", "0.0", "1e30", "float('nan')", "float('inf')"])),
        activation=draw(st.sampled_from(["Tanh", "ReLU", "Sigmoid", "Identity"])),
        loss=draw(st.sampled_from(["mse", "bce", "cross_entropy", "nope"])))
    view = draw(st.sampled_from(["ops", "neurons", "modules"]))
    preset = f"model: {{python: net.py:build}}\nview: {view}\nrender: {{size: 320x180, fps: 10}}\n"
    return preset.encode(), {"net.py": source}


COMMANDS = {
    "check": lambda p, out: ["check", p],
    "trace": lambda p, out: ["trace", p, "-o", out / "t.json"],
    "frame": lambda p, out: ["frame", p, "--at", "0.1", "--size", "320x180", "-o", out / "f.png"],
    "scene": lambda p, out: ["scene", p, "-o", out / "s.json"],
}


@dataclass
class Outcome:
    kind: str          # success | refusal | traceback | hang | stray
    command: str
    seconds: float
    detail: str = ""


def _strays(folder: Path, keep: set[str]) -> list[str]:
    found = [p.name for p in folder.iterdir() if p.name not in keep]
    tmp = Path(tempfile.gettempdir())
    mine = (f"bprender-gif-{os.getpid()}-", f"bprender-tmp-{os.getpid()}-")  # not other processes'
    found += [p.name for p in tmp.iterdir() if any(tag in p.name for tag in mine)]
    return found


def run_case(raw: bytes, command: str, runner: CliRunner | None = None, files: dict | None = None) -> Outcome:
    """Write the preset (and `files` beside it), run one command on it in-process, classify
    what happened."""
    runner = runner or CliRunner()
    with tempfile.TemporaryDirectory(prefix="bprender-fuzz-") as work:
        folder = Path(work)
        preset = folder / "case.yaml"
        preset.write_bytes(raw)
        for name, text in (files or {}).items():
            (folder / name).write_text(text, encoding="utf-8")
        args = [str(a) for a in COMMANDS[command](preset, folder)]
        start = time.monotonic()
        result = runner.invoke(cli, args, prog_name="bprender")
        seconds = time.monotonic() - start
        out = result.output
        exc = result.exception
        if exc is not None and not isinstance(exc, SystemExit):
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-12:])
            return Outcome("traceback", command, seconds, detail)
        if seconds > BUDGET_S:
            return Outcome("hang", command, seconds, f"{seconds:.1f} s")
        if result.exit_code == 0:
            written = {a.name for a in map(Path, args) if a.parent == folder and a.suffix in (".json", ".png")}
            stray = _strays(folder, {preset.name, "__pycache__"} | set(files or {}) | written)
            if stray:
                return Outcome("stray", command, seconds, ", ".join(stray))
            return Outcome("success", command, seconds)
        lines = [line for line in out.splitlines() if line.strip()]
        if result.exit_code in (1, 2) and len(lines) == 1 and lines[0].startswith("Error: ") \
                and "Traceback" not in out:
            stray = _strays(folder, {preset.name, "__pycache__"} | set(files or {}))
            if stray:
                return Outcome("stray", command, seconds, ", ".join(stray))
            return Outcome("refusal", command, seconds)
        return Outcome("traceback", command, seconds, f"exit {result.exit_code}: {out[-2000:]}")
