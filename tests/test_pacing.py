"""Pacing by reading time (bprender/reading.py): every caption of every built-in preset stays
on screen at least as long as it takes to read, the band is never empty between the first and
the last step, --pace / pace: scale the whole timeline, presentation stops show a caption, and
`video --subtitles` writes the captions as WebVTT."""
from __future__ import annotations

import functools
import re

import pytest

from bprender.lecture import stop_times
from bprender.pipeline import open_preset, open_source, scene_for, scene_of, trace_of
from bprender.preset import list_builtin_presets
from bprender.reading import BEAT, MIN_CAPTION, PACES, READING_WORDS_PER_SECOND, beats, reading_time, words
from bprender.subtitles import caption_at, cues, timestamp
from bprender.tracks import value_at
from testkit import invoke, ok

PRESETS = [name for name, *_ in list_builtin_presets()]
EPS = 2e-6  # times are rounded to microseconds


@functools.lru_cache(maxsize=None)
def preset_scene(name: str, pace: str | None = None) -> dict:
    overrides = {"pace": pace} if pace else None
    preset = open_preset(name, overrides)
    return scene_of(trace_of(preset, cache=True), preset)


def shown_span(item: dict, duration: float) -> tuple[float, float]:
    """From when a caption page starts to show to when it goes (or the animation ends)."""
    return item["track"][0][0], min(item["track"][-1][0], duration)


def same_words(a: list[str], b: list[str]) -> bool:
    """Two captions with the same words, only their numbers differing (the later training
    steps: one caption read once while its numbers count on)."""
    def mask(lines):
        return re.sub(r"[0-9.e−+-]+", "#", " ".join(lines))
    return mask(a) == mask(b)


def test_the_reading_rule():
    assert words("∂L/∂w = ∂L/∂y · x = −2 · 3 = −6") == 6      # "=", "·" are no words
    assert beats("a = b ≈ c ← d") == 3
    line = "one two three four five = six"
    assert reading_time([line]) == pytest.approx(6 / READING_WORDS_PER_SECOND + BEAT)
    assert reading_time(["ok"]) == MIN_CAPTION                  # never shorter than the minimum
    assert reading_time([line], PACES["slow"]) == pytest.approx(1.5 * reading_time([line]))
    # a slot of alternatives (fitted to the band later) counts its slowest
    assert reading_time([["a b c d e f g h", "a b"]]) == reading_time(["a b c d e f g h"])


@pytest.mark.parametrize("name", PRESETS)
def test_every_caption_stays_its_reading_time(name):
    scene = preset_scene(name)
    items = scene["captions"]["items"]
    runs: list[list[dict]] = []
    for item in items:  # the later training steps' captions are one caption whose numbers change
        if runs and same_words(runs[-1][-1]["lines"], item["lines"]) and \
                abs(runs[-1][-1]["track"][-1][0] - item["track"][0][0]) < EPS:
            runs[-1].append(item)
        else:
            runs.append([item])
    assert len(runs) >= 5
    for run in runs:
        start, end = shown_span(run[0], scene["duration"])[0], shown_span(run[-1], scene["duration"])[1]
        assert end - start >= reading_time(run[0]["lines"]) - EPS, (name, run[0]["lines"], end - start)


@pytest.mark.parametrize("name", PRESETS)
def test_no_blank_caption_between_steps(name):
    """At every frame time from the title's caption faded in to the end, the band shows a
    caption at full opacity: no flicker at step boundaries."""
    scene = preset_scene(name)
    items = scene["captions"]["items"]
    first_in = items[0]["track"][1][0]
    fps = scene["fps"]
    n = int(scene["duration"] * fps)
    blank = []
    for k in range(n + 1):
        t = k / fps
        if t < first_in:
            continue
        if max(value_at(item["track"], t) for item in items) < 1.0 or not caption_at(scene, t):
            blank.append(round(t, 3))
    assert blank == [], (name, blank[:10])


@pytest.mark.parametrize("name", PRESETS)
def test_every_presentation_stop_shows_a_caption(name):
    scene = preset_scene(name)
    stops = scene["stops"]
    assert stops == stop_times(scene) and stops == sorted(stops) and len(stops) == len(set(stops))
    assert stops[-1] == scene["duration"]
    starts = {e["t"] for e in scene["events"]}
    for stop in stops:
        assert caption_at(scene, stop), (name, stop)
        assert max(value_at(item["track"], stop) for item in scene["captions"]["items"]) == 1.0
        assert stop == scene["duration"] or all(abs(stop - t) > 1e-3 for t in starts), (name, stop)


