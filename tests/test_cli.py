"""The command line, driven in-process through click's CliRunner.

click >= 8.2 has no ``mix_stderr``: ``result.output`` interleaves stdout and stderr (what a user
sees in a terminal), ``result.stdout`` / ``result.stderr`` hold each stream alone. Every command
prints its "wrote ..." line and its errors on stderr, so the tests read ``result.output``.

A clean user error is click's ``SystemExit(1)``; any other exception (a bug, which would show a
traceback in a real terminal) is caught by CliRunner into ``result.exception``, so the error
tests check the exception's type as well as the exit code.
"""
from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import numpy as np
import pytest
import yaml
from PIL import Image

import bprender
from bprender.cli import cli
from bprender.fmt import MINUS, num
from testkit import invoke, ok

REPO = Path(__file__).resolve().parent.parent
PRESETS = REPO / "presets"
COMMANDS = sorted(cli.commands)

LINEAR_MODEL = """\
model:
  expression: (w * x + b - y_true) ** 2
  params: {w: 2.0, b: 1.0}
  inputs: {x: 3.0, y_true: 8.0}
"""

PY_MODEL = '''\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        return self.head(self.body(x))


def build():
    torch.manual_seed(0)
    return {"model": Net(), "inputs": torch.tensor([[1.0, -2.0]]),
            "target": torch.tensor([[0.5]]), "loss": "mse"}
'''




def assert_user_error(result, *fragments: str):
    """Exit status 1 through click (SystemExit), an 'Error:' message holding every fragment,
    and no traceback."""
    assert isinstance(result.exception, SystemExit), (result.output, result.exception)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "Error:" in result.output
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)


def no_leftovers(directory: Path) -> list[str]:
    """Hidden temporary files atomic_output might have left behind."""
    return [p.name for p in directory.iterdir() if p.name.startswith(".") and "tmp" in p.name]


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def scalar(summary) -> float:
    assert summary["shape"] == []
    (value,) = summary["values"]
    return value


# --------------------------------------------------------------------------- help / version

EXAMPLE_LINE = re.compile(r"^\s+(bprender\s.*)$", re.M)


def example_lines(help_text: str) -> list[str]:
    assert re.search(r"^\s*Examples?:\s*$", help_text, re.M), help_text
    return EXAMPLE_LINE.findall(help_text)


def assert_example_parses(line: str, written: set | None = None) -> None:
    """An example is real: its command exists, its options parse, its presets exist (built in,
    in the checkout, or written by an earlier example of the same help text). Commands chained
    with && are each checked."""
    written = set() if written is None else written
    for part in line.split("&&"):
        words = shlex.split(part.split("  (")[0])
        assert words[0] == "bprender"
        name, args = words[1], words[2:]
        assert name in cli.commands, line
        command = cli.commands[name]
        # parsed under the group's context, as the real CLI does (a command made without its parent
        # would cache a help option without -h: click builds it once per command object)
        parent = click.Context(cli, info_name="bprender", **cli.context_settings)
        with command.make_context(name, list(args), parent=parent) as ctx:  # raises on bad options
            sources = [ctx.params["preset"]] if ctx.params.get("preset") else list(ctx.params.get("presets") or ())
            output = ctx.params.get("output")
        builtin = {p.stem for p in PRESETS.glob("*.yaml")}
        for source in sources:
            assert source in builtin or (REPO / source).is_file() or source in written, line
        if output:
            written.add(output)


def assert_examples_parse(lines: list[str]) -> None:
    written: set = set()
    for line in lines:
        assert_example_parses(line, written)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_group_help(runner, flag):
    result = ok(invoke(runner, flag))
    assert "Usage: bprender" in result.output
    lines = example_lines(result.output)
    assert lines
    assert_examples_parse(lines)
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("name", COMMANDS)
def test_command_help(runner, name, flag):
    result = ok(invoke(runner, name, flag))
    assert f"Usage: bprender {name}" in result.output
    lines = example_lines(result.output)
    assert any(line.split()[1] == name for line in lines), result.output
    assert_examples_parse(lines)


def test_every_readme_command_exists():
    assert set(COMMANDS) == {"video", "gif", "frame", "html", "check", "trace", "scene", "presets", "sheet", "watch"}


