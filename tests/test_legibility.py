"""Legible from the back of a lecture hall, measured on what the painter draws: every text of
every gallery preset, at sampled times over the whole animation, at 1280x720 and at the GIF's
size, is at least 1/40 of the frame height on the frame (after the camera's zoom), wholly
inside the frame, and never cut with an ellipsis; primary labels are at least 1/30."""
from __future__ import annotations

import pytest

from bprender.canvas import FontBook
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import list_builtin_presets
from legibility import drawn_texts

PRESETS = [name for name, *_ in list_builtin_presets()]
FONTS = FontBook()
_traces: dict = {}


def scene_for(name: str, target: str) -> dict:
    if name not in _traces:
        preset = open_preset(name)
        _traces[name] = (preset, trace_of(preset))
    preset, trace = _traces[name]
    return scene_of(trace, preset, target)


def sample_times(scene: dict) -> list[float]:
    """Every event, a moment into it, and an even grid over the whole animation."""
    times = {e["t"] for e in scene["events"]} | {e["t"] + 0.5 for e in scene["events"]}
    times |= {scene["duration"] * i / 24 for i in range(25)}
    return sorted(t for t in times if 0 <= t <= scene["duration"])


@pytest.mark.parametrize("target", ["video", "gif"])
@pytest.mark.parametrize("name", PRESETS)
def test_every_text_is_above_the_floor_inside_the_frame_and_whole(name, target):
    scene = scene_for(name, target)
    floor = scene["height"] / 40
    problems = []
    for t in sample_times(scene):
        for text in drawn_texts(scene, t, fonts=FONTS):
            if text.alpha <= 0.002 or not text.text.strip():
                continue
            where = f"t={t:.2f} {text.text!r}"
            if text.size < floor - 0.01:
                problems.append(f"{where}: {text.size:.1f} px < {floor:.1f}")
            x0, y0, x1, y1 = text.box
            if x0 < -0.5 or y0 < -0.5 or x1 > scene["width"] + 0.5 or y1 > scene["height"] + 0.5:
                problems.append(f"{where}: box {tuple(round(v) for v in text.box)} leaves the frame")
            if text.text.rstrip().endswith("\u2026"):
                problems.append(f"{where}: cut with an ellipsis")
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:12])


@pytest.mark.parametrize("name", PRESETS)
def test_primary_labels_are_at_least_a_thirtieth_of_the_frame(name):
    scene = scene_for(name, "video")
    primary = scene["height"] / 30
    caption_px = float(scene["captions"]["font"].split("px")[0].split()[-1])
    assert caption_px >= primary - 0.05
    for node in scene["nodes"]:
        title, *_ = node["lines"]
        assert title["px"] >= primary - 0.05, (node["id"], title)
        for line in node["lines"]:
            if line["track"] in ("lit", "grad") and line["color"] not in ("flag",):
                assert line["px"] >= primary - 0.05, (node["id"], line["text"])


def test_a_big_graph_is_followed_by_the_camera():
    """deep_sigmoid does not fit at reading size: the camera shows the node being computed at
    each backward step, at a zoom that keeps its text at the primary size."""
    from bprender.paint import camera_at
    scene = scene_for("deep_sigmoid", "video")
    camera = scene["camera"]
    steps = [e for e in scene["events"] if e["name"].startswith("backward:")]
    by_id = {n["id"]: n for n in scene["nodes"]}
    for event in steps[::3]:
        t = event["t"] + 0.6
        cx, cy, zoom = camera_at(camera, t, None)
        drawn = {d.text for d in drawn_texts(scene, t, fonts=FONTS)}
        assert zoom == pytest.approx(1.0)
        seen = [n for n in scene["nodes"] if n["tracks"].get("grad") and n["tracks"]["grad"][0][0] == event["t"]]
        assert seen, event
        node = by_id[seen[0]["id"]]
        # inside the view (graph coordinates) and its name drawn
        assert abs(node["x"] - cx) <= camera["w"] / 2 and abs(node["y"] - cy) <= camera["h"] / 2, event
        assert node["lines"][0]["text"] in drawn, event
    start = camera_at(camera, 0.0, None)[2]
    end = camera_at(camera, scene["duration"], None)[2]
    assert start < 0.75 and end == start  # an overview at both ends, where node text is left out
    assert not any(d.text == by_id[scene["nodes"][0]["id"]]["lines"][0]["text"]
                   for d in drawn_texts(scene, 0.2, fonts=FONTS))


