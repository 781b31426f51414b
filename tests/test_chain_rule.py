"""Chain-rule captions of the ops view on every gallery preset: each backward step writes out
its op's local rule with the real numbers, fits the caption band, and does the arithmetic right."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
from fontTools.ttLib import TTFont

from bprender.canvas import FontBook
from bprender.chain_rule import RULES
from bprender.chain_rule.scalar import ELEMENTWISE
from bprender.chain_rule.symbols import op_kind
from bprender.fmt import num
from bprender.pipeline import open_preset, trace_of
from bprender.preset import preset_from_dict
from bprender.scene.regions import CAPTION_BASE_PX, CAPTION_LINES, regions_for
from bprender.scene.style import sizes_for
from bprender.scene.text import TextFitter
from bprender.views import make_view

PRESETS = ["linear", "mlp", "shared_layer", "deep_sigmoid", "deep_relu", "cnn", "attention",
           "micrograd", "micrograd_ops"]
FONTS = Path(__file__).resolve().parent.parent / "bprender" / "assets" / "fonts"
SIZES = sizes_for(1280, 720)
BAND = regions_for(1280, 720, SIZES).caption_text_w  # px of text in the caption band at 1280×720
FONT = SIZES.font(CAPTION_BASE_PX)
FITTER = TextFitter(FontBook())


def fitted(step) -> list[str]:
    """A step's caption as the scene stage fits it to the band (alternatives chosen); a step's
    rule is one page of the band."""
    pages = FITTER.pages(step.lines, FONT, BAND, CAPTION_LINES)
    assert len(pages) == 1, pages
    return pages[0]
GENERIC = re.compile(r"∂(?!L/)\S*/∂")  # "∂Addmm₁/∂fc.bias": a derivative named, not written out


@pytest.fixture(scope="module")
def views():
    out = {}
    for name in PRESETS:
        trace = trace_of(open_preset(name))
        out[name] = (trace, make_view(trace, "ops"))
    return out


def step_texts(view):
    return [(step, line) for step in view.steps for line in fitted(step)]


@pytest.mark.parametrize("name", PRESETS)
def test_every_step_has_one_to_three_lines_that_fit_the_band(views, name):
    fonts = FontBook()
    _, view = views[name]
    assert view.steps
    for step in view.steps:
        lines = fitted(step)
        assert 1 <= len(lines) <= 3, lines
        for line in lines:
            assert line and "\n" not in line
            assert fonts.measure(line, FONT) <= BAND, line


def test_every_character_is_in_the_bundled_fonts(views):
    chars = {c for _, view in views.values() for _, line in step_texts(view) for c in line}
    for font in ("bprender-sans.ttf", "bprender-sans-bold.ttf"):
        cmap = TTFont(FONTS / font).getBestCmap()
        missing = sorted(c for c in chars if ord(c) not in cmap)
        assert not missing, (font, missing)


@pytest.mark.parametrize("name", PRESETS)
def test_every_op_kind_has_its_own_rule(views, name):
    trace, view = views[name]
    kinds = {n["label"] for n in trace["nodes"] if n["kind"] != "leaf"}
    shown = {op_kind(view.node(s.nodes[0])) for s in view.steps if view.node(s.nodes[0]).kind != "leaf"}
    for kind in shown:
        assert kind in RULES or kind in ELEMENTWISE, kind
    assert shown <= kinds
    for step, line in step_texts(view):
        assert not GENERIC.search(line), line
        assert "the other factor" not in line, line
        if view.node(step.nodes[0]).kind != "leaf" and "backward starts" not in line and "gradients add" not in line:
            assert re.search(r"\d", line), line  # every rule comes with numbers


def test_each_op_kind_of_the_gallery_is_covered(views):
    kinds = {op_kind(view.node(s.nodes[0])) for _, view in views.values() for s in view.steps
             if view.node(s.nodes[0]).kind != "leaf"}
    assert {"Addmm", "Sigmoid", "Relu", "Tanh", "MseLoss", "NllLoss", "LogSoftmax", "Convolution",
            "MaxPool2DWithIndices", "NativeLayerNorm", "Softmax", "Mm", "Mul", "Add", "Pow", "Sub"} <= kinds


def test_linear_captions_use_the_step_names(views):
    """linear.yaml is written in steps (y_pred = w * x + b): the captions say y_pred where the
    one-expression form says w·x + b, with the same numbers."""
    _, view = views["linear"]
    assert [fitted(s) for s in view.steps] == [
        ["∂L/∂L = 1   (backward starts at the loss)",
         "∂L/∂(y_pred − y_true) = ∂L/∂L · 2·(y_pred − y_true) = 1 · −2 = −2"],
        ["∂L/∂y_pred = ∂L/∂(y_pred − y_true) · 1 = −2 · 1 = −2"],
        ["∂L/∂(w·x) = ∂L/∂y_pred · 1 = −2 · 1 = −2", "∂L/∂b = ∂L/∂y_pred · 1 = −2 · 1 = −2"],
        ["b.grad = −2   (accumulated into the leaf b)"],
        ["∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6"],
        ["w.grad = −6   (accumulated into the leaf w)"],
    ]
    assert [view.node(s.nodes[0]).label for s in view.steps] == ["loss", "Sub", "y_pred", "b", "Mul", "w"]


def test_one_expression_captions_stay_as_they_were():
    preset = preset_from_dict({"model": {"expression": "(w * x + b - y_true) ** 2", "params": {"w": 2.0, "b": 1.0},
                                         "inputs": {"x": 3.0, "y_true": 8.0}}})
    view = make_view(trace_of(preset), "ops")
    assert [fitted(s) for s in view.steps] == [
        ["∂L/∂L = 1   (backward starts at the loss)",
         "∂L/∂(w·x + b − y_true) = ∂L/∂L · 2·(w·x + b − y_true) = 1 · −2 = −2"],
        ["∂L/∂(w·x + b) = ∂L/∂(w·x + b − y_true) · 1 = −2 · 1 = −2"],
        ["∂L/∂(w·x) = ∂L/∂(w·x + b) · 1 = −2 · 1 = −2", "∂L/∂b = ∂L/∂(w·x + b) · 1 = −2 · 1 = −2"],
        ["b.grad = −2   (accumulated into the leaf b)"],
        ["∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6"],
        ["w.grad = −6   (accumulated into the leaf w)"],
    ]
    assert [view.node(s.nodes[0]).label for s in view.steps] == ["Pow", "Sub", "Add", "b", "Mul", "w"]


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


ARITHMETIC = re.compile(r"^[0-9.e−+·()/² \-\[\]>]+$")


def _evaluate(expr: str) -> float:
    py = (expr.replace("−", "-").replace("·", "*").replace("²", "**2")
          .replace("[", "(").replace("]", ")"))
    assert re.fullmatch(r"[0-9.e\-+*()/ >]+", py), expr
    return float(eval(py, {"__builtins__": {}}))  # noqa: S307 - digits and operators only


@pytest.mark.parametrize("name", PRESETS)
def test_worked_examples_add_up(views, name):
    """Every fully written-out example (no "…") evaluates to the result it prints."""
    _, view = views[name]
    checked = 0
    for _, line in step_texts(view):
        parts = line.split(" = ")
        m = re.match(r"(−?[0-9.]+(?:e−?\d+)?)(?:\s|;|,|$)", parts[-1])
        expr = parts[-2].split(": ")[-1] if len(parts) > 2 else ""
        if not m or "…" in expr or not ARITHMETIC.match(expr):
            continue
        result = _number(m.group(1))
        value = _evaluate(expr)
        products = [abs(_evaluate(t)) for t in re.split(r" [+−] (?![^(]*\))", expr.strip("()")) if t.strip()] \
            if "(" not in expr else [abs(value)]
        scale = max([abs(result), abs(value)] + products)
        assert math.isclose(value, result, rel_tol=3e-3, abs_tol=3e-3 * scale + 1e-12), line
        checked += 1
    assert checked >= 2, name


def test_addmm_weight_element_is_the_pytorch_gradient(views):
    """mlp: the weight element each Addmm step works out is the .grad element PyTorch computes."""
    from bprender.presets.mlp import build
    built = build()
    model = built["model"]
    loss = torch.nn.functional.mse_loss(model(built["inputs"]), built["target"])
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    _, view = views["mlp"]
    seen = 0
    for _, line in step_texts(view):
        m = re.match(r"∂L/∂(\d\.weight)\[(\d+),(\d+)\] = .* = (\S+)$", line)
        if m:
            weight, i, j, printed = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
            assert printed == num(grads[weight][i, j].item()), line
            # the factors: ∂L/∂z of the layer times the layer's input
            seen += 1
    assert seen == 2


def test_softmax_minus_onehot_is_pytorch_softmax(views):
    trace, view = views["cnn"]
    step = next(s for s in view.steps if s.label == "LogSoftmax")
    line = fitted(step)[0]
    assert "softmax(Addmm) − onehot(target)" in line
    logits = torch.tensor(next(n for n in trace["nodes"] if n["label"] == "Addmm")["value"]["values"])
    probs = torch.softmax(logits, dim=0)
    m = re.search(r"e\.g\. \[0,(\d)\]: (\S+) − ([01]) = (\S+)$", line)
    assert m, line
    k = int(m.group(1))
    assert m.group(2) == num(probs[k].item())
    target = int(trace["nodes"][0]["inputs"][1]["value"]["values"][0])
    assert m.group(3) == ("1" if k == target else "0")
    assert _number(m.group(4)) == pytest.approx(probs[k].item() - (k == target), abs=1e-3)


def test_tensor_ops_with_too_many_values_fall_back_to_norms(views):
    _, view = views["cnn"]
    lines = {s.label: fitted(s) for s in view.steps}
    conv = " ".join(lines["Convolution"])
    assert "Σ over the 36 output positions of ∂L/∂Convolution · input patch" in conv
    assert "‖∂L/∂conv.weight‖ = " in conv
    pool = " ".join(lines["MaxPool2DWithIndices"])
    assert "max of each 2×2 window" in pool and "the other 3" in pool
    # the ReLU's 72 numbers are within the trace's budget (256): it shows a real element
    relu = lines["Relu"][0]
    assert "[Convolution > 0]" in relu and re.search(r"e\.g\. \[\d,\d,\d,\d\]: \S+ · \[\S+ > 0\] = ", relu), relu


def test_rules_read_like_the_math(views):
    text = {name: "\n".join(line for _, line in step_texts(view)) for name, (_, view) in views.items()}
    assert "2(σ(Addmm₁) − target)/n = 2 · (" in text["mlp"]
    assert "σ(Addmm₂)(1 − σ(Addmm₂)), e.g. [0,1]: " in text["mlp"]
    assert "∂L/∂0.weight[1,0] = ∂L/∂Addmm₂[0,1] · input[0,0]" in text["mlp"]
    assert "Σₙ ∂L/∂Addmm₁[n,0] · σ(Addmm₂)[n," in text["deep_sigmoid"]
    assert "· [Addmm₂ > 0], e.g. " in text["deep_relu"]
    assert "(1 − tanh²(Addmm₂)), e.g. " in text["shared_layer"]
    assert "used 2 times: the tensors add, element by element" in text["shared_layer"]
    assert "−onehot(target)" in text["cnn"]
    assert "(h − mean h − z·mean(hz))/σ" in text["attention"]
    assert "s·(g − Σₖ sₖgₖ)" in text["attention"]
    assert "∂L/∂Mm₂ = ∂L/∂(Mm₂·0.5) · 0.5, e.g. " in text["attention"]


def test_lecture_captions_read_like_the_textbook(views):
    """The same rules in lecture notation: a layer's z and a, its W and b, the input x."""
    from bprender.notation import Notation
    text = {}
    for name in ("mlp", "deep_relu", "cnn"):
        trace, _ = views[name]
        graph = make_view(trace, "ops", names=Notation(trace))
        text[name] = "\n".join(line for step in graph.steps for line in fitted(step))
    assert "∂L/∂a² = 2(a² − target)/n = 2 · (" in text["mlp"]
    assert "∂L/∂z² = ∂L/∂a² · σ(z²)(1 − σ(z²)) = " in text["mlp"]
    assert "∂L/∂W²[0,0] = ∂L/∂z² · a¹[0,0] = " in text["mlp"]
    assert "∂L/∂W⁸[0,0] = Σₙ ∂L/∂z⁸[n,0] · a⁷[n,0] = " in text["deep_relu"]
    assert "[z⁷ > 0]" in text["deep_relu"]
    assert "∂L/∂W¹" in text["cnn"] and "max of each 2×2 window" in text["cnn"]
    for body in text.values():
        assert not re.search(r"Addmm|Convolution|\b\d+\.(weight|bias)\b", body), body
