"""The neurons view: an MLP drawn as neurons and weights, checked against PyTorch's own
activations and weight gradients from an independent plain run."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import skia
import torch
import torch.nn.functional as F
from torch import nn

import bprender
from bprender import jsonio
from bprender.errors import BprenderError
from bprender.fmt import to_float
from bprender.notation import Notation
from bprender.pipeline import open_preset, trace_of
from bprender.trace import trace_model
from bprender.views import make_view
from testkit import assert_boxes_fit

FONTS = Path(bprender.__file__).parent / "assets" / "fonts"
LOSSES = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}


def sigmoid_mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    return model, torch.tensor([[1.0, 0.5]]), torch.tensor([[1.0]]), "mse"


def relu_mlp(batch: int = 1):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    return model, torch.randn(batch, 3), torch.randn(batch, 2), "mse"


def tanh_ce_mlp():
    """Named layers (fc1, fc2) and cross-entropy: the tail (LogSoftmax, NllLoss) is the loss."""
    torch.manual_seed(2)
    model = nn.Sequential()
    model.add_module("fc1", nn.Linear(2, 3))
    model.add_module("act", nn.Tanh())
    model.add_module("fc2", nn.Linear(3, 2))
    return model, torch.tensor([[0.3, -0.7]]), torch.tensor([1]), "cross_entropy"


def plain_run(model, x, y, loss):
    """PyTorch alone: each Linear's output after its activations (forward hooks), ∂L/∂ of it,
    and every Linear's weight gradient."""
    outputs = {}

    def hook(module, args, output):
        output.retain_grad()
        outputs[module] = output

    for module in model:
        module.register_forward_hook(hook)
    L = LOSSES[loss](model(x), y)
    L.backward()
    layers = []
    for k, module in enumerate(model):
        if isinstance(module, nn.Linear):
            layers.append({"linear": module, "out": outputs[module]})
        else:
            layers[-1]["out"] = outputs[module]  # activation after the Linear
    return [{"weight_grad": layer["linear"].weight.grad, "a": layer["out"].detach()[0],
             "grad_a": layer["out"].grad[0]} for layer in layers]


def traced(build):
    model, x, y, loss = build()
    reference = plain_run(copy.deepcopy(model), x, y, loss)
    trace = trace_model(model, x, y, loss)
    return trace, make_view(trace, "neurons"), reference, (model, x, y, loss)


def values(nodes):
    return torch.tensor([to_float(n.value["values"][0]) for n in nodes])


def grads(nodes):
    return torch.tensor([to_float(n.grad["values"][0]) for n in nodes])


@pytest.mark.parametrize("build, widths", [
    (sigmoid_mlp, [2, 3, 1]),
    (relu_mlp, [3, 4, 4, 2]),
    (lambda: relu_mlp(batch=3), [3, 4, 4, 2]),
    (tanh_ce_mlp, [2, 3, 2]),
], ids=["sigmoid-2-3-1", "relu-3-layers", "relu-batch", "tanh-cross-entropy"])
def test_the_view_matches_pytorch(build, widths):
    trace, graph, reference, (model, x, _, _) = traced(build)
    assert graph.kind == "neurons" and graph.shape == "circle" and graph.edge_labels is False
    # forward waves: the inputs, each layer's neurons together, then the loss
    assert [len(wave) for wave in graph.forward] == widths + [1]
    assert graph.forward[-1] == ["loss"] and graph.node("loss").kind == "loss"
    inputs = [graph.node(i) for i in graph.forward[0]]
    assert all(n.kind == "const" and n.group == "inputs" and n.grad is None for n in inputs)
    assert torch.allclose(values(inputs), x[0])
    # one edge per weight plus one per output into the loss
    n_weights = sum(a * b for a, b in zip(widths, widths[1:]))
    assert len(graph.edges) == n_weights + widths[-1]
    assert all(e.carries_grad for e in graph.edges)
    by_pair = {(e.src, e.dst): e for e in graph.edges}
    assert len(by_pair) == len(graph.edges)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    names = {m: name for name, m in model.named_modules()}
    for k, ref in enumerate(reference):
        below, layer = graph.forward[k], graph.forward[k + 1]
        neurons = [graph.node(i) for i in layer]
        assert all(n.kind == "op" and n.module == names[linears[k]] == n.group for n in neurons)
        # a neuron shows its activation and ∂L/∂(activation), for the first sample
        assert torch.allclose(values(neurons), ref["a"], atol=1e-6)
        assert torch.allclose(grads(neurons), ref["grad_a"], atol=1e-7)
        # every weight an edge carrying ∂L/∂W[i, j] (over the whole batch, as PyTorch has it)
        edge_grads = torch.tensor([[to_float(by_pair[(src, dst)].grad["values"][0]) for src in below]
                                   for dst in layer])
        assert torch.allclose(edge_grads, ref["weight_grad"], atol=1e-7)
    # edges into the loss carry ∂L/∂(output)
    to_loss = [by_pair[(src, "loss")] for src in graph.forward[-2]]
    assert torch.allclose(grads(to_loss), reference[-1]["grad_a"])
    assert to_float(graph.node("loss").value["values"][0]) == pytest.approx(to_float(trace["loss"]["value"]["values"][0]))