def test_version(runner):
    result = ok(invoke(runner, "--version"))
    assert bprender.__version__ in result.output
    assert result.output.strip() == f"bprender, version {bprender.__version__}"


# --------------------------------------------------------------------------- presets / check

def test_presets_lists_builtins_with_titles(runner):
    result = ok(invoke(runner, "presets"))
    lines = result.output.splitlines()
    for name in ("linear", "shared_layer"):
        title = yaml.safe_load((PRESETS / f"{name}.yaml").read_text())["title"]
        assert any(line.split()[0] == name and title in line for line in lines), result.output


def test_minus_sign_is_real():
    assert num(-6) == MINUS + "6" and MINUS == "\u2212"
    assert num(-2) == "\u22122"


def test_check_linear(runner):
    from bprender.pipeline import open_preset, scene_of, trace_of
    result = ok(invoke(runner, "check", "linear"))
    out = result.stdout
    assert re.search(r"^\s*loss\s+1$", out, re.M), out
    assert re.search(r"^\s*grad\s+w: \u22126$", out, re.M), out
    assert re.search(r"^\s*grad\s+b: \u22122$", out, re.M), out
    assert "-6" not in out and "-2" not in out  # a hyphen would be a formatting regression
    p = open_preset("linear")
    duration = scene_of(trace_of(p), p)["duration"]
    assert f"{duration:.2f} s" in out
    assert f"1280x720 at 30 fps = {round(duration * 30)} frames" in out


def test_check_names_parameters_as_the_animation_does(runner):
    lecture = ok(invoke(runner, "check", "deep_sigmoid")).stdout
    assert re.search(r"^\s*grad\s+W\u00b9: 4\u00d74, norm ", lecture, re.M), lecture
    assert re.search(r"^\s*grad\s+b\u2078: ", lecture, re.M), lecture   # the eighth layer's bias
    assert "0.weight" not in lecture
    torch_names = ok(invoke(runner, "check", "deep_sigmoid", "--names", "torch")).stdout
    assert re.search(r"^\s*grad\s+0\.weight: 4\u00d74, norm ", torch_names, re.M), torch_names
    assert "W\u00b9" not in torch_names


def test_check_follows_pacing_and_pace(runner, tmp_path):
    slow = tmp_path / "slow.yaml"       # longer than any caption takes to read: the pacing counts
    slow.write_text(LINEAR_MODEL + "pacing: {intro: 20, backward_step: 12, hold: 9}\n")
    fast = tmp_path / "fast.yaml"
    fast.write_text(LINEAR_MODEL + "pace: fast\n")
    seconds = lambda text: float(re.search(r"video\s+([\d.]+) s", text).group(1))  # noqa: E731
    normal = seconds(ok(invoke(runner, "check", "linear")).stdout)
    assert seconds(ok(invoke(runner, "check", slow)).stdout) > normal > seconds(ok(invoke(runner, "check", fast)).stdout)


# --------------------------------------------------------------------------- trace / scene

def test_trace_linear(runner, tmp_path):
    out = tmp_path / "t.json"
    result = ok(invoke(runner, "trace", "linear", "-o", out))
    assert str(out) in result.output
    data = strict_json(out.read_text(encoding="utf-8"))
    assert data["schema"] == "bprender.trace/1"
    assert scalar(data["loss"]["value"]) == 1
    leaves = {leaf["name"]: leaf for leaf in data["leaves"]}
    assert set(leaves) == {"w", "b"}
    assert scalar(leaves["w"]["grad"]) == -6
    assert scalar(leaves["b"]["grad"]) == -2
    assert scalar(leaves["w"]["value"]) == 2 and scalar(leaves["b"]["value"]) == 1
    assert {i["name"] for i in data["inputs"]} == {"x", "y_true"}

    again = tmp_path / "t2.json"
    ok(invoke(runner, "trace", "linear", "-o", again))
    assert out.read_bytes() == again.read_bytes()
    assert no_leftovers(tmp_path) == []


