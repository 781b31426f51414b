"""Repeated backward steps told briefly (bprender/views/repeats.py): in a long backward pass, a
step of a kind already shown in full three times gets a one-line caption of its results and the
pacing's repeat_step; the numbers in that line are PyTorch's; small models are told in full."""
from __future__ import annotations

import functools
import re

import pytest
import torch
from torch import nn

import bprender
from bprender.canvas import FontBook
from bprender.fmt import num
from bprender.paint import camera_at
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import list_builtin_presets
from bprender.reading import reading_time
from bprender.views import repeats
from bprender.views.graph import Step, ViewGraph, ViewNode
from legibility import drawn_texts

LAYERS = 12
SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def build():
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(LAYERS) for m in (nn.Linear(4, 4), nn.Tanh())])
    return model, torch.randn(1, 4), torch.randn(1, 4)


@functools.lru_cache(maxsize=None)
def deep_scene(repeat_step: float | None = None) -> dict:
    model, x, y = build()
    pacing = {"repeat_step": repeat_step} if repeat_step is not None else {}
    return bprender.animate(model=model, inputs=x, target=y, loss="mse", view="ops", pacing=pacing).scene()


def backward_events(scene: dict) -> list[dict]:
    return [e for e in scene["events"] if e["name"].startswith("backward:")]


def caption_starting(scene: dict, t: float) -> dict:
    return next(i for i in scene["captions"]["items"] if abs(i["track"][0][0] - t) < 1e-6)


def test_the_result_of_a_caption_line():
    assert repeats.result_of("∂L/∂W⁵ = ∂L/∂z⁵ · (the other factor);  norm 6.5e−4") == "‖∂L/∂W⁵‖ = 6.5e−4"
    assert repeats.result_of("∂L/∂w = ∂L/∂y · x = −2 · 3 = −6") == "∂L/∂w = −6"
    assert repeats.result_of("b⁸.grad = 0.1784   (accumulated into the leaf b⁸)") == "b⁸.grad = 0.1784"
    assert repeats.result_of("W⁷.grad = 4×4, norm 0.0333   (accumulated into the leaf W⁷)") == "‖W⁷.grad‖ = 0.0333"
    assert repeats.result_of("∂L/∂z⁶ = ∂L/∂a⁶ · σ(1 − σ);  norm 0.0433 → 0.0104") == "‖∂L/∂z⁶‖ = 0.0104"
    assert repeats.result_of("the gradient flows on unchanged") is None
    assert repeats.result_of("∂L/∂x = the sum of the arriving gradients") is None


def test_steps_of_one_kind_mask_numbers_and_layer_indices():
    graph = ViewGraph(nodes=[ViewNode("a", "op", "z⁷", op="z⁷ = W⁷(·) + b⁷"), ViewNode("b", "op", "z⁶", op="z⁶ = W⁶(·) + b⁶"),
                             ViewNode("c", "op", "z⁵", op="z⁵ = W⁵(·) + b⁵"), ViewNode("d", "op", "a⁵", op="tanh(z⁵)")])
    steps = [Step(["a"], [], ["x"]), Step(["b"], [], ["y"]), Step(["c"], [], ["z"]), Step(["d"], [], ["w"])]
    kinds = [repeats.kind_of(s, graph) for s in steps]
    assert kinds[0] == kinds[1] == kinds[2] != kinds[3]
    assert repeats.kind_of(Step(["a"], [], ["x", "y"]), graph) != kinds[0]   # sends along more edges
    assert repeats.masked("2 − (−0.35) · 3") == repeats.masked("2 + 0.4 · 3")


def test_a_long_backward_pass_tells_its_repeats_briefly():
    scene = deep_scene()
    events = backward_events(scene)
    assert len(events) > repeats.MANY_STEPS
    brief = [e for e in events if "repeat_of" in e]
    assert len(brief) >= len(events) // 2, "most steps of a deep stack repeat a rule"
    full = {e["name"]: e for e in events if "repeat_of" not in e}
    ends = {e["name"]: n["t"] for e, n in zip(events, events[1:])}
    for e in brief:
        assert e["repeat_of"] in full                      # it points at a step said in full
        assert full[e["repeat_of"]]["t"] < e["t"]
        item = caption_starting(scene, e["t"])
        assert len(item["lines"]) == 1 and item["lines"][0].endswith(
            f"(as in step {int(e['repeat_of'].split(':')[1]) + 1})"), item["lines"]
        if e["name"] in ends:
            assert ends[e["name"]] - e["t"] == pytest.approx(0.6, abs=1e-5)
    for e in full.values():    # the steps in full keep their reading time
        if e["name"] in ends:
            item = caption_starting(scene, e["t"])
            assert ends[e["name"]] - e["t"] >= reading_time(item["lines"]) - 1e-5