@pytest.mark.parametrize("build", [sigmoid_mlp, relu_mlp, lambda: relu_mlp(batch=3)])
def test_backward_runs_from_the_loss_to_the_first_layer(build):
    _, graph, _, _ = traced(build)
    waves = graph.forward
    assert [s.nodes for s in graph.steps] == [["loss"]] + [waves[k] for k in range(len(waves) - 2, 0, -1)]
    edges = {e.id: e for e in graph.edges}
    assert {edges[i].src for i in graph.steps[0].edges} == set(waves[-2])
    for step in graph.steps[1:]:
        # the weights into that layer: gradient flows back along every one of them
        assert {edges[i].dst for i in step.edges} == set(step.nodes)
        assert len(step.edges) == len(step.nodes) * len({edges[i].src for i in step.edges})
    assert sorted(i for s in graph.steps for i in s.edges) == sorted(edges)
    for step in graph.steps:
        assert 1 <= len(step.lines) <= 3 and all("-" not in line.replace("--", "") for line in candidates(step))


def candidates(step) -> list[str]:
    """Every caption text a step may show: each slot's alternatives (the band shows the longest
    that fits)."""
    return [text for slot in step.lines for text in ([slot] if isinstance(slot, str) else slot)]


def test_captions_carry_the_chain_rule_with_real_numbers():
    _, graph, reference, _ = traced(sigmoid_mlp)
    out_layer = graph.steps[1]
    assert out_layer.label == "layer 2"
    # the rule is a clause of its own, not a link of the chain (δ = … = a(1 − a) read as δ = a(1 − a))
    assert out_layer.lines[0][0].startswith("layer 2: δ = ∂L/∂z = ∂L/∂a · σ'(z), where σ'(z) = a(1 − a);")
    assert all("= a(1 − a)" not in text or "where σ'(z) = a(1 − a);" in text for text in out_layer.lines[0])
    # the worked neuron shows σ'(z) from its own activation: a·(1 − a) with a's value
    a = graph.node("l1n0").value["values"][0]
    assert f"{to_float(a):.4g}·(1 − {to_float(a):.4g})".replace("-", "−") in out_layer.lines[0][0]
    assert "∂L/∂2.weight[i,j] = δ[i] · a[j]" in out_layer.lines[1]
    assert out_layer.lines[2].startswith("‖∂L/∂2.weight‖ = ") and "‖∂L/∂2.bias‖" in out_layer.lines[2]
    w = reference[1]["weight_grad"]
    assert f"{w.norm().item():.3g}" in out_layer.lines[2]
    assert "−" in graph.steps[0].lines[1]  # ∂L/∂y is negative here: a real minus sign
    _, batch_graph, _, _ = traced(lambda: relu_mlp(batch=3))
    assert any("sample 1 of 3" in line for line in batch_graph.steps[0].lines)
    assert "sample 1 of 3" in batch_graph.node("l0n0").op


