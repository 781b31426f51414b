"""The HTML page's folded groups (bprender/folds.py): the scenes with a group opened are the ones
`--expand NAME` renders, embedded in the page within a stated bound, their links map the time so
opening keeps the animation's place, and the page is the same bytes every time. (Clicking them
in the player: tests/test_player_folds.py.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import bprender
from bprender.cli import cli
from bprender.folds import MAX_VARIANTS, folds_note, page_folds
from bprender.jsonio import dumps_compact
from bprender.pipeline import open_source, page_for, scene_of, trace_for
from playerkit import SCENES_JSON
from testkit import ok

STACK = str(Path(__file__).parent / "data" / "stack.yaml")
GROUP = "1.0–3"   # the drawn path of the stack's 4 blocks


@pytest.fixture(scope="module")
def stack():
    source = open_source(STACK)
    trace = trace_for(source)
    scene = scene_of(trace, source.preset)
    return trace, source.preset, scene, page_folds(trace, source.preset, scene)


def _nested():
    """3 blocks, each of 3 identical (Linear, Tanh) blocks: a group inside a group."""
    torch.manual_seed(0)

    def inner():
        return nn.Sequential(*[nn.Sequential(nn.Linear(2, 2), nn.Tanh()) for _ in range(3)])
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(*[inner() for _ in range(3)]), nn.Linear(2, 1))
    return bprender.animate(model=model, inputs=torch.tensor([[0.5, -1.0]]), target=torch.tensor([[0.2]]),
                            view="modules")


@pytest.fixture(scope="module")
def nested():
    return _nested()


def _labels(scene):
    return [n["info"]["label"] for n in scene["nodes"]]


def test_a_click_on_the_group_opens_the_scene_that_expand_renders(stack):
    trace, preset, scene, folds = stack
    first, opened = folds["variants"]
    assert "scene" not in first and first["key"] == [] and first["close"] == []
    group = next(n for n in scene["nodes"] if n["info"]["label"] == "Sequential × 4")
    link = first["open"][group["id"]]
    assert list(first["open"]) == [group["id"]]          # the only node that opens
    assert link["to"] == 1 and link["name"] == GROUP and "click to open" in link["tip"]
    # the variant is exactly what the CLI's --expand draws, the blocks one by one
    source = open_source(STACK, _request(expand=(GROUP,)))
    assert dumps_compact(opened["scene"]) == dumps_compact(scene_of(trace_for(source), source.preset))
    assert "Sequential × 4" not in _labels(opened["scene"])
    assert _labels(opened["scene"]).count("tanh") == 4
    assert opened["key"] == [GROUP] and opened["open"] == {}
    assert [(c["label"], c["to"]) for c in opened["close"]] == [(f"Fold Sequential × 4 ({GROUP})", 0)]


def _request(**fields):
    from bprender.pipeline import Request
    return Request(**fields)


def test_the_time_map_keeps_the_phase_and_the_step(stack):
    _, _, scene, folds = stack
    first, opened = folds["variants"]
    link = next(iter(first["open"].values()))
    pairs, back = link["times"], opened["close"][0]["times"]
    other = opened["scene"]
    assert pairs[0] == [0, 0] and pairs[-1] == [scene["duration"], other["duration"]]
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(pairs, pairs[1:]))   # increasing in both
    assert back == [[b, a] for a, b in pairs]                                     # folding maps back
    here = {e["name"]: e["t"] for e in scene["events"]}
    there = {e["name"]: e["t"] for e in other["events"]}
    # every phase starts where it starts; the group's step (backward:2, its label says so) starts at
    # the opened scene's step 3, the last block's tanh (the first to get its gradient) ...
    assert "Sequential × 4" in next(e["label"] for e in scene["events"] if e["name"] == "backward:2")
    for name in ("forward", "loss", "backward", "end", "backward:0", "backward:1"):
        assert [here[name], there[name]] in pairs
    assert [here["backward:2"], there["backward:2"]] in pairs
    # ... and the step after the group (layer 1) at the opened scene's layer 1
    last = max(int(n.split(":")[1]) for n in there if n.startswith("backward:"))
    assert [here["backward:3"], there[f"backward:{last}"]] in pairs


def test_no_groups_no_section():
    source = open_source("linear")
    scene, folds = page_for([source])
    assert folds is None
    for view in ("ops", "neurons"):   # only the modules view folds
        trace = trace_for(open_source(STACK, _request(view=view)))
        source = open_source(STACK, _request(view=view))
        assert page_folds(trace, source.preset, scene_of(trace, source.preset)) is None


def test_nested_groups_are_opened_outer_first_and_the_count_is_bounded(nested):
    folds = page_folds(nested.trace, nested.preset, nested.scene())
    variants = folds["variants"]
    assert folds["limits"]["variants"] == MAX_VARIANTS == 8
    # 1 outer group, then its 3 inner ones in any combination: 1 + 1 + 3 + 3 + 1 = 9 scenes
    assert len(variants) == 1 + MAX_VARIANTS
    keys = [v["key"] for v in variants]
    assert keys[:2] == [[], ["1.0–2"]]
    assert all("1.0–2" in k for k in keys[1:])          # an inner group opens inside the outer one
    assert len({tuple(k) for k in keys}) == len(keys)
    assert len(variants[1]["open"]) == 3
    # folding the outer group of a scene with inner groups open goes back to the page's own
    last = variants[-1]
    outer = next(c for c in last["close"] if c["name"] == "1.0–2")
    assert last["close"][0] is outer and outer["to"] == 0
    # every link leads to a scene the page has, whose key is this one's with the group added / taken
    for v in variants:
        for link in v["open"].values():
            assert set(variants[link["to"]]["key"]) == set(v["key"]) | {link["name"]}
        for link in v["close"]:
            assert set(variants[link["to"]]["key"]) < set(v["key"])


def test_past_the_bound_the_tooltip_names_the_expand_option(nested):
    scene = nested.scene()
    folds = page_folds(nested.trace, nested.preset, scene, max_variants=1)
    assert len(folds["variants"]) == 2
    inner = folds["variants"][1]["open"]
    assert len(inner) == 3 and all(link["to"] is None and "times" not in link for link in inner.values())
    assert sorted(link["tip"] for link in inner.values()) == [
        f"too many variants for this page: render with --expand 1.{k} to open it" for k in range(3)]
    assert folds_note(folds).endswith("past the bound of 1 layouts / 6 MB, 3 groups open with --expand only")
    # a byte budget smaller than the first variant: nothing is embedded, the tooltip says how
    tiny = page_folds(nested.trace, nested.preset, scene, max_bytes=1000)
    (only,) = tiny["variants"]
    (link,) = only["open"].values()
    assert link["to"] is None and link["tip"].endswith("--expand 1 to open it")


def test_the_page_embeds_the_variants_and_is_the_same_bytes_every_time(runner, tmp_path):
    pages = []
    for k in range(2):
        out = tmp_path / f"stack{k}.html"
        result = ok(runner.invoke(cli, ["html", STACK, "-o", str(out)]))
        assert "a click opens its groups (1 more layout inside)" in result.output
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]
    data = json.loads(SCENES_JSON.search(pages[0].decode("utf-8")).group(1))
    assert [v["key"] for v in data["folds"]["variants"]] == [[], [GROUP]]
    assert "Sequential × 4" in _labels(data["scene"])
    assert _labels(data["folds"]["variants"][1]["scene"]).count("tanh") == 4
    # the Python API's page is the same page
    anim = bprender.animate(STACK)
    assert anim.html().encode("utf-8") == pages[0]
