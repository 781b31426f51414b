"""Preset loading: defaults, the built-in example, and every user mistake located precisely."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bprender.errors import PresetError
from bprender.preset import (Preset, apply_overrides, builtin_presets_dir, list_builtin_presets,
                             load_preset, preset_from_dict, resolve_preset_path)
from bprender.preset.schema import all_keys, defaults

MODEL = "model:\n  expression: (w * x - y) ** 2\n  params: {w: 1.0}\n  inputs: {x: 2.0, y: 3.0}\n"


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> PresetError:
    with pytest.raises(PresetError) as info:
        load_preset(path)
    return info.value


def assert_located(err: PresetError, path: Path, line: int, key: str | None) -> str:
    text = str(err)
    prefix = f"{path}:{line}: " + (f"{key}: " if key else "")
    assert text.startswith(prefix), text
    assert (err.path, err.line, err.key) == (str(path), line, key)
    return text


# ---- happy paths ---------------------------------------------------------------------------

def test_defaults_filled_for_model_only(tmp_path):
    path = write(tmp_path, "model:\n  expression: x * 2\n", name="tiny.yaml")
    preset = load_preset(path)
    expected = defaults()
    expected["title"] = "tiny"
    expected["model"]["expression"] = "x * 2"
    assert preset.data == expected
    assert preset.data["render"] == {"size": [1280, 720], "fps": 30, "quality": "final",
                                     "theme": "light", "font": None}
    assert preset.data["pacing"]["backward_step"] == 1.2
    assert preset.data["gif"] == {"width": 640, "fps": 15}
    assert preset.data["description"] == ""
    assert preset.name == "tiny" and preset.base_dir == tmp_path.absolute()
    assert preset.lines["model.expression"] == 2


def test_linear_builtin_loads():
    path = builtin_presets_dir() / "linear.yaml"
    preset = load_preset(path)
    assert preset.data["title"] == "A single linear neuron"
    assert preset.data["description"] and "\n" not in preset.data["description"]
    model = preset.data["model"]
    assert model["steps"] == "y_pred = w * x + b\nloss = (y_pred - y_true) ** 2\n"   # the seed's two lines
    assert model["expression"] is None and model["loss"] is None
    assert model["params"] == {"w": 2.0, "b": 1.0}
    assert model["inputs"] == {"x": 3.0, "y_true": 8.0}
    assert model["python"] is None


def test_list_builtin_presets():
    rows = list_builtin_presets()
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    name, title, description, path = next(r for r in rows if r[0] == "linear")
    assert title == "A single linear neuron" and path.is_file()


def test_resolve_builtin_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_preset_path("linear") == builtin_presets_dir() / "linear.yaml"
    assert resolve_preset_path("linear.yaml") == builtin_presets_dir() / "linear.yaml"
    own = write(tmp_path, MODEL, name="linear.yaml")      # an existing file wins, as given
    assert resolve_preset_path("linear.yaml") == Path("linear.yaml")
    assert resolve_preset_path(own) == own


def test_resolve_unknown_suggests_builtin():
    with pytest.raises(PresetError) as info:
        resolve_preset_path("lnear")
    text = str(info.value)
    assert "no such preset file: lnear" in text
    assert "did you mean 'linear'?" in text and "built-in presets:" in text and "linear" in text


def test_missing_file_mentions_builtin(tmp_path):
    err = error_of(tmp_path / "linear.yaml")
    assert "no such preset file" in str(err) and str(tmp_path / "linear.yaml") in str(err)
    assert "built-in preset called 'linear'" in str(err)
    err = error_of(tmp_path / "nothing_like_it.yaml")
    assert "no such preset file" in str(err) and err.hint is None


def test_nested_params_and_types(tmp_path):
    path = write(tmp_path, """\
        title: "Tiny MLP"
        model:
          expression: sum((W @ x - y) ** 2)
          params: {W: [[1, 2], [3, 4]]}
          inputs: {x: [1, 2], y: [0.5, 1]}
          seed: 3
        render: {size: [640, 360], quality: Draft, theme: dark}
        pacing: {hold: 0}
        """)
    d = load_preset(path).data
    assert d["model"]["params"]["W"] == [[1.0, 2.0], [3.0, 4.0]]
    assert isinstance(d["model"]["params"]["W"][0][0], float)
    assert d["model"]["inputs"]["x"] == [1, 2]
    assert d["model"]["seed"] == 3
    assert d["render"]["size"] == [640, 360] and d["render"]["quality"] == "draft"
    assert d["pacing"]["hold"] == 0.0


@pytest.mark.parametrize("size, expected", [
    ("1280x720", [1280, 720]), ("640 x 360", [640, 360]), ("1920X1080", [1920, 1080]),
    ([1280, 720], [1280, 720]), ((16, 16), [16, 16]), ([800.0, 600.0], [800, 600]),
])
def test_size_normalised(size, expected):
    preset = preset_from_dict({"model": {"expression": "x"}, "render": {"size": size}})
    assert preset.data["render"]["size"] == expected


def test_python_model(tmp_path):
    (tmp_path / "mynet.py").write_text("def build():\n    return {}\n")
    preset = load_preset(write(tmp_path, "model:\n  python: mynet.py:build\n"))
    assert preset.data["model"]["python"] == "mynet.py:build"
    assert preset.data["model"]["expression"] is None


def test_preset_from_dict(tmp_path):
    preset = preset_from_dict({"model": {"expression": "w * 2", "params": {"w": 1}}},
                              base_dir=tmp_path, name="api")
    assert preset.path is None and preset.name == "api" and preset.data["title"] == "api"
    assert preset.base_dir == tmp_path.absolute()
    with pytest.raises(PresetError) as info:
        preset_from_dict({"model": {"expression": "x"}, "rendr": {}})
    assert str(info.value) == "rendr: unknown key (did you mean 'render'?)"


def test_preset_error_and_locate(tmp_path):
    preset = load_preset(write(tmp_path, "model:\n  expression: x\nrender:\n  fps: 30\n"))
    err = preset.error("render.fps", "too fast", hint="slow down")
    assert str(err) == f"{tmp_path / 'p.yaml'}:4: render.fps: too fast (slow down)"
    assert preset.error("render.size", "odd").line == 3           # nearest parent
    assert preset.error("gif.fps", "odd").line == 1               # only the root
    assert preset.locate(PresetError("bad", key="render.fps")).line == 4


# ---- errors: each names the file, the line and the key --------------------------------------

def test_unknown_top_level_key_did_you_mean(tmp_path):
    path = write(tmp_path, MODEL + "rendr:\n  fps: 30\n")
    text = assert_located(error_of(path), path, 5, "rendr")
    assert "unknown key" in text and "(did you mean 'render'?)" in text


def test_unknown_nested_key_did_you_mean(tmp_path):
    path = write(tmp_path, MODEL + "render:\n  size: 640x360\n  fsp: 30\n")
    text = assert_located(error_of(path), path, 7, "render.fsp")
    assert "did you mean 'fps'?" in text


def test_key_at_wrong_level(tmp_path):
    path = write(tmp_path, MODEL + "fps: 30\n")
    text = assert_located(error_of(path), path, 5, "fps")
    assert "render.fps" in text


def test_wrong_type_message(tmp_path):
    path = write(tmp_path, MODEL + "render:\n  fps: thirty\n")
    text = assert_located(error_of(path), path, 6, "render.fps")
    assert text.endswith("render.fps: expected a positive integer, got 'thirty'")


@pytest.mark.parametrize("snippet, key, words", [
    ("render:\n  fps: yes\n", "render.fps", "yes/no"),            # booleans are not numbers
    ("render:\n  fps: 30.5\n", "render.fps", "positive integer"),
    ("render:\n  fps: 0\n", "render.fps", "between 1 and 120"),
    ("render:\n  fps: 1000\n", "render.fps", "between 1 and 120"),
    ("render:\n  fps:\n", "render.fps", "leave the key out"),
    ("render:\n  theme: drak\n", "render.theme", "light, dark, colorblind"),
    ("render:\n  quality: fast\n", "render.quality", "final, draft"),
    ("render:\n  size: 1279x720\n", "render.size", "even"),
    ("render:\n  size: [1280, 721]\n", "render.size", "H.264"),
    ("render:\n  size: 8x8\n", "render.size", "between 16 and"),
    ("render:\n  size: big\n", "render.size", "1280x720"),
    ("render:\n  size: [1280]\n", "render.size", "1280x720"),
    ("render:\n  font: nope.ttf\n", "render.font", "not found"),
    ("render:\n  font: arial.woff\n", "render.font", ".ttf or .otf"),
    ("render: 30\n", "render", "mapping"),
    ("pacing:\n  intro: -1\n", "pacing.intro", "between 0 and 60 seconds"),
    ("pacing:\n  backward_step: 0\n", "pacing.backward_step", "greater than 0"),
    ("pacing:\n  hold: .nan\n", "pacing.hold", "expected a number"),
    ("pacing:\n  hold: true\n", "pacing.hold", "yes/no"),
    ("gif:\n  fps: 60\n", "gif.fps", "between 1 and 50"),
    ("gif:\n  width: wide\n", "gif.width", "positive integer"),
    ("title: 2024\n", "title", "quotes"),
    ("description: [a]\n", "description", "expected text"),
])
def test_bad_values(tmp_path, snippet, key, words):
    path = write(tmp_path, MODEL + snippet)
    line = 5 + snippet.split("\n").index(next(l for l in snippet.split("\n")
                                               if l.strip().startswith(key.split(".")[-1] + ":")))
    text = assert_located(error_of(path), path, line, key)
    assert words in text


def test_enum_did_you_mean(tmp_path):
    path = write(tmp_path, MODEL + "render:\n  theme: drak\n")
    assert "did you mean 'dark'?" in str(error_of(path))


def test_odd_size_suggests_even(tmp_path):
    path = write(tmp_path, MODEL + "render:\n  size: 1279x719\n")
    assert "try 1280x720" in str(error_of(path))


@pytest.mark.parametrize("text, line, key, words", [
    ("render:\n  fps: 30\n", 1, "model", "missing"),
    ("model:\n", 1, "model", "either `expression`"),
    ("model:\n  params: {w: 1.0}\n", 1, "model", "either `expression`"),
    ("title: x\nmodel:\n  expression: w\n  python: m.py:build\n", 2, "model", "not both"),
    ("model:\n  python: mynet.py\n", 2, "model.python", "FILE.py:FUNCTION"),
    ("model:\n  python: mynet.py:1build\n", 2, "model.python", "FILE.py:FUNCTION"),
    ("model:\n  python: missing.py:build\n", 2, "model.python", "not found"),
    ("model:\n  expression: (w * x\n", 2, "model.expression", "not a valid formula"),
    ("model:\n  expression: w ^ 2\n", 2, "model.expression", "use **"),
    ("model:\n  expression: 3\n", 2, "model.expression", "expected a formula"),
    ("model:\n  expression: w\n  seed: -1\n", 3, "model.seed", "must be between 0 and 18446744073709551615, got -1"),
    ("model:\n  expression: w\n  params: {3w: 1.0}\n", 3, "model.params.3w", "not a valid name"),
    ("model:\n  expression: w\n  params: {lambda: 1.0}\n", 3, "model.params.lambda", "keyword"),
    ("model:\n  expression: w\n  params: {w: 1.0}\n  inputs:\n    w: 2.0\n", 5,
     "model.inputs.w", "both a param and an input"),
    ("model:\n  expression: w\n  params:\n    w: abc\n", 4, "model.params.w", "got 'abc'"),
    ("model:\n  expression: w\n  params:\n    w: true\n", 4, "model.params.w", "yes/no"),
    ("model:\n  expression: w\n  params:\n    w: [[1, 2], [3]]\n", 4, "model.params.w",
     "not a rectangular array"),
    ("model:\n  expression: w\n  params:\n    w: [1, [2]]\n", 4, "model.params.w",
     "not a rectangular array"),
    ("model:\n  expression: w\n  params:\n    w: []\n", 4, "model.params.w", "empty list"),
    ("model:\n  expression: w\n  inputs:\n    x: [1, null]\n", 4, "model.inputs.x", "at [1]"),
    ("model:\n  expression: w\n  params: [1, 2]\n", 3, "model.params", "mapping of names"),
    ("model:\n  expression: w\n  modle: 1\n", 3, "model.modle", "unknown key"),
])
def test_model_errors(tmp_path, text, line, key, words):
    path = write(tmp_path, text)
    message = assert_located(error_of(path), path, line, key)
    assert words in message


def test_python_model_with_params_is_an_error(tmp_path):
    (tmp_path / "m.py").write_text("def build():\n    return {}\n")
    path = write(tmp_path, "model:\n  python: m.py:build\n  params: {w: 1.0}\n")
    assert_located(error_of(path), path, 3, "model.params")


def test_not_yaml(tmp_path):
    path = write(tmp_path, "model:\n  expression: x\nrender: [1, 2\n")
    err = error_of(path)
    assert err.path == str(path) and err.line == 3
    assert "not valid YAML" in str(err)


def test_tab_indentation_hint(tmp_path):
    path = write(tmp_path, "model:\n\texpression: x\n")
    err = error_of(path)
    assert err.line == 2 and "tabs" in str(err)


def test_duplicate_key(tmp_path):
    path = write(tmp_path, MODEL + "render:\n  fps: 30\n  fps: 24\n")
    text = assert_located(error_of(path), path, 7, "render.fps")
    assert "duplicate key" in text and "line 6" in text


@pytest.mark.parametrize("text, words", [
    ("- a\n- b\n", "top level must be a mapping"),
    ("just text\n", "top level must be a mapping"),
    ("", "empty"),
    ("# only a comment\n", "empty"),
])
def test_top_level_not_mapping(tmp_path, text, words):
    path = write(tmp_path, text)
    err = error_of(path)
    assert str(err).startswith(f"{path}") and words in str(err)


def test_folder_and_binary(tmp_path):
    assert "folder" in str(error_of(tmp_path))
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    assert str(error_of(path)).startswith(str(path))


# ---- overrides ------------------------------------------------------------------------------

def test_overrides_applied(tmp_path):
    preset = load_preset(write(tmp_path, MODEL + "render:\n  fps: 30\n"))
    new = apply_overrides(preset, {"render.fps": 24, "render.size": "640x360",
                                   "render.theme": "dark", "pacing.hold": "3",
                                   "gif.width": None})
    assert new.data["render"]["fps"] == 24 and new.data["render"]["size"] == [640, 360]
    assert new.data["render"]["theme"] == "dark" and new.data["pacing"]["hold"] == 3.0
    assert new.data["gif"]["width"] == 640
    assert preset.data["render"]["fps"] == 30                    # the original is untouched
    assert "render.fps" not in new.lines and new.path == preset.path


@pytest.mark.parametrize("overrides, key, words", [
    ({"render.fps": "thirty"}, "render.fps", "expected a positive integer, got 'thirty'"),
    ({"render.fps": True}, "render.fps", "yes/no"),
    ({"render.fps": 0}, "render.fps", "between 1 and 120"),
    ({"render.size": "641x360"}, "render.size", "even"),
    ({"render.theme": "neon"}, "render.theme", "light, dark, colorblind"),
    ({"render.fsp": 24}, "render.fsp", "did you mean 'render.fps'?"),
    ({"render": {}}, "render", "unknown option"),
])
def test_overrides_validated(tmp_path, overrides, key, words):
    preset = load_preset(write(tmp_path, MODEL + "render:\n  fps: 30\n"))
    with pytest.raises(PresetError) as info:
        apply_overrides(preset, overrides)
    err = info.value
    assert err.key == key and err.path is None and err.line is None
    assert str(err).startswith(f"{key}: ") and words in str(err)


def test_override_paths_relative_to_cwd(tmp_path, monkeypatch):
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    (elsewhere / "net.py").write_text("def build():\n    return {}\n")
    preset = load_preset(write(tmp_path, MODEL))
    monkeypatch.chdir(elsewhere)
    new = apply_overrides(preset, {"model.python": "net.py:build"})
    assert new.data["model"]["python"] == f"{elsewhere / 'net.py'}:build"
    assert new.data["model"]["expression"] is None and new.data["model"]["params"] == {}


def test_schema_keys_documented():
    keys = all_keys()
    assert {"title", "description", "view", "depth", "expand", "hide", "sample", "notation", "names", "collapse_views", "model.expression", "model.python", "model.params",
            "model.steps", "model.loss", "model.inputs", "model.seed", "render.size", "render.fps", "render.quality",
            "render.theme", "render.font", "pacing.intro", "pacing.forward_step", "pacing.loss",
            "pacing.backward_step", "pacing.repeat_step", "pacing.pause", "pacing.update", "pacing.train_step",
            "pacing.hold", "gif.width", "train.steps", "train.optimizer", "train.lr", "train.momentum",
            "gif.fps", "pace"} == set(keys)
    assert isinstance(Preset(None, {}).base_dir, Path)


# ---- hostile and unusual YAML (issue 13) ----------------------------------------------------

@pytest.mark.parametrize("text, value", [("1e-3", 1e-3), ("1.0e38", 1e38), (".5", 0.5), ("5.", 5.0),
                                         ("+1E+2", 100.0), ("-2.5e-1", -0.25)])
def test_yaml_12_floats_are_numbers(tmp_path, text, value):
    from bprender.preset.yaml_lines import load_yaml_lines
    data, lines = load_yaml_lines(f"a: {text}\nb: '{text}'\n")
    assert data == {"a": value, "b": text}
    assert {k: v for k, v in lines.items() if not k.endswith("#text")} == {"": 1, "a": 1, "b": 2}
    if 0 < value <= 1000:
        assert load_preset(write(tmp_path, MODEL + f"train: {{steps: 2, lr: {text}}}\n")).data["train"]["lr"] == value


def test_alias_bomb_is_refused_quickly(tmp_path):
    import time
    rows = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "\n".join(rows) + "\n" + MODEL)
    start = time.monotonic()
    text = str(error_of(path))
    assert time.monotonic() - start < 10
    assert text.startswith(f"{path}:") and "aliases" in text and "\n" not in text


def test_aliases_still_work(tmp_path):
    path = write(tmp_path, MODEL + "pacing: &p {hold: 1.5}\ngif: {fps: 12}\nrender: {fps: 12}\n")
    path2 = write(tmp_path, "base: &m {expression: x * 2, inputs: {x: 1.0}}\n".replace("base", "title: t\n#")
                  + "model: &m {expression: x * 2, inputs: {x: 1.0}}\ndescription: *m\n", name="q.yaml")
    assert load_preset(path).data["pacing"]["hold"] == 1.5
    assert "expected text" in str(error_of(path2))  # the alias is expanded: a mapping, not text


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\x7f", "\ufffe"])
def test_control_character_is_located(tmp_path, char):
    path = tmp_path / "p.yaml"
    path.write_text(MODEL + f'title: "a{char}b"\n', encoding="utf-8")
    text = str(error_of(path))
    assert text.startswith(f"{path}:5: column 10: the control character U+{ord(char):04X}"), text
    assert "\n" not in text


@pytest.mark.parametrize("open_, close", [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused(tmp_path, open_, close):
    path = write(tmp_path, MODEL + "title: " + open_ * 700 + ("1" if "{" in open_ else "") + close * 700 + "\n")
    text = str(error_of(path))
    assert text.startswith(f"{path}:5: nested more than 64 levels deep"), text


def test_huge_document_is_refused(tmp_path):
    path = write(tmp_path, MODEL + "description: " + "x" * (5 * 2 ** 20) + "\n")
    assert "a preset may be at most 4 MB" in str(error_of(path))


@pytest.mark.parametrize("extra, key, message", [
    ("  seed: 99999999999999999999\n", "model.seed", "must be between 0 and 18446744073709551615"),
    ("train: {steps: 2, lr: 1e39}\n", "train.lr", "must be greater than 0 and at most 1000"),
])
def test_extreme_numbers_are_refused(tmp_path, extra, key, message):
    path = write(tmp_path, MODEL + extra)
    text = str(error_of(path))
    assert f"{key}: {message}" in text, text


def test_font_that_is_not_a_font(tmp_path):
    (tmp_path / "fake.ttf").write_text("not a font")
    path = write(tmp_path, MODEL + "render: {font: fake.ttf}\n")
    text = assert_located(error_of(path), path, 5, "render.font")
    assert "is not a TrueType or OpenType font" in text


def test_a_formula_too_deep_for_pythons_parser_is_refused(tmp_path):
    path = write(tmp_path, 'model:\n  expression: "' + "-" * 10000 + 'w"\n  params: {w: 1.0}\n')
    text = assert_located(error_of(path), path, 2, "model.expression")
    assert "nested too deeply" in text and len(text) < 400
