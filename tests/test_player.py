"""The HTML player in real headless Chromium (tests/browser.py): it loads from file:// with no
request and no error, and its controls, keyboard, pointer, legend, themes and JS API work.
Pixel parity with the skia frames is tests/test_text_parity.py's and the golden tests' job."""
from __future__ import annotations

import html
import re
import time

import numpy as np
import pytest

from browser import decode_png_data_url, evaluate, open_file, open_html, wait_until
from bprender.fmt import num
from playerkit import EVIL_IMG, EVIL_SCRIPT, EVIL_TITLE, PageWatch, animation, evil_animation, evil_page, page

READY = "window.bprender.ready.then(() => true)"


@pytest.fixture(scope="module")
def linear_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("player") / "linear.html"
    path.write_text(page("linear"), encoding="utf-8")
    return path


@pytest.fixture
def player(chromium_page, linear_file):
    """The linear page opened from file://, fonts loaded, first frame drawn, paused at 0."""
    watch = PageWatch(chromium_page)
    open_file(chromium_page, linear_file)
    assert evaluate(chromium_page, READY)
    evaluate(chromium_page, "() => { bprender.pause(); bprender.seek(0); }")
    yield chromium_page
    watch.check(linear_file.resolve().as_uri())


def node_point(pg, node: dict) -> tuple[float, float]:
    """Where a scene node's centre is on the screen (the linear page: no camera)."""
    return screen_point(pg, animation().scene(), (node["x"], node["y"]))


def pixels(pg, t: float) -> np.ndarray:
    return decode_png_data_url(evaluate(pg, "(t) => bprender.snapshot(t)", t))


def test_loads_from_file_without_requests_or_errors(chromium_page, linear_file):
    watch = PageWatch(chromium_page)
    open_file(chromium_page, linear_file)
    assert evaluate(chromium_page, READY)
    scene = animation().scene()
    assert evaluate(chromium_page, "bprender.duration") == scene["duration"]
    assert evaluate(chromium_page, "bprender.playing") is True          # it starts playing
    fonts = evaluate(chromium_page, "['400', '600'].map(w => document.fonts.check(w + ' 16px bprender-sans'))")
    assert fonts == [True, True]
    time.sleep(0.3)
    assert watch.requests == [linear_file.resolve().as_uri()]
    watch.check(linear_file.resolve().as_uri())


def test_seek_play_pause(player):
    evaluate(player, "bprender.seek(3)")
    assert evaluate(player, "bprender.time") == 3
    evaluate(player, "bprender.play()")
    time.sleep(0.4)
    t1 = evaluate(player, "bprender.time")
    assert 3.1 < t1 < 4.5
    evaluate(player, "bprender.pause()")
    t2 = evaluate(player, "bprender.time")
    time.sleep(0.3)
    assert evaluate(player, "bprender.time") == t2
    assert evaluate(player, "bprender.playing") is False
    evaluate(player, "bprender.seek(1e9)")
    assert evaluate(player, "bprender.time") == animation().duration
    evaluate(player, "bprender.seek(-5)")
    assert evaluate(player, "bprender.time") == 0
    assert player.text_content("#bp-time").startswith("0.00 /")


def test_speed_and_loop(player):
    evaluate(player, "() => { bprender.setSpeed(4); bprender.setLoop(true);"
                     " bprender.seek(bprender.duration - 0.2); bprender.play(); }")
    time.sleep(0.4)
    t = evaluate(player, "bprender.time")
    assert evaluate(player, "bprender.playing") is True and t < 2.0     # wrapped around
    evaluate(player, "() => { bprender.setLoop(false); bprender.seek(bprender.duration - 0.1); }")
    time.sleep(0.3)
    assert evaluate(player, "bprender.time") == animation().duration
    assert evaluate(player, "bprender.playing") is False                # stopped at the end
    player.select_option("#bp-speed", "0.25")
    assert evaluate(player, "bprender.speed") == 0.25


def test_keyboard(player):
    player.keyboard.press("Space")
    assert evaluate(player, "bprender.playing") is True
    player.keyboard.press("Space")
    assert evaluate(player, "bprender.playing") is False
    events = animation().scene()["events"]
    evaluate(player, "bprender.seek(0)")
    later = [e["t"] for e in events if e["t"] > 1e-6]
    for expected in later[:3]:
        player.keyboard.press("ArrowRight")
        assert evaluate(player, "bprender.time") == pytest.approx(expected)
    player.keyboard.press("ArrowLeft")
    assert evaluate(player, "bprender.time") == pytest.approx(later[1])
    # a focused button does not swallow Space (nor click itself)
    player.focus("#bp-save")
    player.keyboard.press("Space")
    assert evaluate(player, "bprender.playing") is True


