"""Real-size models in the modules view: repeated blocks fold into one node with a gradient norm
per repeat (PyTorch's .grad is the oracle), depth and expand, and the node budget that keeps a
5,000-op chain from hanging."""
from __future__ import annotations

import math
import time

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from bprender.canvas import FontBook
from bprender.cli import cli
from bprender.errors import BprenderError
from bprender.pipeline import open_preset, scene_settings
from bprender.scene import build_scene
from bprender.trace import trace_model
from bprender.views import make_view
from bprender.views.budget import NODE_BUDGET
from bprender.views.ops import ops_view


def _settings(**extra) -> dict:
    settings = scene_settings(open_preset("linear"))
    settings.update(view="modules", **extra)
    return settings


def _param_norms(model: nn.Module, x, y, prefix: str, count: int) -> list[float]:
    """An independent PyTorch run: the norm of each repeat's parameters' .grad together."""
    nn.functional.mse_loss(model(x), y).backward()
    params = dict(model.named_parameters())
    return [math.sqrt(sum(p.grad.norm().item() ** 2 for name, p in params.items()
                          if name.startswith(f"{prefix}{k}.")))
            for k in range(count)]


def _encoder(seed=0):
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)
    model = nn.Sequential(nn.TransformerEncoder(layer, num_layers=6, enable_nested_tensor=False), nn.Linear(8, 1))
    return model, torch.randn(2, 4, 8), torch.randn(2, 4, 1)


@pytest.fixture(scope="module")
def encoder_trace():
    model, x, y = _encoder()
    return trace_model(model, x, y, "mse")


def test_a_6_layer_transformer_encoder_is_one_node_with_a_norm_per_layer(encoder_trace):
    graph = make_view(encoder_trace, "modules")
    groups = [n for n in graph.nodes if n.repeats]
    assert [n.label for n in groups] == ["TransformerEncoderLayer × 6"]
    node = groups[0]
    assert node.repeat_labels == [f"0.layers.{k}" for k in range(6)]
    model, x, y = _encoder()
    expected = _param_norms(model, x, y, "0.layers.", 6)
    assert node.repeats == pytest.approx(expected, rel=1e-5)
    assert node.sub.startswith("‖∂L/∂θ‖ ") and " … " in node.sub
    # the backward pass visits the group once, with one caption summarising the repeats
    steps = [s for s in graph.steps if node.id in s.nodes]
    assert len(steps) == 1
    assert steps[0].lines[0].startswith("TransformerEncoderLayer × 6 (0.layers.0–5): ‖∂L/∂θ‖ per repeat ")
    low = min(range(6), key=lambda k: expected[k])
    assert f"at 0.layers.{low}" in steps[0].lines[0]
    assert len([n for n in graph.nodes if n.kind == "op"]) == 2  # the group and the head


def test_expand_opens_the_group_and_depth_cuts_the_tree(encoder_trace):
    opened = make_view(encoder_trace, "modules", expand=["0.layers"])
    assert not [n for n in opened.nodes if n.repeats]
    labels = {n.label for n in opened.nodes}
    assert {"0.layers.0.linear1", "0.layers.5.norm2"} <= labels
    by_class = make_view(encoder_trace, "modules", expand=["TransformerEncoderLayer"])
    assert [n.label for n in by_class.nodes] == [n.label for n in opened.nodes]
    top = make_view(encoder_trace, "modules", depth=1)
    ops = [(n.label, n.sub) for n in top.nodes if n.kind == "op"]
    assert ops == [("0", "TransformerEncoder"), ("1", "Linear 8→1")]
    assert "TransformerEncoderLayer × 6" in [n.label for n in make_view(encoder_trace, "modules", depth=3).nodes
                                             if n.kind == "op"]
    with pytest.raises(BprenderError, match=r"'0\.layer' \(did you mean '0\.layers'\?"):
        make_view(encoder_trace, "modules", expand=["0.layer"])


def _mlp_blocks(seed=0, blocks=12):
    torch.manual_seed(seed)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(blocks)])
    return model, torch.randn(5, 4), torch.randn(5, 4)


def test_a_stack_of_12_identical_mlp_blocks():
    model, x, y = _mlp_blocks()
    trace = trace_model(model, x, y, "mse")
    graph = make_view(trace, "modules")
    node = next(n for n in graph.nodes if n.repeats)
    assert node.label == "Sequential × 12" and node.repeat_labels == [str(k) for k in range(12)]
    ref, rx, ry = _mlp_blocks()
    assert node.repeats == pytest.approx(_param_norms(ref, rx, ry, "", 12), rel=1e-5)
    assert len(graph.steps) == 2  # the loss, then the group once
    whole = make_view(trace, "modules", expand=["model"])
    assert [n.label for n in whole.nodes if n.kind == "op"] == [f"{k}.{j}" for k in range(12) for j in (0, 1)]


class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.stage = nn.Sequential(*[BasicBlock(4) for _ in range(3)])
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.stage(self.stem(x)).mean(dim=(2, 3)))


