"""The preset gallery (issue 4): every built-in preset loads and traces, and each model preset's
trace agrees with PyTorch's own gradients from an independent plain run of the same build().

These tests look at the trace only, never at a view: the views draw whatever the trace says.
"""
from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from bprender.cli import cli
from bprender.pipeline import open_preset, trace_of

ROOT = Path(__file__).resolve().parent.parent
PRESETS_DIR = ROOT / "presets"
ALL = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
GALLERY = ["mlp", "deep_sigmoid", "deep_relu", "cnn", "attention"]
VIEWS = {"mlp": "neurons", "deep_sigmoid": "neurons", "deep_relu": "neurons",
         "cnn": "modules", "attention": "modules"}
DEEP_LINEAR = [0, 2, 4, 6, 8, 10, 12, 14]          # nn.Sequential indices of the 8 Linear layers

# The loss names a python preset may use, written out here rather than taken from bprender.
LOSSES = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy, "bce": F.binary_cross_entropy}

_cache: dict = {}
_counter = itertools.count()


def traced(name: str):
    """(preset, trace) of a preset in presets/, traced once per test session."""
    if name not in _cache:
        preset = open_preset(PRESETS_DIR / f"{name}.yaml")
        _cache[name] = (preset, trace_of(preset))
    return _cache[name]


def leaves_of(trace: dict) -> dict:
    return {leaf["name"]: leaf for leaf in trace["leaves"]}