@pytest.mark.parametrize("name", ["linear", "training"])
def test_pace_scales_the_whole_timeline(name):
    normal = preset_scene(name)
    for pace, factor in PACES.items():
        scene = preset_scene(name, pace)
        assert scene["duration"] == pytest.approx(normal["duration"] * factor, abs=1e-4)
        assert [e["t"] for e in scene["events"]] == pytest.approx([e["t"] * factor for e in normal["events"]],
                                                                    abs=1e-4)
    assert preset_scene(name, "slow")["duration"] > normal["duration"] > preset_scene(name, "fast")["duration"]


def test_pace_in_a_preset_and_through_a_saved_trace(tmp_path, runner):
    preset_file = tmp_path / "slow.yaml"
    preset_file.write_text("model: {expression: '(w * x - 1) ** 2', params: {w: 2.0}, inputs: {x: 3.0}}\n"
                           "pace: slow\n")
    from bprender.pipeline import Request
    slow = scene_for([open_source(str(preset_file))])
    asked = scene_for([open_source(str(preset_file), Request(pace="normal"))])
    assert slow["duration"] == pytest.approx(1.5 * asked["duration"], abs=1e-4)
    trace_file = tmp_path / "slow.trace.json"
    ok(invoke(runner, "trace", preset_file, "-o", trace_file))
    # the trace keeps its preset's presentation sections, pace among them
    assert scene_for([open_source(str(trace_file))])["duration"] == slow["duration"]
    fast = scene_for([open_source(str(trace_file), Request(pace="fast"))])
    assert fast["duration"] == pytest.approx(0.7 * asked["duration"], abs=1e-4)


def test_a_bad_pace_is_one_line(tmp_path, runner):
    preset_file = tmp_path / "bad.yaml"
    preset_file.write_text("model: {expression: '(w - 1) ** 2', params: {w: 2.0}}\npace: quick\n")
    result = invoke(runner, "check", preset_file)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "pace: unknown value 'quick'; choose one of: slow, normal, fast" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = invoke(runner, "frame", "linear", "--at", "end", "--pace", "quick", "-o", tmp_path / "x.png")
    assert result.exit_code == 2 and "--pace" in result.output and not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", ["video", "gif", "html", "scene", "frame", "sheet"])
def test_every_rendering_command_takes_pace(runner, command):
    result = ok(invoke(runner, command, "--help"))
    assert "--pace [slow|normal|fast]" in result.output


def test_pace_changes_the_steps_the_cli_lists(runner):
    normal = ok(invoke(runner, "video", "linear", "--steps")).stdout.splitlines()
    fast = ok(invoke(runner, "video", "linear", "--steps", "--pace", "fast")).stdout.splitlines()
    end_normal, end_fast = (float(lines[-1].split()[3]) for lines in (normal, fast))
    assert end_fast == pytest.approx(0.7 * end_normal, abs=0.01)


# --------------------------------------------------------------------------- subtitles

def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    assert text.startswith("WEBVTT\n\n")
    out = []
    for block in text.strip().split("\n\n")[1:]:
        number, times, *lines = block.split("\n")
        assert number.isdigit()
        a, arrow, b = times.split(" ")
        assert arrow == "-->"
        out.append((seconds(a), seconds(b), "\n".join(lines)))
    return out


def seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_timestamps():
    assert timestamp(0) == "00:00:00.000" and timestamp(3723.4567) == "01:02:03.457"


