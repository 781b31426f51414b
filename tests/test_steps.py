"""Models written as named steps (issue 15): PyTorch (run here directly, as micrograd's own test
runs it) and micrograd's published numbers are the oracles; reused names are fan-outs whose sum
is the node's gradient; names label the nodes and the captions; mistakes are located on the
step's own line and column; nothing in the parser runs out of stack."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from bprender.errors import PresetError, StepError
from bprender.model import build_model
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import preset_from_dict
from bprender.views import make_view
from testkit import invoke, ok


SEED = "y_pred = w * x + b\nloss = (y_pred - y_true) ** 2\n"
SEED_MODEL = {"steps": SEED, "params": {"w": 2.0, "b": 1.0}, "inputs": {"x": 3.0, "y_true": 8.0}}


def traced(model: dict) -> dict:
    return trace_of(preset_from_dict({"model": model}))


def by_name(trace: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for n in trace["nodes"]:
        if n.get("name"):
            out.setdefault(n["name"], []).append(n)
    return out


def scalar(summary: dict) -> float:
    return summary["values"][0]


def graph_size(root: torch.Tensor) -> int:
    """Nodes of PyTorch's autograd graph behind a tensor (grad_fns and AccumulateGrads)."""
    seen, todo = set(), [root.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo.extend(f for f, _ in fn.next_functions)
    return len(seen)


# micrograd's test/test_engine.py, the PyTorch half of each test as it is written there
def micrograd_sanity_torch():
    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return y, {"x": x}


def micrograd_more_ops_torch():
    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return g, {"a": a, "b": b}


# ---- values and gradients ------------------------------------------------------------------

def test_seed_example_as_two_steps_gives_pytorchs_numbers():
    trace = traced(SEED_MODEL)
    w, b = torch.tensor(2.0, requires_grad=True), torch.tensor(1.0, requires_grad=True)
    loss = (w * 3.0 + b - 8.0) ** 2
    loss.backward()
    assert scalar(trace["loss"]["value"]) == loss.item() == 1.0
    grads = {leaf["name"]: scalar(leaf["grad"]) for leaf in trace["leaves"]}
    assert grads == {"w": w.grad.item(), "b": b.grad.item()} == {"w": -6.0, "b": -2.0}
    names = by_name(trace)
    assert set(names) == {"y_pred", "loss", "w", "b"}
    assert names["y_pred"][0]["label"] == "Add" and scalar(names["y_pred"][0]["value"]) == 7.0
    assert scalar(names["y_pred"][0]["grad"]) == -2.0          # ∂L/∂y_pred = 2·(y_pred − y_true)
    assert names["loss"][0]["kind"] == "loss"


@pytest.mark.parametrize("preset, oracle, expected", [
    ("micrograd", micrograd_sanity_torch, {"loss": -20.0, "x": 46.0}),
    ("micrograd_ops", micrograd_more_ops_torch,
     {"loss": 24.7041, "a": 138.8338, "b": 645.5773}),
])
def test_micrograd_presets_give_micrograds_and_pytorchs_numbers(preset, oracle, expected):
    trace = trace_of(open_preset(preset))
    out, leaves = oracle()
    grads = {leaf["name"]: scalar(leaf["grad"]) for leaf in trace["leaves"]}
    assert set(grads) == set(leaves)
    assert scalar(trace["loss"]["value"]) == pytest.approx(out.item(), rel=1e-6)
    assert scalar(trace["loss"]["value"]) == pytest.approx(expected["loss"], abs=1e-4)
    for name, t in leaves.items():
        assert grads[name] == pytest.approx(t.grad.item(), rel=1e-6)      # float32 vs micrograd's float64
        assert grads[name] == pytest.approx(expected[name], abs=1e-3)


def test_more_ops_graph_is_no_bigger_than_pytorchs_and_paced_by_its_captions():
    preset = open_preset("micrograd_ops")
    trace = trace_of(preset)
    g, _ = micrograd_more_ops_torch()
    view = make_view(trace, "ops")
    assert len(trace["nodes"]) <= graph_size(g) == 28
    assert len(view.nodes) <= graph_size(g)                  # no copies of reused subexpressions
    # every step lasts as long as its chain-rule caption takes to read, so the captions set its
    # length (README, "Pacing"): over a minute; a fast pace makes it 0.7 of that
    scene = scene_of(trace, preset)
    steps = [e["t"] for e in scene["events"] if e["name"].startswith("backward:")]
    assert len(steps) == len(view.steps) and scene["duration"] > 60.0
    from bprender.preset import apply_overrides
    fast = scene_of(trace, apply_overrides(preset, {"pace": "fast"}))
    assert fast["duration"] == pytest.approx(0.7 * scene["duration"], abs=1e-3)


def test_reused_names_are_fan_outs_summing_to_the_nodes_gradient():
    trace = trace_of(open_preset("micrograd_ops"))
    nodes = {n["id"]: n for n in trace["nodes"]}
    fanout = {f["node"]: f for f in trace["fanout"]}
    edges = {e["id"]: e for e in trace["edges"]}
    # every c and d but the last is used twice by the next steps, f twice; a and b five times
    for name in ("c", "d"):
        versions = sorted(by_name(trace)[name], key=lambda n: n["seq"])
        assert len(versions) == 3
        assert [n["id"] in fanout for n in versions] == [True, True, False], name
    for node_id in [n["id"] for n in by_name(trace)["f"]] + [n["id"] for n in by_name(trace)["a"]]:
        f = fanout[node_id]
        parts = [scalar(edges[e]["grad"]) for e in f["edges"]]
        assert len(parts) >= 2
        assert sum(parts) == pytest.approx(scalar(f["sum"]), rel=1e-5)
        assert scalar(f["sum"]) == pytest.approx(scalar(nodes[node_id]["grad"]), rel=1e-5)
    assert len(fanout[by_name(trace)["a"][0]["id"]]["edges"]) == 5


def test_reassignment_and_augmented_steps_are_new_values_as_in_micrograd():
    model = {"steps": "c = a + b\nc += c + 1\nc *= 2\nc = c ** 2\n", "params": {"a": 1.0, "b": 2.0}}
    trace = traced(model)
    a, b = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)
    c = a + b
    c = c + (c + 1)
    c = c * 2
    c = c ** 2
    c.backward()
    assert scalar(trace["loss"]["value"]) == c.item() == 196.0
    grads = {leaf["name"]: scalar(leaf["grad"]) for leaf in trace["leaves"]}
    assert grads == {"a": a.grad.item(), "b": b.grad.item()}
    versions = sorted(by_name(trace)["c"], key=lambda n: n["seq"])
    assert [scalar(n["value"]) for n in versions] == [3.0, 7.0, 14.0, 196.0]
    labels = {n.id: n.label for n in make_view(trace, "ops").nodes}
    assert [labels[n["id"]] for n in versions] == ["c₁", "c₂", "c₃", "c₄"]


