"""The two painters are one picture (DESIGN.md rule 4): for every built-in preset, the op log of
bprender/paint.py (Python RecordingCanvas2D) equals the op log of web_player/paint.js (JS
RecordingCanvas2D, through tests/js/oplog.cjs) at sampled times and view states, and for the
chart. Also runs the JS unit tests (``node --test tests/js/``) so CI, which runs only pytest,
runs them too.

Without ``node`` these tests are skipped on a developer's machine and fail under CI (CI=true).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bprender.canvas import RecordingCanvas2D, ops_diff
from bprender.jsonio import dumps
from bprender.paint import paint_chart, paint_frame
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import list_builtin_presets

ROOT = Path(__file__).resolve().parent.parent
OPLOG = ROOT / "tests" / "js" / "oplog.cjs"
TOL = 1e-6
PRESETS = [name for name, *_ in list_builtin_presets()]


@pytest.fixture(scope="module")
def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required under CI (Node.js 20: apt-get install -y nodejs)", pytrace=False)
        pytest.skip("node (Node.js >= 20) is not on PATH")
    return exe


_traces: dict = {}


def scene_for(name: str, target: str = "video") -> dict:
    """The scene of a built-in preset; each preset is traced once per test session."""
    if name not in _traces:
        preset = open_preset(name)
        _traces[name] = (preset, trace_of(preset))
    preset, trace = _traces[name]
    return scene_of(trace, preset, target)


def tracks_in(obj) -> list:
    """Every track in a scene: values of "track" and "shown", and of "tracks" mappings."""
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("track", "shown") and isinstance(value, list):
                found.append(value)
            elif key == "tracks" and isinstance(value, dict):
                found += list(value.values())
            else:
                found += tracks_in(value)
    elif isinstance(obj, list):
        for value in obj:
            found += tracks_in(value)
    return found


def sample_times(scene: dict) -> list[float]:
    """0, the exact duration, an even grid, particle flights (start, middle, end) and keyframe
    times exactly, and just after (every track: nodes, edges, captions, phase, chart, steps)."""
    duration = float(scene["duration"])
    times = {0.0, duration}
    times.update(duration * i / 12 for i in range(1, 12))
    for p in scene["particles"][::max(1, len(scene["particles"]) // 6)]:
        t0, t1 = p["track"][0][0], p["track"][-1][0]
        times.update((t0, (t0 + t1) / 2, t1))
    keyframes = sorted({k[0] for track in tracks_in(scene) for k in track})
    picked = keyframes[::max(1, len(keyframes) // 16)]
    times.update(picked)
    times.update(t + 0.01 for t in picked[::2])
    times.update(p["t0"] for p in scene["phases"])
    times.update((-0.5, duration + 0.5))  # before the start and after the end: tracks hold
    return sorted(times)


def view_states(scene: dict) -> list:
    """None, a highlighted leaf with another group hidden, and a few edge cases."""
    nodes = scene["nodes"]
    leaves = [n for n in nodes if n["kind"] == "leaf"] or nodes
    focus = max(leaves, key=lambda n: len(n["reach"]))
    others = [g for g in scene["groups"] if g != focus["group"]]
    loss = next((n for n in nodes if n["kind"] == "loss"), nodes[0])
    return [
        None,
        {"highlight": focus["id"], "hidden": others[-1:]},
        {"highlight": loss["id"], "hidden": [], "theme": "dark"},
        {"highlight": None, "hidden": [loss["group"]], "theme": "colorblind"},
        {"highlight": "no-such-node", "theme": None},
    ]


def cases_for(scene: dict) -> list[dict]:
    times = sample_times(scene)
    cases = [{"t": t, "view": view, "what": "frame"} for view in view_states(scene) for t in times]
    cases += [{"t": t, "view": None, "what": "chart", "theme": theme} for t in times
              for theme in ("light", "dark")]
    return cases


def python_ops(scene: dict, case: dict) -> list:
    ctx = RecordingCanvas2D()
    if case["what"] == "chart":
        paint_chart(ctx, scene["chart"], case["t"], scene["palettes"][case["theme"]])
    else:
        paint_frame(ctx, scene, case["t"], case["view"])
    return ctx.ops


def js_ops(node: str, scene: dict, cases: list, tmp_path: Path) -> list:
    """All cases through one node process. The scene goes as the scene file is written
    (bprender.jsonio), the way the player receives it."""
    scene_file = tmp_path / "scene.json"
    cases_file = tmp_path / "cases.json"
    scene_file.write_text(dumps(scene), encoding="utf-8")
    cases_file.write_text(json.dumps(cases, allow_nan=False), encoding="utf-8")
    proc = subprocess.run([node, str(OPLOG), str(scene_file), str(cases_file)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"oplog.cjs failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    logs = json.loads(proc.stdout)
    assert len(logs) == len(cases)
    return logs


def assert_parity(node: str, scene: dict, tmp_path: Path, label: str) -> None:
    cases = cases_for(scene)
    assert len({c["t"] for c in cases}) >= 10
    logs = js_ops(node, scene, cases, tmp_path)
    failures = []
    for case, js in zip(cases, logs):
        py = python_ops(scene, case)
        assert len(py) > 3, "the Python painter drew nothing"
        diff = ops_diff(py, js, tol=TOL)
        if diff is not None:
            failures.append(f"{label} {case['what']} t={case['t']!r} view={case['view']!r}: {diff}"
                            " (Python first, JS second)")
    assert not failures, (f"{len(failures)} of {len(cases)} cases differ between paint.py and "
                          "web_player/paint.js:\n" + "\n".join(failures[:8]))


@pytest.mark.parametrize("name", PRESETS)
def test_js_painter_matches_python(name, node, tmp_path):
    assert_parity(node, scene_for(name), tmp_path, name)


def test_js_painter_matches_python_gif_size(node, tmp_path):
    scene = scene_for("linear", "gif")
    assert scene["width"] < 1280
    assert_parity(node, scene, tmp_path, "linear (gif)")


def test_js_painter_matches_python_edge_cases(node, tmp_path):
    """Scene shapes no preset has yet: an empty chart, edges without labels, a track name that
    is a JS Object property, a dashed edge, a zero-length particle flight."""
    scene = json.loads(dumps(scene_for("linear")))
    scene["chart"]["rows"] = []
    for edge in scene["edges"][::2]:
        edge.pop("label", None)
        edge["tracks"].pop("fwd", None)
        edge["dash"] = [6.0, 3.0]
    scene["nodes"][0]["lines"][0]["track"] = "constructor"
    scene["nodes"][-1]["tracks"] = {}
    scene["particles"][0]["track"] = [scene["particles"][0]["track"][0]] * 2
    assert_parity(node, scene, tmp_path, "linear (edge cases)")


def test_presets_are_covered():
    assert {"linear", "shared_layer"} <= set(PRESETS)


def test_js_unit_tests_pass(node):
    proc = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"node --test tests/js/ failed:\n{out[-4000:]}"
    assert "# fail 0" in out


def test_heatmap_images_are_in_the_compared_logs():
    """The gate covers drawImage: cnn's sampled cases draw its heatmaps in every theme the
    cases use, each theme with its own pixels (the logged checksums differ)."""
    scene = scene_for("cnn", "video")
    keys = {}
    for case in cases_for(scene):
        if case["what"] != "frame":
            continue
        theme = (case["view"] or {}).get("theme") or scene["theme"]
        keys.setdefault(theme, set()).update(tuple(op[1]) for op in python_ops(scene, case) if op[0] == "drawImage")
    assert set(keys) == {"light", "dark", "colorblind"} and all(keys.values())
    assert not keys["light"] & keys["dark"] and not keys["light"] & keys["colorblind"]


@pytest.mark.parametrize("name, labels", [("cnn", {"∂L/∂W² · pooled 1×2", "∂L/∂W¹"}), ("attention", {"∂L/∂A"}),
                                           ("mlp", {"∂L/∂W¹", "∂L/∂W²"})])
def test_caption_heatmaps_are_in_the_compared_logs(name, labels):
    """The gate covers the caption band's factors: the sampled cases of cnn, attention and mlp
    draw the step's heatmaps (drawImage in the band) and their labels, so the parity test above
    compares them call for call."""
    scene = scene_for(name, "video")
    terms = [term for item in scene["captions"]["items"] for term in item.get("heatmaps", {}).get("terms", [])]
    places = {(t["image"]["x"], t["image"]["y"], t["image"]["w"], t["image"]["h"]) for t in terms}
    spots = {(t["label"]["text"], t["label"]["x"], t["label"]["y"]) for t in terms}
    images, texts = set(), set()
    for case in cases_for(scene):
        if case["what"] == "frame" and case["view"] is None:
            ops = python_ops(scene, case)
            images.update(tuple(op[1]) for op in ops if op[0] == "drawImage" and tuple(op[2:6]) in places)
            texts.update(op[1] for op in ops if op[0] == "fillText" and tuple(op[1:4]) in spots)
    assert len(images) >= 3 and labels <= texts, (len(images), labels - texts)


def test_the_decision_boundary_is_in_the_compared_logs():
    """training's sampled cases draw its boundary map at several steps (different images) and
    its dots in their targets' colours, so the gate above compares them."""
    scene = scene_for("training", "video")
    maps, dots = set(), set()
    boundary = scene["predictions"]["boundary"]
    for case in cases_for(scene):
        if case["what"] == "frame" and case["view"] is None:
            ops = python_ops(scene, case)
            maps.update(tuple(op[1]) for op in ops if op[0] == "drawImage" and op[1][:2] == [24.0, 24.0])
            dots.update(ops[i + 1][2] for i, op in enumerate(ops)   # a dot: its arc, then its colour
                        if op[0] == "arc" and op[3] == boundary["dot_r"] and ops[i + 1][:2] == ["set", "fillStyle"])
    assert len(maps) >= 3 and len(dots) >= 3