def test_a_graph_that_fits_keeps_a_still_camera():
    assert "camera" not in scene_for("linear", "video")


def test_a_vanishing_gradient_looks_faint_and_thin():
    """One absolute magnitude scale per scene: in deep_sigmoid's end frame the first layer's
    weight edges, drawn through the recording canvas, carry at most a fifth of the ink (stroke
    width times opacity) of the last layer's; the legend gives the range."""
    from bprender.canvas import RecordingCanvas2D
    from bprender.paint import paint_edge
    scene = scene_for("deep_sigmoid", "video")
    colors = scene["palettes"]["light"]

    def ink(edge) -> float:
        ctx = RecordingCanvas2D()
        paint_edge(ctx, edge, scene["duration"], 1.0, colors)
        alpha = width = None
        for op in ctx.ops:  # the last stroke is the gradient's
            if op[:2] == ["set", "globalAlpha"]:
                alpha = op[2]
            elif op[:2] == ["set", "lineWidth"]:
                width = op[2]
            elif op[0] == "stroke":
                last = alpha * width
        return last

    first = [ink(e) for e in scene["edges"] if e["id"].startswith("w0:")]
    last = [ink(e) for e in scene["edges"] if e["id"].startswith("w7:")]
    assert first and last
    assert sum(first) / len(first) <= 0.2 * sum(last) / len(last)
    legend = [entry["text"] for entry in scene["header"]["legend"]]
    assert any(text.startswith("|∂L/∂·| ") and "…" in text for text in legend), legend


@pytest.mark.parametrize("name", ["attention", "deep_sigmoid", "training"])
def test_no_text_is_drawn_under_the_overview_inset(name):
    from bprender.paint import camera_at
    scene = scene_for(name, "video")
    camera = scene["camera"]
    inset = camera["inset"]
    checked = 0
    for t in sample_times(scene):
        if camera_at(camera, t, None)[2] <= inset["zoom_from"]:
            continue  # the inset is not shown
        checked += 1
        for text in drawn_texts(scene, t, fonts=FONTS):
            x0, y0, x1, y1 = text.box
            under = x1 > inset["x"] and y1 > inset["y"] and x0 < inset["x"] + inset["w"] and \
                y0 < inset["y"] + inset["h"]
            assert not (under and text.alpha > 0.002), (t, text.text)
    assert checked > 3


def test_side_by_side_panels_have_their_own_cameras_and_keep_the_floor():
    """deep_sigmoid | deep_relu: each panel follows its own gradient with its own camera, and
    every text drawn in either panel is at least 1/40 of the whole frame's height, inside it."""
    from bprender.pipeline import open_source, scene_for as composite_for
    scene = composite_for([open_source("deep_sigmoid"), open_source("deep_relu")])
    assert [("camera" in p["scene"]) for p in scene["panels"]] == [True, True]
    floor = scene["height"] / 40
    problems, drawn = [], 0
    for t in sample_times(scene):
        for text in drawn_texts(scene, t, fonts=FONTS):
            if text.alpha <= 0.002 or not text.text.strip():
                continue
            drawn += 1
            x0, y0, x1, y1 = text.box
            if text.size < floor - 0.01:
                problems.append(f"t={t:.2f} {text.text!r}: {text.size:.1f} px < {floor:.1f}")
            if x0 < -0.5 or y0 < -0.5 or x1 > scene["width"] + 0.5 or y1 > scene["height"] + 0.5:
                problems.append(f"t={t:.2f} {text.text!r}: leaves the frame")
    assert drawn > 100 and not problems, "\n".join(problems[:12])