def test_method_calls_name_numbers_and_aliases():
    trace = traced({"steps": "k = 3\nv = w\nr = (v * k - 1).relu()\nloss = r + v.tanh()\n",
                    "params": {"w": 0.5}})
    w = torch.tensor(0.5, requires_grad=True)
    loss = torch.relu(w * 3 - 1) + torch.tanh(w)
    loss.backward()
    assert scalar(trace["loss"]["value"]) == pytest.approx(loss.item())
    assert scalar(trace["leaves"][0]["grad"]) == pytest.approx(w.grad.item())
    assert set(by_name(trace)) == {"w", "r", "loss"}   # a number and an alias make no node


def test_loss_can_be_named_and_later_steps_do_not_change_it():
    built = build_model({"steps": "y = w * 2\nz = y * 10\n", "loss": "y", "params": {"w": 1.5}})
    loss = built.run()
    loss.backward()
    assert loss.item() == 3.0 and built.leaves["w"].grad.item() == 2.0


def test_one_expression_preset_is_unchanged():
    trace = traced({"expression": "(w * x + b - y_true) ** 2", "params": {"w": 2.0, "b": 1.0},
                    "inputs": {"x": 3.0, "y_true": 8.0}})
    assert [n["name"] for n in trace["nodes"] if n["kind"] != "leaf"] == [None, None, None, None]
    assert [n.label for n in make_view(trace, "ops").nodes if n.kind != "const"] == \
        ["Pow", "Sub", "Add", "Mul", "b", "w"]
    assert {leaf["name"]: scalar(leaf["grad"]) for leaf in trace["leaves"]} == {"w": -6.0, "b": -2.0}


# ---- where the names show ----------------------------------------------------------------------

