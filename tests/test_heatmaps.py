"""Heatmap glyphs against PyTorch: a small conv net traced through the Python API, its feature
maps, conv kernels and a 2-d weight recomputed here with plain PyTorch and pooled by a
loop-by-loop max-|x| pooling written for this test; the scene's glyph cells must be those
numbers' levels (sign and normalisation), pooled as said ("pooled 3×3", "+ 2 more"), with
NaN cells marked."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import bprender
from bprender.canvas import RecordingCanvas2D
from bprender.fmt import num
from bprender.paint import heat_rgba, paint_frame
from bprender.scene.glyphs import GAP, LEVELS, NONFINITE


def build_model():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 6, 3)
    head = nn.Linear(6 * 28 * 28, 3)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head)
    x = torch.randn(1, 1, 30, 30)
    y = torch.randn(1, 3)
    return model, x, y


def reference(model, x, y):
    """The conv output, the gradient arriving at it, and the weights' gradients, by PyTorch."""
    conv = model[0]
    act = conv(x)
    act.retain_grad()
    pred = model[3](model[2](model[1](act)))
    nn.functional.mse_loss(pred, y).backward()
    out = {"act": act.detach(), "act_grad": act.grad.detach(), "conv_w": conv.weight.detach(),
           "conv_w_grad": conv.weight.grad.detach(), "head_w": model[3].weight.detach()}
    model.zero_grad()
    return out


def pooled(image: list[list[float]], window: tuple[int, int]) -> list[list[float]]:
    """Max-|x| pooling, written out: each window's element of largest magnitude (the first of
    equals), NaN if the window holds one."""
    rows, cols = len(image), len(image[0])
    out = []
    for r0 in range(0, rows, window[0]):
        line = []
        for c0 in range(0, cols, window[1]):
            cells = [image[r][c] for r in range(r0, min(r0 + window[0], rows))
                     for c in range(c0, min(c0 + window[1], cols))]
            if any(math.isnan(v) for v in cells):
                line.append(math.nan)
            else:
                best = cells[0]
                for v in cells[1:]:
                    if abs(v) > abs(best):
                        best = v
                line.append(best)
        out.append(line)
    return out


def levels(images: list[list[list[float]]], signed: bool) -> list[list[list[int]]]:
    top = max(abs(v) for im in images for row in im for v in row if math.isfinite(v))
    return [[[NONFINITE if not math.isfinite(v) else round(LEVELS * v / top) for v in row] for row in im]
            for im in images]


def channels_of(glyph: dict) -> list[list[list[int]]]:
    """The glyph's heatmap image split back into its channels (a GAP column between two)."""
    image = glyph["images"][0]
    frames = glyph["frames"]
    cols = (image["cols"] - (len(frames) - 1)) // len(frames)
    rows = [image["cells"][r * image["cols"]:(r + 1) * image["cols"]] for r in range(image["rows"])]
    for row in rows:
        assert all(row[c * (cols + 1) - 1] == GAP for c in range(1, len(frames)))
    return [[row[c * (cols + 1):c * (cols + 1) + cols] for row in rows] for c in range(len(frames))]


@pytest.fixture(scope="module")
def traced():
    model, x, y = build_model()
    ref = reference(model, x, y)
    anim = bprender.animate(model=model, inputs=x, target=y, loss="mse")
    return anim.trace, anim.scene(), ref


def node_by(trace, scene, op: str):
    tnode = next(n for n in trace["nodes"] if n["op"] == op)
    return tnode, next(n for n in scene["nodes"] if n["id"] == tnode["id"])


def leaf_node(trace, scene, name: str):
    tnode = next(n for n in trace["nodes"] if n.get("name") == name)
    return tnode, next(n for n in scene["nodes"] if n["id"] == tnode["id"])


