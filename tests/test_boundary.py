"""The decision boundary in the predictions panel: a two-feature model's output over its input
plane at every training step (trace/boundary.py, scene/boundary.py). The oracle is plain
PyTorch: the model with each step's parameters, run on the recorded grid."""
from __future__ import annotations

import statistics

import pytest
import torch
from torch import nn

from bprender.canvas import RecordingCanvas2D
from bprender.jsonio import dumps
from bprender.paint import paint_frame
from bprender.pipeline import scene_of, trace_of
from bprender.preset import preset_from_dict
from bprender.trace import boundary, train, trace_model, trace_preset
from test_training import plain_loop, step_starts, training_model

from testkit import run_fresh_python


@pytest.fixture(scope="module")
def trained():
    from bprender.pipeline import open_preset
    preset = open_preset("training")
    trace = trace_of(preset)
    return preset, trace, scene_of(trace, preset)


def grid_points(plane: dict) -> torch.Tensor:
    """The plane's points as the trace describes them: row r is y[r], column c is x[c]."""
    xs, ys = torch.tensor(plane["x"]), torch.tensor(plane["y"])
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def test_the_grid_outputs_are_the_models_outputs_at_each_step(trained):
    _, trace, _ = trained
    plane = trace["train"]["plane"]
    model, x, _ = training_model()
    assert len(plane["x"]) == len(plane["y"]) == boundary.GRID and plane["outputs"] == 1
    # the grid spans the samples with a margin on every side
    assert plane["x"][0] < x[:, 0].min() and plane["x"][-1] > x[:, 0].max()
    assert plane["y"][0] < x[:, 1].min() and plane["y"][-1] > x[:, 1].max()
    assert plane["samples"] == x.tolist()
    _, params = plain_loop(25, lambda p: torch.optim.SGD(p, lr=0.1))
    points = grid_points(plane)
    for k in (0, 1, 12, 24):
        model.load_state_dict(params[k])
        with torch.no_grad():
            wanted = model(points).reshape(-1)
        got = torch.tensor(trace["train"]["steps"][k]["plane"], dtype=torch.float32)
        assert torch.allclose(got, wanted, rtol=0, atol=1e-6), k
    first, last = trace["train"]["steps"][0]["plane"], trace["train"]["steps"][-1]["plane"]
    assert first != last


def test_recording_the_plane_changes_no_number_of_the_training(trained, monkeypatch):
    preset, trace, _ = trained
    monkeypatch.setattr(train, "plane_of", lambda built: None)
    plain = trace_preset(preset)     # traced again, not read from the cache
    assert "plane" not in plain["train"]
    for a, b in zip(plain["train"]["steps"], trace["train"]["steps"]):
        assert {k: v for k, v in b.items() if k != "plane"} == a
    assert plain["train"]["final"] == trace["train"]["final"]


def test_running_the_grid_leaves_the_rng_buffers_and_grads_alone(monkeypatch):
    """A model with dropout and batch norm, no seed of bprender's: the training steps, the
    running statistics and the random stream after training are the same with and without
    the plane."""
    def run():
        torch.manual_seed(3)
        model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Dropout(0.3), nn.Linear(4, 1))
        x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
        trace = trace_model(model, x, y, "mse", train={"steps": 6, "optimizer": "adam", "lr": 0.05})
        return trace, [b.clone() for b in model.buffers()], torch.rand(3)
    a, buffers_a, rng_a = run()
    monkeypatch.setattr(train, "plane_of", lambda built: None)
    b, buffers_b, rng_b = run()
    assert "plane" in a["train"] and "plane" not in b["train"]
    # the training's numbers (not every node's: an EmptyLike op's value is uninitialised memory)
    assert [(s["loss"], s["leaves"]) for s in a["train"]["steps"]] == [(s["loss"], s["leaves"]) for s in b["train"]["steps"]]
    assert a["train"]["final"] == b["train"]["final"]
    assert all(torch.equal(p, q) for p, q in zip(buffers_a, buffers_b))
    assert torch.equal(rng_a, rng_b)


def drawn_bitmaps(scene: dict, t: float) -> list:
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, t)
    return [op for op in ctx.ops if op[0] == "drawImage"]


