"""Lecture mode: named steps (--steps), parts of the animation as their own clips (--only), the
contact sheet (bprender sheet), and the HTML player's presentation mode in headless Chromium.
The contact sheet's golden image is in tests/test_golden.py."""
from __future__ import annotations

import functools
import time

import av
import pytest
from PIL import Image

from bprender.errors import BprenderError
from bprender.lecture import key_steps, part_frame_count, part_span, settle_time, step_lines, steps
from bprender.render import frame_count, frame_times
from browser import evaluate, open_file, wait_until
from playerkit import page
from testkit import frames_by_time, invoke, ok

SMALL = ["--size", "320x180", "--fps", "10", "--quality", "draft", "-q"]


@functools.lru_cache(maxsize=None)
def linear_scene(target: str = "video") -> dict:
    from bprender.pipeline import open_preset, scene_of, trace_of
    p = open_preset("linear", {"render.size": "320x180", "render.fps": 10, "gif.width": 320, "gif.fps": 5})
    return scene_of(trace_of(p), p, target=target)




def user_error(result, *fragments):
    assert isinstance(result.exception, SystemExit), (result.output, result.exception)
    assert result.exit_code == 1 and "Traceback" not in result.output and "Error:" in result.output
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)


# --------------------------------------------------------------------------- steps

def test_every_event_is_a_step_with_its_time_range():
    scene = linear_scene()
    items = steps(scene)
    assert [s.name for s in items] == [e["name"] for e in scene["events"]]
    assert [s.start for s in items] == [e["t"] for e in scene["events"]]
    by_name = {s.name: s for s in items}
    for phase in scene["phases"]:                       # a phase ends where the phase ends
        assert (by_name[phase["name"]].start, by_name[phase["name"]].end) == (phase["t0"], phase["t1"])
    back = [s for s in items if s.name.startswith("backward:")]
    assert len(back) == 6
    for a, b in zip(back, back[1:]):                    # a step ends where the next one starts
        assert a.end == b.start
    assert back[-1].end == by_name["end"].start
    assert items[-1].end == scene["duration"]
    assert all(s.end > s.start for s in items)


def test_step_lines_name_range_and_label():
    lines = step_lines(linear_scene())
    assert lines[0].split() == ["intro", "0.00", "-", "9.20", "s", "The", "model"]
    assert lines[4].split()[:5] == ["backward:0", "19.20", "-", "26.80", "s"]
    assert lines[4].endswith("step 1: loss")   # linear.yaml names its last step loss


@pytest.mark.parametrize("spec, span", [
    ("backward", (19.2, 48.6)),
    ("backward:3", (38.0, 41.2)),
    ("forward..loss", (9.2, 19.2)),
    ("backward:2..backward:5", (30.8, 48.6)),
    (" intro .. forward ", (0.0, 13.2)),
    ("end", (48.6, 51.8)),
    ("loss..loss", (13.2, 19.2)),
])
def test_part_span(spec, span):
    assert part_span(linear_scene(), spec) == pytest.approx(span)


@pytest.mark.parametrize("spec, fragments", [
    ("nope", ["no step called 'nope'", "intro, forward, loss, backward, backward:0 .. backward:5, end"]),
    ("backward:9", ["no step called 'backward:9'"]),
    ("backward:5..backward:2", ["range 'backward:5..backward:2' is empty"]),
    ("loss..forward", ["is empty"]),
    ("forward..", ["not a range"]),
    ("..loss", ["not a range"]),
    ("", ["give a step name"]),
])
def test_part_span_errors(spec, fragments):
    with pytest.raises(BprenderError) as err:
        part_span(linear_scene(), spec)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_a_span_is_just_another_time_range():
    scene = linear_scene()
    assert frame_times(scene, 10) == [i / 10 for i in range(frame_count(scene, 10))]   # default unchanged
    times = frame_times(scene, 10, (19.2, 48.6))
    assert len(times) == frame_count(scene, 10, (19.2, 48.6)) == part_frame_count(19.2, 48.6, 10) == 294
    assert times[0] == 19.2 and times[1] == pytest.approx(19.3) and times[-1] < 48.6


