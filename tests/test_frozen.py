"""Every part of a model is drawn: frozen parameters, buffers, detached branches and values
computed from constants appear as "frozen" (no gradient) nodes connected where they feed the
graph. PyTorch computes the values they must show."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from bprender.pipeline import open_preset, trace_of
from bprender.trace import trace_model
from bprender.views import make_view

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def finetune():
    return trace_of(open_preset(str(DATA / "finetune.yaml")))


def _built():
    spec = importlib.util.spec_from_file_location("finetune_example", DATA / "finetune.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)        # as the preset's seed
    return module.build()


def reaches(graph, src: str, dst: str) -> bool:
    out: dict[str, list[str]] = {}
    for e in graph.edges:
        out.setdefault(e.src, []).append(e.dst)
    todo, seen = [src], set()
    while todo:
        node = todo.pop()
        if node == dst:
            return True
        if node not in seen:
            seen.add(node)
            todo += out.get(node, [])
    return False


def test_trace_links_frozen_ops_and_the_detached_branch(finetune):
    nodes = {n["id"]: n for n in finetune["nodes"]}
    frozen = [n for n in finetune["nodes"] if n["kind"] == "frozen"]
    assert [n["label"] for n in frozen] == ["Sub", "T", "Addmm", "Tanh", "Sum"]   # forward order
    assert all(n["grad"] is None and n["seq"] is None for n in frozen)
    roles = {i["name"]: i.get("role") for i in finetune["inputs"]}
    assert roles == {"backbone.0.weight": "frozen", "backbone.0.bias": "frozen", "mean": "buffer",
                     "input": None, "target": None}
    # the oracle: the frozen backbone's output is what PyTorch computes
    built = _built()
    model, x = built["model"], built["inputs"]
    features = model.backbone(x - model.mean)
    tanh = next(n for n in frozen if n["label"] == "Tanh")
    assert tanh["value"]["values"] == pytest.approx(features.reshape(-1).tolist(), rel=1e-6)
    # the head's matmul takes the frozen features; the Sum takes the detached graph Tanh
    head = next(n for n in finetune["nodes"] if n["kind"] == "op" and n["module"] == "head")
    assert any(i.get("from") == tanh["id"] for i in head["inputs"])
    total = next(n for n in frozen if n["label"] == "Sum")
    assert nodes[total["inputs"][0]["from"]]["label"] == "Tanh" and nodes[total["inputs"][0]["from"]]["kind"] == "op"


def test_ops_view_draws_and_connects_them(finetune):
    graph = make_view(finetune, "ops")
    kinds = {n.id: n.kind for n in graph.nodes}
    assert kinds["c:mean"] == kinds["c:backbone.0.weight"] == "frozen" and kinds["c:input"] == "const"
    assert sorted(n.label for n in graph.nodes if n.kind == "frozen" and not n.id.startswith("c:")) == \
        ["Addmm", "Sub", "Sum", "Tanh"]     # the frozen W.t() folds into its edge
    loss = next(n.id for n in graph.nodes if n.kind == "loss")
    for const in ("c:input", "c:mean", "c:backbone.0.weight", "c:backbone.0.bias"):
        assert reaches(graph, const, loss), const
    no_grad = [e for e in graph.edges if not e.carries_grad]
    assert no_grad and all(e.grad is None for e in no_grad)
    assert all(graph.node(s.nodes[0]).kind != "frozen" for s in graph.steps)   # frozen parts never fire


def test_modules_view_folds_a_frozen_module(finetune):
    graph = make_view(finetune, "modules")
    frozen = {n.label: n for n in graph.nodes if n.kind == "frozen"}
    assert frozen["backbone.0"].sub == "Linear 3→3" and frozen["backbone.1"].sub == "Tanh"
    assert "mean" in frozen and not any(n.id == "c:backbone.0.weight" for n in graph.nodes)
    head = next(n.id for n in graph.nodes if n.label == "head")
    assert reaches(graph, frozen["backbone.1"].id, head) and reaches(graph, "c:input", head)
    assert all(graph.node(s.nodes[0]).kind not in ("frozen", "const") for s in graph.steps)


def test_attention_input_is_drawn_connected():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    trace = trace_model(layer, torch.randn(1, 3, 8), torch.randn(1, 3, 8), "mse")
    for view in ("ops", "modules"):
        graph = make_view(trace, view)
        loss = next(n.id for n in graph.nodes if n.kind == "loss")
        assert reaches(graph, "c:input", loss), view


def test_a_model_without_frozen_parts_is_unchanged():
    torch.manual_seed(0)
    trace = trace_model(nn.Linear(2, 1), torch.ones(1, 2), torch.zeros(1, 1), "mse")
    assert all(n["kind"] != "frozen" and all("from" not in i for i in n["inputs"]) for n in trace["nodes"])


def test_recorded_transformer_modules_view_stays_acyclic():
    """Frozen runs inside an attention block's run (masks, dropout in training) must not feed
    back into the node they came from: the layout needs an acyclic graph."""
    from bprender.layout import columns
    from bprender.recording import select_capture
    from torch.nn import functional as F
    import bprender
    torch.manual_seed(0)
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True), 2)
    rec = bprender.Recorder(model)
    with rec.step(capture=True):
        F.mse_loss(model(torch.randn(2, 4, 8)), torch.randn(2, 4, 8)).backward()
    graph = make_view(select_capture(rec.trace), "modules")
    assert any(n.kind == "frozen" for n in graph.nodes)
    order = {n.id: k for k, n in enumerate(graph.nodes)}
    waiting = {n: 0 for n in order}
    for e in graph.edges:
        waiting[e.dst] += 1
    ready = [n for n, w in waiting.items() if w == 0]
    done = 0
    while ready:                      # Kahn: every node comes out only if there is no cycle
        node = ready.pop()
        done += 1
        for e in graph.edges:
            if e.src == node:
                waiting[e.dst] -= 1
                if waiting[e.dst] == 0:
                    ready.append(e.dst)
    assert done == len(order), "the modules view has a cycle"
    column = columns(list(order), [(e.src, e.dst) for e in graph.edges])
    assert all(column[e.src] < column[e.dst] for e in graph.edges)   # every edge points forward


def test_the_legend_names_the_parts_without_gradient():
    """Frozen parts are grey boxes: the header's legend says what grey means."""
    from pathlib import Path

    from bprender.pipeline import open_preset, scene_of, trace_of
    preset = open_preset(str(Path(__file__).parent / "data" / "finetune.yaml"))
    scene = scene_of(trace_of(preset), preset)
    assert ("no gradient", "node_stroke") in [(e["text"], e["color"]) for e in scene["header"]["legend"]]
    plain = open_preset("linear")
    assert "no gradient" not in [e["text"] for e in scene_of(trace_of(plain), plain)["header"]["legend"]]


def test_an_uninitialised_buffer_is_not_recorded_so_traces_are_deterministic():
    """Dropout in training mode fills an empty_like mask in place: the mask's numbers at its
    creation are whatever memory it got. They are not recorded (so the same model traces to the
    same bytes every time), and the filled mask the multiply reads is PyTorch's."""
    import bprender
    from bprender.jsonio import dumps_compact

    def traced():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.3), nn.Linear(6, 2))
        model.train()
        return bprender.animate(model=model, inputs=torch.randn(5, 4), target=torch.randn(5, 2), loss="mse",
                                view="ops")

    first, second = traced(), traced()
    assert dumps_compact(first.trace) == dumps_compact(second.trace)
    empty = [n for n in first.trace["nodes"] if (n.get("aten") or "").startswith("aten.empty_like")]
    assert empty and all(n["value"] is None for n in empty)
    first.frame(first.duration / 2)     # a node without a value still draws
