"""Training steps (issue 5): the trace's `train` section against a plain PyTorch loop, the
update phase and the loss curve in the scene, and a golden frame of presets/training.yaml.

Regenerate the golden frame only on purpose: python -m pytest tests/test_training.py --regen-golden
(then look at tests/baseline/training-steps.png).
"""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
import torch.nn.functional as F

from bprender.errors import PresetError
from bprender.jsonio import dumps
from bprender.paint import paint_frame
from bprender.tracks import value_at
from bprender.canvas import RecordingCanvas2D
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import builtin_presets_dir, preset_from_dict
from bprender.reading import reading_time
from bprender.render import render_frame
from bprender.trace import trace_preset
from imagecompare import bgra_to_rgb, check_golden


@pytest.fixture(scope="module")
def preset():
    return open_preset("training")


@pytest.fixture(scope="module")
def trace(preset):
    return trace_of(preset)


@pytest.fixture(scope="module")
def scene(preset, trace):
    return scene_of(trace, preset)


def training_model():
    """presets/training.py's model, inputs and targets, freshly built (its own fixed seed)."""
    path = builtin_presets_dir() / "training.py"
    spec = importlib.util.spec_from_file_location("training_model_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parts = module.build()
    return parts["model"], parts["inputs"], parts["target"]


def plain_loop(steps: int, make_optimizer) -> tuple[list[float], list[dict[str, torch.Tensor]]]:
    """presets/training.py trained by hand: the losses and the parameters at every step."""
    model, x, y = training_model()
    optimizer = make_optimizer(model.parameters())
    losses, params = [], []
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        losses.append(loss.item())
        params.append({n: p.detach().clone() for n, p in model.named_parameters()})
        optimizer.step()
    params.append({n: p.detach().clone() for n, p in model.named_parameters()})
    return losses, params


def tensor(summary: dict) -> torch.Tensor:
    return torch.tensor(summary["values"], dtype=torch.float32).reshape(summary["shape"])


def check_against_loop(trace: dict, losses, params) -> None:
    steps = trace["train"]["steps"]
    assert [s["step"] for s in steps] == list(range(1, len(losses) + 1))
    for k, s in enumerate(steps):
        assert torch.allclose(tensor(s["loss"]), torch.tensor(losses[k]).reshape(tensor(s["loss"]).shape)), k
        for leaf in s["leaves"]:
            assert torch.allclose(tensor(leaf["value"]), params[k][leaf["name"]]), (k, leaf["name"])
    for leaf in trace["train"]["final"]:
        assert torch.allclose(tensor(leaf["value"]), params[-1][leaf["name"]]), leaf["name"]


def test_training_trace_matches_a_plain_pytorch_loop(preset, trace):
    settings = preset.data["train"]
    assert settings["optimizer"] == "sgd"
    losses, params = plain_loop(settings["steps"], lambda p: torch.optim.SGD(p, lr=settings["lr"]))
    assert trace["train"]["optimizer"] == {"name": "sgd", "lr": settings["lr"], "momentum": 0.0}
    check_against_loop(trace, losses, params)
    # step 1 is the traced pass: its loss and gradients are the trace's
    first = trace["train"]["steps"][0]
    assert first["loss"] == trace["loss"]["value"]
    by_name = {leaf["name"]: leaf for leaf in trace["leaves"]}

    def without_heat(summary):  # the graph's summaries add heatmap previews; per-step ones do not
        return {k: v for k, v in summary.items() if k != "heat"}
    for leaf in first["leaves"]:
        assert "heat" not in leaf["grad"] and "heat" not in leaf["value"]
        assert leaf["grad"] == without_heat(by_name[leaf["name"]]["grad"])
        assert leaf["value"] == without_heat(by_name[leaf["name"]]["value"])


def test_the_loss_falls(trace):
    losses = [s["loss"]["values"][0] for s in trace["train"]["steps"]]
    assert 20 <= len(losses) <= 30
    assert losses[-1] < losses[0] / 2
    assert sum(b < a for a, b in zip(losses, losses[1:])) >= len(losses) - 2


def test_step_one_updates_with_the_traced_gradient(trace):
    lr = trace["train"]["optimizer"]["lr"]
    first, second = trace["train"]["steps"][0], trace["train"]["steps"][1]
    for a, b in zip(first["leaves"], second["leaves"]):
        expected = tensor(a["value"]) - lr * tensor(a["grad"])
        assert torch.allclose(tensor(b["value"]), expected, atol=1e-6), a["name"]


def test_adam_with_momentum_free_settings_matches_torch(tmp_path):
    """The same model trained with Adam through a preset written on the fly."""
    data = {"model": {"python": str(builtin_presets_dir() / "training.py") + ":build"},
            "train": {"steps": 6, "optimizer": "adam", "lr": 0.05}}
    trace = trace_preset(preset_from_dict(data, base_dir=tmp_path))
    assert trace["train"]["optimizer"]["name"] == "adam"
    losses, params = plain_loop(6, lambda p: torch.optim.Adam(p, lr=0.05))
    check_against_loop(trace, losses, params)


def test_training_trace_is_deterministic(preset, trace):
    assert dumps(trace_of(preset)) == dumps(trace)


def test_no_train_section_without_steps():
    trace = trace_of(open_preset("linear"))
    assert "train" not in trace


def test_train_preset_keys_are_checked(tmp_path):
    model = {"expression": "(w * x - y) ** 2", "params": {"w": 1.0}, "inputs": {"x": 2.0, "y": 3.0}}
    ok = preset_from_dict({"model": model, "train": {"steps": 3}}, base_dir=tmp_path)
    assert ok.data["train"] == {"steps": 3, "optimizer": "sgd", "lr": 0.1, "momentum": 0.0}
    assert preset_from_dict({"model": model}, base_dir=tmp_path).data["train"]["steps"] is None
    for bad, key in (({"steps": 0}, "train.steps"), ({"steps": 2, "lr": 0}, "train.lr"),
                     ({"steps": 2, "optimizer": "rmsprop"}, "train.optimizer"),
                     ({"steps": 2, "optimizer": "adam", "momentum": 0.9}, "train.momentum")):
        with pytest.raises(PresetError) as err:
            preset_from_dict({"model": model, "train": bad}, base_dir=tmp_path)
        assert err.value.key == key, bad


def test_expression_models_train_too(tmp_path):
    """The seed example: w=2, b=1, x=3, y=8; dL/dw = -6, so w <- 2 - 0.01 * (-6) = 2.06."""
    data = {"model": {"expression": "(w * x + b - y_true) ** 2", "params": {"w": 2.0, "b": 1.0},
                      "inputs": {"x": 3.0, "y_true": 8.0}},
            "train": {"steps": 3, "lr": 0.01}}
    preset = preset_from_dict(data, base_dir=tmp_path)
    trace = trace_of(preset)
    second = {leaf["name"]: leaf for leaf in trace["train"]["steps"][1]["leaves"]}
    assert second["w"]["value"]["values"] == [2.06]
    assert second["b"]["value"]["values"] == [1.02]
    scene = scene_of(trace, preset)
    update = next(i for i in scene["captions"]["items"] if i["lines"][0].startswith("Update"))
    assert any("= 2 − 0.01 · (−6) = 2.06" in line for line in update["lines"]), update["lines"]


def step_starts(scene) -> list[float]:
    """When each training step starts: step 1 at 0, the others at their events."""
    return [0.0] + [e["t"] for e in scene["events"] if e["name"].startswith("step:")]


def train_step(scene, t) -> int:
    """Which step's strings the painters show at t."""
    return int(value_at(scene["train"]["track"], t))


def test_scene_has_the_update_phase_steps_and_loss_curve(scene, trace):
    n = len(trace["train"]["steps"])
    names = [p["name"] for p in scene["phases"]]
    assert names == ["intro", "forward", "loss", "backward", "update", "train", "end"]
    update = scene["phases"][names.index("update")]
    assert update["label"].startswith("Update")
    events = [e["name"] for e in scene["events"]]
    assert "update" in events and [f"step:{k}" for k in range(2, n + 1)] == \
        [e for e in events if e.startswith("step:")]
    starts = step_starts(scene)
    assert len(starts) == n and starts[0] == 0.0 and starts[1] == update["t1"]
    # the later steps share one caption (only its numbers change): they are spread evenly, at
    # least train_step (0.4 s) apart, over at least that caption's reading time
    gaps = [b - a for a, b in zip(starts[1:], starts[2:])]
    assert max(gaps) - min(gaps) < 1e-5 and min(gaps) >= 0.4 - 1e-6
    train = scene["phases"][names.index("train")]
    words = next(item["lines"] for item in scene["captions"]["items"] if item["lines"][0].startswith("Step 2 of"))
    assert train["t1"] - train["t0"] >= reading_time(words) - 1e-5
    curve = scene["loss_curve"]
    assert len(curve["points"]) == n
    assert curve["points"][-1]["y"] > curve["points"][0]["y"]   # lower loss: lower on screen
    assert curve["points"][0]["label"].startswith("L = ")   # compact: the predictions panel is under it
    # leaves show old -> new with per-step strings; the loss node its per-step value
    leaf = next(node for node in scene["nodes"] if node["kind"] == "leaf")
    update_line = next(line for line in leaf["lines"] if line["track"] == "update")
    assert "→" in update_line["text"] and len(update_line["texts"]) == n
    loss = next(node for node in scene["nodes"] if node["kind"] == "loss")
    assert len(next(line for line in loss["lines"] if "texts" in line)["texts"]) == n


def test_painter_shows_the_current_steps_strings(scene, trace):
    starts = step_starts(scene)
    assert train_step(scene, -1.0) == 0 and train_step(scene, starts[5] + 0.01) == 5
    assert train_step(scene, starts[5]) == 5 and train_step(scene, starts[5] - 0.01) == 4
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, starts[5] + 0.01)
    texts = [op[1] for op in ctx.ops if op[0] == "fillText"]
    loss6 = next(line for node in scene["nodes"] if node["kind"] == "loss"
                 for line in node["lines"] if "texts" in line)["texts"][5]
    assert loss6 in texts
    assert scene["loss_curve"]["points"][5]["label"] in texts
    assert scene["loss_curve"]["points"][6]["label"] not in texts