def test_key_steps_and_settle_times():
    scene = linear_scene()
    names = [s.name for s in key_steps(scene)]
    # every phase, five of the six backward steps (first and last), the backward phase folded
    # into its first step (the same frame)
    assert names == ["intro", "forward", "loss", "backward:0", "backward:1", "backward:2", "backward:4",
                     "backward:5", "end"]
    assert [s.name for s in key_steps(scene, 0)] == ["intro", "forward", "loss", "backward", "end"]
    assert len([s for s in key_steps(scene, 10) if s.name.startswith("backward:")]) == 6
    assert settle_time(scene, "forward") == 9.7
    assert settle_time(scene, "backward") == 19.7


# --------------------------------------------------------------------------- CLI: --steps, --only

@pytest.mark.parametrize("command", ["video", "gif", "html"])
def test_steps_lists_and_renders_nothing(runner, tmp_path, command):
    out = tmp_path / f"out.{ {'video': 'mp4'}.get(command, command) }"
    result = ok(invoke(runner, command, "linear", "--steps", "-o", out))
    lines = result.stdout.splitlines()
    assert lines == step_lines(linear_scene())
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("only, span", [("backward", (19.2, 48.6)), ("backward:2..backward:5", (30.8, 48.6)),
                                        ("backward:3", (38.0, 41.2))])
def test_video_only_renders_that_part(runner, tmp_path, only, span):
    out = tmp_path / "part.mp4"
    ok(invoke(runner, "video", "linear", "--only", only, "-o", out, *SMALL))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (320, 180) and stream.base_rate == 10
    assert len(frames_by_time(out, 10)) == round((span[1] - span[0]) * 10)


def test_video_only_reports_the_part(runner, tmp_path):
    out = tmp_path / "part.mp4"
    result = ok(invoke(runner, "video", "linear", "--only", "forward..loss", "-o", out,
                       "--size", "320x180", "--fps", "5", "--quality", "draft"))
    assert "10.0 s: 9.20 - 19.20 s of 51.8 s" in result.output


def test_gif_only_renders_that_part(runner, tmp_path):
    out = tmp_path / "part.gif"
    ok(invoke(runner, "gif", "linear", "--only", "loss", "-o", out, "--width", "320", "--fps", "5", "-q"))
    with Image.open(out) as im:
        assert im.size == (320, 180)
        assert im.n_frames == round(6.0 * 5)   # the loss phase: its caption's reading time


@pytest.mark.parametrize("command, suffix", [("video", "mp4"), ("gif", "gif")])
@pytest.mark.parametrize("only, fragments", [
    ("nope", ["--only: no step called 'nope'", "intro, forward", "backward:0 .. backward:5"]),
    ("backward:4..backward:1", ["--only: the range 'backward:4..backward:1' is empty"]),
])
def test_only_errors(runner, tmp_path, command, suffix, only, fragments):
    out = tmp_path / f"part.{suffix}"
    user_error(invoke(runner, command, "linear", "--only", only, "-o", out), *fragments)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- CLI: sheet

def test_sheet_png(runner, tmp_path):
    from bprender.sheet import sheet_layout
    out = tmp_path / "sheet.png"
    result = ok(invoke(runner, "sheet", "linear", "-o", out, "--size", "320x180"))
    layout = sheet_layout(linear_scene(), cols=3)
    with Image.open(out) as im:
        assert im.size == (layout.width, layout.height) == (3 * 320 + 2 * 18 + 2 * 24, 3 * 204 + 2 * 18 + 2 * 24)
    assert "9 frames" in result.output


def test_sheet_default_size_and_cols(runner, tmp_path):
    out = tmp_path / "sheet.png"
    ok(invoke(runner, "sheet", "linear", "-o", out, "--cols", "5", "--backward", "0"))
    with Image.open(out) as im:      # 5 frames of 640x360 in one row
        assert im.size == (5 * 640 + 4 * 18 + 2 * 24, 360 + 24 + 2 * 24)


def test_sheet_pdf(runner, tmp_path):
    out = tmp_path / "sheet.pdf"
    ok(invoke(runner, "sheet", "linear", "-o", out, "--size", "320x180", "--theme", "dark"))
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page>") + data.count(b"/Type /Page ") >= 1