def test_lecture_notation_counts_layers_not_module_indices():
    """nn.Sequential(Linear, ReLU, Linear, ReLU, Linear): the Linear modules are 0, 2 and 4, the
    layers 1, 2 and 3; the lecture names their parameters W¹ b¹ … and their neurons a¹₁ …"""
    trace, torch_graph, reference, _ = traced(relu_mlp)
    graph = make_view(trace, "neurons", names=Notation(trace))
    assert [s.label for s in graph.steps] == ["loss", "layer 3", "layer 2", "layer 1"]
    assert [s.label for s in torch_graph.steps] == ["loss", "layer 4", "layer 2", "layer 0"]
    assert graph.node("l0n0").label == "a¹₁" and graph.node("l1n3").label == "a²₄"
    assert {graph.node(f"l{k}n0").group for k in range(3)} == {"layer 1", "layer 2", "layer 3"}
    last = graph.steps[1]
    assert candidates(last)[0].startswith("layer 3: δ³ = ∂L/∂z³ = ∂L/∂a³ (no activation)")
    assert "∂L/∂W³[i,j] = δ³[i] · a²[j]" in last.lines[1]
    assert last.lines[2].startswith("‖∂L/∂W³‖ = ") and "‖∂L/∂b³‖" in last.lines[2]
    assert f"{reference[2]['weight_grad'].norm().item():.3g}" in last.lines[2]
    first = graph.steps[3]
    assert any(text.startswith("layer 1: δ¹ = ∂L/∂z¹ = ∂L/∂a¹ · relu'(z¹)") for text in first.lines[0])
    assert "δ¹[i] · x[j]" in first.lines[1]
    # PyTorch's names are not in the lecture's captions
    assert not any("0.weight" in text or "layer 4" in text for s in graph.steps for text in candidates(s))


def test_the_scene_draws_round_neurons_inside_the_frame():
    model, x, y, loss = relu_mlp()
    anim = bprender.animate(model=model, inputs=x, target=y, loss=loss, view="neurons")
    scene = anim.scene()
    assert scene["view"] == "neurons"
    assert len(scene["nodes"]) == 3 + 4 + 4 + 2 + 1
    for node in scene["nodes"]:
        assert node["w"] == node["h"] and node["radius"] == pytest.approx(node["w"] / 2)
    assert_boxes_fit(scene)
    assert not any("label" in e for e in scene["edges"])
    # particles flow back along every weight with a gradient (ReLU zeros some of them)
    graph = make_view(anim.trace, "neurons")
    nonzero = {k for k, e in enumerate(graph.edges) if to_float(e.grad["values"][0]) != 0}
    assert nonzero
    assert {p["edge"] for p in scene["particles"] if p["reverse"]} == nonzero
    assert all("bwd" in scene["edges"][k]["tracks"] for k in range(len(graph.edges)))


def test_box_nodes_keep_their_shape_in_the_ops_view():
    preset = open_preset("mlp", {"view": "ops"})
    scene = bprender.pipeline.scene_of(trace_of(preset), preset)
    assert all(n["radius"] < n["w"] / 2 for n in scene["nodes"])
    assert any(n["w"] != n["h"] for n in scene["nodes"])


def test_every_string_has_glyphs_in_the_bundled_font():
    _, graph, _, _ = traced(lambda: relu_mlp(batch=3))
    texts = [n.label for n in graph.nodes] + [n.op for n in graph.nodes] + [line for s in graph.steps for line in candidates(s)]
    for name in ("bprender-sans.ttf", "bprender-sans-bold.ttf"):
        face = skia.Typeface.MakeFromFile(str(FONTS / name))
        chars = sorted({c for text in texts for c in text})
        missing = [c for c, glyph in zip(chars, face.unicharsToGlyphs([ord(c) for c in chars])) if glyph == 0]
        assert not missing, (name, missing)


# --- models the view does not draw: a clear message naming the view that fits ---------------

class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 4 * 4, 1)

    def forward(self, x):
        return self.fc(torch.relu(self.conv1(x)).flatten(1))


class TinyAttention(nn.Module):
    def __init__(self, d=4):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.head = nn.Linear(d, 1)

    def forward(self, x):
        weights = torch.softmax(self.q(x) @ self.k(x).T / 2.0, dim=-1)
        return self.head(weights @ self.v(x))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc0, self.fc1, self.fc2 = nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(3, 1)

    def forward(self, x):
        h = self.fc0(x)
        return self.fc2(h + torch.relu(self.fc1(h)))


class AddsOne(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2, 3), nn.Linear(3, 1)

    def forward(self, x):
        return self.fc2(self.fc1(x) + 1.0)


def neurons_error(trace) -> str:
    with pytest.raises(BprenderError) as info:
        make_view(trace, "neurons")
    message = str(info.value)
    assert message.startswith("the neurons view draws stacks of Linear layers with elementwise activations")
    return message