def test_phase_buttons(player):
    phases = {p["name"]: p for p in animation().scene()["phases"]}
    shown = player.eval_on_selector_all("#bp-phases button", "bs => bs.map(b => b.dataset.phase)")
    assert shown == [n for n in ("forward", "loss", "backward", "update") if n in phases]
    player.click("#bp-phases button[data-phase=backward]")
    assert evaluate(player, "bprender.time") == pytest.approx(phases["backward"]["t0"])
    assert player.get_attribute("#bp-phases button[data-phase=backward]", "aria-current") == "true"


def test_click_highlights_a_node(player):
    scene = animation().scene()
    w = next(n for n in scene["nodes"] if n["info"]["label"] == "w")
    evaluate(player, "bprender.seek(bprender.duration)")
    plain = pixels(player, scene["duration"])
    player.mouse.click(*node_point(player, w))
    assert evaluate(player, "bprender.getView()") == {"highlight": w["id"], "hidden": []}
    assert not np.array_equal(pixels(player, scene["duration"]), plain)
    player.mouse.click(*node_point(player, w))                           # again: cleared
    assert evaluate(player, "bprender.getView().highlight") is None
    player.mouse.click(*node_point(player, w))
    player.mouse.click(*node_point(player, {"x": 5, "y": scene["height"] - 5}))   # empty space
    assert evaluate(player, "bprender.getView().highlight") is None


def test_hover_shows_the_tooltip(player):
    scene = animation().scene()
    for node in scene["nodes"][:3]:
        player.mouse.move(*node_point(player, node))
        assert player.is_visible("#bp-tooltip")
        lines = player.eval_on_selector_all("#bp-tooltip > div", "ds => ds.map(d => d.textContent)")
        assert lines == node["info"]["lines"]
    player.mouse.move(2, 2)
    assert not player.is_visible("#bp-tooltip")


def test_legend_hides_a_group(player):
    scene = animation().scene()
    groups = player.eval_on_selector_all("#bp-legend label", "ls => ls.map(l => l.textContent)")
    assert groups == scene["groups"]
    t = scene["duration"]
    before = pixels(player, t)
    player.click("#bp-legend label:has-text('parameters') input")
    assert evaluate(player, "bprender.getView().hidden") == ["parameters"]
    hidden = pixels(player, t)
    assert not np.array_equal(before, hidden)
    # a hidden node cannot be hovered
    leaf = next(n for n in scene["nodes"] if n["group"] == "parameters")
    player.mouse.move(*node_point(player, leaf))
    assert not player.is_visible("#bp-tooltip")
    player.click("#bp-legend label:has-text('parameters') input")
    assert evaluate(player, "bprender.getView().hidden") == []
    assert np.array_equal(pixels(player, t), before)


def test_snapshot_is_native_size_even_on_hidpi(player):
    scene = animation().scene()
    for t in (0.0, 5.0, scene["duration"]):
        assert pixels(player, t).shape == (scene["height"], scene["width"], 3)
    assert evaluate(player, "bprender.snapshot(2)").startswith("data:image/png;base64,")
    cdp = player.context.new_cdp_session(player)
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": 900, "height": 700, "deviceScaleFactor": 2,
                                                    "mobile": False})
    try:
        player.wait_for_function("window.devicePixelRatio === 2")
        evaluate(player, "() => window.dispatchEvent(new Event('resize'))")
        size = evaluate(player, "() => { const c = document.getElementById('bp-graph');"
                                " const r = c.getBoundingClientRect(); return [c.width, c.height, r.width, r.height]; }")
        assert abs(size[0] - size[2] * 2) <= 1 and abs(size[1] - size[3] * 2) <= 1   # sharp: 2 pixels per CSS px
        assert size[2] <= 900 and abs(size[2] / size[3] - scene["width"] / scene["height"]) < 0.01
        assert pixels(player, 3.0).shape == (scene["height"], scene["width"], 3)
    finally:
        cdp.send("Emulation.clearDeviceMetricsOverride")
        cdp.detach()