def test_named_intermediates_in_each_view():
    trace = trace_of(open_preset("linear"))
    ops = make_view(trace, "ops")
    node = next(n for n in ops.nodes if n.label == "y_pred")
    assert node.sub == "Add" and node.kind == "op"
    assert any("∂L/∂y_pred = ∂L/∂(y_pred − y_true) · 1 = −2 · 1 = −2" in line
               for s in ops.steps for line in s.lines)
    modules = make_view(trace, "modules")           # an expression model: one node per op
    assert "y_pred" in [n.label for n in modules.nodes]
    scene = scene_of(trace, open_preset("linear"))
    assert any(e["label"].endswith("y_pred") for e in scene["events"])


# ---- mistakes ------------------------------------------------------------------------------------

BAD_STEPS = {
    # name: (steps text, params, inputs, extra, fragments; line 3 of the file is the first step)
    "unknown": ("y_pred = w * x\nloss = (y_prd - y) ** 2\n", ":4:", "column 9", "unknown name 'y_prd'",
                "did you mean 'y_pred'?"),
    "before": ("loss = (y_pred - y) ** 2\ny_pred = w * x\n", ":3:", "column 9",
               "'y_pred' is used before it is assigned (on line 2)"),
    "not_assignment": ("y_pred = w * x\n(y_pred - y) ** 2\n", ":4:", "column 1", "not an assignment"),
    "non_scalar": ("y_pred = w * v\nloss = (y_pred - y) ** 2\n", ":4:", "the loss has shape [2], not a scalar"),
    "syntax": ("y_pred = w * x\nloss = (y_pred - y ** 2\n", ":4:", "column 8", "not a valid step"),
    "import": ("import os\nloss = w ** 2\n", ":3:", "an import is not allowed"),
    "attribute": ("z = w.__class__\nloss = w ** 2\n", ":3:", "column 5", "attribute access"),
    "param_assigned": ("w = w * 2\nloss = w ** 2\n", ":3:", "'w' is a param or input"),
    "augmented_first": ("c += w\nloss = c ** 2\n", ":3:", "c += ... needs a value of c"),
    "caret": ("y = w * x\nloss = y ^ 2\n", ":4:", "column 10", "use ** for powers"),
    "shapes": ("z = m @ m\nloss = sum(z)\n", ":3:", "cannot evaluate"),
    "no_param": ("k = x * 2\nloss = k ** 2\n", ":4:", "does not depend on any param"),
    "tuple": ("a, b = w, w\nloss = a * b\n", ":3:", "one plain name"),
}


def bad_file(tmp_path: Path, name: str) -> Path:
    steps = BAD_STEPS[name][0]
    body = "".join(f"    {line}\n" for line in steps.splitlines())
    path = tmp_path / f"{name}.yaml"
    path.write_text("model:\n  steps: |\n" + body + "  params: {w: 2.0, v: [1.0, 2.0], m: [[1.0, 2.0]]}\n"
                    "  inputs: {x: 3.0, y: 8.0}\n")
    return path


@pytest.mark.parametrize("name", sorted(BAD_STEPS))
def test_step_mistakes_are_one_located_line_and_write_nothing(runner, tmp_path, name):
    preset = bad_file(tmp_path, name)
    out = tmp_path / "out.png"
    result = invoke(runner, "frame", preset, "--at", "1", "-o", out)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {preset}"), result.output
    line_part, *fragments = BAD_STEPS[name][1:]
    assert f"{preset}{line_part} model.steps: " in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists()


def test_unlocated_step_errors_name_the_line_of_the_steps():
    with pytest.raises(StepError) as info:
        build_model({"steps": "y_pred = w * x\nloss = (y_prd - y) ** 2\n", "params": {"w": 1.0},
                     "inputs": {"x": 1.0, "y": 2.0}})
    assert str(info.value).startswith("model.steps: line 2, column 9: unknown name 'y_prd'")
    with pytest.raises(PresetError, match="model.loss: 'yy' is not a name any step assigns"):
        build_model({"steps": "y = w * 2\n", "loss": "yy", "params": {"w": 1.0}})


