"""Saved traces and scenes: every rendering command takes them in place of the preset and makes
the same bytes; they are checked against the shipped JSON Schemas; a wrong, newer or foreign
file gets one line and writes nothing; and rendering one does not import torch."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bprender import documents, schemas
from bprender.cli import cli
from bprender.jsonio import dumps
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import list_builtin_presets

PRESETS = [name for name, *_ in list_builtin_presets()]
ROOT = Path(__file__).resolve().parent.parent


def invoke(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args) -> str:
    """The one-line message of a refusal (exit status 1, no traceback)."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Per preset: its trace file, and scene files laid out for video, gif and sheet."""
    folder = tmp_path_factory.mktemp("saved")
    out = {}
    for name in PRESETS:
        trace = folder / f"{name}.trace.json"
        invoke("trace", name, "-o", trace)
        scenes = {}
        for target in ("video", "gif", "sheet"):
            path = folder / f"{name}.{target}.scene.json"
            invoke("scene", name, "--for", target, "-o", path)
            scenes[target] = path
        out[name] = (trace, scenes)
    return out


@pytest.mark.parametrize("name", PRESETS)
def test_a_trace_file_lays_out_the_same_scene_as_its_preset(name, saved, tmp_path):
    trace, scenes = saved[name]
    for target in ("video", "gif", "sheet"):
        again = tmp_path / f"{target}.json"
        invoke("scene", trace, "--for", target, "-o", again)
        assert again.read_bytes() == scenes[target].read_bytes(), target


@pytest.mark.parametrize("name", PRESETS)
def test_stills_pages_and_sheets_are_the_same_bytes_from_a_trace_or_a_scene(name, saved, tmp_path):
    trace, scenes = saved[name]
    outputs = {}
    for label, source, sheet_source in (("preset", name, name), ("trace", trace, trace),
                                        ("scene", scenes["video"], scenes["sheet"])):
        folder = tmp_path / label
        folder.mkdir()
        invoke("frame", source, "--at", "backward:0", "-o", folder / "f.png")
        invoke("frame", source, "--at", "end", "--theme", "dark", "-o", folder / "dark.png")
        invoke("html", source, "-o", folder / "p.html")
        invoke("sheet", sheet_source, "--backward", "2", "-o", folder / "s.png")
        outputs[label] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    assert sorted(outputs["preset"]) == ["dark.png", "f.png", "p.html", "s.png"]
    assert outputs["trace"] == outputs["preset"]
    assert outputs["scene"] == outputs["preset"]


@pytest.mark.parametrize("name", PRESETS)
def test_video_and_gif_are_the_same_bytes_from_a_trace_or_a_scene(name, saved, tmp_path):
    trace, scenes = saved[name]
    small = tmp_path / "small.scene.json"
    invoke("scene", name, "--size", "320x180", "-o", small)
    got = {}
    for label, video_source, gif_source, size in (("preset", name, name, ["--size", "320x180"]),
                                                  ("trace", trace, trace, ["--size", "320x180"]),
                                                  ("scene", small, scenes["gif"], [])):
        mp4, gif = tmp_path / f"{label}.mp4", tmp_path / f"{label}.gif"
        invoke("video", video_source, *size, "--only", "backward:0", "--quality", "draft", "-q", "-o", mp4)
        invoke("gif", gif_source, "--only", "backward:0", "--fps", "5", "-q", "-o", gif)
        got[label] = (mp4.read_bytes(), gif.read_bytes())
    assert got["trace"] == got["preset"]
    assert got["scene"] == got["preset"]