def test_trace_nan_is_strict_json(runner, tmp_path):
    preset = tmp_path / "nan.yaml"
    preset.write_text("model:\n  expression: log(w) * x\n  params: {w: -1.0}\n  inputs: {x: 3.0}\n")
    out = tmp_path / "nan.json"
    ok(invoke(runner, "trace", preset, "-o", out))
    data = strict_json(out.read_text(encoding="utf-8"))
    assert data["loss"]["value"]["values"] == ["NaN"]


def test_scene_linear(runner, tmp_path):
    out = tmp_path / "s.json"
    ok(invoke(runner, "scene", "linear", "-o", out))
    data = strict_json(out.read_text(encoding="utf-8"))
    assert data["schema"] == "bprender.scene/2"
    assert (data["width"], data["height"]) == (1280, 720)
    assert data["duration"] > 0

    again = tmp_path / "s2.json"
    ok(invoke(runner, "scene", "linear", "-o", again))
    assert out.read_bytes() == again.read_bytes()

    big = tmp_path / "big.json"
    ok(invoke(runner, "scene", "linear", "-o", big, "--size", "1920x1080", "--fps", "24"))
    data = strict_json(big.read_text(encoding="utf-8"))
    assert (data["width"], data["height"], data["fps"]) == (1920, 1080, 24)


# --------------------------------------------------------------------------- frame

def scene_events(runner, tmp_path) -> dict:
    out = tmp_path / "events.json"
    ok(invoke(runner, "scene", "linear", "-o", out))
    return {e["name"]: e["t"] for e in json.loads(out.read_text())["events"]}


@pytest.mark.parametrize("at", ["3.5", "end", "backward:2"])
def test_frame_png(runner, tmp_path, at):
    out = tmp_path / "f.png"
    result = ok(invoke(runner, "frame", "linear", "--at", at, "-o", out))
    # an event's still is taken a moment in (EVENT_SETTLE), once its caption has faded in; the
    # closing phase's is the last frame
    from bprender.lecture import EVENT_SETTLE
    events = scene_events(runner, tmp_path)
    duration = json.loads((tmp_path / "events.json").read_text())["duration"]
    t = float(at) if at[0].isdigit() else duration if at == "end" else events[at] + EVENT_SETTLE
    assert f"t = {t:.2f} s" in result.output
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (1280, 720)


def test_frame_png_size_override(runner, tmp_path):
    out = tmp_path / "small.png"
    ok(invoke(runner, "frame", "linear", "--at", "3.5", "-o", out, "--size", "320x180"))
    with Image.open(out) as im:
        assert im.size == (320, 180)


@pytest.mark.parametrize("at", ["3.5", "end", "backward:2"])
def test_frame_svg(runner, tmp_path, at):
    out = tmp_path / "f.svg"
    ok(invoke(runner, "frame", "linear", "--at", at, "-o", out))
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert root.get("viewBox") == "0 0 1280 720"
    assert "<text" not in out.read_text()  # text is converted to outlines


@pytest.mark.parametrize("at", ["3.5", "end", "backward:2"])
def test_frame_pdf(runner, tmp_path, at):
    out = tmp_path / "f.pdf"
    ok(invoke(runner, "frame", "linear", "--at", at, "-o", out))
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"%%EOF" in data[-32:]


@pytest.mark.parametrize("at, fragment", [
    ("999", "outside the animation"),
    ("-1", "outside the animation"),
    ("nonsense", "neither a number of seconds nor an event"),
    ("backward:99", "neither a number of seconds nor an event"),
])
def test_frame_bad_at(runner, tmp_path, at, fragment):
    out = tmp_path / "f.png"
    result = invoke(runner, "frame", "linear", "--at", at, "-o", out)
    assert result.exit_code != 0
    assert_user_error(result, "--at", fragment)
    assert not out.exists()
    assert no_leftovers(tmp_path) == []


def test_frame_unknown_suffix(runner, tmp_path):
    out = tmp_path / "f.jpg"
    assert_user_error(invoke(runner, "frame", "linear", "--at", "1", "-o", out), ".jpg")
    assert not out.exists()


def test_missing_output_folder(runner, tmp_path):
    out = tmp_path / "nowhere" / "t.json"
    assert_user_error(invoke(runner, "trace", "linear", "-o", out), "does not exist")
    assert not out.parent.exists()


# --------------------------------------------------------------------------- bad presets