def test_js_painter_matches_python_folded_blocks(node, tmp_path):
    """A folded block's strip of gradient per repeat (modules view of 12 identical blocks)."""
    import torch
    from torch import nn

    from bprender.canvas import FontBook
    from bprender.pipeline import scene_settings
    from bprender.scene import build_scene
    from bprender.trace import trace_model
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(6, 6), nn.Sigmoid()) for _ in range(12)], nn.Linear(6, 1))
    settings = dict(scene_settings(open_preset("linear")), view="modules")
    scene = build_scene(trace_model(model, torch.randn(4, 6), torch.randn(4, 1), "mse"), settings, FontBook())
    assert any("per repeat" in g["text"]["text"] for n in scene["nodes"] for g in n.get("glyphs", []))
    assert_parity(node, scene, tmp_path, "12 folded blocks")


def test_js_painter_matches_python_attention_token_labels(node, tmp_path):
    """The attention matrix's token labels (ops view, the camera on the softmax): both painters
    make the same calls, and the compared logs hold the labels."""
    preset = open_preset("attention", {"view": "ops"})
    scene = scene_of(trace_of(preset), preset)
    softmax = next(n for n in scene["nodes"] if any("labels" in g for g in n.get("glyphs", [])))
    box = softmax["glyphs"][0]["box"]
    camera = {"camera": {"x": box[0] + box[2] / 2, "y": box[1] + box[3] / 2, "zoom": 1.0}}
    cases = [{"t": t, "view": {**camera, **extra}, "what": "frame"} for t in (scene["duration"] * 0.6, scene["duration"])
             for extra in ({}, {"theme": "dark"})]
    labels = [op for op in python_ops(scene, cases[-1]) if op[0] == "fillText" and op[1] in ("t₁", "t₂", "t₃")]
    assert len(labels) >= 12
    for case, js in zip(cases, js_ops(node, scene, cases, tmp_path)):
        diff = ops_diff(python_ops(scene, case), js, tol=TOL)
        assert diff is None, f"t={case['t']} {case['view']}: {diff} (Python first, JS second)"