def test_each_kind_is_shown_in_full_three_times_first():
    scene = deep_scene()
    labels = [e["label"].split(": ", 1)[1] for e in backward_events(scene) if "repeat_of" not in e]
    tanh = [label for label in labels if label.startswith("a")]   # a¹² … : the tanh outputs
    assert len(tanh) == repeats.FULL_REPEATS


def test_the_brief_numbers_are_pytorchs():
    """‖∂L/∂aᵏ‖ in a repeat's line is the norm of the gradient PyTorch gives the k-th tanh output."""
    model, x, y = build()
    outs = []
    h = x
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Tanh):
            h.retain_grad()
            outs.append(h)
    nn.functional.mse_loss(h, y).backward()
    norms = {k + 1: float(a.grad.norm()) for k, a in enumerate(outs)}
    scene = deep_scene()
    seen = 0
    for e in backward_events(scene):
        if "repeat_of" not in e:
            continue
        line = caption_starting(scene, e["t"])["lines"][0]
        for index, value in re.findall(r"‖∂L/∂a([⁰¹²³⁴⁵⁶⁷⁸⁹]+)‖ = (\S+?);", line):
            k = int(index.translate(SUPER))
            assert value == num(norms[k], 3), (line, norms[k])   # norms are written to 3 digits
            seen += 1
    assert seen >= LAYERS // 2


def test_the_pacing_sets_how_long_a_repeat_lasts():
    quick, slow = deep_scene(), deep_scene(1.5)
    assert slow["duration"] > quick["duration"]
    events = backward_events(slow)
    ends = {e["name"]: n["t"] for e, n in zip(events, events[1:])}
    lengths = {round(ends[e["name"]] - e["t"], 4) for e in events if "repeat_of" in e and e["name"] in ends}
    assert lengths == {1.5}


@pytest.mark.parametrize("name", [name for name, *_ in list_builtin_presets()])
def test_the_gallery_is_told_in_full(name):
    preset = open_preset(name)
    scene = scene_of(trace_of(preset, cache=True), preset)
    assert not any("repeat_of" in e for e in scene["events"])


def test_the_camera_keeps_up_with_the_quick_steps():
    """A repeat lasts 0.6 s: the camera, following the gradient, has arrived at the node being
    computed before the step ends, close enough to read its name."""
    scene = deep_scene()
    camera = scene["camera"]
    assert camera, "a 12-layer ops view does not fit the frame: it has a camera"
    fonts = FontBook()
    by_time = {}
    for n in scene["nodes"]:
        if n["tracks"].get("grad"):
            by_time.setdefault(n["tracks"]["grad"][0][0], n)
    brief = [e for e in backward_events(scene) if "repeat_of" in e]
    for event in brief[::4]:
        t = event["t"] + 0.5
        node = by_time[event["t"]]
        cx, cy, zoom = camera_at(camera, t, None)
        assert zoom == pytest.approx(1.0)
        assert abs(node["x"] - cx) <= camera["w"] / 2 and abs(node["y"] - cy) <= camera["h"] / 2, event
        assert node["lines"][0]["text"] in {d.text for d in drawn_texts(scene, t, fonts=fonts)}, event


def test_the_quick_steps_keep_the_floor_and_the_frame():
    """The brief captions and the camera's quicker moves: every text at its floor, inside the
    frame, whole (tests/test_legibility.py's rules), at the start and settle moment of repeats."""
    scene = deep_scene()
    fonts = FontBook()
    floor = scene["height"] / 40
    times = [t for e in backward_events(scene) if "repeat_of" in e for t in (e["t"], e["t"] + 0.45)]
    problems = []
    for t in times[::3]:
        for text in drawn_texts(scene, t, fonts=fonts):
            if text.alpha <= 0.002 or not text.text.strip():
                continue
            x0, y0, x1, y1 = text.box
            if text.size < floor - 0.01 or text.text.rstrip().endswith("…") or \
                    x0 < -0.5 or y0 < -0.5 or x1 > scene["width"] + 0.5 or y1 > scene["height"] + 0.5:
                problems.append((round(t, 2), text.text, round(text.size, 1), text.box))
    assert not problems, problems[:5]
