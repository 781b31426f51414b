"""Traces cached by content: a second render of an unchanged model needs no torch; a changed
model, model file or neighbouring module is traced again; a corrupt entry is not trusted."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bprender import trace_cache
from bprender.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def render(*args) -> None:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def test_an_unchanged_model_is_traced_once(traced, tmp_path):
    render("frame", "linear", "--at", "end", "-o", tmp_path / "a.png")
    render("frame", "linear", "--at", "end", "-o", tmp_path / "b.png")
    render("video", "linear", "--only", "loss", "--theme", "dark", "--size", "320x180", "-q", "-o", tmp_path / "c.mp4")
    assert traced == ["linear"]  # drawing settings are not in the key
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    render("frame", "linear", "--at", "end", "--no-cache", "-o", tmp_path / "d.png")
    assert traced == ["linear", "linear"]
    assert (tmp_path / "d.png").read_bytes() == (tmp_path / "a.png").read_bytes()


def test_a_changed_model_or_module_beside_it_is_traced_again(traced, tmp_path):
    (tmp_path / "helper.py").write_text("SCALE = 1.0\n", encoding="utf-8")
    (tmp_path / "net.py").write_text(
        "import torch\nfrom torch import nn\n\n\ndef build():\n    import helper\n    torch.manual_seed(0)\n"
        "    m = nn.Linear(2, 1)\n    x = torch.ones(3, 2) * helper.SCALE\n"
        "    return {'model': m, 'inputs': x, 'target': torch.zeros(3, 1), 'loss': 'mse'}\n", encoding="utf-8")
    preset = tmp_path / "p.yaml"
    preset.write_text("model: {python: net.py:build}\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        render("trace", preset, "-o", tmp_path / "t1.json")
        render("trace", preset, "-o", tmp_path / "t2.json")
        assert len(traced) == 1
        (tmp_path / "helper.py").write_text("SCALE = 2.0\n", encoding="utf-8")
        sys.modules.pop("helper", None)
        render("trace", preset, "-o", tmp_path / "t3.json")
        assert len(traced) == 2
        assert (tmp_path / "t3.json").read_bytes() != (tmp_path / "t1.json").read_bytes()
        preset.write_text("model: {python: net.py:build, seed: 1}\n", encoding="utf-8")
        render("trace", preset, "-o", tmp_path / "t4.json")
        assert len(traced) == 3
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("helper", None)
    assert (tmp_path / "t1.json").read_bytes() == (tmp_path / "t2.json").read_bytes()


def test_a_cached_trace_takes_the_presets_own_title_and_description(traced, tmp_path):
    preset = tmp_path / "p.yaml"
    model = "model: {expression: (w * x - 1) ** 2, params: {w: 2.0}, inputs: {x: 3.0}}\n"
    preset.write_text('title: "First"\ndescription: "one"\n' + model, encoding="utf-8")
    render("trace", preset, "-o", tmp_path / "t1.json")
    preset.write_text('title: "Second"\ndescription: "two"\n' + model, encoding="utf-8")
    render("trace", preset, "-o", tmp_path / "t2.json")
    assert len(traced) == 1   # title and description are not in the key...
    import json
    second = json.loads((tmp_path / "t2.json").read_text(encoding="utf-8"))
    assert (second["title"], second["description"]) == ("Second", "two")   # ...but are the preset's


def test_a_corrupt_entry_is_made_again(traced, tmp_path):
    render("check", "linear")
    entries = list(trace_cache.cache_dir().glob("*.trace.json"))
    assert len(entries) == 1
    entries[0].write_text('{"schema": "bprender.trace/1", "nodes": ', encoding="utf-8")
    render("check", "linear")
    assert len(traced) == 2
    assert trace_cache.load(entries[0].name.split(".")[0]) is not None  # rewritten whole


def test_the_cache_stays_under_its_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(trace_cache, "MAX_BYTES", 3000)
    for k in range(5):
        trace_cache.store(f"k{k}", {"schema": "bprender.trace/1", "pad": "x" * 1000})
    assert sum(p.stat().st_size for p in trace_cache.cache_dir().glob("*.trace.json")) <= 3000
    assert not list(trace_cache.cache_dir().glob(".entry-*"))


def test_a_second_render_does_not_import_torch(tmp_path):
    script = ("import sys\nfrom bprender.cli import main\nsys.argv = ['bprender', 'frame', 'linear', '--at', 'end', "
              f"'-o', {str(tmp_path / 'x.png')!r}]\ntry:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
              "print('torch' in sys.modules)\n")
    env = dict(os.environ)
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-2000:]
    assert first.stdout.strip() == "True" and second.stdout.strip() == "False"


def test_an_edited_entry_is_made_again(traced, tmp_path):
    """An entry whose trace was changed after it was written (still valid JSON, still a trace)
    does not match its digest: it is made again, not drawn."""
    render("check", "linear")
    (entry,) = trace_cache.cache_dir().glob("*.trace.json")
    digest, body = entry.read_bytes().split(b"\n", 1)
    edited = body.replace(b'"loss"', b'"LOSS"', 1)
    assert edited != body
    entry.write_bytes(digest + b"\n" + edited)
    render("check", "linear")
    assert len(traced) == 2
    assert entry.read_bytes().split(b"\n", 1)[1] == body   # rewritten as it was made


def test_a_cached_trace_is_read_without_jsonschema(tmp_path):
    """Reading an entry back checks its digest, not its JSON Schema: a second render does not
    import jsonschema (0.15 s of a cached `bprender frame`)."""
    from testkit import run_fresh_python
    script = ("import sys\nfrom bprender.cli import main\nsys.argv = ['bprender', 'frame', 'linear', '--at', '1', "
              f"'-o', {str(tmp_path / 'x.png')!r}]\ntry:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
              "print('jsonschema' in sys.modules)\n")
    cache = {"BPRENDER_CACHE_DIR": os.environ["BPRENDER_CACHE_DIR"]}
    run_fresh_python(script, env=cache)                                   # traces, and caches
    assert run_fresh_python(script, env=cache).strip().splitlines()[-1] == "False"
