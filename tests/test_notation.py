"""Lecture notation (issue 12): layers counted, not indexed (W¹ … W⁸ for nn.Sequential modules
0, 2, …, 14), activations z¹/a¹, ops by meaning; `--names torch` gives PyTorch's own names back; a
preset's `names:` map renames anything and a name the model does not have is refused in one line
with a suggestion; a saved trace renders with either naming."""
from __future__ import annotations

import json
import re

import pytest

import bprender
from bprender.errors import BprenderError
from bprender.notation import Notation, residual_adds
from bprender.pipeline import Request, open_preset, open_source, scene_for, trace_of
from testkit import invoke, ok


@pytest.fixture(scope="module")
def traces():
    return {name: trace_of(open_preset(name)) for name in ("deep_sigmoid", "cnn", "attention", "shared_layer",
                                                          "training", "micrograd")}


def labels(scene: dict) -> list[str]:
    return [n["info"]["label"] for n in scene["nodes"]]


def shown_text(scene: dict) -> str:
    """Everything a viewer reads: boxes, tooltips, captions, events, groups, chart rows."""
    parts = [line["text"] for n in scene["nodes"] for line in n["lines"]]
    parts += [line for n in scene["nodes"] for line in n["info"]["lines"]]
    parts += [line for item in scene["captions"]["items"] for line in item["lines"]]
    parts += [e["label"] for e in scene["events"]] + scene["groups"] + [r["label"] for r in scene["chart"]["rows"]]
    return "\n".join(parts)


def test_layers_are_counted_in_forward_order(traces):
    trace = traces["deep_sigmoid"]
    names = Notation(trace)
    linear = [f"{i}.weight" for i in range(0, 16, 2)]
    assert [names.param(p) for p in linear] == ["W¹", "W²", "W³", "W⁴", "W⁵", "W⁶", "W⁷", "W⁸"]
    assert names.param("14.bias") == "b⁸"
    assert [names.layer(str(i)) for i in range(0, 16, 2)] == [f"layer {k}" for k in range(1, 9)]
    assert names.group("1") == "layer 1" and names.group("13") == "layer 7"  # σ after a layer: its group
    assert names.module("1") == "σ"
    torch_names = Notation(trace, "torch")
    assert torch_names.param("14.weight") == "14.weight" and torch_names.layer("14") == "14"


def test_named_models_keep_their_module_names_and_number_their_layers(traces):
    cnn = Notation(traces["cnn"])
    assert [cnn.param(p) for p in ("conv.weight", "conv.bias", "fc.weight", "fc.bias")] == ["W¹", "b¹", "W²", "b²"]
    assert cnn.layer("conv") == "conv" and cnn.layer("fc") == "fc"
    attention = Notation(traces["attention"])
    assert [attention.param(f"attn.{r}.weight") for r in ("q", "k", "v", "out")] == ["W_Q", "W_K", "W_V", "W_O"]
    assert (attention.param("norm.weight"), attention.param("norm.bias")) == ("γ", "β")
    assert attention.param("head.weight") == "W"   # the one numbered layer: no superscript
    shared = Notation(traces["shared_layer"])
    assert shared.param("fc.weight") == "W"        # one layer, called twice: its outputs are z¹, z²
    assert set(shared._symbols.values()) == {"a¹", "z¹", "z²"}


def test_the_residual_add_is_found_and_a_scalar_formula_is_not(traces):
    attention = traces["attention"]
    (add,) = residual_adds(attention)
    assert next(n for n in attention["nodes"] if n["id"] == add)["label"] == "Add"
    assert residual_adds(traces["micrograd"]) == set()   # z = 2x + 2 + x is arithmetic, not a block


def test_the_default_scene_speaks_lecture_and_torch_names_are_one_option_away(traces):
    lecture = scene_for([open_source("deep_sigmoid")])
    torch = scene_for([open_source("deep_sigmoid", Request(names="torch"))])
    assert lecture["groups"][1:9] == [f"layer {k}" for k in range(1, 9)]
    assert torch["groups"][1:9] == [str(i) for i in range(0, 16, 2)]
    text = shown_text(lecture)
    assert "W⁸" in text and "layer 8" in text and "δ⁸" in text
    assert not re.search(r"\b(14|12)\.(weight|bias)\b|layer 14", text)
    assert "14.weight" in shown_text(torch) and "layer 14" in shown_text(torch)
    assert [r["label"] for r in lecture["chart"]["rows"]][:2] == ["layer 1", "layer 2"]