def test_video_subtitles_are_the_scenes_captions(runner, tmp_path):
    out = tmp_path / "lecture.mp4"
    args = ["--size", "320x180", "--fps", "5", "--quality", "draft", "--pace", "fast"]
    result = ok(invoke(runner, "video", "linear", "--subtitles", "-o", out, *args))
    vtt = tmp_path / "lecture.vtt"
    assert out.exists() and vtt.exists() and "lecture.vtt" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lecture.mp4", "lecture.vtt"]  # no temp files left
    parsed = parse_vtt(vtt.read_text(encoding="utf-8"))
    preset = open_preset("linear", {"render.size": "320x180", "pace": "fast"})
    scene = scene_of(trace_of(preset), preset)
    assert [text for _, _, text in parsed] == ["\n".join(item["lines"]) for item in scene["captions"]["items"]]
    starts = [a for a, _, _ in parsed]
    assert starts == sorted(starts) and all(b > a for a, b, _ in parsed)
    assert all(b <= c + 1e-3 for (_, b, _), (c, _, _) in zip(parsed, parsed[1:]))  # cues never overlap
    assert parsed[-1][1] == pytest.approx(scene["duration"], abs=1e-3)
    for a, b, text in parsed:                                    # each cue is what the band shows then
        assert caption_at(scene, (a + b) / 2) == text


def test_subtitles_of_a_part_start_with_it(runner, tmp_path):
    out = tmp_path / "part.mp4"
    ok(invoke(runner, "video", "linear", "--only", "backward:1", "--subtitles", "-o", out,
              "--size", "320x180", "--fps", "5", "--quality", "draft", "-q"))
    parsed = parse_vtt((tmp_path / "part.vtt").read_text(encoding="utf-8"))
    assert len(parsed) >= 1 and parsed[0][0] == 0.0
    assert parsed[0][2].startswith("∂L/∂")


def test_subtitles_need_a_file(runner):
    result = invoke(runner, "video", "linear", "--subtitles", "-o", "-")
    assert result.exit_code == 1 and "--subtitles" in result.output and "Traceback" not in result.output


def test_composite_cues_name_every_panel():
    from bprender.pipeline import Request
    scene = compare_scene()
    found = cues(scene)
    labels = [p["label"] for p in scene["panels"]]
    assert found and all(all(f"{label}: " in text for label in labels) for _, _, text in found)
    assert [a for a, _, _ in found] == sorted(a for a, _, _ in found)
    del Request


# --------------------------------------------------------------------------- side by side

@functools.lru_cache(maxsize=None)
def compare_scene() -> dict:
    from bprender.pipeline import Request
    request = Request(size="1280x720")
    return scene_for([open_source("deep_sigmoid", request), open_source("deep_relu", request)])


def test_each_panels_chart_grows_with_its_own_backward_pass():
    scene = compare_scene()
    for panel in scene["panels"]:
        sub = panel["scene"]
        backward = next(p for p in sub["phases"] if p["name"] == "backward")
        rows = sub["chart"]["rows"]
        assert len(rows) >= 4
        for row in rows:                   # empty before its backward pass, every bar grown at the end
            assert value_at(row["track"], backward["t0"] - 0.01) == 0.0
            assert value_at(row["track"], sub["duration"]) == 1.0
        # and layer by layer: the last layer's bar (nearest the loss) is in before the first's
        reached = [row["track"][0][0] for row in rows]
        assert reached[-1] < reached[0]
        assert len(set(reached)) == len(rows)
        mid = (backward["t0"] + backward["t1"]) / 2
        grown = [value_at(row["track"], mid) for row in rows]
        assert 0 < sum(g == 1.0 for g in grown) < len(rows)


def test_the_comparison_draws_one_chart_per_panel():
    from bprender.canvas import RecordingCanvas2D
    from bprender.paint import paint_frame
    scene = compare_scene()
    assert "chart" not in scene                      # no second, combined chart for the player
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, scene["duration"], None)
    titles = [op for op in ctx.ops if op[0] == "fillText" and op[1] == "Gradient norm per layer (log scale)"]
    assert len(titles) == len(scene["panels"])


def test_every_panel_keeps_its_caption_to_the_end():
    scene = compare_scene()
    durations = {p["scene"]["duration"] for p in scene["panels"]}
    assert durations == {scene["duration"]}
    for panel in scene["panels"]:
        sub = panel["scene"]
        end = next(p for p in sub["phases"] if p["name"] == "end")
        for t in (end["t0"] + 0.5, (end["t0"] + end["t1"]) / 2, scene["duration"]):
            assert caption_at(sub, t), (panel["label"], t)


