"""`bprender watch` in real headless Chromium (tests/browser.py, one browser for the session):
the served page follows a saved edit in place, without reloading, at the same time and view;
a broken edit shows its file, line and message over the last good animation; the exported page
has no live hook. The server itself: tests/test_watch.py."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from browser import decode_png_data_url, evaluate, open_html, wait_until
from bprender.preset import builtin_presets_dir
from bprender.watch import Watch
from playerkit import PageWatch, page
from watchkit import edit, get_json

READY = "window.bprender.ready.then(() => true)"


@pytest.fixture
def preset(tmp_path):
    path = tmp_path / "linear.yaml"
    shutil.copy(builtin_presets_dir() / "linear.yaml", path)
    return path


@pytest.fixture
def served(preset):
    with Watch(str(preset)) as watch:
        yield watch


@pytest.fixture
def live_page(chromium_page, served):
    """The served page, fonts loaded, paused at 2.5 s; every request it makes must go to the
    watch server, and it must log no error."""
    guard = PageWatch(chromium_page)
    chromium_page.goto(served.url)
    assert evaluate(chromium_page, READY)
    evaluate(chromium_page, "() => { bprender.pause(); bprender.seek(2.5); window.sameDocument = true; }")
    yield chromium_page
    assert guard.errors == [] and guard.dialogs == []
    assert [u for u in guard.requests if not u.startswith(served.url) and not u.startswith("data:")] == []


def frame(pg) -> np.ndarray:
    return decode_png_data_url(evaluate(pg, "bprender.snapshot()"))


def scene_version_reaches(pg, version: int) -> None:
    wait_until(pg, f"window.bprender_live && bprender_live.sceneVersion === {version}")


def test_a_saved_edit_shows_in_place_at_the_same_time_and_view(live_page, served, preset):
    node = get_json(served.url + "scene.json")["scene"]["nodes"][0]["id"]
    evaluate(live_page, "(id) => { bprender.setView({highlight: id, hidden: []}); bprender.setTheme('dark'); }", node)
    before = frame(live_page)

    saved = time.monotonic()
    edit(preset, r"^title: .*$", 'title: "Edited live"')
    wait_until(live_page, "document.title === 'Edited live'")
    print(f"save to page: {time.monotonic() - saved:.2f} s")
    assert evaluate(live_page, "window.sameDocument") is True          # in place: no reload
    assert evaluate(live_page, "bprender_live.sceneVersion") == 2
    assert evaluate(live_page, "bprender.time") == 2.5
    assert evaluate(live_page, "bprender.playing") is False
    assert evaluate(live_page, "bprender.theme") == "dark"            # picked in the page: kept
    assert evaluate(live_page, "bprender.getView().highlight") == node
    after = frame(live_page)
    assert after.shape == before.shape and (after != before).any()    # the title drawn is the new one
    assert not live_page.is_visible("#bp-live")

    edit(preset, r"^title: .*$", 'title: "Edited live"\npacing: {intro: 3.0}')
    scene_version_reaches(live_page, 3)
    duration = get_json(served.url + "scene.json")["scene"]["duration"]
    assert evaluate(live_page, "bprender.duration") == duration
    assert evaluate(live_page, "bprender.time") == 2.5
    assert live_page.text_content("#bp-time").endswith(f"{duration:.2f} s")   # the controls follow


def test_a_camera_put_by_hand_stays(chromium_page, tmp_path):
    """deep_sigmoid is drawn through a camera: one zoomed and panned by hand stays put."""
    path = tmp_path / "deep_sigmoid.yaml"
    shutil.copy(builtin_presets_dir() / "deep_sigmoid.yaml", path)
    shutil.copy(builtin_presets_dir() / "deep_mlp.py", tmp_path / "deep_mlp.py")   # its model
    with Watch(str(path)) as watch:
        chromium_page.goto(watch.url)
        assert evaluate(chromium_page, READY)
        evaluate(chromium_page, "() => { bprender.pause(); bprender.seek(6); window.sameDocument = true; }")
        assert evaluate(chromium_page, "bprender.camera") is not None
        evaluate(chromium_page, "() => bprender.setCamera({x: 300, y: 200, zoom: 1.5})")
        placed = evaluate(chromium_page, "bprender.camera")
        edit(path, r"^title: .*$", 'title: "Vanishing, edited"')
        wait_until(chromium_page, "document.title === 'Vanishing, edited'")
        assert evaluate(chromium_page, "bprender.camera") == placed == [300, 200, 1.5]
        assert evaluate(chromium_page, "window.sameDocument") is True
        assert evaluate(chromium_page, "bprender.time") == 6
        assert chromium_page.is_checked("#bp-follow") is False   # still by hand


def test_a_theme_edited_in_the_preset_shows(live_page, preset):
    assert evaluate(live_page, "bprender.theme") == "light"
    light = frame(live_page)
    preset.write_text(preset.read_text(encoding="utf-8") + "render: {theme: dark}\n", encoding="utf-8")
    scene_version_reaches(live_page, 2)
    assert evaluate(live_page, "bprender.theme") == "dark"   # the page was in the scene's theme
    assert live_page.input_value("#bp-theme") == "dark"
    assert frame(live_page).mean() < light.mean()            # and it is drawn dark
    assert evaluate(live_page, "window.sameDocument") is True and evaluate(live_page, "bprender.time") == 2.5


def test_a_broken_edit_shows_in_the_page_over_the_last_animation(live_page, served, preset):
    good = frame(live_page)
    text = preset.read_text(encoding="utf-8")
    line = len(text.splitlines()) + 1
    preset.write_text(text + "render: {fps: [}\n", encoding="utf-8")
    banner = live_page.locator("#bp-live")
    banner.wait_for(state="visible", timeout=20000)
    assert banner.locator(".bp-live-where").text_content() == f"{preset}:{line}"
    assert "not valid YAML" in banner.text_content()
    assert evaluate(live_page, "bprender_live.sceneVersion") == 1     # the last good scene stays
    assert np.array_equal(frame(live_page), good)                    # and draws as before
    evaluate(live_page, "bprender.play()")
    wait_until(live_page, "bprender.time > 2.6")  # and plays
    evaluate(live_page, "bprender.pause()")

    preset.write_text(text, encoding="utf-8")                        # fixed: the banner goes
    banner.wait_for(state="hidden", timeout=20000)
    assert evaluate(live_page, "bprender_live.sceneVersion") == 2
    assert evaluate(live_page, "window.sameDocument") is True


def test_the_page_says_when_the_server_stopped(chromium_page, preset):
    watch = Watch(str(preset)).start()
    try:
        chromium_page.goto(watch.url)
        assert evaluate(chromium_page, READY)
        wait_until(chromium_page, "bprender_live.state !== null")
    finally:
        watch.stop()
    chromium_page.locator("#bp-live").wait_for(state="visible", timeout=20000)
    assert "not running any more" in chromium_page.text_content("#bp-live")
    assert evaluate(chromium_page, "bprender_live.connected") is False
    assert evaluate(chromium_page, "bprender.duration") > 0          # the animation is still there


def test_an_exported_page_has_no_live_hook(chromium_page):
    guard = PageWatch(chromium_page)
    html = page("linear")
    assert "bprender_live" not in html and "fetch(" not in html
    open_html(chromium_page, html)
    assert evaluate(chromium_page, READY)
    assert evaluate(chromium_page, "typeof bprender.replaceScene") == "undefined"
    assert evaluate(chromium_page, "typeof window.bprender_live") == "undefined"
    guard.check("about:blank")
