"""The chain rule made visible in the caption band, against PyTorch: at a Linear's backward step
the band's heatmaps are δ (the gradient arriving at the layer's output, as a column), a⊤ (its
input, as a row) and ∂L/∂W, recomputed here with plain PyTorch, pooled as heat.py pools
(tests/test_heatmaps.py's loop-by-loop pooling) and turned into levels as the node glyphs' are;
unpooled (batch 1) δ·a⊤ is ∂L/∂W cell by cell. The conv's step shows its input, δ and its kernels' gradient, the
attention block's A and ∂L/∂A; each factor appears with the formula's term of its kind, and a
gradient is named as the caption beside it names it (∂L/∂W¹)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import bprender
from bprender.lecture import EVENT_SETTLE
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.tracks import value_at
from test_heatmaps import channels_of, levels, pooled

PRESETS = Path(__file__).resolve().parent.parent / "bprender" / "presets"


def built(name: str) -> dict:
    spec = importlib.util.spec_from_file_location(f"preset_{name}", PRESETS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build()


def role(label: str) -> str:
    """A term's label without its notes and its parameter's layer mark: "∂L/∂W² · pooled 1×2"
    and "∂L/∂W_O" -> "∂L/∂W" (the label names the gradient as the caption does)."""
    return re.sub(r"(_\w+|[⁰¹²³⁴⁵⁶⁷⁸⁹]+)$", "", label.split(" · ")[0])


def heat_items(scene: dict, label: str) -> list[dict]:
    """The caption items whose heatmaps have a term whose role (see role()) is `label`."""
    return [item for item in scene["captions"]["items"]
            if any(role(t["label"]["text"]) == label for t in item.get("heatmaps", {}).get("terms", []))]


def terms_of(item: dict) -> dict:
    return {role(t["label"]["text"]): t for t in item["heatmaps"]["terms"]}


def grid(term: dict) -> list[list[int]]:
    image = term["image"]
    return [image["cells"][r * image["cols"]:(r + 1) * image["cols"]] for r in range(image["rows"])]


def as_glyph(term: dict) -> dict:
    """A term in the shape test_heatmaps.channels_of reads (an image and its channels' frames)."""
    return {"images": [term["image"]], "frames": term["frames"]}


# --- a small Linear model, batch 1: nothing pooled ------------------------------------------

@pytest.fixture(scope="module")
def small_linear():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    x = torch.randn(1, 4)
    y = torch.randn(1, 2)
    first = model[0]
    z = first(x)
    z.retain_grad()
    nn.functional.mse_loss(model[2](model[1](z)), y).backward()
    ref = {"delta": z.grad.detach()[0].tolist(), "a": x[0].tolist(), "w_grad": first.weight.grad.detach().tolist()}
    model.zero_grad()
    anim = bprender.animate(model=model, inputs=x, target=y, loss="mse")
    return anim.scene(), ref


def test_a_linear_step_shows_pytorchs_delta_input_and_weight_gradient(small_linear):
    scene, ref = small_linear
    items = [item for item in heat_items(scene, "∂L/∂W") if terms_of(item)["∂L/∂W"]["image"]["cols"] == 4]
    assert items, "the first Linear's backward step has no heatmaps"
    terms = terms_of(items[0])
    assert list(terms) == ["δ", "a⊤", "∂L/∂W"]
    assert [op["text"] for op in items[0]["heatmaps"]["operators"]] == ["·", "="]
    assert grid(terms["δ"]) == [[row[0]] for row in levels([[[v] for v in ref["delta"]]], signed=True)[0]]
    assert grid(terms["a⊤"]) == levels([[ref["a"]]], signed=True)[0]
    assert grid(terms["∂L/∂W"]) == levels([ref["w_grad"]], signed=True)[0]
    assert all(" · pooled" not in t["label"]["text"] for t in terms.values())
    assert terms["δ"]["image"]["map"] == terms["∂L/∂W"]["image"]["map"] == "signed"


def test_unpooled_delta_times_a_transposed_is_the_weight_gradient(small_linear):
    """Column times row, on the band's own levels: level(∂L/∂W)[i][j] = level(δ)[i]·level(a⊤)[j] / 100
    (each heatmap is normalised to its own largest magnitude, and max|δᵢaⱼ| = max|δ|·max|a|), up to
    the rounding of the levels; and the shapes line up: δ's column is as tall as ∂L/∂W, a⊤'s row as
    wide, drawn with one cell size."""
    scene, _ = small_linear
    checked = 0
    for item in heat_items(scene, "∂L/∂W"):
        terms = terms_of(item)
        delta, a, w = grid(terms["δ"]), grid(terms["a⊤"]), grid(terms["∂L/∂W"])
        assert len(a) == 1 and all(len(row) == 1 for row in delta)
        assert (len(w), len(w[0])) == (len(delta), len(a[0]))
        for i, (d,) in enumerate(delta):
            for j, x in enumerate(a[0]):
                assert abs(d * x / 100 - w[i][j]) <= 1.5, (i, j, d, x, w[i][j])
        images = [terms[k]["image"] for k in ("δ", "a⊤", "∂L/∂W")]
        assert images[0]["h"] == images[2]["h"] and images[1]["w"] == images[2]["w"]
        checked += 1
    assert checked == 2   # both layers


def test_the_factors_appear_with_the_formulas_terms_and_fade_with_the_caption(small_linear):
    scene, _ = small_linear
    item = heat_items(scene, "∂L/∂W")[0]
    terms = terms_of(item)
    start = item["track"][0][0] if item["track"][0][1] > 0 else item["track"][1][0]
    appear = {name: next(k[0] for k in t["track"] if k[1] > 0) for name, t in terms.items()}
    assert appear["δ"] <= appear["a⊤"] < appear["∂L/∂W"]          # upstream, local, result
    settle = start + EVENT_SETTLE
    assert all(value_at(t["track"], settle) == 1.0 for t in terms.values())
    end = item["track"][-1][0]
    assert value_at(item["track"], end + 0.01) == 0.0                 # gone with its caption


# --- the gallery's cnn: a pooled weight gradient, and the conv --------------------------------

@pytest.fixture(scope="module")
def cnn():
    spec = built("cnn")
    model, x, target = spec["model"], spec["inputs"], spec["target"]
    conv, fc = model.conv, model.fc
    act = conv(x)
    act.retain_grad()
    flat = model.flatten(model.pool(model.relu(act)))
    flat.retain_grad()
    logits = fc(flat)
    logits.retain_grad()
    nn.functional.cross_entropy(logits, target).backward()
    ref = {"x": x.detach(), "act_grad": act.grad.detach(), "conv_w_grad": conv.weight.grad.detach(),
           "flat": flat.detach(), "delta": logits.grad.detach(), "fc_w_grad": fc.weight.grad.detach()}
    preset = open_preset("cnn")
    return scene_of(trace_of(preset), preset), ref


def test_a_pooled_weight_gradient_says_so_and_is_pytorchs_pooled(cnn):
    scene, ref = cnn
    (item, *_) = heat_items(scene, "∂L/∂W")
    terms = terms_of(item)
    w = terms["∂L/∂W"]
    assert w["label"]["text"] == "∂L/∂W² · pooled 1×2"             # 2 x 18 -> 2 x 9, as the node glyph
    assert grid(w) == levels([pooled(ref["fc_w_grad"].tolist(), (1, 2))], signed=True)[0]
    assert grid(terms["δ"]) == [[v] for v in levels([[ref["delta"][0].tolist()]], signed=True)[0][0]]
    assert grid(terms["a⊤"]) == levels([[ref["flat"][0].tolist()]], signed=False)[0]
    assert terms["a⊤"]["image"]["map"] == "positive"               # after a ReLU: no negatives


def test_a_conv_step_shows_its_input_delta_and_kernel_gradient(cnn):
    scene, ref = cnn
    (item,) = [i for i in heat_items(scene, "a") if [op["text"] for op in i["heatmaps"]["operators"]] == ["⋆", "="]]
    terms = terms_of(item)
    assert list(terms) == ["a", "δ", "∂L/∂W"]
    assert channels_of(as_glyph(terms["a"])) == levels([ref["x"][0, 0].tolist()], signed=False)
    assert channels_of(as_glyph(terms["δ"])) == levels([ref["act_grad"][0, c].tolist() for c in range(2)], signed=True)
    assert channels_of(as_glyph(terms["∂L/∂W"])) == levels([ref["conv_w_grad"][f, 0].tolist() for f in range(2)],
                                                           signed=True)


# --- the gallery's attention block --------------------------------------------------------------

def test_the_attention_step_shows_pytorchs_weights_and_their_gradient():
    spec = built("attention")
    model, x, target = spec["model"], spec["inputs"], spec["target"]
    attn = model.attn
    q, k, v = attn.q(x), attn.k(x), attn.v(x)
    weights = torch.softmax((q @ k.transpose(-2, -1)) * attn.scale, dim=-1)
    weights.retain_grad()
    y = model.head(model.norm(x + attn.out(weights @ v)))
    nn.functional.mse_loss(y, target).backward()
    preset = open_preset("attention")
    scene = scene_of(trace_of(preset), preset)
    (item, *_) = heat_items(scene, "∂L/∂A")
    terms = terms_of(item)
    assert list(terms) == ["A", "∂L/∂A"]
    assert grid(terms["A"]) == levels([weights.detach().tolist()], signed=False)[0]
    assert terms["A"]["image"]["map"] == "positive"
    assert grid(terms["∂L/∂A"]) == levels([weights.grad.tolist()], signed=True)[0]
    assert "matmul·softmax·matmul" in " ".join(item["lines"])   # at the attention block's own step


def test_the_caption_text_beside_the_heatmaps_keeps_clear_of_them(cnn):
    """The lines are fitted to the width left of the heatmaps: measured with the scene's font,
    every line ends before the first heatmap or label begins."""
    from bprender.canvas import FontBook
    scene, _ = cnn
    fonts = FontBook()
    captions = scene["captions"]
    for item in (i for i in captions["items"] if "heatmaps" in i):
        left = min(min(t["image"]["x"], t["label"]["x"] - t["label"]["w"] / 2) for t in item["heatmaps"]["terms"])
        for line in item["lines"]:
            assert captions["x"] + captions["pad"] + fonts.measure(line, captions["font"]) < left, line


def test_a_weight_used_twice_shows_each_uses_own_term():
    """shared_layer's fc runs twice: each Linear step shows its own δ·a⊤ (what PyTorch's autograd
    sends to that use's Wᵀ), labelled as one of two uses, not the .grad that sums both."""
    spec = built("shared_layer")
    model, x, target = spec["model"], spec["inputs"], spec["target"]
    fc = model.fc
    z1 = fc(x)
    z1.retain_grad()
    h = torch.tanh(z1)
    z2 = fc(h)
    z2.retain_grad()
    nn.functional.mse_loss(z2, target).backward()
    uses = [torch.outer(z1.grad[0], x[0]), torch.outer(z2.grad[0], h[0].detach())]
    assert torch.allclose(uses[0] + uses[1], fc.weight.grad)   # the engine's sum, which the leaf shows
    preset = open_preset("shared_layer")
    scene = scene_of(trace_of(preset), preset)
    shown = []
    for item in heat_items(scene, "∂L/∂W"):
        w = terms_of(item)["∂L/∂W"]
        assert w["label"]["text"] == "∂L/∂W · one of 2 uses"
        if grid(w) not in shown:
            shown.append(grid(w))
    expected = [levels([u.detach().tolist()], signed=True)[0] for u in uses]
    assert sorted(shown) == sorted(expected)


def test_a_gradients_heatmap_is_named_as_the_caption_names_it(cnn):
    """The result heatmap's label is the parameter's name in the caption beside it (∂L/∂W¹ for
    the conv's kernel, not a letter of its own); a weight with no lecture symbol keeps ∂L/∂W."""
    scene, _ = cnn
    named = {}
    for item in (i for i in scene["captions"]["items"] if "heatmaps" in i):
        result = item["heatmaps"]["terms"][-1]["label"]["text"].split(" · ")[0]
        assert result in " ".join(item["lines"]), (result, item["lines"])
        named[item["heatmaps"]["operators"][0]["text"]] = result
    assert named == {"·": "∂L/∂W²", "⋆": "∂L/∂W¹"}