def test_a_conv_net_is_refused_with_the_view_to_use():
    torch.manual_seed(0)
    trace = trace_model(TinyConv(), torch.randn(1, 1, 6, 6), torch.tensor([[1.0]]), "mse")
    message = neurons_error(trace)
    assert "Conv2d (module conv1)" in message and "--view modules" in message


def test_an_attention_model_is_refused_with_the_view_to_use():
    torch.manual_seed(0)
    trace = trace_model(TinyAttention(), torch.randn(3, 4), torch.randn(3, 1), "mse")
    message = neurons_error(trace)
    assert "attention" in message and "--view modules" in message


def test_the_expression_preset_is_refused_with_the_view_to_use():
    message = neurons_error(trace_of(open_preset("linear")))
    assert "no Linear layers" in message and message.endswith("use --view ops")


def test_a_residual_branch_is_refused():
    torch.manual_seed(0)
    trace = trace_model(Residual(), torch.randn(1, 2), torch.tensor([[1.0]]), "mse")
    message = neurons_error(trace)
    assert "residual" in message and "--view ops" in message


def test_a_layer_too_wide_for_its_numbers_suggests_the_modules_view():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 1100), nn.ReLU(), nn.Linear(1100, 1))
    message = neurons_error(trace_model(model, torch.randn(1, 2), torch.tensor([[1.0]]), "mse"))
    assert "1024" in message and "--view modules" in message


def test_an_op_between_layers_is_named():
    torch.manual_seed(0)
    trace = trace_model(AddsOne(), torch.randn(1, 2), torch.tensor([[1.0]]), "mse")
    message = neurons_error(trace)
    assert "has Add between Linear layers" in message and "--view ops" in message


# --- real batches and wide layers: one sample drawn, wide columns cut down ------------------

def _mlp_trace(widths, batch, seed=0):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    model = nn.Sequential(*layers[:-1])
    x, y = torch.randn(batch, widths[0]), torch.randn(batch, widths[-1])
    trace = trace_model(model, x, y, "mse")
    # the oracle: per-sample activations and gradients from PyTorch itself
    model.zero_grad()
    acts = [x]
    h = x
    for layer in model:
        h = layer(h)
        h.retain_grad()
        acts.append(h)
    torch.nn.functional.mse_loss(h, y).backward()
    return trace, model, acts


def test_batch_32_of_a_2_4_1_mlp_shows_sample_one_and_exact_weight_gradients():
    trace, model, acts = _mlp_trace([2, 4, 1], 32)
    graph = make_view(trace, "neurons")
    hidden = acts[2][0].tolist()     # sigmoid(fc1(x)) of sample 1
    for i in range(4):
        assert graph.node(f"l0n{i}").value["values"][0] == pytest.approx(hidden[i], rel=1e-6)
    w = model[0].weight.grad         # 4x2 = 8 numbers: the exact batch gradient is kept
    edges = {e.id: e for e in graph.edges}
    for i in range(4):
        for j in range(2):
            assert edges[f"w0:{i}:{j}"].grad["values"][0] == pytest.approx(float(w[i, j]), rel=1e-6)
    assert any("sample 1 of 32" in line for line in graph.steps[0].lines)
    assert graph.notes == []    # nothing left out


def test_784_32_10_with_batch_64_shows_first_last_and_largest_gradient_neurons():
    trace, model, acts = _mlp_trace([784, 32, 10], 64)
    graph = make_view(trace, "neurons")
    inputs = [n for n in graph.nodes if n.id.startswith("x")]
    hidden = [n for n in graph.nodes if n.id.startswith("l0n")]
    outputs = [n for n in graph.nodes if n.id.startswith("l1n")]
    assert len(inputs) == len(hidden) == len(outputs) == 4
    assert graph.node("more0").sub == "780 more" and graph.node("more1").sub == "28 more"
    assert graph.node("more2").sub == "6 more"
    # the first, the last, and the two hidden neurons whose ∂L/∂a (sample 1) is largest
    g = acts[2].grad[0].abs()
    ends = {0, 31}
    top = sorted((i for i in range(32) if i not in ends), key=lambda i: -float(g[i]))[:2]
    assert {int(n.id[3:]) for n in hidden} == ends | set(top)
    for n in hidden:
        i = int(n.id[3:])
        assert n.value["values"][0] == pytest.approx(float(acts[2][0, i].detach()), rel=1e-5)
        assert n.grad["values"][0] == pytest.approx(float(acts[2].grad[0, i]), rel=1e-5)
    # weight edges: sample 1's term δᵢ·xⱼ of ∂L/∂W (the batch sum is not kept for 784x32)
    delta = acts[1].grad[0]
    edge = next(e for e in graph.edges if e.id.startswith("w0:"))
    _, i, j = edge.id.split(":")
    x = acts[0][0, int(j)].detach()
    assert edge.grad["values"][0] == pytest.approx(float(delta[int(i)] * x), rel=1e-4, abs=1e-9)
    assert "sample 1 of 64" in graph.notes[0] and "share" in graph.notes[0] and "Wide" in graph.notes[1]
    assert all(e.src in ids and e.dst in ids for ids in [{n.id for n in graph.nodes}] for e in graph.edges)
    # the trace stays small: only the first samples' rows are kept (4 of a big tensor's, for --sample)
    assert len(jsonio.dumps(trace)) < 800_000