def test_conv_feature_maps_are_pytorchs_pooled(traced):
    trace, scene, ref = traced
    tnode, node = node_by(trace, scene, "ConvolutionBackward0")
    heat = tnode["value"]["heat"]
    assert (heat["layout"], heat["channels"], heat["more"], heat["pool"]) == ("channels", 4, 2, [3, 3])
    value_glyph, grad_glyph = node["glyphs"]
    assert (value_glyph["track"], grad_glyph["track"]) == ("lit", "grad")
    for glyph, tensor, summary in ((value_glyph, ref["act"], tnode["value"]), (grad_glyph, ref["act_grad"], tnode["grad"])):
        expected = [pooled(tensor[0, c].tolist(), (3, 3)) for c in range(4)]  # 28x28 -> 10x10
        assert len(expected[0]) == 10 and len(expected[0][0]) == 10
        flat = [v for im in expected for row in im for v in row]
        got = summary["heat"]["values"]
        assert len(got) == len(flat)
        for a, b in zip(got, flat):
            assert abs(a - b) <= 1e-6 * max(1.0, abs(b))
        assert channels_of(glyph) == levels(expected, signed=True)
        assert glyph["images"][0]["map"] == "signed"
        assert "pooled 3×3" in glyph["text"]["text"] and "+ 2 more" in glyph["text"]["text"]


def test_conv_kernels_are_drawn_filter_by_filter(traced):
    trace, scene, ref = traced
    tnode, node = leaf_node(trace, scene, "0.weight")
    value_glyph, grad_glyph = node["glyphs"]
    for glyph, tensor in ((value_glyph, ref["conv_w"]), (grad_glyph, ref["conv_w_grad"])):
        kernels = [tensor[f, 0].tolist() for f in range(4)]  # 3x3 each: not pooled
        assert channels_of(glyph) == levels(kernels, signed=True)
        assert "pooled" not in glyph["text"]["text"] and "+ 2 more" in glyph["text"]["text"]


def test_a_wide_weight_is_an_out_by_in_grid(traced):
    trace, scene, ref = traced
    tnode, node = leaf_node(trace, scene, "3.weight")
    heat = tnode["value"]["heat"]
    assert (heat["layout"], heat["rows"], heat["pool"]) == ("grid", 3, [1, 294])  # 3 x 4704 -> 3 x 16
    expected = pooled(ref["head_w"].tolist(), (1, 294))
    assert channels_of(node["glyphs"][0]) == levels([expected], signed=True)


def test_a_non_negative_value_takes_the_sequential_map(traced):
    trace, scene, ref = traced
    _, node = node_by(trace, scene, "ReluBackward0")
    value_glyph, grad_glyph = node["glyphs"]
    assert value_glyph["images"][0]["map"] == "positive" and grad_glyph["images"][0]["map"] == "signed"
    cells = [c for c in value_glyph["images"][0]["cells"] if c != GAP]
    assert min(cells) == 0 and max(cells) == LEVELS
    assert value_glyph["text"]["text"].startswith("0 … ")


def test_nan_cells_are_marked_and_drawn_in_the_nan_colour():
    model, x, y = build_model()
    x[0, 0, 7, 4] = math.nan  # pooled 3x3: cell (2, 1) of the input's image
    scene = bprender.animate(model=model, inputs=x, target=y, loss="mse").scene()
    node = next(n for n in scene["nodes"] if n["kind"] == "const" and n.get("glyphs")
                and n["glyphs"][0]["images"][0]["rows"] == 10)
    image = node["glyphs"][0]["images"][0]
    marked = [i for i, c in enumerate(image["cells"]) if c == NONFINITE]
    assert marked == [2 * image["cols"] + 1]
    assert any(e["color"] == "nonfinite" for e in scene["header"]["legend"])
    for theme, colors in scene["palettes"].items():
        rgba = heat_rgba(image["cells"], image["map"] == "signed", colors)
        bad = colors["nonfinite"]
        assert bytes(rgba[4 * marked[0]:4 * marked[0] + 3]) == bytes.fromhex(bad[1:]), theme
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, scene["duration"] * 0.5)  # draws, does not raise
    assert ctx.ops