def plain_run(preset):
    """Import the preset's python file ourselves, call its build function, take the loss with
    the named loss function and backward: PyTorch's own answer, with no bprender in between."""
    file_part, func_name = preset.data["model"]["python"].rsplit(":", 1)
    path = Path(preset.base_dir) / file_part
    spec = importlib.util.spec_from_file_location(f"gallery_oracle_{next(_counter)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = getattr(module, func_name)()
    model, inputs, target = built["model"], built["inputs"], built["target"]
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    loss_fn = built["loss"] if callable(built["loss"]) else LOSSES[built["loss"]]
    loss = loss_fn(model(*inputs), target)
    loss.backward()
    return model, loss


def as_tensor(summary: dict, shape) -> torch.Tensor:
    return torch.tensor(summary["values"], dtype=torch.float32).reshape(shape)


def assert_summary_matches(summary: dict, tensor: torch.Tensor, what: str):
    """A trace tensor summary against a real tensor: every value when the trace keeps them
    (<= 64 elements), else the float64 stats."""
    assert summary["shape"] == list(tensor.shape), what
    if "values" in summary:
        got = as_tensor(summary, tensor.shape)
        assert torch.allclose(got, tensor.detach().float(), rtol=1e-5, atol=1e-7), what
    else:
        t = tensor.detach().double()
        want = {"min": t.min().item(), "max": t.max().item(), "mean": t.mean().item(),
                "norm": t.norm().item()}
        for key, value in want.items():
            assert summary["stats"][key] == pytest.approx(value, rel=1e-5, abs=1e-7), (what, key)


# --------------------------------------------------------------------------- every preset

def test_gallery_is_complete():
    assert set(GALLERY) | {"linear", "shared_layer"} <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_every_preset_loads_and_traces(name):
    preset, trace = traced(name)
    assert preset.data["title"].strip() and preset.data["description"].strip()
    assert "\n" not in preset.data["description"]
    assert trace["title"] == preset.data["title"]
    assert trace["nodes"] and trace["backward"] and trace["leaves"]
    assert trace["loss"]["value"]["shape"] in ([], [1])
    assert all(leaf["grad"] is not None for leaf in trace["leaves"])


def test_cli_lists_every_preset_with_its_title():
    result = CliRunner().invoke(cli, ["presets"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in ALL:
        title = traced(name)[0].data["title"]
        assert any(line.split()[0] == name and title in line for line in lines), (name, result.output)


@pytest.mark.parametrize("name", GALLERY)
def test_gallery_preset_settings(name):
    preset, _ = traced(name)
    assert preset.data["view"] == VIEWS[name]
    assert preset.data["model"]["python"] and preset.data["model"]["seed"] == 0
    text = (PRESETS_DIR / f"{name}.yaml").read_text()
    assert "seed:" in text and text.lstrip().startswith("#")      # a commented, seeded preset


# --------------------------------------------------------------------------- against PyTorch

@pytest.mark.parametrize("name", GALLERY)
def test_trace_matches_plain_pytorch(name):
    preset, trace = traced(name)
    model, loss = plain_run(preset)
    leaves = leaves_of(trace)
    params = dict(model.named_parameters())
    assert set(params) <= set(leaves)
    for pname, p in params.items():
        leaf = leaves[pname]
        assert leaf["shape"] == list(p.shape), pname
        assert leaf["node"] is not None, pname
        assert_summary_matches(leaf["value"], p, f"{name}: value of {pname}")
        assert_summary_matches(leaf["grad"], p.grad, f"{name}: grad of {pname}")
    got_loss = torch.tensor(trace["loss"]["value"]["values"][0])
    assert torch.allclose(got_loss, loss.detach().float().reshape(()), rtol=1e-6), name


@pytest.mark.parametrize("name", GALLERY)
def test_build_is_seeded_by_itself(name):
    """The file alone gives the same numbers: build() seeds torch itself, whatever came before."""
    preset, _ = traced(name)
    torch.manual_seed(12345)
    a, _ = plain_run(preset)
    torch.rand(100)
    b, _ = plain_run(preset)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and torch.equal(pa, pb) and torch.equal(pa.grad, pb.grad)


# --------------------------------------------------------------------------- the deep pair

def deep_ratio(trace: dict) -> float:
    leaves = leaves_of(trace)
    first = leaves[f"{DEEP_LINEAR[0]}.weight"]["grad"]["stats"]["norm"]
    last = leaves[f"{DEEP_LINEAR[-1]}.weight"]["grad"]["stats"]["norm"]
    return first / last


def test_deep_pair_names_numbered_by_depth():
    expected = [f"{i}.{kind}" for i in DEEP_LINEAR for kind in ("weight", "bias")]
    for name in ("deep_sigmoid", "deep_relu"):
        _, trace = traced(name)
        assert [leaf["name"] for leaf in trace["leaves"]] == expected
        assert all(len(leaf["value"]["values"]) <= 64 for leaf in trace["leaves"])
        for node in trace["nodes"]:
            assert node["value"] is None or "values" in node["value"], node["label"]


def test_deep_pair_same_init_and_data_only_activation_differs():
    _, sig = traced("deep_sigmoid")
    _, relu = traced("deep_relu")
    assert [(l["name"], l["value"]) for l in sig["leaves"]] == \
        [(l["name"], l["value"]) for l in relu["leaves"]]
    assert sig["inputs"] == relu["inputs"]
    sig_ops = [n["label"] for n in sig["nodes"]]
    relu_ops = [n["label"] for n in relu["nodes"]]
    assert sig_ops.count("Sigmoid") == 7 and "Relu" not in sig_ops
    assert relu_ops.count("Relu") == 7 and "Sigmoid" not in relu_ops
    assert [x.replace("Sigmoid", "Relu") for x in sig_ops] == relu_ops


def test_deep_pair_vanishing_gradient_ratios():
    _, sig = traced("deep_sigmoid")
    _, relu = traced("deep_relu")
    r_sig, r_relu = deep_ratio(sig), deep_ratio(relu)
    print(f"\ndeep pair |grad 0.weight| / |grad 14.weight|: sigmoid {r_sig:.3g}, relu {r_relu:.3g}")
    assert r_sig < 1e-2
    assert r_relu >= 10 * r_sig
    # no ReLU layer is dead: every one lets something through, so gradient reaches layer 0
    relus = [n for n in relu["nodes"] if n["label"] == "Relu"]
    assert len(relus) == 7 and all(n["value"]["stats"]["max"] > 0 for n in relus)
    assert all(leaf["grad"]["stats"]["norm"] > 0 for leaf in relu["leaves"])


# --------------------------------------------------------------------------- graph sanity

def op_modules(trace: dict) -> set:
    return {n["module"] for n in trace["nodes"] if n["kind"] in ("op", "loss")}


def test_mlp_shape():
    _, trace = traced("mlp")
    leaves = leaves_of(trace)
    assert [leaf["name"] for leaf in trace["leaves"]] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert leaves["0.weight"]["shape"] == [3, 2] and leaves["2.weight"]["shape"] == [1, 3]
    assert [i["shape"] for i in trace["inputs"]] == [[1, 2], [1, 1]]     # one sample, one target
    assert [n["label"] for n in trace["nodes"]].count("Sigmoid") == 2


def test_cnn_graph():
    _, trace = traced("cnn")
    labels = {n["label"] for n in trace["nodes"]}
    assert len(trace["nodes"]) > 10
    assert {"Convolution", "Relu", "MaxPool2DWithIndices", "Addmm"} <= labels
    assert trace["nodes"][0]["op"] == "NllLossBackward0"              # cross-entropy's last op
    assert {"conv", "relu", "pool", "fc"} <= op_modules(trace)
    conv = next(n for n in trace["nodes"] if n["label"] == "Convolution")
    assert conv["module"] == "conv" and conv["value"]["shape"] == [1, 2, 6, 6]
    assert [i["shape"] for i in trace["inputs"]][0] == [1, 1, 8, 8]


def test_attention_graph():
    _, trace = traced("attention")
    ops = [n["op"] for n in trace["nodes"]]
    assert len(trace["nodes"]) > 10
    assert any("Softmax" in op for op in ops)
    assert any("LayerNorm" in op for op in ops)
    softmax = next(n for n in trace["nodes"] if "Softmax" in n["op"])
    assert softmax["module"] == "attn" and softmax["value"]["shape"] == [3, 3]
    rows = as_tensor(softmax["value"], (3, 3)).sum(-1)
    assert torch.allclose(rows, torch.ones(3))                      # attention rows sum to 1
    norm = next(n for n in trace["nodes"] if "LayerNorm" in n["op"])
    assert norm["module"] == "norm"
    assert {"attn", "attn.q", "attn.k", "attn.v", "attn.out", "norm", "head"} <= op_modules(trace)
    leaves = leaves_of(trace)
    for part in ("q", "k", "v", "out"):
        assert leaves[f"attn.{part}.weight"]["shape"] == [4, 4]
        assert nodes_by_id(trace)[leaves[f"attn.{part}.weight"]["node"]]["module"] == f"attn.{part}"
    # the residual: the block's input x + attn(x) is an Add with the input as a constant
    adds = [n for n in trace["nodes"] if n["label"] == "Add"]
    assert any(i.get("const") == "input" for n in adds for i in n["inputs"])


def nodes_by_id(trace: dict) -> dict:
    return {n["id"]: n for n in trace["nodes"]}