def test_theme_switch(player):
    scene = animation().scene()
    assert player.eval_on_selector_all("#bp-theme option", "os => os.map(o => o.value)") == \
        ["light", "dark", "colorblind"]
    player.select_option("#bp-theme", "dark")
    assert evaluate(player, "bprender.theme") == "dark"
    bg = evaluate(player, "getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(scene["palettes"]["dark"]["background"][i:i + 2], 16) for i in (1, 3, 5))
    assert bg == f"rgb({r}, {g}, {b})"
    assert tuple(pixels(player, 1.0)[0, 0]) == (r, g, b)
    player.select_option("#bp-theme", "light")
    assert tuple(pixels(player, 1.0)[0, 0]) == (255, 255, 255)


def test_a_scene_of_an_unknown_version_is_refused_on_the_page(chromium_page, tmp_path):
    """A page whose scene is another major version says so instead of drawing."""
    text = page().replace('"schema":"bprender.scene/2"', '"schema":"bprender.scene/9"')
    assert text != page()
    path = tmp_path / "future.html"
    path.write_text(text, encoding="utf-8")
    open_file(chromium_page, path)
    chromium_page.wait_for_selector("#bp-error:not([hidden])", timeout=10000)
    message = evaluate(chromium_page, "document.getElementById('bp-error').textContent")
    assert "bprender.scene/9" in message and "reads bprender.scene/2" in message
    assert "player.js" not in message and "\n" not in message  # a sentence, not a stack trace


def test_markup_in_names_stays_text(chromium_page, tmp_path):
    path = tmp_path / "evil.html"
    path.write_text(evil_page(), encoding="utf-8")
    watch = PageWatch(chromium_page)
    open_file(chromium_page, path)
    assert evaluate(chromium_page, READY)
    evaluate(chromium_page, "bprender.pause()")
    scene = evil_animation().scene()
    assert evaluate(chromium_page, "document.title") == EVIL_TITLE
    assert evaluate(chromium_page, "document.querySelectorAll('img').length") == 0
    assert evaluate(chromium_page, "document.querySelectorAll('script').length") == 5
    parsed = evaluate(chromium_page, "JSON.parse(document.getElementById('bp-scenes').textContent)")
    assert parsed["scene"]["title"] == EVIL_TITLE
    legend = chromium_page.eval_on_selector_all("#bp-legend label", "ls => ls.map(l => l.textContent)")
    assert EVIL_SCRIPT in legend and EVIL_IMG in legend
    node = next(n for n in scene["nodes"] if f"module: {EVIL_IMG}" in n["info"]["lines"])
    xy = (node["x"], node["y"])
    if "camera" in scene:  # put the node in the middle of the camera's view
        camera = scene["camera"]
        evaluate(chromium_page, "(n) => bprender.setCamera({x: n[0], y: n[1], zoom: 1})", list(xy))
        xy = (camera["x"] + camera["w"] / 2, camera["y"] + camera["h"] / 2)
    chromium_page.mouse.move(*screen_point(chromium_page, scene, xy))
    assert f"module: {EVIL_IMG}" in chromium_page.text_content("#bp-tooltip")
    for t in (0.0, scene["duration"] / 2, scene["duration"]):
        evaluate(chromium_page, "(t) => bprender.seek(t)", t)
    time.sleep(0.2)
    assert evaluate(chromium_page, "document.querySelectorAll('img').length") == 0
    watch.check(path.resolve().as_uri())


def test_jupyter_iframe_plays(chromium_page):
    anim = animation()
    shown = anim._repr_html_()
    watch = PageWatch(chromium_page)
    open_html(chromium_page, f"<!DOCTYPE html><html><body>{shown}</body></html>")
    frame = chromium_page.frames[1]
    frame.wait_for_function("window.bprender !== undefined")
    assert frame.evaluate(READY)
    assert frame.evaluate("bprender.duration") == anim.duration
    srcdoc = chromium_page.get_attribute("iframe", "srcdoc")
    assert srcdoc == html.unescape(re.match(r'<iframe srcdoc="([^"]*)"', shown).group(1))
    shape = decode_png_data_url(frame.evaluate("bprender.snapshot(1)")).shape
    assert shape == (anim.scene()["height"], anim.scene()["width"], 3)
    # the whole player fits the iframe Jupyter gets
    box = chromium_page.eval_on_selector("iframe", "f => [f.clientWidth, f.clientHeight]")
    used = frame.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert used[0] <= box[0] and used[1] <= box[1]
    # Present may go full screen from inside the notebook's frame
    assert frame.evaluate("document.fullscreenEnabled") is True
    watch.check()


@pytest.fixture
def camera_player(chromium_page, tmp_path):
    """The attention page (too big for the frame at reading size: it has a camera), paused."""
    path = tmp_path / "attention.html"
    path.write_text(page("attention"), encoding="utf-8")
    watch = PageWatch(chromium_page)
    open_file(chromium_page, path)
    assert evaluate(chromium_page, READY)
    evaluate(chromium_page, "() => { bprender.pause(); bprender.seek(0); }")
    yield chromium_page
    watch.check(path.resolve().as_uri())


def screen_point(pg, scene: dict, frame_xy) -> tuple[float, float]:
    """Where a point of the frame (frame pixels) is on the screen."""
    rect = evaluate(pg, "() => { const r = document.getElementById('bp-graph').getBoundingClientRect();"
                        " return [r.left, r.top, r.width, r.height]; }")
    return (rect[0] + frame_xy[0] * rect[2] / scene["width"], rect[1] + frame_xy[1] * rect[3] / scene["height"])


def test_the_camera_zooms_pans_follows_and_fits(camera_player):
    pg = camera_player
    scene = animation("attention").scene()
    track = scene["camera"]["track"]
    assert pg.is_visible("#bp-camera") and pg.is_checked("#bp-follow")
    overview = evaluate(pg, "bprender.camera")
    assert overview == pytest.approx([track["x"][0][1], track["y"][0][1], track["zoom"][0][1]])
    pg.keyboard.press("+")
    zoomed = evaluate(pg, "bprender.camera")
    assert zoomed[2] == pytest.approx(overview[2] * 1.25) and not pg.is_checked("#bp-follow")
    # the wheel zooms about the pointer; a drag pans by the pointer's way over the zoom
    camera = scene["camera"]
    middle = screen_point(pg, scene, (camera["x"] + camera["w"] / 2, camera["y"] + camera["h"] / 2))
    pg.mouse.move(*middle)
    pg.mouse.wheel(0, -300)
    pg.wait_for_function(f"bprender.camera[2] > {zoomed[2] * 1.2}")
    before = evaluate(pg, "bprender.camera")
    pg.mouse.down()
    pg.mouse.move(middle[0] + 100, middle[1] + 40, steps=5)
    pg.mouse.up()
    after = evaluate(pg, "bprender.camera")
    assert after[2] == pytest.approx(before[2]) and after[0] < before[0] and after[1] < before[1]
    assert evaluate(pg, "bprender.getView().highlight") is None   # a pan is not a click
    pg.click("#bp-fit")
    assert evaluate(pg, "bprender.camera") == pytest.approx(overview)
    pg.check("#bp-follow")
    backward = next(p["t0"] for p in scene["phases"] if p["name"] == "backward") + 0.9
    evaluate(pg, "(t) => bprender.seek(t)", backward)
    from bprender.paint import camera_at
    assert evaluate(pg, "bprender.camera") == pytest.approx(list(camera_at(camera, backward, None)), abs=1e-6)
    # the player's frame is the painter's frame with the same camera
    evaluate(pg, "bprender.setCamera({x: 700, y: 300, zoom: 1.2})")
    from bprender.render import render_frame
    expected = render_frame(scene, 3.0, view={"camera": {"x": 700, "y": 300, "zoom": 1.2}})[..., [2, 1, 0]]
    assert np.mean(np.abs(pixels(pg, 3.0).astype(int) - expected.astype(int)) > 64) < 0.001


def test_hover_and_double_click_work_through_the_camera(camera_player):
    pg = camera_player
    scene = animation("attention").scene()
    camera = scene["camera"]
    node = next(n for n in scene["nodes"] if n["info"]["label"] == "attn.v")
    evaluate(pg, "(n) => bprender.setCamera({x: n.x, y: n.y, zoom: 1})", {"x": node["x"], "y": node["y"]})
    pg.mouse.move(*screen_point(pg, scene, (camera["x"] + camera["w"] / 2, camera["y"] + camera["h"] / 2)))
    assert pg.is_visible("#bp-tooltip")
    assert pg.eval_on_selector_all("#bp-tooltip > div", "ds => ds.map(d => d.textContent)") == node["info"]["lines"]
    pg.click("#bp-fit")
    other = next(n for n in scene["nodes"] if n["info"]["label"] == "norm")
    x, y, zoom = evaluate(pg, "bprender.camera")
    frame_xy = (camera["x"] + camera["w"] / 2 + (other["x"] - x) * zoom, camera["y"] + camera["h"] / 2 + (other["y"] - y) * zoom)
    pg.mouse.dblclick(*screen_point(pg, scene, frame_xy))
    assert evaluate(pg, "bprender.camera") == pytest.approx([other["x"], other["y"], 1.0])


def test_the_player_fits_a_phone(chromium_page, tmp_path):
    path = tmp_path / "attention.html"
    path.write_text(page("attention"), encoding="utf-8")
    chromium_page.set_viewport_size({"width": 390, "height": 844})
    try:
        open_file(chromium_page, path)
        assert evaluate(chromium_page, READY)
        width = evaluate(chromium_page, "document.documentElement.scrollWidth")
        graph = evaluate(chromium_page, "document.getElementById('bp-graph').getBoundingClientRect().width")
        assert width <= 390 and 300 <= graph <= 390
        for control in ("#bp-play", "#bp-fit", "#bp-scrub"):
            box = chromium_page.locator(control).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, control
    finally:
        chromium_page.set_viewport_size({"width": 1280, "height": 800})


def test_the_training_page_fits_a_laptop_window(chromium_page, tmp_path):
    """The tallest page (a training run: loss curve, per-layer chart, training controls) shows
    every control without scrolling in a 1280x800 window (the viewport of every browser test)."""
    path = tmp_path / "training.html"
    path.write_text(page("training"), encoding="utf-8")
    open_file(chromium_page, path)
    assert evaluate(chromium_page, READY)
    assert evaluate(chromium_page, "window.innerHeight") == 800
    assert evaluate(chromium_page, "document.documentElement.scrollHeight") <= 800
    bottoms = evaluate(chromium_page, "() => Array.from(document.querySelectorAll('button, input, select'))"
                                      ".filter(e => e.offsetParent).map(e => e.getBoundingClientRect().bottom)")
    assert len(bottoms) > 10 and max(bottoms) <= 800


@pytest.fixture(scope="module")
def deep13_file(tmp_path_factory):
    """The page of a 13-layer tanh MLP: 13 chart rows, 15 group toggles."""
    import torch
    from torch import nn

    import bprender
    torch.manual_seed(0)
    layers = [m for k in range(13) for m in ([nn.Linear(3, 1 if k == 12 else 3)] + ([nn.Tanh()] if k < 12 else []))]
    anim = bprender.animate(model=nn.Sequential(*layers), inputs=torch.randn(4, 3), target=torch.randn(4, 1))
    assert len(anim.scene()["chart"]["rows"]) == 13
    path = tmp_path_factory.mktemp("deep13") / "deep13.html"
    path.write_text(anim.html(), encoding="utf-8")
    return path


def test_a_thirteen_layer_page_fits_a_laptop_window(chromium_page, deep13_file):
    """13 layers: 13 chart rows and 15 group toggles, which wrap onto more rows as the page
    narrows to make room for the chart; the page still settles inside 1280x800, hint line too."""
    open_file(chromium_page, deep13_file)
    assert evaluate(chromium_page, READY)
    assert evaluate(chromium_page, "document.documentElement.scrollHeight") <= 800
    hint = chromium_page.locator(".bp-hint").bounding_box()
    assert hint and hint["y"] + hint["height"] <= 800


def test_hiding_the_chart_gives_its_room_to_the_graph(chromium_page, deep13_file):
    """The "chart" box (or C) hides the per-layer chart, and the graph grows into the room it
    took; shown again, the page is as it was. The page fits 1280x800 both ways."""
    pg = chromium_page
    open_file(pg, deep13_file)
    assert evaluate(pg, READY)
    graph_width = "document.getElementById('bp-graph').getBoundingClientRect().width"
    with_chart = evaluate(pg, graph_width)
    assert evaluate(pg, "bprender.chart") and pg.is_visible("#bp-chart") and pg.is_visible("#bp-show-chart")
    pg.click("#bp-show-chart")
    without = evaluate(pg, graph_width)
    assert not evaluate(pg, "bprender.chart") and not pg.is_visible("#bp-chart")
    assert without >= 1.25 * with_chart, (with_chart, without)
    assert evaluate(pg, "document.documentElement.scrollHeight") <= 800
    pg.keyboard.press("c")
    assert evaluate(pg, "bprender.chart") and pg.is_checked("#bp-show-chart")
    assert evaluate(pg, graph_width) == pytest.approx(with_chart, abs=1)


def node_value(node_scene: dict, r: int, c: int) -> float:
    """The traced value of the attention page's node at [r, c] (its trace node, by module)."""
    return _attention_summary(node_scene, "value")["values"][r * 4 + c]


def node_grad(node_scene: dict, r: int, c: int) -> float:
    return _attention_summary(node_scene, "grad")["values"][r * 4 + c]


def _attention_summary(node_scene: dict, which: str) -> dict:
    from bprender.views import make_view
    graph = make_view(animation("attention").trace, "modules")
    return getattr(next(n for n in graph.nodes if n.id == node_scene["id"]), which)


def test_hovering_a_heatmap_cell_shows_its_index_value_and_gradient(camera_player):
    pg = camera_player
    scene = animation("attention").scene()
    camera = scene["camera"]
    node = next(n for n in scene["nodes"] if n["info"]["label"] == "attn.out")
    image = node["glyphs"][0]["images"][0]  # the value's heatmap, 3 tokens x 4 features
    row, col = 1, 2
    assert image["tips"][row * image["cols"] + col] == \
        f"[1, 2]: value {num(node_value(node, 1, 2))}, grad {num(node_grad(node, 1, 2))}"
    cell = (image["x"] + (col + 0.5) * image["w"] / image["cols"], image["y"] + (row + 0.5) * image["h"] / image["rows"])
    evaluate(pg, "(t) => bprender.seek(t)", scene["duration"])
    evaluate(pg, "(c) => bprender.setCamera({x: c[0], y: c[1], zoom: 1})", list(cell))
    pg.mouse.move(*screen_point(pg, scene, (camera["x"] + camera["w"] / 2, camera["y"] + camera["h"] / 2)))
    lines = pg.eval_on_selector_all("#bp-tooltip > div", "ds => ds.map(d => d.textContent)")
    assert lines == node["info"]["lines"] + [image["tips"][row * image["cols"] + col]]
    evaluate(pg, "() => bprender.seek(0)")  # before the forward pass: no glyph, no cell line
    pg.mouse.move(*screen_point(pg, scene, (camera["x"] + camera["w"] / 2 + 1, camera["y"] + camera["h"] / 2)))
    assert pg.eval_on_selector_all("#bp-tooltip > div", "ds => ds.map(d => d.textContent)") == node["info"]["lines"]


def test_many_groups_fold_into_a_closed_list_so_the_canvas_keeps_its_size(chromium_page, tmp_path):
    """A 13-layer model has 15 legend groups: their checkboxes fold into a closed <details>
    ("15 groups"), so the canvas is not shrunk to make room for rows of boxes; opening it shows
    them (and the layout makes room), and they still hide a group."""
    import torch
    from torch import nn

    import bprender
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(13) for m in (nn.Linear(4, 4), nn.Tanh())])
    anim = bprender.animate(model=model, inputs=torch.randn(2, 4), target=torch.randn(2, 4), loss="mse",
                            view="neurons")
    groups = anim.scene("html")["groups"]
    assert len(groups) > 8
    path = tmp_path / "deep13.html"
    path.write_text(anim.html(), encoding="utf-8")
    open_file(chromium_page, path)
    assert evaluate(chromium_page, READY)
    width = "document.getElementById('bp-graph').getBoundingClientRect().width"
    folded = evaluate(chromium_page, width)
    summary = chromium_page.locator("#bp-legend details > summary")
    assert summary.text_content() == f"{len(groups)} groups"
    assert not chromium_page.locator("#bp-legend label").first.is_visible()
    summary.click()
    assert chromium_page.locator("#bp-legend label").first.is_visible()
    wait_until(chromium_page, f"{width} < {folded}", timeout=5)  # the boxes' rows took height from the
    # canvas (the page lays itself out again on the next frame, not within the click)
    assert evaluate(chromium_page, "document.documentElement.scrollHeight") <= 800
    chromium_page.locator("#bp-legend label").nth(1).locator("input").click()
    assert evaluate(chromium_page, "bprender.getView().hidden") == [groups[1]]