@pytest.mark.parametrize("args, fragments", [
    (["-o", "{tmp}/sheet.mp4"], ["a contact sheet is a .png or a .pdf"]),
    (["-o", "{tmp}/sheet.png", "--size", "301x200"], ["--size"]),
])
def test_sheet_errors(runner, tmp_path, args, fragments):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    user_error(invoke(runner, "sheet", "linear", *args), *fragments)
    assert list(tmp_path.iterdir()) == []


def test_sheet_bad_cols(runner, tmp_path):
    result = invoke(runner, "sheet", "linear", "-o", tmp_path / "s.png", "--cols", "0")
    assert result.exit_code == 2 and "--cols" in result.output
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- presentation mode

READY = "window.bprender.ready.then(() => true)"


@pytest.fixture(scope="module")
def linear_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lecture") / "linear.html"
    path.write_text(page("linear"), encoding="utf-8")
    return path


@pytest.fixture
def player(chromium_page, linear_file):
    errors = []
    chromium_page.on("pageerror", lambda e: errors.append(str(e)))
    chromium_page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    open_file(chromium_page, linear_file)
    assert evaluate(chromium_page, READY)
    evaluate(chromium_page, "() => { bprender.pause(); bprender.seek(0); bprender.setSpeed(4); }")
    yield chromium_page
    assert errors == []


def state(pg) -> dict:
    return evaluate(pg, "() => ({t: bprender.time, playing: bprender.playing, presenting: bprender.presenting,"
                        " step: bprender.step})")


def wait_stopped(pg, timeout: float = 5.0) -> dict:
    """Poll until playback stops; the state it stopped in."""
    wait_until(pg, "!bprender.playing", timeout)
    return state(pg)


def linear_stops() -> list[float]:
    from bprender.lecture import stop_times
    return stop_times(linear_scene())


def test_presentation_stops_at_every_step(player):
    from bprender.subtitles import caption_at
    scene = linear_scene()
    stops = linear_stops()
    assert evaluate(player, "bprender.stops") == pytest.approx(stops)
    assert evaluate(player, "bprender.present(true)") is True
    # the presentation opens at the first stop (the title's caption faded in), not at t = 0
    assert state(player) == {"t": stops[0], "playing": False, "presenting": True, "step": "intro"}
    evaluate(player, "bprender.play()")
    s = wait_stopped(player, 10)
    assert s["t"] == pytest.approx(stops[1]) and s["step"] == "forward"      # stopped at the next step
    time.sleep(0.4)
    assert state(player) == s                                              # and stays there
    player.keyboard.press("Space")                                         # Space continues ...
    assert evaluate(player, "bprender.playing") is True
    s = wait_stopped(player, 10)
    assert s["t"] == pytest.approx(stops[2]) and s["step"] == "loss"        # ... to the next stop
    player.keyboard.press("ArrowRight")                                    # so does the right arrow
    s = wait_stopped(player, 10)
    assert s["t"] == pytest.approx(stops[3]) and s["step"] == "backward:0"
    time.sleep(0.3)
    assert state(player)["t"] == s["t"]
    # every stop shows its step's caption, in words on the page as on the canvas
    assert evaluate(player, "bprender.caption") == caption_at(scene, stops[3]) != ""
    for stop in stops[4:]:                                                 # and so on, to the end
        player.keyboard.press("Space")
        assert wait_stopped(player, 10)["t"] == pytest.approx(stop)
        assert evaluate(player, "bprender.caption") == caption_at(scene, stop) != ""
    assert stops[-1] == scene["duration"]
    assert evaluate(player, "bprender.step") == "end"


def test_every_stop_shows_its_steps_caption_fully():
    """A stop is inside its step (never at a boundary, where the next caption takes over), and
    the band there shows a caption at full opacity: the one its step began with."""
    from bprender.tracks import value_at
    scene = linear_scene()
    starts = sorted({e["t"] for e in scene["events"]})
    for stop in linear_stops():
        began = max(t for t in starts if t <= stop + 1e-9)
        assert stop not in starts[1:] or stop == scene["duration"]
        alphas = [value_at(item["track"], stop) for item in scene["captions"]["items"]]
        assert max(alphas) == 1.0, stop
        shown = scene["captions"]["items"][alphas.index(1.0)]
        assert shown["track"][0][0] <= began + 1e-6 or stop == scene["duration"], stop


