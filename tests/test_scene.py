"""Scene building: layout, timing, chain-rule captions and determinism, on real traces."""
from __future__ import annotations

import json

import pytest

from bprender.canvas import RecordingCanvas2D
from bprender.fmt import num
from bprender.jsonio import dumps
from bprender.paint import paint_frame
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import preset_from_dict
from bprender.tracks import value_at
from testkit import assert_boxes_fit

CANVAS_NAMES = {"save", "restore", "translate", "scale", "rotate", "setTransform", "resetTransform",
                "set", "setLineDash", "beginPath", "closePath", "moveTo", "lineTo", "bezierCurveTo",
                "quadraticCurveTo", "arc", "rect", "roundRect", "fill", "stroke", "clip", "fillRect",
                "strokeRect", "clearRect", "fillText", "strokeText"}


@pytest.fixture(scope="module")
def linear():
    preset = open_preset("linear")
    trace = trace_of(preset)
    return preset, trace, scene_of(trace, preset)


def expression_scene(expression, params, inputs, **extra):
    preset = preset_from_dict({"model": {"expression": expression, "params": params, "inputs": inputs}, **extra})
    trace = trace_of(preset)
    return trace, scene_of(trace, preset)


def test_duration_is_the_sum_of_the_pacing_when_every_caption_fits_it(linear):
    """With a pacing longer than any caption takes to read, the timeline is the pacing alone."""
    _, trace, _ = linear
    pacing = {"intro": 12.0, "forward_step": 0.5, "loss": 9.0, "backward_step": 9.0, "pause": 6.0, "hold": 8.0}
    preset = preset_from_dict({"model": {"steps": "y_pred = w * x + b\nloss = (y_pred - y_true) ** 2",
                                         "params": {"w": 2.0, "b": 1.0}, "inputs": {"x": 3.0, "y_true": 8.0}},
                               "pacing": pacing})
    scene = scene_of(trace, preset)
    # forward: the sources together, then one step per op (5 ops in the seed example)
    n_ops = sum(1 for n in trace["nodes"] if n["kind"] in ("op", "loss"))
    expected = (pacing["intro"] + (1 + n_ops) * pacing["forward_step"] + pacing["pause"] + pacing["loss"]
                + len(trace["backward"]) * pacing["backward_step"] + pacing["pause"] + pacing["hold"])
    assert scene["duration"] == pytest.approx(expected)
    assert [p["name"] for p in scene["phases"]] == ["intro", "forward", "loss", "backward", "end"]


def test_a_caption_longer_than_its_pacing_stretches_its_part(linear):
    """The default pacing is shorter than the chain-rule captions take to read: the steps grow."""
    preset, trace, scene = linear
    pacing = preset.data["pacing"]
    starts = [e["t"] for e in scene["events"] if e["name"].startswith("backward:")]
    lengths = [b - a for a, b in zip(starts, starts[1:])]
    assert min(lengths) >= pacing["backward_step"] - 1e-6
    assert max(lengths) > pacing["backward_step"] + 1.0  # a two-line chain-rule step
    assert len(set(round(x, 3) for x in lengths)) > 1     # each step its own time

def test_boxes_are_inside_the_frame_and_do_not_overlap(linear):
    _, _, scene = linear
    assert_boxes_fit(scene)


def test_edges_run_left_to_right_from_box_to_box(linear):
    _, _, scene = linear
    nodes = {n["id"]: n for n in scene["nodes"]}
    for edge in scene["edges"]:
        src, dst = nodes[edge["from"]], nodes[edge["to"]]
        start, end = edge["route"][0][:2], edge["route"][-1][6:]
        assert start[0] == pytest.approx(src["x"] + src["w"] / 2, abs=0.01)
        assert end[0] == pytest.approx(dst["x"] - dst["w"] / 2, abs=0.01)
        assert src["x"] < dst["x"]
    loss = next(n for n in scene["nodes"] if n["kind"] == "loss")
    assert loss["x"] == max(n["x"] for n in scene["nodes"])


def lit_time(node):
    return node["tracks"]["lit"][0][0]


def grad_time(node):
    return node["tracks"]["grad"][0][0]