def test_the_boundary_sharpens_and_the_painter_draws_each_steps_image(trained):
    _, trace, scene = trained
    panel = scene["predictions"]
    drawn = panel["boundary"]
    images = drawn["images"]
    assert len(images) == len(trace["train"]["steps"])
    assert images[0]["cells"] != images[-1]["cells"]
    spread = [statistics.pstdev(im["cells"]) for im in images]
    assert spread[-1] > 3 * spread[0]          # nearly flat at step 1, the boundary clear at the end
    assert min(images[-1]["cells"]) < -60 and max(images[-1]["cells"]) > 60
    starts = step_starts(scene)
    first = drawn_bitmaps(scene, scene["phases"][3]["t0"])   # step 1, its backward pass
    last = drawn_bitmaps(scene, scene["duration"])
    assert first and last and first[-2] != last[-2]     # the map's image (then its bar) differs
    assert drawn_bitmaps(scene, starts[12] + 0.01)[-2] not in (first[-2], last[-2])
    # the map, its bar and the dots fit in the panel, beside the table's columns
    x0, y0, w, h = drawn["frame"]
    assert panel["x"] < panel["head"]["xs"][2] < x0 and x0 + w <= panel["x"] + panel["w"]
    assert panel["y"] < y0 and drawn["bar"]["y"] + drawn["bar"]["h"] < panel["y"] + panel["h"]
    assert all(x0 <= d["x"] <= x0 + w and y0 <= d["y"] <= y0 + h for d in drawn["dots"])
    # a dot is coloured by its target on the map's scale: target -1.5 is the full negative end
    levels = [d["level"] for d in drawn["dots"]]
    assert levels[1] == -100 and levels[3] == 100 and levels[2] == 0
    texts = [t["text"] for t in drawn["legend"]["texts"]]
    assert texts == ["output −1.5 … 0 … 1.5", "dots: targets"]
    # every row is still listed beside it
    assert panel["more"] is None and len(panel["rows"]) == 6


def classifier_scene(tmp_path, source: str, loss: str, target: str, steps: int = 20):
    (tmp_path / "m.py").write_text(
        "import torch\nfrom torch import nn\n\ndef build():\n    torch.manual_seed(0)\n"
        "    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.2]])\n"
        f"    return {{'model': {source}, 'inputs': x, 'target': {target}, 'loss': {loss!r}}}\n")
    preset = preset_from_dict({"model": {"python": "m.py:build"},
                               "train": {"steps": steps, "optimizer": "adam", "lr": 0.1}}, base_dir=tmp_path)
    trace = trace_of(preset)
    return trace, scene_of(trace, preset)


def test_two_class_logits_draw_their_margin(tmp_path):
    trace, scene = classifier_scene(tmp_path, "nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))",
                                    "cross_entropy", "torch.tensor([0, 1, 1, 0, 0])")
    assert trace["train"]["plane"]["outputs"] == 2
    drawn = scene["predictions"]["boundary"]
    assert drawn["legend"]["texts"][0]["text"].startswith("logit₁ − logit₀ ")
    assert [d["level"] for d in drawn["dots"]] == [-100, 100, 100, -100, -100]
    # the margin's sign is the predicted class: where the map is positive, class 1 wins
    step = trace["train"]["steps"][-1]["plane"]
    cells = drawn["images"][-1]["cells"]
    rows = cols = boundary.GRID
    for r in (0, 11, 23):
        for c in (0, 11, 23):
            margin = step[2 * (r * cols + c) + 1] - step[2 * (r * cols + c)]
            level = cells[(rows - 1 - r) * cols + c]            # the image's rows run top down
            assert (level > 0) == (margin > 0) or level == 0


def test_a_sigmoid_output_is_centred_on_one_half(tmp_path):
    _, scene = classifier_scene(tmp_path, "nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())",
                                "bce", "torch.tensor([[0.0], [1.0], [1.0], [0.0], [0.0]])")
    drawn = scene["predictions"]["boundary"]
    assert drawn["legend"]["texts"][0]["text"] == "output 0 … 0.5 … 1"
    assert [d["level"] for d in drawn["dots"]] == [-100, 100, 100, -100, -100]


def test_inputs_without_exactly_two_features_show_no_boundary(tmp_path):
    for features in (1, 3):
        (tmp_path / f"m{features}.py").write_text(
            "import torch\nfrom torch import nn\n\ndef build():\n    torch.manual_seed(0)\n"
            f"    x = torch.linspace(-1, 1, {4 * features}).reshape(4, {features})\n"
            f"    return {{'model': nn.Linear({features}, 1), 'inputs': x, 'target': x.sum(1, keepdim=True),"
            " 'loss': 'mse'}\n")
        preset = preset_from_dict({"model": {"python": f"m{features}.py:build"},
                                   "train": {"steps": 4, "optimizer": "sgd", "lr": 0.1}}, base_dir=tmp_path)
        trace = trace_of(preset)
        scene = scene_of(trace, preset)
        assert "plane" not in trace["train"] and all("plane" not in s for s in trace["train"]["steps"])
        assert "predictions" in scene and "boundary" not in scene["predictions"]
        assert not any(op[0] == "drawImage" for op in drawn_bitmaps(scene, scene["duration"]))


def test_a_saved_trace_draws_its_boundary_without_torch(trained, tmp_path):
    _, trace, _ = trained
    path = tmp_path / "training.trace.json"
    path.write_text(dumps(trace), encoding="utf-8")
    code = f"""
import sys
from bprender import jsonio
from bprender.documents import schema_problem
from bprender.pipeline import scene_of
from bprender.preset import settings_from_dict
from bprender.render import render_frame
trace = jsonio.loads(open({str(path)!r}).read())
assert schema_problem("trace", trace) is None, schema_problem("trace", trace)
scene = scene_of(trace, settings_from_dict({{"view": "ops"}}))
assert "boundary" in scene["predictions"]
frame = render_frame(scene, scene["duration"])
assert frame.std() > 0
assert "torch" not in sys.modules, "torch was imported"
print("ok")
"""
    assert run_fresh_python(code).strip() == "ok"