def test_rendering_a_saved_trace_or_scene_does_not_import_torch(saved, tmp_path):
    trace, scenes = saved["linear"]
    script = f"""
import sys
from click.testing import CliRunner
from bprender.cli import cli
runs = [["frame", {str(trace)!r}, "--at", "end", "-o", {str(tmp_path / "a.png")!r}],
        ["gif", {str(scenes["gif"])!r}, "--only", "loss", "--fps", "4", "-q", "-o", {str(tmp_path / "a.gif")!r}],
        ["html", {str(trace)!r}, "-o", {str(tmp_path / "a.html")!r}],
        ["check", {str(trace)!r}]]
for args in runs:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
assert "torch" not in sys.modules, "torch was imported"
print("no torch")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "no torch"


def test_html_traces_and_lays_out_once(monkeypatch, tmp_path):
    """One trace and one layout for the page, whatever the number of themes it carries."""
    import bprender.scene.build as build
    import bprender.trace as trace_module
    calls = {"trace": 0, "layout": 0}
    real_trace, real_fit = trace_module.trace_preset, build.fit_layout

    def counted_trace(*args, **kwargs):
        calls["trace"] += 1
        return real_trace(*args, **kwargs)

    def counted_fit(*args, **kwargs):
        calls["layout"] += 1
        return real_fit(*args, **kwargs)
    monkeypatch.setattr(trace_module, "trace_preset", counted_trace)
    monkeypatch.setattr(build, "fit_layout", counted_fit)
    invoke("html", "linear", "--theme", "dark", "-o", tmp_path / "p.html")
    assert calls == {"trace": 1, "layout": 1}
    text = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert '"palettes":{"colorblind":' in text and '"dark":' in text and '"light":' in text


def _variant(path: Path, tmp_path: Path, name: str, change) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    out = tmp_path / name
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def test_wrong_newer_and_foreign_files_get_one_line_and_write_nothing(saved, tmp_path):
    trace, scenes = saved["linear"]
    scene = scenes["video"]
    cases = {
        "newer.json": (scene, lambda d: d.update(schema="bprender.scene/3"),
                       "is a bprender scene of version 3; this bprender reads version 2 (make it again with this "
                       "bprender's `bprender scene PRESET`, or upgrade bprender)"),
        "older.json": (scene, lambda d: d.update(schema="bprender.scene/1"), "written by an older bprender"),
        "trace2.json": (trace, lambda d: d.update(schema="bprender.trace/2"), "a bprender trace of version 2"),
        "other.json": (trace, lambda d: d.update(schema="bprender.palette/1"), "is a bprender palette file"),
        "foreign.json": (trace, lambda d: d.update(schema="https://example.org/x"), "neither a trace nor a scene"),
        "plain.json": (trace, lambda d: d.pop("schema"), "neither a bprender trace nor a scene"),
        "broken.json": (scene, lambda d: d["nodes"][0].pop("x"),
                        "is not a valid bprender.scene/2 file: nodes[0]: 'x' is a required property"),
        "badtrace.json": (trace, lambda d: d["nodes"][0].update(kind="weird"),
                          "is not a valid bprender.trace/1 file: nodes[0].kind: 'weird' is not one of"),
    }
    for file, (base, change, expected) in cases.items():
        source = _variant(base, tmp_path, file, change)
        for command in (["video", source, "-q"], ["frame", source, "--at", "1"], ["html", source]):
            out = tmp_path / "out" / "x"
            (tmp_path / "out").mkdir(exist_ok=True)
            message = refused(*command, "-o", out.with_suffix({"video": ".mp4", "frame": ".png"}.get(command[0], ".html")))
            assert expected in message and str(source) in message, (file, message)
            assert list((tmp_path / "out").iterdir()) == []
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"schema": "bprender.scene/2", ', encoding="utf-8")
    assert "bad.json:1: not valid JSON" in refused("frame", bad_json, "--at", "0", "-o", tmp_path / "x.png")


def test_a_saved_scene_keeps_its_layout(saved, tmp_path):
    _, scenes = saved["linear"]
    message = refused("video", scenes["video"], "--size", "640x360", "-o", tmp_path / "x.mp4")
    assert "already laid out at 1280x720, so --size cannot change it; give the preset or the trace" in message
    message = refused("video", scenes["video"], scenes["video"], "-o", tmp_path / "x.mp4")
    assert "a saved scene cannot be put side by side" in message
    assert list(tmp_path.iterdir()) == []


def test_a_trace_file_keeps_its_presets_look_and_takes_options(saved, tmp_path):
    trace, _ = saved["deep_sigmoid"]
    data = json.loads(trace.read_text(encoding="utf-8"))
    assert data["preset"]["view"] == "neurons"
    neurons = tmp_path / "n.json"
    invoke("scene", trace, "-o", neurons)
    assert json.loads(neurons.read_text(encoding="utf-8"))["view"] == "neurons"
    ops = tmp_path / "o.json"
    invoke("scene", trace, "--view", "ops", "-o", ops)
    assert json.loads(ops.read_text(encoding="utf-8"))["view"] == "ops"


def test_the_python_api_opens_saved_traces_and_scenes(saved):
    import bprender
    trace, scenes = saved["linear"]
    from_preset = bprender.animate("linear")
    from_trace = bprender.animate(str(trace))
    from_scene = bprender.animate(str(scenes["video"]))
    assert dumps(from_trace.scene()) == dumps(from_preset.scene()) == dumps(from_scene.scene())
    assert (from_scene.frame(3.0, theme="dark") == from_preset.frame(3.0, theme="dark")).all()
    assert from_scene.html() == from_preset.html()


# ------------------------------------------------------------------------- the JSON Schemas

def test_the_shipped_schemas_are_made_from_the_typeddicts(tmp_path):
    schemas.write_all(tmp_path)
    for kind in ("trace", "scene", "composite"):
        shipped = documents.SCHEMAS / f"{kind}.schema.json"
        assert shipped.read_text(encoding="utf-8") == (tmp_path / f"{kind}.schema.json").read_text(encoding="utf-8"), \
            f"{shipped.name} is stale: run python -m bprender.schemas"


def test_the_schemas_are_valid_json_schema():
    import jsonschema
    for kind in ("trace", "scene", "composite"):
        jsonschema.Draft202012Validator.check_schema(documents.validator(kind).schema)


@pytest.mark.parametrize("name", PRESETS)
def test_every_presets_trace_and_scenes_validate(name):
    preset = open_preset(name)
    trace = trace_of(preset)
    assert documents.schema_problem("trace", json.loads(dumps(trace))) is None
    for target in ("video", "gif"):
        scene = json.loads(dumps(scene_of(trace, preset, target)))
        assert documents.schema_problem("scene", scene) is None
    assert documents.schema_problem("scene", {**scene, "particles": [{"edge": 0}]}).startswith("particles[0]:")


def test_a_composite_validates_and_is_not_a_scene():
    from bprender.pipeline import side_by_side
    composite = json.loads(dumps(side_by_side([open_preset("linear"), open_preset("shared_layer")])))
    assert composite["schema"] == "bprender.composite/1"
    assert documents.schema_problem("composite", composite) is None
    assert documents.schema_problem("scene", composite) is not None


def test_non_finite_numbers_come_back_as_floats(tmp_path):
    import math
    preset = tmp_path / "nan.yaml"
    preset.write_text("model:\n  expression: sqrt(w) * x\n  params: {w: -1.0}\n  inputs: {x: 2.0}\n", encoding="utf-8")
    path = tmp_path / "nan.trace.json"
    invoke("trace", preset, "-o", path)
    assert '"NaN"' in path.read_text(encoding="utf-8")
    kind, data = documents.read_source_file(path)
    assert kind == "trace"
    w = next(leaf for leaf in data["leaves"] if leaf["name"] == "w")
    assert math.isnan(w["grad"]["values"][0]) and math.isnan(w["grad"]["stats"]["norm"])
    traced = trace_of(open_preset(preset))
    assert dumps(data) == dumps(traced)
