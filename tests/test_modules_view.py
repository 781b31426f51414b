"""The modules view (one node per leaf module) and the vanishing / exploding flags."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from bprender.canvas import FontBook
from bprender.fmt import num, to_float
from bprender.pipeline import open_preset, scene_settings, trace_of
from bprender.scene import build_scene
from bprender.trace import trace_model
from bprender.views import make_view
from testkit import assert_boxes_fit

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_modules", ROOT / "bench" / "modules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _settings(view: str = "modules") -> dict:
    settings = scene_settings(open_preset("linear"))
    settings["view"] = view
    return settings


def _norm(summary) -> float:
    return to_float(summary["stats"]["norm"])


def _by_label(graph):
    return {n.label: n for n in graph.nodes}


def _grad_edges(graph):
    return {(e.src, e.dst): e for e in graph.edges if e.carries_grad}


def _mlp(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    x, y = torch.randn(6, 3), torch.randn(6, 2)
    return model, x, y


def test_mlp_one_node_per_module_in_forward_order():
    model, x, y = _mlp()
    graph = make_view(trace_model(model, x, y, "mse"), "modules")
    ops = [n for n in graph.nodes if n.kind == "op"]
    assert [n.label for n in ops] == ["0", "1", "2", "3", "4"]
    assert [n.sub for n in ops] == ["Linear 3→5", "ReLU", "Linear 5→4", "Tanh", "Linear 4→2"]
    assert all(n.module == n.label and n.group == n.label for n in ops)
    loss = [n for n in graph.nodes if n.kind == "loss"]
    assert len(loss) == 1 and loss[0].label == "loss"
    assert sorted(n.label for n in graph.nodes if n.kind == "const") == ["input", "target"]
    assert not [n for n in graph.nodes if n.kind == "leaf"]  # parameters fold into their module
    ids = [n.id for n in ops] + [loss[0].id]
    assert set(_grad_edges(graph)) == set(zip(ids, ids[1:]))
    consts = {(graph.node(e.src).label, graph.node(e.dst).label) for e in graph.edges if not e.carries_grad}
    assert consts == {("input", "0"), ("target", "loss")}
    # one step per node, from the loss back to the input, each sending along its input edge
    assert [s.nodes[0] for s in graph.steps] == ids[::-1]
    assert all(len(s.lines) <= 3 for s in graph.steps)
    assert graph.steps[0].edges == [f"{ids[-2]}>{ids[-1]}"]
    assert graph.forward[0] == ["c:input", "c:target"]


def test_mlp_gradient_norms_match_pytorch():
    model, x, y = _mlp()
    graph = make_view(trace_model(model, x, y, "mse"), "modules")

    ref_model, ref_x, ref_y = _mlp()  # an independent run
    outputs = {}

    def keep(name):
        def hook(module, args, out):
            out.retain_grad()
            outputs[name] = out
        return hook

    for name, module in ref_model.named_children():
        module.register_forward_hook(keep(name))
    nn.functional.mse_loss(ref_model(ref_x), ref_y).backward()

    nodes = _by_label(graph)
    steps = {s.nodes[0]: s for s in graph.steps}
    for name, module in ref_model.named_children():
        node = nodes[name]
        # the gradient arriving at the module's output
        assert _norm(node.grad) == pytest.approx(outputs[name].grad.norm().item(), rel=1e-5)
        if isinstance(module, nn.Linear):
            line = steps[node.id].lines[0]
            assert line.startswith(f"{name} (Linear): ")
            assert f"‖∂L/∂W‖ = {num(module.weight.grad.norm().item())}" in line
            assert f"‖∂L/∂b‖ = {num(module.bias.grad.norm().item())}" in line
    # the gradient crossing each edge is what the consumer sends back to the producer
    edges = _grad_edges(graph)
    for a, b in (("0", "1"), ("2", "3")):
        edge = edges[(nodes[a].id, nodes[b].id)]
        assert _norm(edge.grad) == pytest.approx(outputs[a].grad.norm().item(), rel=1e-5)
        assert f"{num(_norm(edge.grad))} to {a}" in " ".join(steps[nodes[b].id].lines)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc_in = nn.Linear(3, 4)
        self.f = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.fc_out = nn.Linear(4, 1)

    def forward(self, x):
        h = self.fc_in(x)
        h = h + self.f(h)
        return self.fc_out(h)


def test_residual_block_shows_the_skip_edge():
    torch.manual_seed(0)
    graph = make_view(trace_model(Residual(), torch.randn(5, 3), torch.randn(5, 1), "mse"), "modules")
    nodes = _by_label(graph)
    assert set(nodes) >= {"fc_in", "f.0", "f.1", "model", "fc_out", "loss"}
    add = nodes["model"]  # the residual add in the root module's forward
    assert add.sub == "add" and add.kind == "op"
    edges = _grad_edges(graph)
    skip = edges[(nodes["fc_in"].id, add.id)]
    assert (nodes["fc_in"].id, nodes["f.0"].id) in edges
    assert (nodes["f.1"].id, add.id) in edges
    assert (add.id, nodes["fc_out"].id) in edges
    # an add sends its incoming gradient unchanged along both roads
    assert _norm(skip.grad) == pytest.approx(_norm(add.grad))
    # fc_in steps only after both roads have brought their gradient back
    order = [s.nodes[0] for s in graph.steps]
    assert order.index(nodes["fc_in"].id) > order.index(nodes["f.0"].id)


def test_functional_ops_merge_into_one_node_and_cross_entropy_is_one_loss_node():
    attention = _bench().Attention(4)
    torch.manual_seed(0)
    model = nn.Sequential(attention, nn.Linear(4, 3))
    graph = make_view(trace_model(model, torch.randn(3, 4), torch.tensor([0, 2, 1]), "cross_entropy"), "modules")
    nodes = _by_label(graph)
    assert nodes["0"].sub == "matmul·softmax·matmul"
    assert {"0.q", "0.k", "0.v", "0.out", "0.drop", "1"} <= set(nodes)
    assert nodes["0.drop"].sub == "Dropout"
    loss = [n for n in graph.nodes if n.kind == "loss"]
    assert len(loss) == 1 and loss[0].sub == "log_softmax·nll_loss"
    edges = _grad_edges(graph)
    for name in ("0.q", "0.k", "0.v"):
        assert (nodes[name].id, nodes["0"].id) in edges


def _deep(activation, last_scale=None, layers=8, seed=0):
    torch.manual_seed(seed)
    parts = []
    for i in range(layers):
        parts.append(nn.Linear(4, 1 if i == layers - 1 else 4))
        if i < layers - 1:
            parts.append(activation())
    model = nn.Sequential(*parts)
    if last_scale:
        with torch.no_grad():
            model[-1].weight.mul_(last_scale)
    return trace_model(model, torch.randn(8, 4), torch.randn(8, 1), "mse")


def test_vanishing_flag_on_a_deep_sigmoid_mlp():
    trace = _deep(nn.Sigmoid)
    graph = make_view(trace, "modules")
    nodes = _by_label(graph)
    assert nodes["0"].flag == "vanishing"
    assert nodes["14"].flag == "" and nodes["1"].flag == ""  # the largest; an activation
    assert any(note.startswith("Vanishing gradient: layer") and " 0" in note and "(Linear)" in note
               for note in graph.notes)
    step = next(s for s in graph.steps if s.nodes == [nodes["0"].id])
    assert step.lines[-1].startswith("Vanishing gradient: layer 0 ")
    # the ops view flags the same layer on its parameter nodes
    ops = make_view(trace, "ops")
    flagged = {n.label for n in ops.nodes if n.flag}
    assert {"0.weight", "0.bias"} <= flagged and all(n.kind == "leaf" for n in ops.nodes if n.flag)
    assert ops.notes == graph.notes


def test_single_layer_note_names_it():
    from bprender.views.flags import LayerFlag, flag_notes
    note = flag_notes([LayerFlag("0", "vanishing", 3.1e-6, 3.1e-6, "14", "Linear")])
    assert note == ["Vanishing gradient: layer 0 (Linear) gets 3.1e−6 of the gradient norm of layer 14, "
                    "the largest"]


def test_exploding_flag_when_the_last_layer_is_scaled_up():
    trace = _deep(nn.Tanh, last_scale=1e4, layers=4)
    graph = make_view(trace, "modules")
    nodes = _by_label(graph)
    assert nodes["0"].flag == "exploding"
    assert nodes["6"].flag == ""  # the reference: the layer nearest the loss
    assert not [n for n in graph.nodes if n.flag == "vanishing"]
    assert any(note.startswith("Exploding gradient:") and "layer 6, the one nearest the loss" in note
               for note in graph.notes)


def test_scene_builds_for_the_modules_view():
    model, x, y = _mlp()
    trace = trace_model(model, x, y, "mse")
    graph = make_view(trace, "modules")
    scene = build_scene(trace, _settings(), FontBook())
    assert scene["view"] == "modules"
    assert [n["id"] for n in scene["nodes"]] == [n.id for n in graph.nodes]
    assert len(scene["events"]) == len(scene["phases"]) + len(graph.steps)
    assert scene["groups"][:1] == ["inputs"]


@pytest.mark.parametrize("preset", ["linear", "shared_layer", "attention"])
def test_modules_view_of_presets_builds(preset):
    """No modules (an expression), a shared layer called several times, attention."""
    trace = trace_of(open_preset(preset))
    graph = make_view(trace, "modules")
    assert graph.steps and len({s.nodes[0] for s in graph.steps}) == len(graph.steps)
    scene = build_scene(trace, _settings(), FontBook())
    assert len(scene["nodes"]) == len(graph.nodes)


def test_a_12_block_transformer_lays_out():
    bench = _bench()
    model, x, y = bench.build_transformer(12)
    assert bench.leaf_modules(model) >= 100
    trace = trace_model(model, x, y, "mse")
    folded = make_view(trace, "modules")  # by default the 12 blocks are one node
    assert [n.label for n in folded.nodes if n.repeats] == ["Block × 12"]
    graph = make_view(trace, "modules", expand=["blocks"])
    assert len([n for n in graph.nodes if n.kind == "op"]) >= 100
    scene = build_scene(trace, {**_settings(), "expand": ["blocks"]}, FontBook())
    assert len(scene["nodes"]) == len(graph.nodes)
    assert_boxes_fit(scene)  # too big for the frame at reading size: its camera's overview shows it all


def test_a_long_op_summary_counts_the_rest_instead_of_trailing_off():
    """A run of many op kinds (a GRU's gates) names three and counts the others: a trailing "…"
    reads as text cut off (the legibility rule: no text ends in an ellipsis)."""
    from bprender.views.modules import MAX_SUMMARY, op_summary
    ops = [{"label": label} for label in ("Addmm", "Unbind", "UnsafeSplit", "Sigmoid", "Tanh")]
    text = op_summary(ops)
    assert text.endswith(f" + {5 - MAX_SUMMARY} more") and "…" not in text, text