BAD_PRESETS = {
    "typo": (LINEAR_MODEL + "rendr: {fps: 30}\n",
             ["typo.yaml:5", "rendr", "did you mean 'render'"]),
    "wrong_type": (LINEAR_MODEL + "render: {fps: thirty}\n",
                   ["wrong_type.yaml:5", "render.fps", "thirty"]),
    "unsafe": ("model:\n  expression: __import__('os').system('x')\n  params: {w: 2.0}\n",
               ["unsafe.yaml:2", "model.expression"]),
    "attribute": ("model:\n  expression: w.grad + x\n  params: {w: 2.0}\n  inputs: {x: 1.0}\n",
                  ["attribute.yaml:2", "model.expression", "attribute"]),
    "raises": ("model:\n  python: boom_model.py:build\n",
               ["raises.yaml:2", "model.python", "boom_model.py", "boom in build"]),
    "empty": ("", ["empty.yaml", "model"]),
    "not_yaml": ("model: [\n", ["not_yaml.yaml:1", "YAML"]),
}


def write_bad(tmp_path: Path, name: str) -> Path:
    (tmp_path / "boom_model.py").write_text("def build():\n    raise ValueError('boom in build')\n")
    preset = tmp_path / f"{name}.yaml"
    preset.write_text(BAD_PRESETS[name][0])
    return preset


@pytest.mark.parametrize("name", sorted(BAD_PRESETS))
@pytest.mark.parametrize("command", ["check", "trace", "scene", "frame"])
def test_bad_preset(runner, tmp_path, name, command):
    preset = write_bad(tmp_path, name)
    args = [command, preset]
    out = tmp_path / ("out.png" if command == "frame" else "out.json")
    if command == "frame":
        args += ["--at", "1"]
    if command != "check":
        args += ["-o", out]
    result = invoke(runner, *args)
    assert_user_error(result, *BAD_PRESETS[name][1])
    assert not out.exists()
    assert no_leftovers(tmp_path) == []


def test_unsafe_expression_never_runs(runner, tmp_path, monkeypatch):
    import os
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    assert_user_error(invoke(runner, "check", write_bad(tmp_path, "unsafe")), "model.expression")
    assert calls == []


def test_missing_preset_file(runner, tmp_path):
    missing = tmp_path / "nope.yaml"
    out = tmp_path / "out.json"
    assert_user_error(invoke(runner, "trace", missing, "-o", out), "nope.yaml")
    assert not out.exists()


@pytest.mark.parametrize("command, args, flag", [
    ("video", ["--size", "301x200"], "--size"),
    ("video", ["--size", "abc"], "--size"),
    ("video", ["--fps", "0"], "--fps"),
    ("gif", ["--width", "0"], "--width"),
    ("scene", ["--size", "301x200"], "--size"),
])
def test_bad_override(runner, tmp_path, command, args, flag):
    out = tmp_path / f"out.{ {'video': 'mp4', 'gif': 'gif'}.get(command, 'json') }"
    result = invoke(runner, command, "linear", *args, "-o", out)
    assert result.exit_code != 0
    assert_user_error(result, flag)
    assert not out.exists()
    assert no_leftovers(tmp_path) == []


@pytest.mark.parametrize("command, args, suffix", [
    ("trace", [], ".json"),
    ("video", ["--size", "301x200"], ".mp4"),
    ("frame", ["--at", "999"], ".png"),
    ("gif", ["--width", "0"], ".gif"),
])
def test_failed_run_keeps_existing_file(runner, tmp_path, command, args, suffix):
    out = tmp_path / f"precious{suffix}"
    out.write_bytes(b"precious bytes \x00\xff")
    preset = write_bad(tmp_path, "typo") if command == "trace" else "linear"
    result = invoke(runner, command, preset, *args, "-o", out)
    assert_user_error(result)
    assert out.read_bytes() == b"precious bytes \x00\xff"
    assert no_leftovers(tmp_path) == []


# --------------------------------------------------------------------------- python models

def write_py_preset(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "mynet.py").write_text(PY_MODEL)
    preset = folder / "net.yaml"
    preset.write_text("model: {python: mynet.py:build}\n")
    return preset


