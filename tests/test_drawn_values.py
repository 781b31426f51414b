"""Every number the trace keeps for drawing, against a plain PyTorch run (issue 10).

For each preset of the gallery (presets/*.yaml) the model is run again here without bprender:
a python preset's build() imported and called as test_gallery.plain_run does, a steps preset's
lines executed as ordinary Python over torch tensors. Its autograd graph is walked breadth-first
from the loss (as torchviz does), so node k here is node nk of the trace. PyTorch gives:
- each op's forward output: a dispatch mode of this file keeps a copy of every aten op's output,
  taken to the autograd node it got (output 0);
- the gradient arriving at each node: retain_grad() on those outputs, .grad for the leaves;
- the gradient along each edge (a fan-out's parts): a hook on the consuming node, its
  grad_inputs[slot];
- a fan-out's sum: the gradient of the producer's output (the engine's own sum).

Every summary of the trace is then checked against its tensor: all of its elements when it has
at most MAX_VALUES (256) of them, else none kept; and each cell of its heatmap preview, cut and
max-|x| pooled by the rule docs/formats.md states (pooled here loop by loop), equals PyTorch's
element within 1e-6 relative. The ops view's glyphs are then those cells' levels, and each cell's
tooltip shows that number. tests/data/mnist_mlp.yaml (784-32-10 on 64 samples) and two small
models check the other side of the budget: no values, a preview of PyTorch's numbers.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
import re
from collections import deque
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import bprender
from bprender import jsonio
from bprender.fmt import num
from bprender.jsonio import to_float
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.preset import apply_overrides
from bprender.scene.glyphs import GAP, glyph_levels
from bprender.trace.heat import CHANNEL, CHANNELS, GRID, STRIP
from bprender.trace.summary import MAX_VALUES

ROOT = Path(__file__).resolve().parent.parent
ALL = sorted(p.stem for p in (ROOT / "bprender" / "presets").glob("*.yaml"))
BIG = str(ROOT / "tests" / "data" / "mnist_mlp.yaml")   # 784-32-10 on 64 samples: most tensors over the budget
LOSSES = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy, "bce": F.binary_cross_entropy}
REL = 1e-6
TINY = 1e-30   # numbers this close to zero are compared absolutely
_counter = itertools.count()


# --------------------------------------------------------------------------- the plain run

class _Outputs(TorchDispatchMode):
    """Every aten op's outputs (the tensors themselves, to read their grad_fn afterwards: it is
    set only once the op returns) with a copy of their numbers taken now."""

    def __init__(self):
        super().__init__()
        self.made: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (list, tuple)) else [out]:
            if isinstance(t, torch.Tensor):
                self.made.append((t, t.detach().clone()))
        return out


def _python_model(preset):
    file_part, func_name = preset.data["model"]["python"].rsplit(":", 1)
    spec = importlib.util.spec_from_file_location(f"drawn_oracle_{next(_counter)}", Path(preset.base_dir) / file_part)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = getattr(module, func_name)()
    model, inputs, target = built["model"], built["inputs"], built["target"]
    inputs = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    loss_fn = built["loss"] if callable(built["loss"]) else LOSSES[built["loss"]]
    named = {"input": inputs[0]} if len(inputs) == 1 else {f"input{i}": x for i, x in enumerate(inputs)}
    named["target"] = target
    named.update(dict(model.named_buffers()))
    named.update({n: p for n, p in model.named_parameters() if not p.requires_grad})
    leaves = {n: p for n, p in model.named_parameters() if p.requires_grad}
    return (lambda: loss_fn(model(*inputs), target)), leaves, named


_AUGMENTED = re.compile(r"^\s*(\w+)\s*([-+*/@]|\*\*)=\s*(.+)$")


def _steps_model(preset):
    """The steps as plain Python over float32 tensors; c += e is c = c + (e), a new value (the
    steps format's rule), not torch's in-place add."""
    model = preset.data["model"]
    leaves = {n: torch.tensor(v, dtype=torch.float32, requires_grad=True) for n, v in model["params"].items()}
    consts = {n: torch.tensor(v, dtype=torch.float32) for n, v in (model.get("inputs") or {}).items()}
    lines = [line.split("#")[0].rstrip() for line in model["steps"].splitlines()]
    lines = [line for line in lines if line.strip()]
    names = [re.match(r"\s*(\w+)", line).group(1) for line in lines]
    loss_name = model.get("loss") or names[-1]

    def run():
        env = {**{f: getattr(torch, f) for f in ("sum", "mean", "exp", "log", "sqrt", "square",
                                                                      "abs", "sin", "cos", "tanh", "sigmoid", "relu")}}
        env.update(leaves)
        env.update(consts)
        loss = None
        for line, name in zip(lines, names):
            m = _AUGMENTED.match(line)
            if m:
                exec(f"_e = ({m.group(3)})\n{name} = {name} {m.group(2)} _e", env)
            else:
                exec(line.strip(), env)
            if name == loss_name:
                loss = env[name]
        return loss

    return run, leaves, consts


def _bfs(root):
    nodes, index, edges, queue = [root], {root: 0}, [], deque([root])
    while queue:
        fn = queue.popleft()
        for slot, (nxt, out_nr) in enumerate(fn.next_functions):
            if nxt is None:
                continue
            if nxt not in index:
                index[nxt] = len(nodes)
                nodes.append(nxt)
                queue.append(nxt)
            edges.append((index[nxt], index[fn], slot, int(out_nr)))
    return nodes, edges


class Oracle:
    """PyTorch's numbers for one preset, by node and edge index of its breadth-first graph."""

    def __init__(self, preset):
        run, self.leaves, self.named = (_python_model if preset.data["model"].get("python") else _steps_model)(preset)
        with _Outputs() as mode:
            loss = run()
        self.nodes, self.edges = _bfs(loss.grad_fn)
        self.value: dict[int, torch.Tensor] = {}
        self.output: dict[tuple[int, int], torch.Tensor] = {}   # (node, output_nr) -> the tensor
        index = {fn: i for i, fn in enumerate(self.nodes)}
        for t, copy in mode.made:
            i = index.get(t.grad_fn)
            if i is None or (i, t.output_nr) in self.output:
                continue
            self.output[(i, t.output_nr)] = t
            if t.output_nr == 0:
                self.value[i] = copy
            t.retain_grad()
        for i, fn in enumerate(self.nodes):
            if type(fn).__name__ == "AccumulateGrad":
                self.value[i] = fn.variable.detach().clone()
                self.output[(i, 0)] = fn.variable
        sent: dict[int, tuple] = {}
        handles = [fn.register_hook(lambda gi, go, i=i: sent.setdefault(i, tuple(
            g.detach().clone() if g is not None else None for g in gi)))
            for i, fn in enumerate(self.nodes) if type(fn).__name__ != "AccumulateGrad"]
        try:
            loss.backward()
        finally:
            for h in handles:
                h.remove()
        self.edge_grad = []   # what each edge's consumer sent back along it: grad_inputs[slot]
        for src, dst, slot, out in self.edges:
            grads = sent.get(dst) or ()
            self.edge_grad.append(grads[slot] if slot < len(grads) else None)

    def grad(self, i: int, output: int = 0) -> torch.Tensor | None:
        t = self.output.get((i, output))
        return None if t is None or t.grad is None else t.grad.detach()


_oracles: dict = {}


def traced(name: str):
    """(preset, trace, oracle), once per session: the trace as a saved file holds it."""
    if name not in _oracles:
        preset = open_preset(name)
        trace = jsonio.loads(jsonio.dumps(trace_of(preset)))
        _oracles[name] = (preset, trace, Oracle(preset))
    return _oracles[name]


# --------------------------------------------------------------------------- the drawing rule

def drawn_images(t: torch.Tensor, kernels: bool):
    """(layout, images as lists of rows, channels left out, cell limits): what docs/formats.md
    says a heatmap preview cuts from a tensor."""
    while t.dim() > 4:
        t = t[0]
    if kernels and t.dim() == 4:
        return "channels", [t[k, 0].tolist() for k in range(min(CHANNELS, t.shape[0]))], \
            max(0, t.shape[0] - CHANNELS), (CHANNEL, CHANNEL)
    if t.dim() == 4 and t.shape[2] * t.shape[3] == 1:
        t = t[0].reshape(-1)
    if t.dim() == 4:
        return "channels", [t[0, k].tolist() for k in range(min(CHANNELS, t.shape[1]))], \
            max(0, t.shape[1] - CHANNELS), (CHANNEL, CHANNEL)
    if t.dim() == 3:
        t = t[0]
    if t.dim() == 2 and 1 in t.shape:
        t = t.reshape(-1)
    if t.dim() == 1:
        return "strip", [[t.tolist()]], 0, (1, STRIP)
    return "grid", [t.tolist()], 0, (GRID, GRID)


def pool(image: list[list[float]], limits) -> tuple[list[list[float]], list[int]]:
    """Max-|x| pooling to at most limits cells, window by window: the first element of largest
    magnitude, NaN if the window holds one."""
    rows, cols = len(image), len(image[0])
    pr, pc = math.ceil(rows / limits[0]), math.ceil(cols / limits[1])
    out = []
    for r0 in range(0, rows, pr):
        line = []
        for c0 in range(0, cols, pc):
            cells = [image[r][c] for r in range(r0, min(r0 + pr, rows)) for c in range(c0, min(c0 + pc, cols))]
            best = cells[0]
            for v in cells[1:]:
                if abs(v) > abs(best):
                    best = v
            line.append(math.nan if any(math.isnan(v) for v in cells) else best)
        out.append(line)
    return out, [pr, pc]


def preview(t: torch.Tensor, kernels: bool) -> dict:
    layout, images, more, limits = drawn_images(t.detach().double(), kernels)
    pooled = [pool(im, limits) for im in images]
    cells = [v for im, _ in pooled for row in im for v in row]
    return {"layout": layout, "rows": len(pooled[0][0]), "cols": len(pooled[0][0][0]), "channels": len(pooled),
            "more": more, "pool": pooled[0][1], "values": cells}


def shows(text: str, want: float) -> bool:
    """A number as the painters write it (fmt.num: 4 significant digits) is want, to its last digit
    (the trace's float32-shortest decimal may round that digit the other way: 0.015395 -> 0.0154)."""
    text = text.replace("\u2212", "-")
    if text in ("NaN", "\u221e", "-\u221e"):
        return text == num(want).replace("\u2212", "-")
    if want == 0:
        return text == "0"
    digits = 3 if "e" in text else 4        # fmt.num writes 1.23e-7 with three
    half = 0.5 * 10.0 ** (math.floor(math.log10(abs(want))) - digits + 1)
    return abs(float(text) - want) <= half + REL * abs(want)


def close(got, want) -> bool:
    got, want = to_float(got), float(want)
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if math.isinf(want):
        return got == want
    return abs(got - want) <= max(REL * abs(want), TINY)


def check(summary: dict | None, t: torch.Tensor | None, what: str, kernels: bool = False, heat: bool = True) -> int:
    """The summary against PyTorch's tensor; the number of drawn cells checked."""
    if t is None:
        assert summary is None, f"{what}: PyTorch has no tensor here"
        return 0
    assert summary is not None, f"{what}: the trace has no summary"
    assert summary["shape"] == list(t.shape), what
    flat = t.detach().reshape(-1).double().tolist()
    if t.numel() <= MAX_VALUES:
        assert len(summary["values"]) == len(flat), what
        bad = [(k, v, w) for k, (v, w) in enumerate(zip(summary["values"], flat)) if not close(v, w)]
        assert not bad, f"{what}: elements differ from PyTorch's (index, trace, torch): {bad[:5]}"
    else:
        assert "values" not in summary, f"{what}: {t.numel()} elements are over the budget of {MAX_VALUES}"
    if not heat or not t.is_floating_point() or t.numel() < 2:
        assert "heat" not in summary or not heat, what
        return 0
    want = preview(t, kernels)
    got = summary["heat"]
    assert {k: got[k] for k in want if k != "values"} == {k: v for k, v in want.items() if k != "values"}, what
    bad = [(k, v, w) for k, (v, w) in enumerate(zip(got["values"], want["values"])) if not close(v, w)]
    assert len(got["values"]) == len(want["values"]) and not bad, \
        f"{what}: heatmap cells differ from PyTorch's (cell, trace, torch): {bad[:5]}"
    return len(want["values"])


# --------------------------------------------------------------------------- the gallery

@pytest.mark.parametrize("name", ALL + [BIG], ids=ALL + ["mnist_mlp"])
def test_every_kept_number_and_drawn_cell_is_pytorchs(name):
    _, trace, oracle = traced(name)
    nodes = trace["nodes"]
    graph = [n for n in nodes if n["kind"] != "frozen"]
    assert [n["op"] for n in graph] == [type(fn).__name__ for fn in oracle.nodes], name
    assert [(e["from"], e["to"], e["slot"], e["output"]) for e in trace["edges"]] == \
        [(f"n{s}", f"n{d}", slot, out) for s, d, slot, out in oracle.edges], name
    assert not [n for n in nodes if n["kind"] == "frozen"], "a frozen node: extend the oracle to its op"
    leaf = {i for i, fn in enumerate(oracle.nodes) if type(fn).__name__ == "AccumulateGrad"}
    cells = 0
    for i, node in enumerate(graph):
        what = f"{name} n{i} {node['label']}"
        cells += check(node["value"], oracle.value.get(i), f"{what} value", kernels=i in leaf)
        cells += check(node["grad"], oracle.grad(i), f"{what} grad", kernels=i in leaf)
        for k, item in enumerate(node["inputs"]):
            if item.get("const") in oracle.named:
                cells += check(item["value"], oracle.named[item["const"]], f"{what} input {k}")
    for e, edge in enumerate(trace["edges"]):
        src = oracle.edges[e][0]
        cells += check(edge["grad"], oracle.edge_grad[e], f"{name} e{e} grad", kernels=src in leaf)
    for entry in trace["fanout"]:
        es = [int(e[1:]) for e in entry["edges"]]
        src, out = oracle.edges[es[0]][0], oracle.edges[es[0]][3]
        assert len(es) >= 2 and all(oracle.edges[e][:1] + oracle.edges[e][3:] == (src, out) for e in es)
        parts = [oracle.edge_grad[e] for e in es if oracle.edge_grad[e] is not None]
        total = oracle.grad(src, out)      # what the engine summed
        assert torch.allclose(sum(parts), total, rtol=1e-6, atol=1e-30), f"{name} {entry['node']}"
        cells += check(entry["sum"], total, f"{name} fan-out sum at {entry['node']}", kernels=src in leaf)
    for item in trace["leaves"]:
        p = oracle.leaves[item["name"]]
        cells += check(item["value"], p, f"{name} leaf {item['name']}", kernels=True)
        cells += check(item["grad"], p.grad, f"{name} leaf {item['name']} grad", kernels=True)
    for item in trace["inputs"]:
        cells += check(item["value"], oracle.named[item["name"]], f"{name} input {item['name']}")
    loss = oracle.output[(0, 0)]
    check(trace["loss"]["value"], loss, f"{name} loss", heat=False)
    assert cells > 0 or all(math.prod(n["value"]["shape"]) < 2 for n in graph if n["value"]), name


def test_the_gallery_has_fan_outs_to_check():
    """The fan-out checks above run on real fan-outs, of tensors too, not only of numbers."""
    sums = [entry["sum"] for name in ALL for entry in traced(name)[1]["fanout"]]
    assert len(sums) >= 5 and any(math.prod(s["shape"]) >= 2 and s.get("heat") for s in sums if s)


@pytest.mark.parametrize("name", ALL + [BIG], ids=ALL + ["mnist_mlp"])
def test_the_ops_views_glyphs_draw_those_cells(name):
    """What the ops view draws in each heatmap cell is the level of PyTorch's number there."""
    preset, trace, oracle = traced(name)
    preset = apply_overrides(preset, {"view": "ops"})
    scene = scene_of(trace, preset)
    leaf = {f"n{i}" for i, fn in enumerate(oracle.nodes) if type(fn).__name__ == "AccumulateGrad"}
    tensors = {}
    for i in range(len(oracle.nodes)):
        tensors[(f"n{i}", "lit")] = oracle.value.get(i)
        tensors[(f"n{i}", "grad")] = oracle.grad(i)
    for n, t in oracle.named.items():
        tensors[(f"c:{n}", "lit")] = t
    drawn = 0
    for node in scene["nodes"]:
        for panel in node.get("glyphs") or []:
            t = tensors[(node["id"], panel["track"])]
            image = panel["images"][0]
            cells = [c for c in image["cells"] if c != GAP]
            heat = preview(t, kernels=node["id"] in leaf)
            rows, cols, channels = heat["rows"], heat["cols"], heat["channels"]
            want = [heat["values"][(ch * rows + r) * cols + c]   # the channels side by side, row by row
                    for r in range(rows) for ch in range(channels) for c in range(cols)]
            levels, _ = glyph_levels(want, image["map"] == "signed")
            assert cells == levels, (name, node["id"], panel["track"])
            # the player's tooltip of each cell: its number is PyTorch's, as the painters format it
            mine = "grad" if panel["track"] == "grad" else "value"
            pooled = "max |x| " if heat["pool"] != [1, 1] else ""
            tips = [tip.split(": ", 1)[1].split(",")[0] for tip in image.get("tips") or [] if tip]
            assert tips == [] or len(tips) == len(want), (name, node["id"])
            for tip, v in zip(tips, want):
                head = f"{mine} {pooled}"
                assert tip.startswith(head) and shows(tip[len(head):], v), (name, node["id"], tip, v)
            drawn += 1
    if "train" in trace:
        return   # a training scene draws no heatmap of step 1's numbers (test_heatmaps)
    assert drawn or all(math.prod(n["value"]["shape"] or [1]) < 2 for n in trace["nodes"] if n["value"]), name


# --------------------------------------------------------------------------- the budget

class Twice(nn.Module):
    """One square layer used twice, so its weight's gradient is a fan-out of two edges."""

    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return self.fc(torch.tanh(self.fc(x)))


@pytest.mark.parametrize("width", [16, 20])   # a 16 x 16 weight is 256 numbers: within; 20 x 20 beyond
def test_the_budget_keeps_values_up_to_256_and_previews_beyond(width):
    torch.manual_seed(0)
    model, x, y = Twice(width), torch.randn(3, width), torch.randn(3, width)
    trace = bprender.animate(model=model, inputs=x, target=y, loss="mse").trace
    torch.manual_seed(0)
    plain = Twice(width)
    plain.load_state_dict(model.state_dict())
    h = plain.fc(x)
    h.retain_grad()
    a = torch.tanh(h)
    out = plain.fc(a)
    F.mse_loss(out, y).backward()
    weight = next(n for n in trace["nodes"] if n.get("name") == "fc.weight")
    (entry,) = [f for f in trace["fanout"] if f["node"] == weight["id"]]
    edges = {e["id"]: e for e in trace["edges"]}
    sum_ = entry["sum"]
    assert MAX_VALUES == 256
    within = width * width <= MAX_VALUES
    for s in [weight["value"], weight["grad"], sum_] + [edges[e]["grad"] for e in entry["edges"]]:
        assert ("values" in s) == within and "heat" in s
    # the sum and the node's gradient: PyTorch's .grad, kept or previewed
    check(sum_, plain.fc.weight.grad, "fan-out sum", kernels=True)
    check(weight["grad"], plain.fc.weight.grad, "weight grad", kernels=True)
    check(weight["value"], plain.fc.weight, "weight", kernels=True)
    # each use's part: the first use (fc(x)) receives ∂L/∂h^T x, the second ∂L/∂out^T a
    parts = sorted((edges[e]["grad"] for e in entry["edges"]), key=lambda s: s["stats"]["norm"])
    want = sorted([h.grad.t() @ x, (2 / out.numel() * (out - y)).t() @ a.detach()], key=lambda t: t.norm().item())
    for s, t in zip(parts, want):
        check(s, t.detach(), "fan-out part", kernels=True)
    if not within:   # a preview, pooled: fewer cells than elements, each one a real element
        assert sum_["heat"]["pool"] != [1, 1] and len(sum_["heat"]["values"]) < width * width


def test_a_value_over_the_budget_is_previewed_not_kept():
    """257 numbers: stats and a pooled strip of PyTorch's elements, no values."""
    w = torch.linspace(-1, 1, 257).requires_grad_(True)
    x = torch.linspace(0, 2, 257)
    trace = bprender.animate(model=_Scale(w), inputs=x, target=torch.zeros(257), loss="mse").trace
    leaf = next(item for item in trace["leaves"] if item["name"] == "w")
    assert "values" not in leaf["value"] and "values" not in leaf["grad"]
    assert leaf["value"]["heat"]["layout"] == "strip" and leaf["value"]["heat"]["pool"] == [1, 9]
    check(leaf["value"], w, "w", kernels=True)
    F.mse_loss(w * x, torch.zeros(257)).backward()
    check(leaf["grad"], w.grad, "w grad", kernels=True)
    assert leaf["grad"]["stats"]["norm"] == pytest.approx(w.grad.norm().item(), rel=1e-6)


class _Scale(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w.detach().clone())

    def forward(self, x):
        return self.w * x