def test_scene_without_training_has_no_training_keys():
    p = open_preset("linear")
    scene = scene_of(trace_of(p), p)
    assert "train" not in scene and "loss_curve" not in scene
    assert [p["name"] for p in scene["phases"]] == ["intro", "forward", "loss", "backward", "end"]
    assert not any("texts" in line for node in scene["nodes"] for line in node["lines"])


def test_training_scene_is_deterministic(preset, trace, scene):
    assert json.dumps(scene_of(trace_of(preset), preset), sort_keys=True) == json.dumps(scene, sort_keys=True)


def test_golden_frame_mid_training(scene, regen_golden):
    starts = step_starts(scene)
    t = starts[len(starts) // 2] + 0.2
    check_golden("training-steps", bgra_to_rgb(render_frame(scene, t)), regen_golden)


def test_python_api_trains_a_model_given_as_objects():
    import torch
    from torch import nn

    import bprender
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = torch.randn(6, 2)
    y = x[:, :1] - x[:, 1:]
    torch.manual_seed(0)
    twin = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    anim = bprender.animate(model=net, inputs=x, target=y, loss="mse",
                            train={"steps": 5, "optimizer": "sgd", "lr": 0.1})
    opt = torch.optim.SGD(twin.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.mse_loss(twin(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    traced = [s["loss"]["values"][0] for s in anim.trace["train"]["steps"]]
    assert traced == pytest.approx(losses, rel=1e-5)
    assert any(p["name"] == "update" for p in anim.scene()["phases"])


def test_a_non_finite_loss_is_named_and_not_plotted_on_a_made_up_axis():
    preset = preset_from_dict({"model": {"expression": "log(w - 3) * x", "params": {"w": 2.0}, "inputs": {"x": 2.0}},
                               "train": {"steps": 3, "lr": 0.1}})
    scene = scene_of(trace_of(preset), preset)
    closing = " ".join(scene["captions"]["items"][-1]["lines"])
    assert "the loss is NaN at every step (not a finite number)" in closing and "from NaN to NaN" not in closing
    curve = scene["loss_curve"]
    assert curve["title"]["text"] == "Loss: NaN at every step"
    assert curve["yticks"] == [] and curve["points"] == [] and curve["shown"] == []
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, scene["duration"])   # draws the panel, no point, no axis


def test_a_non_finite_loss_without_training_is_named_at_the_end():
    preset = preset_from_dict({"model": {"expression": "sqrt(w) * x", "params": {"w": -1.0}, "inputs": {"x": 2.0}}})
    scene = scene_of(trace_of(preset), preset)
    end = [item for item in scene["captions"]["items"] if item["track"][0][0] >= scene["phases"][-1]["t0"]]
    assert end and end[0]["lines"][0].startswith("The loss is NaN, not a finite number")


# ------------------------------------------------- every step's numbers, for a small graph

def test_a_small_graph_has_every_step_captured_in_full(trace):
    """Each later step's node numbers are that step's: the loss node holds the step's loss and
    each parameter's node the gradient PyTorch left in .grad at that step (recorded apart)."""
    nodes = {n["id"]: k for k, n in enumerate(trace["nodes"])}
    steps = trace["train"]["steps"]
    for s in steps[1:]:
        assert len(s["nodes"]) == len(trace["nodes"]) and len(s["edges"]) == len(trace["edges"])
        assert s["nodes"][nodes[trace["loss"]["node"]]]["value"] == s["loss"]
        for leaf, named in zip(s["leaves"], trace["leaves"]):
            node_grad = {k: v for k, v in s["nodes"][nodes[named["node"]]]["grad"].items() if k != "heat"}
            assert node_grad == leaf["grad"], (s["step"], leaf["name"])   # (a node's summary adds its heatmap)
    op = next(k for k, n in enumerate(trace["nodes"]) if n["kind"] == "op" and n["label"] == "Tanh")
    assert steps[5]["nodes"][op]["value"] != trace["nodes"][op]["value"]


def test_capturing_every_step_changes_no_number(preset, trace, monkeypatch):
    from bprender.trace import train
    monkeypatch.setattr(train, "FULL_STEP_NODES", 0)
    plain = trace_preset(preset)
    assert "nodes" not in plain["train"]["steps"][1]
    for a, b in zip(plain["train"]["steps"], trace["train"]["steps"]):
        assert a["loss"] == b["loss"] and a["leaves"] == b["leaves"]
    assert plain["train"]["final"] == trace["train"]["final"]
    # without the later steps' numbers the scene dims the ops' and says why
    scene = scene_of(plain, preset)
    tanh_id = next(n["id"] for n in plain["nodes"] if n["label"] == "Tanh")
    tanh = next(n for n in scene["nodes"] if n["id"] == tanh_id)
    assert all("texts" not in line for line in tanh["lines"])
    assert any("still step 1's" in " ".join(item["lines"]) for item in scene["captions"]["items"])


def test_each_shown_step_draws_its_own_op_numbers(scene, trace):
    from bprender.fmt import summary_text
    k = 5
    t = step_starts(scene)[k] + 0.01
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, t)
    texts = [op[1] for op in ctx.ops if op[0] == "fillText"]
    index = {n["id"]: i for i, n in enumerate(trace["nodes"])}
    # z², the output layer's Addmm: in view while the camera follows the loss at a training step
    op = next(n for n in trace["nodes"] if n["label"] == "Addmm" and n["module"] == "2")
    step = trace["train"]["steps"][k]["nodes"][index[op["id"]]]
    assert summary_text(step["value"]) in texts and "grad " + summary_text(step["grad"]) in texts
    assert summary_text(op["value"]) not in texts          # step 1's number is gone
    labelled = [e for e in scene["edges"] if "label" in e]
    assert labelled and all(len(e["label"]["texts"]) == len(trace["train"]["steps"]) for e in labelled)
    assert any(e["label"]["texts"][k] in texts for e in labelled)
    captions = " ".join(" ".join(item["lines"]) for item in scene["captions"]["items"])
    assert "still step 1's" not in captions and f"Every box shows step {k + 1}'s" in captions
    # nothing is dimmed as stale: op values keep full opacity at a later step
    node = next(n for n in scene["nodes"] if n["id"] == op["id"])
    assert value_at(node["tracks"]["lit"], t) == 1.0


# ------------------------------------------------------------------ the predictions panel

def painted_texts(scene, t) -> list[str]:
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, t)
    return [op[1] for op in ctx.ops if op[0] == "fillText"]


def test_the_predictions_panel_shows_each_steps_outputs_against_the_targets(scene):
    """The oracle is a plain PyTorch loop: its model's outputs at step k are the numbers the
    panel draws at step k, and the targets stay put; more rows are near their target at the end."""
    from bprender.fmt import num
    model, x, y = training_model()
    _, params = plain_loop(25, lambda p: torch.optim.SGD(p, lr=0.1))
    panel = scene["predictions"]
    assert [row["target"] for row in panel["rows"]] == [num(v, 3) for v in y.reshape(-1).tolist()]
    starts = step_starts(scene)
    for k in (0, 12, 24):
        model.load_state_dict(params[k])
        with torch.no_grad():
            wanted = [num(v, 3) for v in model(x).reshape(-1).tolist()]
        t = (starts[k] + 0.01) if k else scene["phases"][3]["t0"]   # step 1: during its backward pass
        texts = painted_texts(scene, t)
        assert all(text in texts for text in wanted), (k, wanted)
        assert [row["texts"][k] for row in panel["rows"]] == wanted
    near = [sum(row["colors"][k] == "text" for row in panel["rows"]) for k in (0, 24)]
    assert near[1] > near[0]
    # nothing before step 1's forward pass has reached the loss
    assert "Predictions" not in painted_texts(scene, 0.1)


def test_a_classifier_shows_predicted_classes(tmp_path):
    (tmp_path / "clf.py").write_text(
        "import torch\nfrom torch import nn\n\ndef build():\n    torch.manual_seed(0)\n"
        "    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])\n"
        "    return {'model': nn.Linear(2, 2), 'inputs': x, 'target': torch.tensor([0, 1, 1, 0]),"
        " 'loss': 'cross_entropy'}\n")
    preset = preset_from_dict({"model": {"python": "clf.py:build"},
                               "train": {"steps": 30, "optimizer": "sgd", "lr": 0.5}}, base_dir=tmp_path)
    trace = trace_of(preset)
    panel = scene_of(trace, preset)["predictions"]
    assert panel["head"]["texts"][-1] == "class"
    assert [row["target"] for row in panel["rows"]] == ["0", "1", "1", "0"]
    last = [row["texts"][-1] for row in panel["rows"]]
    assert all(text in ("0", "1") for text in last)
    assert [row["colors"][-1] == "text" for row in panel["rows"]] == [a == b for a, b in zip(last, ["0", "1", "1", "0"])]
