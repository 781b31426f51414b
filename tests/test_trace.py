"""Tracing real autograd: PyTorch itself is the oracle."""
from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.modules import module as nn_module
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

from bprender import jsonio
from bprender.errors import PresetError
from bprender.model import build_model
from bprender.trace import trace_built, trace_model, trace_preset
from bprender.trace.summary import MAX_VALUES

SEED = {"expression": "(w * x + b - y_true) ** 2", "params": {"w": 2.0, "b": 1.0},
        "inputs": {"x": 3.0, "y_true": 8.0}}


class StandInPreset:
    """What trace_preset needs from the real preset loader."""

    def __init__(self, model, base_dir=".", title="t", description=""):
        self.data = {"model": model, "title": title, "description": description}
        self.base_dir = Path(base_dir)
        self.path = Path(base_dir) / "p.yaml"

    def error(self, key, message, hint=None):
        return PresetError(message, key=key, hint=hint, path=self.path, line=7)


def trace_expr(spec):
    return trace_preset(StandInPreset(spec))


def by_id(items):
    return {item["id"]: item for item in items}


def no_hooks_left():
    return (not nn_module._global_forward_hooks and not nn_module._global_forward_pre_hooks
            and not _get_current_dispatch_mode_stack())


def strict_loads(text):
    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_seed_example_matches_pytorch():
    tr = trace_expr(SEED)
    assert tr["schema"] == "bprender.trace/1" and tr["title"] == "t"
    nodes, edges = by_id(tr["nodes"]), by_id(tr["edges"])
    assert tr["loss"] == {"node": "n0", "value": nodes["n0"]["value"]}
    assert tr["loss"]["value"]["values"] == [1.0]
    assert nodes["n0"]["kind"] == "loss" and nodes["n0"]["op"] == "PowBackward0"
    assert nodes["n0"]["attrs"] == {"exponent": 2}
    assert nodes["n0"]["aten"] == "aten.pow.Tensor_Scalar"

    fired = [nodes[step["node"]] for step in tr["backward"]]
    assert [n["label"] for n in fired] == ["Pow", "Sub", "Add", "b", "Mul", "w"]
    assert [n["op"] for n in fired] == ["PowBackward0", "SubBackward0", "AddBackward0",
                                        "AccumulateGrad", "MulBackward0", "AccumulateGrad"]
    assert [s["step"] for s in tr["backward"]] == list(range(6))

    leaves = {leaf["name"]: leaf for leaf in tr["leaves"]}
    assert leaves["w"]["grad"]["values"] == [-6.0] and leaves["b"]["grad"]["values"] == [-2.0]
    for leaf in leaves.values():
        node = nodes[leaf["node"]]
        assert node["kind"] == "leaf" and node["seq"] is None and node["aten"] is None
        assert node["name"] == leaf["name"] == node["label"]
        assert node["grad"] == leaf["grad"]
    assert [i["name"] for i in tr["inputs"]] == ["x", "y_true"]

    mul = next(n for n in tr["nodes"] if n["label"] == "Mul")
    consts = [i for i in mul["inputs"] if "const" in i]
    assert consts == [{"const": "x", "value": tr["inputs"][0]["value"]}]
    assert consts[0]["value"]["values"] == [3.0]
    assert mul["value"]["values"] == [6.0]
    sub = next(n for n in tr["nodes"] if n["label"] == "Sub")
    assert {"const": "y_true", "value": tr["inputs"][1]["value"]} in sub["inputs"]

    # edge gradients against the chain rule by hand: r = w*x + b - y_true = -1
    w, x, b, y = 2.0, 3.0, 1.0, 8.0
    r = w * x + b - y
    expected = {("Sub", "Pow"): 2 * r, ("Add", "Sub"): 2 * r, ("Mul", "Add"): 2 * r,
                ("b", "Add"): 2 * r, ("w", "Mul"): 2 * r * x}
    got = {(nodes[e["from"]]["label"], nodes[e["to"]]["label"]): e["grad"]["values"][0]
           for e in tr["edges"]}
    assert got == expected
    for step in tr["backward"]:            # the edges a node sends along point into it
        assert all(edges[e]["to"] == step["node"] for e in step["edges"])
    # every edge referenced by an input exists and ends at that node
    for n in tr["nodes"]:
        for item in n["inputs"]:
            if "edge" in item:
                assert edges[item["edge"]]["to"] == n["id"]
    assert tr["fanout"] == []
    seqs = [n["seq"] for n in fired if n["seq"] is not None]
    assert seqs == sorted(seqs, reverse=True) and min(seqs) == 0


FANOUT_NET = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        return self.head(self.fc(torch.relu(self.fc(x))))

def build():
    return {"model": Net(), "inputs": torch.randn(4, 3), "target": torch.randn(4, 1),
            "loss": "mse"}
