"""--hide GROUP (a preset's hide:) leaves the group out and lays the rest out again: no hole
where it was, the steps left with nothing to show dropped; a saved scene, already laid out,
keeps --hide as view state (a hole); a group the picture lacks is one line, exit 1."""
from __future__ import annotations

import json

from bprender.pipeline import Request, open_source, scene_for
from testkit import invoke, ok


def scene(hide=None, name="linear"):
    return scene_for([open_source(name, Request(hide=tuple(hide) if hide else None))])


def test_hidden_groups_are_left_out_and_the_rest_laid_out_again():
    whole, hidden = scene(), scene(["inputs"])
    assert "inputs" in whole["groups"] and "inputs" not in hidden["groups"]
    kept = {n["id"] for n in hidden["nodes"]}
    assert kept == {n["id"] for n in whole["nodes"] if n["group"] != "inputs"}
    assert all(e["from"] in kept and e["to"] in kept for e in hidden["edges"])
    moved = [n["id"] for n in hidden["nodes"]
             if (n["x"], n["y"]) != next((m["x"], m["y"]) for m in whole["nodes"] if m["id"] == n["id"])]
    assert moved, "the rest is laid out again, not left in place around a hole"


def test_steps_with_nothing_left_to_show_are_dropped():
    def steps(s):
        return [e for e in s["events"] if e["name"].startswith("backward:")]
    whole, hidden = scene(name="mlp"), scene(["layer 1"], name="mlp")
    assert 0 < len(steps(hidden)) < len(steps(whole))
    assert hidden["duration"] < whole["duration"]


def test_a_preset_hide_key_does_the_same(tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("title: t\nmodel:\n  expression: w * x + b\n  params: {w: 2.0, b: 1.0}\n  inputs: {x: 3.0}\n"
                      "hide: [inputs]\n")
    s = scene_for([open_source(str(preset))])
    assert "inputs" not in s["groups"] and s["nodes"]


def test_a_saved_scene_keeps_hide_as_a_hole(runner, tmp_path):
    saved = tmp_path / "linear.scene.json"
    ok(invoke(runner, "scene", "linear", "-o", saved))
    ok(invoke(runner, "frame", saved, "--at", "40", "--hide", "inputs", "-o", tmp_path / "holes.png"))
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert "inputs" in data["groups"]   # still laid out with it: the frame hides it as view state


def test_an_unknown_group_is_one_line(runner, tmp_path):
    result = invoke(runner, "frame", "linear", "--at", "1", "--hide", "nothing", "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert "no group called 'nothing'" in result.output and "groups: " in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.png").exists()


def test_hiding_everything_is_refused(runner, tmp_path):
    groups = scene()["groups"]
    args = [a for g in groups for a in ("--hide", g)]
    result = invoke(runner, "frame", "linear", "--at", "1", *args, "-o", tmp_path / "x.png")
    assert result.exit_code == 1 and "hides every node" in result.output