def test_forward_in_topological_order_backward_in_firing_order(linear):
    _, trace, scene = linear
    nodes = {n["id"]: n for n in scene["nodes"]}
    for edge in scene["edges"]:
        assert lit_time(nodes[edge["from"]]) < lit_time(nodes[edge["to"]])
    fired = [step["node"] for step in trace["backward"]]
    times = [grad_time(nodes[n]) for n in fired]
    assert times == sorted(times) and len(set(times)) == len(times)
    # the loss phase sits between the two passes
    loss_phase = next(p for p in scene["phases"] if p["name"] == "loss")
    assert max(lit_time(n) for n in scene["nodes"]) < loss_phase["t0"] < min(times)


def test_seed_example_captions_and_labels(linear):
    _, _, scene = linear
    lines = [line for item in scene["captions"]["items"] for line in item["lines"]]
    assert "∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6" in lines
    assert "∂L/∂b = ∂L/∂y_pred · 1 = −2 · 1 = −2" in lines      # linear.yaml names y_pred = w * x + b
    assert "The loss: L = 1" in lines
    labels = {n["info"]["label"]: n for n in scene["nodes"]}
    assert labels["w"]["info"]["grad"] == "−6" and labels["b"]["info"]["grad"] == "−2"
    assert labels["y_pred"]["info"]["grad"] == "−2" and labels["loss"]["kind"] == "loss"
    assert labels["x"]["kind"] == "const" and labels["y_true"]["kind"] == "const"


def test_gradient_colours_follow_the_sign(linear):
    _, _, scene = linear
    for edge in scene["edges"]:
        if "grad_color" in edge:
            assert edge["grad_color"] == "negative"  # every gradient of the seed example is < 0
    loss = next(n for n in scene["nodes"] if n["kind"] == "loss")
    assert loss["grad_color"] == "positive"  # dL/dL = 1
    backward = [p for p in scene["particles"] if p["reverse"]]
    assert backward and all(p["color"] == "negative" for p in backward)
    # a bigger gradient is a wider edge: |-6| on w's edge beats |-2| elsewhere
    widths = {e["label"]["text"]: e["grad_width"] for e in scene["edges"] if "label" in e}
    assert widths["−6"] > widths["−2"]


def test_scene_is_byte_identical_across_runs(linear):
    preset, trace, scene = linear
    again = scene_of(trace_of(preset), preset)
    assert dumps(again) == dumps(scene)


def test_scene_json_is_strict(linear):
    text = dumps(linear[2])

    def reject(name):
        raise ValueError(name)
    assert json.loads(text, parse_constant=reject)["schema"] == "bprender.scene/2"


def test_chain_rule_captions_for_more_ops():
    trace, scene = expression_scene("tanh(w * x) * sigmoid(b) + exp(w) / x", {"w": 0.5, "b": -1.0}, {"x": 2.0})
    lines = [line for item in scene["captions"]["items"] for line in item["lines"]]
    text = "\n".join(lines)
    assert "1 − tanh²(w·x)" in text
    assert "σ(b)(1 − σ(b))" in text
    grads = {leaf["name"]: leaf["grad"]["values"][0] for leaf in trace["leaves"]}
    assert f"w.grad = {num(grads['w'])}" in text
    # w is used twice (tanh and exp): its gradient is shown as a sum
    assert "used 2 times: gradients add" in text


def test_non_finite_values_are_drawn_not_crashed():
    trace, scene = expression_scene("sqrt(w) * x", {"w": -1.0}, {"x": 2.0})
    text = dumps(scene)
    json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    w = next(n for n in scene["nodes"] if n["info"]["label"] == "w")
    assert w["grad_color"] == "nonfinite"
    assert w["info"]["grad"] == "NaN"
    canvas = RecordingCanvas2D()
    paint_frame(canvas, scene, scene["duration"])
    assert any(op[0] == "fillText" and op[1] == "grad NaN" for op in canvas.ops)


def test_painter_uses_only_the_canvas_subset_and_is_a_pure_function_of_time(linear):
    _, _, scene = linear
    t = next(p for p in scene["particles"] if p["reverse"])
    mid = (t["track"][0][0] + t["track"][-1][0]) / 2
    logs = []
    for _ in range(2):
        canvas = RecordingCanvas2D()
        paint_frame(canvas, scene, mid)
        logs.append(canvas.ops)
    assert logs[0] == logs[1]
    assert {op[0] for op in logs[0]} <= CANVAS_NAMES
    visible = sum(1 for p in scene["particles"] if p["track"][0][0] <= mid <= p["track"][-1][0])
    assert visible >= 1
    arcs = sum(1 for op in logs[0] if op[0] == "arc")
    assert arcs == 2 * visible + len(scene["header"]["legend"])  # halo + dot per particle