def test_the_ops_view_names_ops_by_meaning(traces):
    cnn = scene_for([open_source("cnn", Request(view="ops"))])
    got = labels(cnn)
    assert {"z¹", "a¹", "z²", "max-pool", "W¹", "b¹", "W²", "b²", "x", "L"} <= set(got), got
    assert not {"Addmm", "MaxPool2DWithIndices", "Convolution", "conv.weight"} & set(got)
    z1 = next(n for n in cnn["nodes"] if n["info"]["label"] == "z¹")
    assert z1["lines"][1]["text"] == "W¹ ⋆ x + b¹" and z1["info"]["lines"][0] == "z¹ = W¹ ⋆ x + b¹"
    z2 = next(n for n in cnn["nodes"] if n["info"]["label"] == "z²")
    assert z2["lines"][1]["text"] == "W²(·) + b²"   # its input is a reshaped max-pool: no name to give
    torch_cnn = scene_for([open_source("cnn", Request(view="ops", names="torch"))])
    assert {"Addmm", "MaxPool2DWithIndices", "conv.weight"} <= set(labels(torch_cnn))
    attention = scene_for([open_source("attention")])   # modules view
    assert "+ residual" in labels(attention) and "model" not in labels(attention)


def test_captions_use_the_same_names_as_the_boxes():
    scene = scene_for([open_source("training")])
    captions = " ".join(line for item in scene["captions"]["items"] for line in item["lines"])
    assert "∂L/∂z²" in captions and "∂L/∂W¹" in captions and "Addmm" not in captions
    assert "b² ← b² − lr·∂L/∂b²" in captions   # the update is written in the lecture's names too
    assert "0.weight" not in captions and "2.bias" not in captions


def test_a_names_map_renames_anything(traces):
    preset = {"model": {"python": str(open_preset("mlp").base_dir / "mlp.py") + ":build", "seed": 0},
              "view": "neurons", "names": {"W1": "W_in", "layer 2": "output layer", "0.bias": "b_in"}}
    scene = bprender.animate(preset).scene()
    assert "output layer" in scene["groups"] and "layer 1" in scene["groups"]
    text = shown_text(scene)
    assert "W_in" in text and "b_in" in text and "W¹" not in text and "layer 2:" not in text


def test_an_unknown_name_is_refused_with_a_suggestion(traces):
    trace = traces["deep_sigmoid"]
    with pytest.raises(BprenderError) as err:
        Notation(trace, renames={"0.wieght": "W_in"})
    message = str(err.value)
    assert "names.0.wieght:" in message and "'0.wieght'" in message and "did you mean '0.weight'" in message
    assert "\n" not in message


def test_cli_unknown_name_is_one_line_and_exit_1(runner, tmp_path):
    path = tmp_path / "renamed.yaml"
    path.write_text("model:\n  python: %s:build\nview: neurons\nnames: {W9: first}\n"
                    % (open_preset("mlp").base_dir / "mlp.py"))
    result = invoke(runner, "frame", path, "--at", "end", "-o", tmp_path / "x.png")
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{path}:4: names.W9: nothing in this model is called 'W9'" in result.output   # its file and line
    assert re.search(r"did you mean 'W[¹²]'", result.output)   # the model's two weights are W¹ and W²
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_names_map_must_be_a_mapping_of_text(tmp_path):
    from bprender.errors import PresetError
    from bprender.preset import load_preset
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  expression: w * 2\n  params: {w: 1.0}\nnames: [W1]\n")
    with pytest.raises(PresetError, match="names.*mapping"):
        load_preset(bad)
    bad.write_text("model:\n  expression: w * 2\n  params: {w: 1.0}\nnames: {w: [1, 2]}\n")
    with pytest.raises(PresetError, match="as text"):
        load_preset(bad)