"""


def test_python_model_with_fanout(tmp_path):
    (tmp_path / "net.py").write_text(textwrap.dedent(FANOUT_NET))
    spec = {"python": "net.py:build", "seed": 1}
    tr = trace_preset(StandInPreset(spec, tmp_path))
    assert no_hooks_left()

    oracle = build_model(spec, tmp_path)   # an independent plain run of the same build
    oracle.run().backward()
    leaves = {leaf["name"]: leaf for leaf in tr["leaves"]}
    assert set(leaves) == {"fc.weight", "fc.bias", "head.weight", "head.bias"}
    for name, p in oracle.leaves.items():
        got = torch.tensor(leaves[name]["grad"]["values"]).reshape(p.shape)
        assert torch.allclose(got, p.grad, atol=1e-6), name
        assert leaves[name]["shape"] == list(p.shape)

    nodes, edges = by_id(tr["nodes"]), by_id(tr["edges"])
    fan = {f["node"]: f for f in tr["fanout"]}
    for name in ("fc.weight", "fc.bias"):      # used by both calls of fc
        entry = fan[leaves[name]["node"]]
        assert len(entry["edges"]) == 2
        total = sum(torch.tensor(edges[e]["grad"]["values"]) for e in entry["edges"])
        assert torch.allclose(torch.tensor(entry["sum"]["values"]), total, atol=1e-6)
        assert torch.allclose(total, torch.tensor(leaves[name]["grad"]["values"]), atol=1e-6)
        assert nodes[entry["node"]]["module"] == "fc"
    modules = {n["module"] for n in tr["nodes"] if n["kind"] == "op"}
    assert {"fc", "head", ""} <= modules
    relu = next(n for n in tr["nodes"] if n["label"] == "Relu")
    assert relu["module"] == ""
    assert [i["name"] for i in tr["inputs"]] == ["input", "target"]
    first_addmm = [n for n in tr["nodes"] if n["aten"] == "aten.addmm.default"
                   and any(i.get("const") == "input" for i in n["inputs"])]
    assert len(first_addmm) == 1 and first_addmm[0]["module"] == "fc"
    mse = by_id(tr["nodes"])["n0"]
    assert mse["op"] == "MseLossBackward0" and mse["inputs"][1]["const"] == "target"


def test_trace_model_api_and_prior_grads():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    x, y = torch.randn(3, 2), torch.randn(3, 1)
    for p in net.parameters():
        p.grad = torch.full_like(p, 100.0)   # left over from an earlier step
    tr = trace_model(net, x, y, "mse", title="API")
    assert tr["title"] == "API" and no_hooks_left()
    plain = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    plain.load_state_dict(net.state_dict())
    nn.functional.mse_loss(plain(x), y).backward()
    leaves = {leaf["name"]: leaf for leaf in tr["leaves"]}
    for name, p in plain.named_parameters():
        got = torch.tensor(leaves[name]["grad"]["values"]).reshape(p.shape)
        assert torch.allclose(got, p.grad, atol=1e-6)
        # the user's .grad accumulated exactly as a normal backward would
        assert torch.allclose(dict(net.named_parameters())[name].grad, p.grad + 100.0)
    labels = [n["label"] for n in tr["nodes"]]
    assert "Tanh" in labels and "0.weight" in labels


def test_multi_output_op_edges_and_fanout():
    class Split(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 4)

        def forward(self, x):
            a, b = self.fc(x).chunk(2, dim=-1)
            return a * a + b

    torch.manual_seed(0)
    tr = trace_model(Split(), torch.randn(3, 2), torch.zeros(3, 2), "mse")
    edges = by_id(tr["edges"])
    split = next(n for n in tr["nodes"] if n["label"] == "Split")
    outs = sorted(e["output"] for e in tr["edges"] if e["from"] == split["id"])
    assert outs == [0, 0, 1]          # a used twice by one Mul, b once
    (entry,) = [f for f in tr["fanout"] if f["node"] == split["id"]]
    assert len(entry["edges"]) == 2 and all(edges[e]["output"] == 0 for e in entry["edges"])
    total = sum(torch.tensor(edges[e]["grad"]["values"]) for e in entry["edges"])
    assert torch.allclose(torch.tensor(entry["sum"]["values"]), total)
    mul = next(n for n in tr["nodes"] if n["label"] == "Mul")
    assert [list(i) for i in mul["inputs"]] == [["edge"], ["edge"]]
    assert mul["inputs"][0] != mul["inputs"][1]


def test_values_only_for_small_tensors():
    small = {"expression": "sum(w * x)", "params": {"w": [[1.0] * 16] * 16}, "inputs": {"x": 2.0}}
    big = {"expression": "sum(w * x)", "params": {"w": [[1.0] * 17] * 17}, "inputs": {"x": 2.0}}
    assert MAX_VALUES == 256
    leaf = trace_expr(small)["leaves"][0]
    assert len(leaf["value"]["values"]) == 256 and leaf["grad"]["values"] == [2.0] * 256
    leaf = trace_expr(big)["leaves"][0]
    assert "values" not in leaf["value"] and "values" not in leaf["grad"]
    assert leaf["shape"] == [17, 17] and leaf["value"]["shape"] == [17, 17]
    assert leaf["grad"]["stats"] == {"min": 2.0, "max": 2.0, "mean": 2.0, "norm": 34.0}
    assert leaf["grad"]["heat"]["pool"] == [2, 2] and leaf["grad"]["heat"]["values"] == [2.0] * 81
    assert leaf["value"]["dtype"] == "float32"


def test_nan_and_inf_survive_as_strict_json():
    spec = {"expression": "sum(log(w) * x)", "params": {"w": [-1.0, 0.0, 1.0]},
            "inputs": {"x": 1.0}}
    tr = trace_expr(spec)
    text = jsonio.dumps(tr)
    data = strict_loads(text)
    log = next(n for n in data["nodes"] if n["label"] == "Log")
    assert log["value"]["values"] == ["NaN", "-Infinity", 0.0]
    assert data["leaves"][0]["grad"]["values"] == [-1.0, "Infinity", 1.0]
    assert data["loss"]["value"]["values"] == ["NaN"]
    assert '"NaN"' in text and '"Infinity"' in text and '"-Infinity"' in text


def test_deterministic_bytes(tmp_path):
    first = jsonio.dumps(trace_expr(SEED))
    torch.randn(100) * 3                         # unrelated autograd-free work in between
    torch.ones(2, requires_grad=True).sum().backward()
    assert jsonio.dumps(trace_expr(SEED)) == first
    (tmp_path / "net.py").write_text(textwrap.dedent(FANOUT_NET))
    spec = {"python": "net.py:build"}
    a = jsonio.dumps(trace_preset(StandInPreset(spec, tmp_path)))
    b = jsonio.dumps(trace_preset(StandInPreset(spec, tmp_path)))
    assert a == b and a.endswith("\n")


def test_no_hooks_left_even_on_error(tmp_path):
    assert no_hooks_left()
    trace_expr(SEED)
    assert no_hooks_left()
    (tmp_path / "net.py").write_text(textwrap.dedent(FANOUT_NET).replace(
        "return self.head(", "raise RuntimeError('in forward')\n        return self.head("))
    with pytest.raises(PresetError) as info:
        trace_preset(StandInPreset({"python": "net.py:build"}, tmp_path))
    assert "RuntimeError: in forward" in str(info.value) and "net.py:" in str(info.value)
    assert no_hooks_left()


def test_preset_errors_are_located():
    spec = dict(SEED, expression="(w * x + b - y_tru) ** 2")
    with pytest.raises(PresetError) as info:
        trace_expr(spec)
    err = info.value
    assert err.key == "model.expression" and err.line == 7 and err.path.endswith("p.yaml")
    assert "did you mean 'y_true'?" in str(err)


def test_labels_and_unnamed_leaves():
    from bprender.model import Built
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    hidden = torch.tensor(3.0, requires_grad=True)
    built = Built(run=lambda: (w * hidden).sum(), leaves={"w": w}, constants={})
    tr = trace_built(built, "x", "")
    names = [leaf["name"] for leaf in tr["leaves"]]
    assert names == ["w", "leaf0"]
    assert {n["label"] for n in tr["nodes"]} == {"Sum", "Mul", "w", "leaf0"}
    assert tr["leaves"][1]["grad"]["values"] == [3.0]


def test_jsonio():
    text = jsonio.dumps({"b": [1.5, math.nan, (math.inf, -math.inf)], "a": "é"})
    assert text == ('{\n "a": "é",\n "b": [\n  1.5,\n  "NaN",\n  [\n   "Infinity",\n'
                    '   "-Infinity"\n  ]\n ]\n}\n')
    assert jsonio.loads(text)["b"][1] == "NaN"
    assert math.isinf(jsonio.to_float("-Infinity")) and jsonio.to_float(2) == 2.0


def test_tracing_does_not_import_dynamo():
    """The recording mode opts out of torch's dynamo wrapper, whose first call imports
    torch._dynamo (over a second of a cold render) for a mode that is never compiled."""
    from testkit import run_fresh_python
    code = ("import sys; from bprender.pipeline import open_preset, trace_of; "
            "trace_of(open_preset('linear')); print('torch._dynamo' in sys.modules)")
    assert run_fresh_python(code).strip() == "False"


def test_compiled_forward_is_still_recorded():
    """A model whose forward runs a torch.compile'd function traces as the eager one does."""
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)
            self.act = torch.compile(lambda t: torch.tanh(t) * 2.0, backend="eager")  # no C compiler needed

        def forward(self, x):
            return self.act(self.fc(x))

    net = Net()
    x, y = torch.randn(3, 2), torch.randn(3, 1)
    tr = trace_model(net, x, y, "mse")
    plain = nn.Linear(2, 1)
    plain.load_state_dict(net.fc.state_dict())
    nn.functional.mse_loss(torch.tanh(plain(x)) * 2.0, y).backward()
    leaves = {leaf["name"]: leaf for leaf in tr["leaves"]}
    got = torch.tensor(leaves["fc.weight"]["grad"]["values"]).reshape(plain.weight.shape)
    assert torch.allclose(got, plain.weight.grad, atol=1e-6)
    assert "tanh" in " ".join(n["label"].lower() for n in tr["nodes"]) and no_hooks_left()