def test_tracks_hold_outside_their_keyframes():
    track = [[1.0, 0.0], [2.0, 1.0]]
    assert value_at(track, 0.0) == 0.0 and value_at(track, 3.0) == 1.0
    assert value_at(track, 1.5) == pytest.approx(0.5)
    assert 0 < value_at(track, 1.25) < 0.25  # eased, not linear


def test_two_keyframes_at_one_time_are_a_jump():
    from bprender.tracks import count_track, shown_between
    steps = count_track([1.0, 2.0, 2.0, 3.5])
    assert [value_at(steps, t) for t in (0.0, 0.999, 1.0, 1.5, 2.0, 3.0, 3.5, 9.0)] == [0, 0, 1, 1, 3, 3, 4, 4]
    shown = shown_between(1.0, 2.0, 0.2)
    assert value_at(shown, 0.99) == 0.0 and value_at(shown, 1.0) == 0.0 and value_at(shown, 1.5) == 1.0
    assert value_at(shown, 1.999) == 1.0 and value_at(shown, 2.0) == 0.0
    assert value_at(shown_between(1.0, 1.1, 0.2), 1.1) == 0.0  # shorter than its fade: still in order


def test_small_output_keeps_text_readable():
    preset = open_preset("linear")
    scene = scene_of(trace_of(preset), preset, target="gif")
    assert (scene["width"], scene["height"]) == (640, 360)
    sizes = [float(line["font"].split("px")[0].split()[-1]) for n in scene["nodes"] for line in n["lines"]]
    assert min(sizes) >= 360 / 40  # the type floor: 1/40 of the frame height


def test_a_graph_too_big_for_the_frame_gets_a_camera_without_overlaps():
    """Text never shrinks under the floor: the graph is laid out bigger than the frame, and the
    camera's opening overview shows all of it, no two boxes overlapping."""
    import torch
    from torch import nn

    import bprender
    torch.manual_seed(0)
    layers = []
    for _ in range(8):
        layers += [nn.Linear(4, 4), nn.Sigmoid()]
    net = nn.Sequential(*layers, nn.Linear(4, 1))
    scene = bprender.animate(model=net, inputs=torch.randn(2, 4), target=torch.randn(2, 1), loss="mse").scene()
    assert len(scene["nodes"]) > 30
    assert "camera" in scene
    assert_boxes_fit(scene)


def test_a_gradient_that_sums_to_zero_has_no_sign():
    """Through LayerNorm a gradient sums to zero; its float32 mean is rounding noise whose sign
    depends on the CPU, so it must not decide red or blue. A real mean still does."""
    from bprender.fmt import summary_sign_value
    noise = {"shape": [3, 4], "stats": {"min": -0.5, "max": 0.4, "mean": 3.4e-9, "norm": 0.918}}
    assert summary_sign_value(noise) == pytest.approx(0.918)
    assert summary_sign_value({**noise, "stats": {**noise["stats"], "mean": -3.4e-9}}) == pytest.approx(0.918)
    real = {**noise, "stats": {**noise["stats"], "mean": -0.0018}}
    assert summary_sign_value(real) == pytest.approx(-0.918)


def test_an_absurdly_long_name_is_shortened_in_its_box():
    """A 100,000-character name must not make its box, and so the whole graph, wider than any
    view: node lines are shortened to a bounded width, in bounded time."""
    import time
    long = "w" * 100_000
    start = time.monotonic()
    trace, scene = expression_scene(f"{long} * x", {long: 2.0}, {"x": 3.0})
    assert time.monotonic() - start < 20
    widest = max(n["w"] for n in scene["nodes"])
    assert widest < scene["width"] * 0.6
    assert any(line["text"].endswith("\u2026") for n in scene["nodes"] for line in n["lines"])


def test_the_caption_band_is_never_blank_at_a_step_boundary(linear):
    """A caption that takes over from the one before is shown at once: no blank band (a flicker,
    and the frame presentation mode stops at) when a backward step begins."""
    _, _, scene = linear
    events = [e["t"] for e in scene["events"] if e["name"].startswith("backward:")][1:]
    assert events
    for t in events:
        shown = [value_at(item["track"], t) for item in scene["captions"]["items"]]
        assert max(shown) == 1.0, t