def test_right_arrow_while_playing_finishes_the_step(player):
    stops = linear_stops()
    evaluate(player, "(t) => { bprender.present(true); bprender.setSpeed(0.25); bprender.seek(t); bprender.play(); }",
             stops[3] + 0.1)
    time.sleep(0.2)
    assert evaluate(player, "bprender.playing") is True
    player.keyboard.press("ArrowRight")                                    # jump to the next stop
    s = state(player)
    assert s["t"] == pytest.approx(stops[4]) and s["playing"] is False and s["step"] == "backward:1"
    player.keyboard.press("PageDown")                                      # a clicker's "next"
    assert evaluate(player, "bprender.playing") is True
    player.keyboard.press("ArrowRight")
    assert state(player)["t"] == pytest.approx(stops[5])


def test_left_arrow_goes_back_one_step(player):
    stops = linear_stops()
    evaluate(player, "(t) => { bprender.present(true); bprender.seek(t); }", stops[5])
    player.keyboard.press("ArrowLeft")
    s = state(player)
    assert s["t"] == pytest.approx(stops[4]) and s["playing"] is False and s["step"] == "backward:1"
    player.keyboard.press("ArrowLeft")
    assert state(player)["t"] == pytest.approx(stops[3])
    evaluate(player, "(t) => bprender.seek(t)", stops[4] + 1.0)            # mid-step: back to its stop
    player.keyboard.press("ArrowLeft")
    assert state(player)["t"] == pytest.approx(stops[4])
    evaluate(player, "bprender.seek(0)")
    player.keyboard.press("ArrowLeft")
    assert state(player)["t"] == 0


def test_p_key_and_button_toggle_presentation(player):
    assert evaluate(player, "bprender.presenting") is False
    player.keyboard.press("p")
    assert evaluate(player, "bprender.presenting") is True
    assert player.get_attribute("#bp-present", "aria-pressed") == "true"
    assert evaluate(player, "document.getElementById('bp-app').classList.contains('bp-presenting')") is True
    assert not player.is_visible("#bp-legend")                            # the legend row makes room
    player.keyboard.press("p")
    assert evaluate(player, "bprender.presenting") is False
    assert evaluate(player, "!!document.fullscreenElement") is False
    player.click("#bp-present")
    if evaluate(player, "!!document.fullscreenElement"):                 # full screen where allowed:
        player.keyboard.press("Escape")                                    # leaving it ends presenting
        player.wait_for_timeout(200)
        assert evaluate(player, "bprender.presenting") is False
        player.click("#bp-present")
    assert evaluate(player, "bprender.presenting") is True
    evaluate(player, "bprender.present(false)")
    assert player.get_attribute("#bp-present", "aria-pressed") == "false"
    assert player.is_visible("#bp-legend")


def test_without_presentation_playback_runs_through(player):
    evaluate(player, "() => { bprender.present(false); bprender.seek(0.5); bprender.play(); }")
    time.sleep(0.6)                                                        # 4x: past forward's start
    assert evaluate(player, "bprender.time") > 1.5
    player.keyboard.press("ArrowRight")                                    # plain event stepping
    assert evaluate(player, "bprender.playing") is False


def test_a_training_sheet_shows_a_few_distinct_training_steps_each_as_itself():
    """24 later steps of one small model look alike: the sheet keeps the first, one midway and
    the last; each still is taken inside its own step (0.4 s long), not at the next one's start."""
    from bprender.pipeline import open_source, scene_for
    from bprender.tracks import value_at
    scene = scene_for([open_source("training")], cache=True)
    names = [s.name for s in key_steps(scene)]
    later = [n for n in names if n.startswith("step:")]
    assert later == ["step:2", "step:14", "step:25"]
    assert "train" not in names                     # the same frame as step:2
    for name in later:
        k = int(name.split(":")[1])
        assert int(value_at(scene["train"]["track"], settle_time(scene, name))) == k - 1, name