def _resnet(seed=0):
    torch.manual_seed(seed)
    return TinyResNet(), torch.randn(2, 1, 6, 6), torch.randn(2, 2)


def test_a_resnet_stage_folds_into_one_node():
    model, x, y = _resnet()
    graph = make_view(trace_model(model, x, y, "mse"), "modules")
    node = next(n for n in graph.nodes if n.repeats)
    assert node.label == "BasicBlock × 3" and node.module == "stage.0–2"
    ref, rx, ry = _resnet()
    assert node.repeats == pytest.approx(_param_norms(ref, rx, ry, "stage.", 3), rel=1e-5)
    assert [n.label for n in graph.nodes if n.kind == "op"] == ["stem", "BasicBlock × 3", "model", "head"]


def test_named_siblings_and_two_repeats_stay_apart():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 1))  # two alike, then another
    graph = make_view(trace_model(model, torch.randn(4, 3), torch.randn(4, 1), "mse"), "modules")
    assert [n.label for n in graph.nodes if n.kind == "op"] == ["0", "1", "2"]


def _preset(tmp_path, extra: str = "") -> str:
    (tmp_path / "enc.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)\n"
        "    model = nn.Sequential(nn.TransformerEncoder(layer, 6, enable_nested_tensor=False), nn.Linear(8, 1))\n"
        "    return {'model': model, 'inputs': torch.randn(2, 4, 8), 'target': torch.randn(2, 4, 1), 'loss': 'mse'}\n")
    path = tmp_path / "enc.yaml"
    path.write_text("model: {python: enc.py:build}\nview: modules\n" + extra)
    return str(path)


def test_cli_depth_and_expand(tmp_path):
    preset = _preset(tmp_path)
    runner = CliRunner()
    out = tmp_path / "s.json"
    result = runner.invoke(cli, ["scene", preset, "--expand", "0.layers", "--expand", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "0.layers.3.linear1" in {n["info"]["label"] for n in __import__("json").loads(out.read_text())["nodes"]}
    bad = tmp_path / "bad.png"
    result = runner.invoke(cli, ["frame", preset, "--at", "end", "--expand", "0.layer", "-o", str(bad)])
    assert result.exit_code == 1 and not bad.exists()
    assert result.output.strip().count("\n") == 0 and "did you mean '0.layers'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli, ["frame", preset, "--at", "end", "--depth", "0", "-o", str(bad)])
    assert result.exit_code == 2 and not bad.exists()  # click's range check


def test_preset_depth_and_expand_keys(tmp_path):
    preset = open_preset(_preset(tmp_path, "depth: 2\nexpand: 0.layers\n"))
    assert preset.data["depth"] == 2 and preset.data["expand"] == ["0.layers"]
    assert scene_settings(preset)["expand"] == ["0.layers"]
    from bprender.errors import PresetError
    with pytest.raises(PresetError, match="depth"):
        open_preset(_preset(tmp_path, "depth: 0\n"))
    with pytest.raises(PresetError, match="expand"):
        open_preset(_preset(tmp_path, "expand: {a: 1}\n"))


# --- big graphs ------------------------------------------------------------------------------

class Chain(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))
        self.n = n
        self.kept = []

    def forward(self, x):
        x = x * self.w
        self.kept = [x]
        for _ in range(self.n):
            x = x * 1.001
        self.kept.append(x)
        return x


@pytest.fixture(scope="module")
def chain_trace():
    return trace_model(Chain(5000), torch.tensor([1.0]), torch.tensor([2.0]), "mse")


def test_a_5000_op_chain_in_the_ops_view_is_refused_quickly(chain_trace):
    assert len(chain_trace["nodes"]) > 5000
    start = time.perf_counter()
    with pytest.raises(BprenderError, match=r"5,00\d nodes, over the ops view's budget of 300; the modules view"):
        make_view(chain_trace, "ops")
    assert time.perf_counter() - start < 5.0  # it is ms: the count comes before any caption work


def test_a_5000_op_chain_captions_without_recursion(chain_trace):
    graph = ops_view(chain_trace)  # past the budget on purpose: symbols must not recurse per op
    assert len(graph.steps) > 5000 and all(s.lines for s in graph.steps)


def test_a_5000_op_chain_in_the_modules_view_is_one_run_with_pytorchs_gradients(chain_trace):
    graph = make_view(chain_trace, "modules")
    assert len(graph.nodes) <= NODE_BUDGET
    node = next(n for n in graph.nodes if n.repeats)
    assert node.label == "Mul × 5001" and len(node.repeats) == 5001
    model = Chain(5000)
    out = model(torch.tensor([1.0]))
    for t in model.kept:
        t.retain_grad()
    nn.functional.mse_loss(out, torch.tensor([2.0])).backward()
    assert node.repeats[0] == pytest.approx(model.kept[0].grad.norm().item(), rel=1e-4)
    assert node.repeats[-1] == pytest.approx(model.kept[1].grad.norm().item(), rel=1e-4)
    assert any(note.startswith("Drawn coarser: 5,00") for note in graph.notes)
    scene = build_scene(chain_trace, _settings(), FontBook())
    assert len(scene["nodes"]) == len(graph.nodes)


def test_a_1000_layer_sequential_is_one_node_and_a_flat_alternating_one_is_coarsened():
    torch.manual_seed(0)
    deep = nn.Sequential(*[nn.Linear(1, 1) for _ in range(1000)])
    graph = make_view(trace_model(deep, torch.ones(1, 1), torch.zeros(1, 1), "mse"), "modules")
    node = next(n for n in graph.nodes if n.repeats)
    assert node.label == "Linear × 1000" and len(graph.nodes) == 4
    torch.manual_seed(0)
    flat = nn.Sequential(*[m for _ in range(200) for m in (nn.Linear(2, 2), nn.ReLU())])
    trace = trace_model(flat, torch.ones(3, 2), torch.zeros(3, 2), "mse")
    graph = make_view(trace, "modules")
    assert len(graph.nodes) <= NODE_BUDGET
    assert not [n for n in graph.nodes if n.kind == "leaf"]  # every parameter folds into its stretch
    ops = [n for n in graph.nodes if n.kind == "op"]
    assert ops[0].label.startswith("0 … ") and ops[0].sub.endswith(" modules")
    assert len(graph.steps) == len(ops) + 1 and graph.notes


def test_a_vanishing_repeat_flags_its_group():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), *[nn.Sequential(nn.Linear(4, 4), nn.Sigmoid()) for _ in range(12)],
                          nn.Linear(4, 1))
    graph = make_view(trace_model(model, torch.randn(5, 4), torch.randn(5, 1), "mse"), "modules")
    node = next(n for n in graph.nodes if n.repeats)
    assert node.label == "Sequential × 12" and node.flag == "vanishing"
    assert node.repeats[0] < 1e-4 * max(node.repeats)  # the strip shows it: first repeat tiny, last not
    step = next(s for s in graph.steps if s.nodes == [node.id])
    assert step.lines[-1].startswith("Vanishing gradient: layer 1.0 ")