def test_signed_colours_are_the_themes_sign_colours():
    cells = [LEVELS, -LEVELS, 0, GAP]
    for theme, colors in bprender.scene.themes.palettes().items():
        rgba = heat_rgba(cells, True, colors)
        assert bytes(rgba[0:3]) == bytes.fromhex(colors["positive"][1:]), theme
        assert bytes(rgba[4:7]) == bytes.fromhex(colors["negative"][1:]), theme
        assert bytes(rgba[8:11]) == bytes.fromhex(colors["heat_mid"][1:]), theme
        assert rgba[15] == 0  # the gap between two channels is transparent
        assert bytes(heat_rgba([LEVELS], False, colors)[0:3]) == bytes.fromhex(colors["heat_seq"][1:])


def test_glyphs_are_hidden_like_text_when_their_cells_are_too_small(traced):
    """Under the camera's overview a glyph whose cells would be under a quarter of the type
    floor is not drawn; at the made size it is."""
    _, scene, _ = traced
    camera = scene["camera"]
    glyph = next(g for n in scene["nodes"] for g in n.get("glyphs", []))
    node = next(n for n in scene["nodes"] if glyph in n.get("glyphs", []))

    def images_at(zoom):
        ctx = RecordingCanvas2D()
        box = glyph["box"]
        view = {"camera": {"x": box[0] + box[2] / 2, "y": box[1] + box[3] / 2, "zoom": zoom}}
        paint_frame(ctx, scene, scene["duration"], view)
        return [op for op in ctx.ops if op[0] == "drawImage" and op[2] == glyph["images"][0]["x"]]
    assert images_at(1.0), "a glyph at its made size is drawn"
    too_small = camera["floor"] / glyph["px"] * 0.9
    assert not images_at(too_small)
    assert node["h"] >= glyph["box"][3]  # the box grew to hold it


def test_a_training_scene_draws_no_stale_heatmap(monkeypatch):
    """The trace keeps each tensor's heatmap of step 1 only: a box whose numbers change with
    each step draws none. A small graph has every step captured (every box's numbers change):
    no glyph at all; a bigger one's ops keep step 1's numbers, dimmed, and their glyphs."""
    scene = bprender.animate("training").scene()
    assert not any(n.get("glyphs") for n in scene["nodes"])
    from bprender.trace import train
    monkeypatch.setattr(train, "FULL_STEP_NODES", 0)
    scene = bprender.animate("training").scene()
    kinds = {n["kind"] for n in scene["nodes"] if n.get("glyphs")}
    assert "op" in kinds and "leaf" not in kinds


def test_a_saved_trace_reads_its_nan_cells_back_as_numbers(tmp_path):
    from bprender.documents import read_source_file
    from bprender.jsonio import dumps
    model, x, y = build_model()
    x[0, 0, 7, 4] = math.nan
    trace = bprender.animate(model=model, inputs=x, target=y, loss="mse").trace
    path = tmp_path / "nan.trace.json"
    path.write_text(dumps(trace), encoding="utf-8")
    assert '"NaN"' in path.read_text(encoding="utf-8")  # strict JSON spells it as a string
    kind, read = read_source_file(path)
    assert kind == "trace"
    heat = next(i["value"]["heat"] for i in read["inputs"] if i["value"].get("heat"))
    assert all(isinstance(v, float) for v in heat["values"]) and sum(math.isnan(v) for v in heat["values"]) == 1


def test_a_pooled_cell_tip_names_its_window(traced):
    """The player's tooltip for a cell of a pooled feature map: its window (the last one cut at
    the image's edge, 28 = 9 x 3 + 1) and its max-|x| number."""
    trace, scene, ref = traced
    _, node = node_by(trace, scene, "ConvolutionBackward0")
    image = node["glyphs"][0]["images"][0]
    per_row = image["cols"]
    first = image["tips"][0]
    expected = pooled(ref["act"][0, 0].tolist(), (3, 3))
    assert first.startswith("channel 0 [0…2, 0…2]: value max |x| ") and first.endswith(num(expected[0][0]))
    last = image["tips"][9 * per_row + 9]  # channel 0, its bottom right cell
    assert last.startswith("channel 0 [27, 27]: value max |x| ") and last.endswith(num(expected[9][9]))
    assert image["tips"][10] == ""  # the gap column before channel 1
    assert ", grad" not in first  # a pooled value's window is not its gradient's