@pytest.mark.parametrize("command", ["frame", "scene", "html", "gif", "video", "sheet"])
def test_every_render_command_takes_names(runner, command):
    result = invoke(runner, command, "--help")
    ok(result)
    assert "--names [lecture|torch]" in result.output


def test_a_saved_trace_renders_with_either_naming(runner, tmp_path):
    trace_path = tmp_path / "mlp.trace.json"
    ok(invoke(runner, "trace", "mlp", "-o", trace_path))
    for names, expected, absent in (("lecture", "layer 2", "0.weight"), ("torch", "0.weight", "W¹")):
        out = tmp_path / f"{names}.scene.json"
        ok(invoke(runner, "scene", trace_path, "--names", names, "-o", out))
        scene = json.loads(out.read_text(encoding="utf-8"))
        assert expected in shown_text(scene) and absent not in shown_text(scene), names
    # the preset's own notation travels with the trace
    data = json.loads(trace_path.read_text(encoding="utf-8"))
    assert data["preset"]["notation"] == "lecture" and data["preset"]["names"] == {}
    # an older trace without the keys renders in lecture notation
    del data["preset"]["notation"], data["preset"]["names"]
    old = tmp_path / "old.trace.json"
    old.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "old.scene.json"
    ok(invoke(runner, "scene", old, "-o", out))
    assert "layer 2" in shown_text(json.loads(out.read_text(encoding="utf-8")))


def test_api_keyword():
    assert bprender.animate("mlp", names="torch").scene()["groups"][1:3] == ["0", "2"]
    assert bprender.animate("mlp").scene()["groups"][1:3] == ["layer 1", "layer 2"]


def test_a_saved_scene_refuses_names(runner, tmp_path):
    out = tmp_path / "s.scene.json"
    ok(invoke(runner, "scene", "linear", "-o", out))
    result = invoke(runner, "frame", out, "--names", "torch", "--at", "end", "-o", tmp_path / "x.png")
    assert result.exit_code == 1 and "--names cannot change it" in result.output


def test_only_the_models_own_stack_is_numbered():
    """Linear layers inside a block of their own are the block's, not "layer 3" of the model; a
    Linear in an nn.Sequential counts."""
    import torch
    from torch import nn
    from bprender.trace import trace_model

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(3, 3)

        def forward(self, x):
            return x + torch.tanh(self.inner(x))

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 3), nn.ReLU()), Block(), nn.Linear(3, 1))
    trace = trace_model(model, torch.randn(4, 2), torch.randn(4, 1), "mse")
    names = Notation(trace)
    assert [names.param(p) for p in ("0.weight", "1.0.weight", "3.weight", "3.bias")] == ["W¹", "W²", "W³", "b³"]
    assert names.param("2.inner.weight") == "2.inner.weight"
    assert [names.layer(p) for p in ("0", "3")] == ["layer 1", "layer 3"]
    assert names.param("2.inner.bias") == "2.inner.bias" and len(residual_adds(trace)) == 1


def test_highlight_takes_a_lecture_name_typed_plainly():
    from bprender.view import resolve_view
    scene = scene_for([open_source("mlp", Request(view="ops"))])
    w2 = next(n["id"] for n in scene["nodes"] if n["info"]["label"] == "W²")
    assert resolve_view(scene, highlight="W2")["highlight"] == w2
    assert resolve_view(scene, highlight="W²")["highlight"] == w2


def test_a_step_named_by_a_bare_symbol_says_its_word_in_the_menu():
    scene = scene_for([open_source("micrograd_ops")])
    steps = [e["label"] for e in scene["events"] if e["name"].startswith("backward:")]
    assert "step 2: × (multiply)" in steps and "step 3: 1/· (reciprocal)" in steps, steps
    assert "step 24: (·)³ (power)" in steps, steps
    assert "step 1: g₂" in steps   # a named step keeps its name
    for label in steps:            # no menu entry is a lone symbol
        assert re.search(r"[^\W\d_]", label.split(": ", 1)[1].replace("·", "")), label