# --- --sample K: another sample of the batch ---------------------------------------------

@pytest.mark.parametrize("widths, batch, k", [([2, 4, 1], 32, 27), ([784, 32, 10], 64, 4)],
                         ids=["2-4-1 batch 32", "784-32-10 batch 64"])
def test_sample_k_shows_that_samples_neurons(widths, batch, k):
    trace, model, acts = _mlp_trace(widths, batch)
    graph = make_view(trace, "neurons", sample=k)
    s = k - 1
    for n in graph.nodes:
        if n.id.startswith("l0n"):
            i = int(n.id[3:])
            assert n.value["values"][0] == pytest.approx(float(acts[2][s, i].detach()), rel=1e-5)
            assert n.grad["values"][0] == pytest.approx(float(acts[2].grad[s, i]), rel=1e-5)
        if n.id.startswith("x") and n.value is not None:
            assert n.value["values"][0] == pytest.approx(float(acts[0][s, int(n.id[1:])]), rel=1e-6)
    assert any(f"sample {k} of {batch}" in line for line in graph.steps[0].lines)
    assert any(f"sample {k} of {batch}" in (n.op or "") for n in graph.nodes)
    if widths[0] == 784:   # the weight edges: sample k's term δᵢ·xⱼ
        edge = next(e for e in graph.edges if e.id.startswith("w0:"))
        _, i, j = edge.id.split(":")
        term = acts[1].grad[s, int(i)] * acts[0][s, int(j)]
        assert edge.grad["values"][0] == pytest.approx(float(term), rel=1e-4, abs=1e-9)
        assert f"sample {k} of {batch}" in graph.notes[0]


def test_sample_k_out_of_range_is_one_line():
    trace, _, _ = _mlp_trace([784, 32, 10], 64)
    with pytest.raises(BprenderError, match="keeps only the first 4 samples"):
        make_view(trace, "neurons", sample=5)
    small, _, _ = _mlp_trace([2, 4, 1], 32)
    with pytest.raises(BprenderError, match="the batch has 32 samples; choose 1 to 32"):
        make_view(small, "neurons", sample=33)


def test_sample_option_and_preset_key_reach_a_saved_trace(runner, tmp_path):
    (tmp_path / "m.py").write_text(
        "import torch\nfrom torch import nn\n\ndef build():\n    torch.manual_seed(0)\n"
        "    return {'model': nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1)),\n"
        "            'inputs': torch.randn(32, 2), 'target': torch.randn(32, 1), 'loss': 'mse'}\n")
    (tmp_path / "p.yaml").write_text("model: {python: m.py:build}\nview: neurons\nsample: 3\n")
    from testkit import invoke, ok
    ok(invoke(runner, "trace", str(tmp_path / "p.yaml"), "-o", str(tmp_path / "t.json")))
    for args, k in (([], 3), (["--sample", "12"], 12)):
        out = tmp_path / f"s{k}.json"
        ok(invoke(runner, "scene", str(tmp_path / "t.json"), "-o", str(out), *args))
        scene = json.loads(out.read_text())
        assert any(f"sample {k} of 32" in line for item in scene["captions"]["items"] for line in item["lines"])
    bad = invoke(runner, "frame", str(tmp_path / "t.json"), "--at", "end", "--sample", "40", "-o", str(tmp_path / "x.png"))
    assert bad.exit_code == 1 and "choose 1 to 32" in bad.output and not (tmp_path / "x.png").exists()