def _attention_reference():
    """The attention preset's weights A = softmax(q·kᵀ/√d) and ∂L/∂A, by plain PyTorch."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("attention_preset", Path(bprender.__file__).parent / "presets" / "attention.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    model, x = built["model"], built["inputs"]
    attn = model.attn
    q, k, v = attn.q(x), attn.k(x), attn.v(x)
    weights = torch.softmax((q @ k.transpose(-2, -1)) * attn.scale, dim=-1)
    weights.retain_grad()
    pred = model.head(model.norm(x + attn.out(weights @ v)))
    nn.functional.mse_loss(pred, built["target"]).backward()
    return weights.detach(), weights.grad.detach()


@pytest.mark.parametrize("view,label", [("ops", "softmax"), ("modules", "attn")])
def test_the_attention_matrix_and_its_gradient_are_drawn_with_token_labels(view, label):
    from bprender.pipeline import Request, open_source, scene_for
    a, da = _attention_reference()
    scene = scene_for([open_source("attention", Request(view=view))])
    node = next(n for n in scene["nodes"] if n["info"]["label"] == label)
    glyphs = {g["text"]["text"].split(" ")[0]: g for g in node["glyphs"] if "labels" in g}
    assert set(glyphs) == {"A", "∂L/∂A"}, [g["text"]["text"] for g in node["glyphs"]]
    for name, ref, signed in (("A", a, False), ("∂L/∂A", da, True)):
        glyph = glyphs[name]
        assert channels_of(glyph) == levels([ref.tolist()], signed), name
        image = glyph["images"][0]
        top = sorted((lab for lab in glyph["labels"] if lab["y"] < image["y"]), key=lambda lab: lab["x"])
        left = sorted((lab for lab in glyph["labels"] if lab["x"] < image["x"]), key=lambda lab: lab["y"])
        assert [lab["text"] for lab in top] == [lab["text"] for lab in left] == ["t₁", "t₂", "t₃"]
        cell = image["w"] / image["cols"]
        for k, lab in enumerate(top):      # each key over its column, each query beside its row
            assert lab["x"] == pytest.approx(image["x"] + (k + 0.5) * cell, abs=0.03)
            assert left[k]["y"] - lab["px"] * 0.35 == pytest.approx(image["y"] + (k + 0.5) * cell, abs=0.03)


def test_a_square_softmax_that_is_not_attention_gets_no_token_labels():
    """A batch of 4 samples' softmax over 4 classes is square by chance: not q·kᵀ, no tokens."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Softmax(dim=-1))
    anim = bprender.animate(model=model, inputs=torch.randn(4, 4), target=torch.rand(4, 4), view="ops")
    glyphs = [g for n in anim.scene()["nodes"] for g in n.get("glyphs", [])]
    assert glyphs and not any("labels" in g for g in glyphs)
    assert not any(g["text"]["text"].startswith(("A ", "∂L/∂A")) for g in glyphs)


def test_both_painters_draw_the_token_labels():
    """The skia painter's op log has every label's fillText, in the glyph's line font."""
    from bprender.pipeline import Request, open_source, scene_for
    scene = scene_for([open_source("attention", Request(view="ops"))])
    node = next(n for n in scene["nodes"] if n["info"]["label"] == "softmax")
    box = node["glyphs"][0]["box"]
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, scene["duration"], {"camera": {"x": box[0] + box[2] / 2, "y": box[1] + box[3] / 2, "zoom": 1.0}})
    texts = [op[1] for op in ctx.ops if op[0] == "fillText"]
    for glyph in node["glyphs"]:
        for lab in glyph.get("labels", []):
            assert lab["text"] in texts
    assert sum(t in ("t₁", "t₂", "t₃") for t in texts) >= 12   # 2 glyphs x 3 tokens x 2 axes