def test_steps_on_one_line_and_folded_text_are_located_too(tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text("model:\n  steps: 'y = w * 2; loss = (y - t) ** 2'\n  params: {w: 1.0}\n")
    with pytest.raises(PresetError) as info:
        trace_of(open_preset(one))
    assert str(info.value).startswith(f"{one}:2: model.steps: column 24: unknown name 't'")
    folded = tmp_path / "folded.yaml"
    folded.write_text("model:\n  steps: y = w * 2\n    loss = y ** 2\n  params: {w: 1.0}\n")
    with pytest.raises(PresetError, match="write `steps: \\|`"):
        open_preset(folded)


def test_only_one_model_source_and_loss_only_with_steps():
    with pytest.raises(PresetError, match="give either `expression` or `steps`, not both"):
        preset_from_dict({"model": {"expression": "w * 2", "steps": SEED, "params": {"w": 1.0}}})
    with pytest.raises(PresetError, match="model.loss: only used with model.steps"):
        preset_from_dict({"model": {"expression": "w * 2", "loss": "w", "params": {"w": 1.0}}})


# ---- never out of stack ------------------------------------------------------------------------

DEEP = {"2000 chained terms": " + ".join(["w"] * 2000), "10000 unary minus": "-" * 10000 + "w"}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
@pytest.mark.parametrize("form", ["expression", "steps"])
def test_deep_formulas_get_a_one_line_refusal_in_bounded_time(runner, tmp_path, text, form):
    model = {"expression": text} if form == "expression" else {"steps": f"y = w * 2\nloss = {text}\n"}
    model["params"] = {"w": 1.0}
    start = time.monotonic()
    with pytest.raises(PresetError) as info:          # the model layer (Python API)
        build_model(model)
    with pytest.raises(PresetError) as validated:     # the preset validator
        preset_from_dict({"model": model})
    assert time.monotonic() - start < 5.0
    for err in (info.value, validated.value):
        assert "\n" not in str(err) and "nested" in str(err)
    path = tmp_path / "deep.yaml"
    body = f"  expression: {text}\n" if form == "expression" else f"  steps: |\n    y = w * 2\n    loss = {text}\n"
    path.write_text("model:\n" + body + "  params: {w: 1.0}\n")
    result = invoke(runner, "check", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = 2 if form == "expression" else 4
    assert result.output.startswith(f"Error: {path}:{line}: model.{form}: ") and "nested" in result.output


def test_a_model_too_big_to_animate_is_refused_at_its_line(tmp_path):
    steps = "c = w * 1\n" + "c = c + w\n" * 450 + "loss = c ** 2\n"
    with pytest.raises(StepError) as info:
        build_model({"steps": steps, "params": {"w": 1.0}})
    assert info.value.step_line == 401 and "more than 400 operations" in str(info.value)
    ok_steps = "c = w * 1\n" + "c = c + w\n" * 100 + "loss = c ** 2\n"
    loss = build_model({"steps": ok_steps, "params": {"w": 1.0}}).run()
    assert loss.item() == 101.0 ** 2


def test_check_prints_the_micrograd_gallery(runner):
    result = ok(invoke(runner, "check", "micrograd_ops"))
    assert "28 nodes (26 ops, 2 leaves)" in result.output and "grad      a: 138.8" in result.output


def test_overriding_the_model_source_drops_the_steps():
    from bprender.preset import apply_overrides
    preset = open_preset("linear")
    new = apply_overrides(preset, {"model.expression": "(w * x + b - y_true) ** 2"})
    assert new.data["model"]["steps"] is None and new.data["model"]["loss"] is None
    trace = trace_of(new)
    assert {leaf["name"]: scalar(leaf["grad"]) for leaf in trace["leaves"]} == {"w": -6.0, "b": -2.0}
    back = apply_overrides(new, {"model.steps": SEED})
    assert back.data["model"]["expression"] is None
    assert "y_pred" in by_name(trace_of(back))


@pytest.mark.parametrize("model", [{"expression": "w * 1" + "0" * 400}, {"steps": "loss = w * 1" + "0" * 400},
                                   {"expression": "exp(1" + "0" * 400 + ")"}], ids=["expression", "steps", "call"])
def test_a_huge_integer_literal_is_a_message_not_a_traceback(model):
    with pytest.raises(PresetError, match=r"cannot evaluate: .* \(a number is too big for a float32 tensor\)"):
        build_model({**model, "params": {"w": 1.0}})


def test_every_view_of_a_steps_model_draws_or_says_why(runner, tmp_path):
    for view in ("ops", "modules"):
        out = tmp_path / f"{view}.png"
        ok(invoke(runner, "frame", "micrograd_ops", "--view", view, "--at", "end", "-o", out))
        assert out.stat().st_size > 0
    out = tmp_path / "neurons.png"
    result = invoke(runner, "frame", "micrograd_ops", "--view", "neurons", "--at", "end", "-o", out)
    assert result.exit_code == 1 and "Traceback" not in result.output and "--view modules" in result.output
    assert not out.exists()
