"""Recording inside the user's own training loop: the run is bit-identical with and without
recording (PyTorch itself is the oracle), the saved file is a trace any renderer reads, and
reading it needs no torch."""
from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules import module as nn_module
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack
from torch.utils.data import DataLoader, TensorDataset

import bprender
from bprender import jsonio
from bprender.errors import BprenderError
from bprender.recording import captured_steps, loss_curve, select_capture
from bprender.trace import trace_model

from testkit import run_fresh_python
CAPTURED = (0, 49, 99)
BACKWARD = torch.autograd.backward


class FineTune(nn.Module):
    """A frozen 'backbone' layer, a trained head with dropout (it draws random numbers)."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(6, 8)
        self.head = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 1))
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        return self.head(torch.relu(self.backbone(x)))


def train(recorder_on: bool, steps: int = 100):
    """A real loop: shuffled DataLoader over generated data, Adam, the user's own backward."""
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(320, 6), torch.randn(320, 1))
    loader = DataLoader(data, batch_size=16, shuffle=True)
    model = FineTune()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    rec = bprender.Recorder(model, norms=True) if recorder_on else None
    losses, grads = [], []
    step = 0
    while step < steps:
        for x, y in loader:
            if step == steps:
                break
            block = rec.step(capture=step in CAPTURED) if rec else _nothing()
            with block:
                loss = F.mse_loss(model(x), y)
                loss.backward()
            losses.append(loss.detach().clone())
            grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
            optimizer.step()
            optimizer.zero_grad()
            step += 1
    return model, optimizer, losses, grads, torch.get_rng_state(), rec


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def clean() -> bool:
    return (not nn_module._global_forward_hooks and not nn_module._global_forward_pre_hooks
            and not _get_current_dispatch_mode_stack() and torch.autograd.backward is BACKWARD)


@pytest.fixture(scope="module")
def runs():
    return train(False), train(True)


def test_run_is_bit_identical_with_and_without_recording(runs):
    (m0, o0, l0, g0, rng0, _), (m1, o1, l1, g1, rng1, rec) = runs
    assert len(l0) == len(l1) == 100
    assert all(torch.equal(a, b) for a, b in zip(l0, l1))
    assert all(len(a) == len(b) == 4 and all(torch.equal(x, y) for x, y in zip(a, b)) for a, b in zip(g0, g1))
    for (n, a), (_, b) in zip(m0.state_dict().items(), m1.state_dict().items()):
        assert torch.equal(a, b), n
    s0, s1 = o0.state_dict()["state"], o1.state_dict()["state"]
    assert s0.keys() == s1.keys() and all(torch.equal(s0[k][f], s1[k][f]) for k in s0 for f in s0[k])
    assert torch.equal(rng0, rng1)
    assert clean() and not m1._forward_pre_hooks and not m1._forward_hooks


def test_recording_holds_every_loss_and_the_captured_steps(runs, tmp_path):
    (_, _, losses, grads, _, _), (model, _, _, _, _, rec) = runs
    path = rec.save(tmp_path / "run.trace.json")
    text = path.read_text()
    trace = jsonio.loads(text)
    assert trace["schema"] == "bprender.trace/1" and captured_steps(trace) == list(CAPTURED)
    curve = loss_curve(trace)
    assert [s for s, _ in curve] == list(range(100))
    assert all(abs(v - float(l)) <= 1e-6 * abs(float(l)) for (_, v), l in zip(curve, losses))
    steps = trace["recording"]["steps"]
    assert steps[5]["grad_norm"] == pytest.approx(
        float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.double()) for g in grads[5]]))))
    # the top level is the first captured step, as a plain trace
    assert {k: v for k, v in trace.items() if k != "recording"} == select_capture(trace)
    for step in CAPTURED:
        plain = select_capture(trace, step)
        assert "recording" not in plain and plain["schema"] == "bprender.trace/1"
        by_name = {leaf["name"]: leaf for leaf in plain["leaves"]}
        trained = [n for n, p in model.named_parameters() if p.requires_grad]
        assert list(by_name) == trained
        for name, g in zip(trained, grads[step]):
            assert by_name[name]["grad"]["stats"]["norm"] == pytest.approx(
                float(torch.linalg.vector_norm(g.double())), rel=1e-6)
        loss = plain["loss"]["value"]["values"][0]
        assert loss == pytest.approx(float(losses[step]), rel=1e-6)
        kinds = {n["kind"] for n in plain["nodes"]}
        assert "frozen" in kinds  # the frozen backbone is drawn
        roles = {i["name"]: i.get("role") for i in plain["inputs"]}
        assert roles["backbone.weight"] == "frozen" and roles["input"] is None and roles["target"] is None
    with pytest.raises(BprenderError, match=r"^step 7 was not captured; captured steps: 0, 49, 99$"):
        select_capture(trace, 7)
    assert rec.save(tmp_path / "again.json").read_text() == text   # same run, same bytes