@pytest.mark.parametrize("name, pace", [("linear", "fast"), ("training", "slow")])
def test_reading_time_holds_at_every_pace(name, pace):
    scene = preset_scene(name, pace)
    for item in scene["captions"]["items"][:-1]:
        if "Step " in item["lines"][0] and " of " in item["lines"][0]:
            continue  # a later training step: its words are read over the train phase (above)
        start, end = shown_span(item, scene["duration"])
        assert end - start >= reading_time(item["lines"], PACES[pace]) - EPS, item["lines"]


# --------------------------------------------------------------------------- the player (Chromium)

READY = "window.bprender.ready.then(() => true)"


def open_player(pg, path, scene):
    from bprender.html import export_html
    from browser import evaluate, open_file
    path.write_text(export_html(scene), encoding="utf-8")
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    open_file(pg, path)
    assert evaluate(pg, READY)
    evaluate(pg, "() => { bprender.pause(); bprender.seek(0); }")
    return errors


def test_the_player_speaks_the_caption(chromium_page, tmp_path):
    """An aria-live element holds the caption on screen as text, changed when the words change."""
    from browser import evaluate
    scene = preset_scene("linear")
    errors = open_player(chromium_page, tmp_path / "linear.html", scene)
    live = chromium_page.locator("#bp-caption")
    assert live.get_attribute("aria-live") == "polite"
    for stop in scene["stops"]:
        evaluate(chromium_page, "(t) => bprender.seek(t)", stop)
        text = live.text_content()
        assert text and text == caption_at(scene, stop)
    first, second = scene["stops"][3:5]
    evaluate(chromium_page, "(t) => bprender.seek(t)", first)
    before = live.text_content()
    evaluate(chromium_page, "(t) => bprender.seek(t)", second)
    assert live.text_content() != before                    # the next step's words replaced it
    assert errors == []


def test_the_comparison_page_draws_one_chart_per_panel(chromium_page, tmp_path):
    from browser import evaluate
    scene = compare_scene()
    errors = open_player(chromium_page, tmp_path / "compare.html", scene)
    assert chromium_page.locator("#bp-chart").is_hidden()   # the panels' charts are in the frame
    count = evaluate(chromium_page, """(t) => {
        const proto = CanvasRenderingContext2D.prototype, fill = proto.fillText;
        let n = 0;
        proto.fillText = function (text, ...rest) {
          if (text === "Gradient norm per layer (log scale)") n += 1;
          return fill.call(this, text, ...rest);
        };
        bprender.seek(t);
        proto.fillText = fill;
        return n;
    }""", scene["duration"])
    assert count == len(scene["panels"])
    caption = evaluate(chromium_page, "bprender.caption")
    assert all(f"{p['label']}: " in caption for p in scene["panels"])   # every panel's words to the end
    assert errors == []


def test_a_saved_scene_keeps_its_timing(runner, tmp_path):
    saved = tmp_path / "linear.scene.json"
    ok(invoke(runner, "scene", "linear", "--pace", "fast", "-o", saved))
    result = invoke(runner, "html", saved, "--pace", "slow", "-o", tmp_path / "x.html")
    assert result.exit_code == 1 and "--pace cannot change it" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


def test_the_captions_read_before_the_timing_use_the_scenes_notation():
    """The words the timing is made from are the words shown: the closing caption in lecture
    notation (W¹), not PyTorch's names (0.weight)."""
    closing = " ".join(preset_scene("mlp")["captions"]["items"][-1]["lines"])
    assert "W¹" in closing and "0.weight" not in closing


@pytest.mark.parametrize("name", ["deep_sigmoid", "deep_relu", "attention", "cnn"])
def test_the_closing_caption_turns_lines_and_pages_between_items(name):
    """Each parameter's "∂L/∂W² (4×4), ‖·‖ = 8.7e−7" stays whole on one line: a line or page of the
    closing caption never begins inside one (with its norm, its size or its values)."""
    items = preset_scene(name)["captions"]["items"]
    closing = [item["lines"] for item in items if item["lines"][0].startswith("Gradients ready")]
    assert closing, name
    start = items.index(next(i for i in items if i["lines"] == closing[0]))
    for item in items[start:]:
        for line in item["lines"]:
            head = line.strip()
            if "∂L/∂" not in head:   # the "and 8 more parameters (their norms ...)" tail, or a note
                continue
            assert head.startswith(("Gradients ready: ∂L/∂", "∂L/∂")), (name, line)