def expected_grads(tmp_path: Path) -> dict:
    """Run the user's model by hand: named_parameters() names and their gradients."""
    import importlib.util

    import torch
    spec = importlib.util.spec_from_file_location("bprender_test_mynet", tmp_path / "mine" / "mynet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    model = built["model"]
    loss = torch.nn.functional.mse_loss(model(built["inputs"]), built["target"])
    loss.backward()
    return {"loss": loss.item(),
            "grads": {name: p.grad.flatten().tolist() for name, p in model.named_parameters()}}


def test_python_model_check(runner, tmp_path):
    preset = write_py_preset(tmp_path)  # relative to the preset's folder, not the cwd
    result = ok(invoke(runner, "check", preset, "--names", "torch"))   # PyTorch's names, as the oracle's
    expected = expected_grads(tmp_path)
    for name in expected["grads"]:
        assert re.search(rf"^\s*grad\s+{re.escape(name)}: ", result.stdout, re.M), result.stdout
    assert re.search(rf"^\s*loss\s+{re.escape(num(expected['loss']))}$", result.stdout, re.M)


def test_python_model_trace(runner, tmp_path):
    preset = write_py_preset(tmp_path)
    out = tmp_path / "net.json"
    ok(invoke(runner, "trace", preset, "-o", out))
    data = strict_json(out.read_text(encoding="utf-8"))
    expected = expected_grads(tmp_path)
    leaves = {leaf["name"]: leaf for leaf in data["leaves"]}
    assert set(leaves) == set(expected["grads"]) == {"body.0.weight", "body.0.bias",
                                                     "head.weight", "head.bias"}
    for name, grad in expected["grads"].items():
        assert leaves[name]["grad"]["values"] == pytest.approx(grad, rel=1e-5, abs=1e-7)
    assert scalar(data["loss"]["value"]) == pytest.approx(expected["loss"], rel=1e-6)
    assert {i["name"] for i in data["inputs"]} == {"input", "target"}
    named = {n["name"] for n in data["nodes"] if n["kind"] == "leaf"}
    assert named == set(expected["grads"])


def test_side_by_side_frame_and_its_limits(runner, tmp_path):
    out = tmp_path / "cmp.png"
    ok(invoke(runner, "frame", "linear", "shared_layer", "--at", "end", "-o", out))
    with Image.open(out) as im:
        assert im.size == (1280, 720)
    bad = invoke(runner, "frame", "linear", "shared_layer", "--at", "end", "--highlight", "w", "-o",
                 tmp_path / "x.png")
    assert bad.exit_code == 1 and "side by side" in bad.output
    assert not (tmp_path / "x.png").exists()


def test_a_model_whose_backward_fails_gets_a_message_not_a_traceback(runner, tmp_path):
    (tmp_path / "m.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 3)\n"
        "    def forward(self, x):\n        h = self.fc(x).relu()\n        h += 1\n        return h.sum(1, keepdim=True)\n\n"
        "def build():\n    torch.manual_seed(0)\n"
        "    return {'model': M(), 'inputs': torch.randn(2, 3), 'target': torch.randn(2, 1), 'loss': 'mse'}\n")
    (tmp_path / "p.yaml").write_text("model:\n  python: m.py:build\n")
    result = invoke(runner, "trace", tmp_path / "p.yaml", "-o", tmp_path / "t.json")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "backward pass failed" in result.output and "inplace" in result.output
    assert not (tmp_path / "t.json").exists()


def test_an_output_name_that_promises_another_format_is_refused(runner, tmp_path):
    for command, name in (("video", "x.gif"), ("gif", "x.mp4")):
        result = invoke(runner, command, "linear", "-o", tmp_path / name, "-q")
        assert result.exit_code == 1 and "cannot write" in result.output, result.output
        assert not (tmp_path / name).exists()


def test_a_thumbnail_sized_frame_still_draws_the_whole_picture(runner, tmp_path):
    out = tmp_path / "thumb.png"
    ok(invoke(runner, "frame", "linear", "--at", "end", "--size", "64x36", "-o", out))
    with Image.open(out) as im:
        assert im.size == (64, 36)
        colours = np.asarray(im.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(colours, axis=0)) > 8  # not a blank frame