def test_the_api_and_a_saved_trace_keep_depth_and_expand(tmp_path):
    import json

    import bprender
    model, x, y = _encoder()
    scene = bprender.animate(model=model, inputs=x, target=y, view="modules", depth=1).scene()
    assert [n["info"]["label"] for n in scene["nodes"] if n["kind"] == "op"] == ["0", "1"]
    preset = _preset(tmp_path, "expand: [0.layers]\n")
    runner = CliRunner()
    trace, direct, again = tmp_path / "t.trace.json", tmp_path / "a.scene.json", tmp_path / "b.scene.json"
    assert runner.invoke(cli, ["trace", preset, "-o", str(trace)]).exit_code == 0
    assert json.loads(trace.read_text())["preset"]["expand"] == ["0.layers"]
    assert json.loads(trace.read_text())["modules"]["0.layers.0"] == "TransformerEncoderLayer"
    assert runner.invoke(cli, ["scene", preset, "-o", str(direct)]).exit_code == 0
    assert runner.invoke(cli, ["scene", str(trace), "-o", str(again)]).exit_code == 0
    assert direct.read_bytes() == again.read_bytes()
    result = runner.invoke(cli, ["frame", str(again), "--at", "end", "--depth", "2", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "--depth cannot change it" in result.output


# --- the strip of gradient per repeat ------------------------------------------------------

def _sigmoid_blocks(seed=0, blocks=12):
    torch.manual_seed(seed)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(6, 6), nn.Sigmoid()) for _ in range(blocks)], nn.Linear(6, 1))
    return model, torch.randn(4, 6), torch.randn(4, 1)


def folded_scene() -> dict:
    model, x, y = _sigmoid_blocks()
    return build_scene(trace_model(model, x, y, "mse"), _settings(), FontBook())


def test_a_folded_block_draws_its_gradient_per_repeat_on_the_scenes_magnitude_scale():
    """Vanishing across the repeats is seen: one cell per repeat, its level the repeat's norm on
    the scene's log scale (the first block's far fainter than the last's)."""
    from bprender.scene.glyphs import LEVELS
    from bprender.scene.style import gradient_style
    scene = folded_scene()
    node = next(n for n in scene["nodes"] if "× 12" in n["info"]["label"])
    strip = next(g for g in node["glyphs"] if "per repeat" in g["text"]["text"])
    cells = strip["images"][0]["cells"]
    ref, rx, ry = _sigmoid_blocks()
    norms = _param_norms(ref, rx, ry, "", 12)
    assert len(cells) == 12 and cells[0] < cells[-1] - 40
    # the legend's magnitude range reaches down to the faintest repeat
    legend = next(item["text"] for item in scene["header"]["legend"] if item["color"] == "magnitude")
    low = float(legend.split()[1].replace("\u2212", "-"))
    assert low <= min(norms) * 1.05
    assert cells == sorted(cells) and all(0 <= c <= LEVELS for c in cells)   # fading towards the input
    style = gradient_style([low, 1.0])
    assert abs(cells[0] - LEVELS * style.level(norms[0])) <= 2
    assert strip["images"][0]["tips"][0].startswith("0: ‖∂L/∂·‖")