def test_captured_step_is_the_trace_bprender_takes_itself():
    """Same state and batch: the recorder's trace equals trace_model's (the one code path)."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    x, y = torch.randn(5, 3), torch.randn(5, 2)
    expected = trace_model(copy.deepcopy(model), x, y, F.mse_loss)
    rec = bprender.Recorder(model)
    with rec.step(capture=True):
        F.mse_loss(model(x), y).backward()
    got = select_capture(rec.trace)
    assert jsonio.dumps(got) == jsonio.dumps(expected)


def test_hooks_are_removed_when_the_step_raises():
    model = nn.Linear(2, 1)
    rec = bprender.Recorder(model)
    for where in ("forward", "backward"):
        with pytest.raises(RuntimeError, match="boom"):
            with rec.step(capture=True):
                out = model(torch.ones(1, 2)).sum()
                if where == "forward":
                    raise RuntimeError("boom")
                out.register_hook(lambda g: (_ for _ in ()).throw(RuntimeError("boom")))
                out.backward()
        assert clean() and not model._forward_pre_hooks and not model._forward_hooks
    with rec.step():  # the recorder still works afterwards
        model(torch.ones(1, 2)).sum().backward()
    assert rec.steps[-1]["step"] == 2
    with pytest.raises(BprenderError, match="no step was captured"):
        bprender.Recorder(model).save("/nonexistent/never-written.json")


def test_user_mistakes_name_the_fix():
    with pytest.raises(BprenderError, match=r"use Recorder\(Linear\(...\)\)"):
        bprender.Recorder(nn.Linear)
    rec = bprender.Recorder(nn.Linear(2, 1))
    with pytest.raises(BprenderError, match="cannot be nested"):
        with rec.step():
            with rec.step():
                pass
    assert clean()


def test_detached_branch_and_buffer_are_drawn_connected():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 1)
            self.register_buffer("scale", torch.full((3,), 0.5))

        def forward(self, x):
            h = torch.tanh(self.a(x))
            teacher = h.detach() * self.scale          # a detached branch through a buffer
            return self.b(h + teacher)

    torch.manual_seed(1)
    model = Net()
    rec = bprender.Recorder(model)
    with rec.step(capture=True):
        loss = model(torch.randn(4, 3)).pow(2).mean()
        loss.backward()
    trace = select_capture(rec.trace)
    nodes = {n["id"]: n for n in trace["nodes"]}
    mul = next(n for n in trace["nodes"] if n["kind"] == "frozen" and n["label"] == "Mul")
    sources = [i.get("from") for i in mul["inputs"]]
    tanh = next(n["id"] for n in trace["nodes"] if n["label"] == "Tanh")
    assert sources[0] == tanh                          # detached from the graph's Tanh
    assert mul["inputs"][1]["const"] == "scale"
    consumer = next(n for n in trace["nodes"] if any(i.get("from") == mul["id"] for i in n["inputs"]))
    assert nodes[consumer["id"]]["label"] == "Add" and consumer["kind"] == "op"
    assert {i["name"]: i.get("role") for i in trace["inputs"]}["scale"] == "buffer"


def test_reading_a_recording_and_rendering_it_needs_no_torch(runs, tmp_path):
    rec = runs[1][-1]
    path = rec.save(tmp_path / "run.trace.json")
    code = f"""
import sys
from bprender import jsonio
from bprender.recording import select_capture
from bprender.pipeline import scene_of
from bprender.preset import settings_from_dict
from bprender.render import render_frame
from bprender.documents import schema_problem
run = jsonio.loads(open({str(path)!r}).read())
assert schema_problem("trace", run) is None, schema_problem("trace", run)   # the shipped JSON Schema
trace = select_capture(run, 49)
assert schema_problem("trace", trace) is None
for view in ("ops", "modules"):
    scene = scene_of(trace, settings_from_dict({{"view": view, "render": {{"size": "640x360"}}}}))
    frame = render_frame(scene, scene["duration"])
    assert frame.shape[:2] == (360, 640) and frame.std() > 0
assert "torch" not in sys.modules, "torch was imported"
print("ok")
"""
    assert run_fresh_python(code).strip() == "ok"


def test_import_bprender_does_not_import_torch():
    out = run_fresh_python("import sys, bprender; assert 'torch' not in sys.modules; "
                           "print(bprender.record.__module__)")
    assert out.strip() == "bprender.trace.record"


def test_a_plain_trace_passes_through_select_capture():
    trace = {"schema": "bprender.trace/1", "nodes": []}
    assert select_capture(trace) is trace
    with pytest.raises(BprenderError, match="not a recorded run"):
        select_capture(trace, 3)
    json.dumps(trace)


def test_step_picks_a_captured_step_on_the_command_line(tmp_path):
    """`--step N` draws captured step N of a recorded run; another step or a preset is refused."""
    import torch
    from click.testing import CliRunner
    from torch import nn

    import bprender
    from bprender.cli import cli
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = bprender.Recorder(model)
    x, y = torch.randn(4, 2), torch.randn(4, 1)
    for step in range(4):
        with rec.step(capture=step in (0, 3)):
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
        opt.step()
        opt.zero_grad()
    path = tmp_path / "run.trace.json"
    rec.save(path)
    runner = CliRunner()
    scenes = {}
    for step in ("0", "3"):
        out = tmp_path / f"s{step}.json"
        result = runner.invoke(cli, ["scene", str(path), "--step", step, "-o", str(out)])
        assert result.exit_code == 0, result.output
        scenes[step] = out.read_text(encoding="utf-8")
    assert scenes["0"] != scenes["3"]  # step 3's loss and gradients differ from step 0's
    first = tmp_path / "first.json"
    assert runner.invoke(cli, ["scene", str(path), "-o", str(first)]).exit_code == 0
    assert first.read_text(encoding="utf-8") == scenes["0"]
    result = runner.invoke(cli, ["frame", str(path), "--step", "2", "--at", "1", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "step 2 was not captured; captured steps: 0, 3" in result.output
    result = runner.invoke(cli, ["frame", "linear", "--step", "1", "--at", "1", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "is a preset, not a recorded run" in result.output
    assert not (tmp_path / "x.png").exists()
    assert bprender.animate(str(path), step=3).trace["loss"] != bprender.animate(str(path)).trace["loss"]
