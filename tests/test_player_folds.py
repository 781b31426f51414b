"""A click on a folded group in the HTML player opens it, in real headless Chromium
(tests/browser.py): the blocks are drawn one by one (the scene `--expand` renders, the same
pixels), the animation keeps its place, and "Fold ..." folds it again; in the exported page with
no request, and in the page `bprender watch` serves, where a saved edit keeps the group open.
The page's variants themselves: tests/test_folds.py."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from browser import decode_png_data_url, evaluate, open_file
from bprender.render import render_frame
from bprender.watch import Watch
from playerkit import SCENES_JSON, PageWatch
from watchkit import edit

READY = "window.bprender.ready.then(() => true)"
STACK = Path(__file__).parent / "data" / "stack.yaml"
GROUP = "1.0–3"


@pytest.fixture(scope="module")
def stack_page(tmp_path_factory):
    import bprender
    path = tmp_path_factory.mktemp("folds") / "stack.html"
    path.write_text(bprender.animate(str(STACK)).html(), encoding="utf-8")
    return path


def page_data(path: Path) -> dict:
    return json.loads(SCENES_JSON.search(path.read_text(encoding="utf-8")).group(1))


def settle(scene: dict, name: str) -> float:
    from bprender.lecture import settle_time
    return settle_time(scene, name)


def map_time(pairs, t):
    """The player's piecewise-linear time map (player.js mapTime), for the expected time."""
    return float(np.interp(t, [p[0] for p in pairs], [p[1] for p in pairs]))


def node_screen_point(pg, scene: dict, node: dict) -> tuple[float, float]:
    """Where a node's centre is on the screen, through the player's camera now."""
    rect = evaluate(pg, "() => { const r = document.getElementById('bp-graph').getBoundingClientRect();"
                        " return [r.left, r.top, r.width, r.height]; }")
    x, y = node["x"], node["y"]
    camera = scene.get("camera")
    if camera:
        cx, cy, zoom = evaluate(pg, "bprender.camera")
        x = camera["x"] + camera["w"] / 2 + (x - cx) * zoom
        y = camera["y"] + camera["h"] / 2 + (y - cy) * zoom
    return rect[0] + x * rect[2] / scene["width"], rect[1] + y * rect[3] / scene["height"]


def labels(pg) -> list[str]:
    return [n["label"] for n in evaluate(pg, "bprender.nodes")]


def snapshot(pg) -> np.ndarray:
    return decode_png_data_url(evaluate(pg, "bprender.snapshot()"))


def same_picture(actual: np.ndarray, scene: dict, t: float) -> bool:
    expected = render_frame(scene, t)[..., [2, 1, 0]]
    return actual.shape == expected.shape and np.mean(np.abs(actual.astype(int) - expected.astype(int)) > 64) < 0.002


def test_a_click_opens_the_group_at_the_same_moment_and_fold_closes_it(chromium_page, stack_page):
    pg = chromium_page
    guard = PageWatch(pg)
    data = page_data(stack_page)
    scene, (first, opened) = data["scene"], data["folds"]["variants"]
    group = next(n for n in scene["nodes"] if n["info"]["label"] == "Sequential × 4")
    open_file(pg, stack_page)
    assert evaluate(pg, READY)
    t = settle(scene, "backward:2")              # at the group's backward step, paused
    evaluate(pg, "(t) => { bprender.pause(); bprender.seek(t); }", t)
    assert evaluate(pg, "bprender.step") == "backward:2" and evaluate(pg, "bprender.opened") == []
    assert not pg.is_visible("#bp-folds") and pg.is_visible("#bp-fold-hint")
    # the pointer says it can be clicked, the tooltip what a click does
    point = node_screen_point(pg, scene, group)
    pg.mouse.move(*point)
    assert evaluate(pg, "getComputedStyle(document.getElementById('bp-graph')).cursor") == "pointer"
    tip = pg.eval_on_selector_all("#bp-tooltip > div", "ds => ds.map(d => d.textContent)")
    assert tip[0].startswith("Sequential × 4") and tip[-1] == "click to open: its 4 blocks drawn one by one"
    assert labels(pg).count("Sequential × 4") == 1

    pg.mouse.click(*point)
    assert evaluate(pg, "bprender.opened") == [GROUP]
    assert labels(pg) == [n["info"]["label"] for n in opened["scene"]["nodes"]]
    assert "Sequential × 4" not in labels(pg) and labels(pg).count("tanh") == 4
    mapped = map_time(first["open"][group["id"]]["times"], t)
    assert evaluate(pg, "bprender.time") == pytest.approx(mapped, abs=1e-9)
    assert evaluate(pg, "bprender.duration") == opened["scene"]["duration"]
    # the group's step became the first of its blocks' steps: the last block's tanh
    step = evaluate(pg, "bprender.step")
    assert step == "backward:2" and "tanh" in next(e["label"] for e in opened["scene"]["events"] if e["name"] == step)
    assert evaluate(pg, "bprender.playing") is False and evaluate(pg, "bprender.getView().highlight") is None
    assert same_picture(snapshot(pg), opened["scene"], mapped)      # what --expand 1.0–3 draws there
    assert pg.is_visible("#bp-folds") and not pg.is_visible("#bp-fold-hint")   # nothing more to open
    assert pg.inner_text("#bp-folds button") == f"Fold Sequential × 4 ({GROUP})"
    pg.screenshot(path=str(stack_page.with_name("opened.png")))

    pg.click("#bp-folds button")
    assert evaluate(pg, "bprender.opened") == []
    assert labels(pg) == [n["info"]["label"] for n in scene["nodes"]]
    assert evaluate(pg, "bprender.time") == pytest.approx(t, abs=1e-6)
    assert evaluate(pg, "bprender.step") == "backward:2"
    assert same_picture(snapshot(pg), scene, t)
    assert not pg.is_visible("#bp-folds")
    # a click on any other node still highlights it
    other = next(n for n in scene["nodes"] if n["info"]["label"] == "layer 1")
    pg.mouse.click(*node_screen_point(pg, scene, other))
    assert evaluate(pg, "bprender.getView().highlight") == other["id"] and evaluate(pg, "bprender.opened") == []
    guard.check(stack_page.resolve().as_uri())


def test_opening_while_playing_goes_on_playing(chromium_page, stack_page):
    pg = chromium_page
    guard = PageWatch(pg)
    data = page_data(stack_page)
    scene = data["scene"]
    group = next(n for n in scene["nodes"] if n["info"]["label"] == "Sequential × 4")
    open_file(pg, stack_page)
    assert evaluate(pg, READY)
    evaluate(pg, "(t) => { bprender.pause(); bprender.seek(t); }", settle(scene, "forward"))
    pg.mouse.click(*node_screen_point(pg, scene, group))
    assert evaluate(pg, "bprender.opened") == [GROUP]
    assert evaluate(pg, "bprender.step") == "forward"            # the same phase
    evaluate(pg, "bprender.play()")
    before = evaluate(pg, "bprender.time")
    pg.wait_for_timeout(300)
    assert evaluate(pg, "bprender.playing") is True and evaluate(pg, "bprender.time") > before
    pg.click("#bp-folds button")
    assert evaluate(pg, "bprender.playing") is True and evaluate(pg, "bprender.opened") == []
    guard.check(stack_page.resolve().as_uri())


def test_the_watch_page_opens_groups_the_same_way_and_keeps_them_open_over_an_edit(chromium_page, tmp_path):
    from test_watch_browser import wait_until
    for name in ("stack.yaml", "stack.py"):
        shutil.copy(STACK.with_name(name), tmp_path / name)
    preset = tmp_path / "stack.yaml"
    pg = chromium_page
    guard = PageWatch(pg)
    with Watch(str(preset)) as served:
        pg.goto(served.url)
        assert evaluate(pg, READY)
        scene = json.loads(evaluate(pg, "document.getElementById('bp-scenes').textContent"))["scene"]
        group = next(n for n in scene["nodes"] if n["info"]["label"] == "Sequential × 4")
        evaluate(pg, "(t) => { bprender.pause(); bprender.seek(t); window.sameDocument = true; }",
                 settle(scene, "backward:2"))
        pg.mouse.click(*node_screen_point(pg, scene, group))
        assert evaluate(pg, "bprender.opened") == [GROUP] and labels(pg).count("tanh") == 4
        at = evaluate(pg, "bprender.time")
        edit(preset, r"^title: .*$", 'title: "Edited live"')
        wait_until(pg, "document.title === 'Edited live'")
        assert evaluate(pg, "window.sameDocument") is True
        assert evaluate(pg, "bprender.opened") == [GROUP] and labels(pg).count("tanh") == 4
        assert evaluate(pg, "bprender.time") == at
        pg.click("#bp-folds button")
        assert evaluate(pg, "bprender.opened") == [] and "Sequential × 4" in labels(pg)
        # the page's own scene now is the edited one
        assert evaluate(pg, "document.title") == "Edited live"
    assert guard.errors == [] and guard.dialogs == []
    assert [u for u in guard.requests if not u.startswith(served.url) and not u.startswith("data:")] == []


def test_a_group_inside_an_opened_one_opens_too_and_folding_the_outer_folds_both(chromium_page, tmp_path):
    from test_folds import _nested
    path = tmp_path / "nested.html"
    path.write_text(_nested().html(), encoding="utf-8")
    data = page_data(path)
    variants = data["folds"]["variants"]
    pg = chromium_page
    guard = PageWatch(pg)
    open_file(pg, path)
    assert evaluate(pg, READY)
    evaluate(pg, "(t) => { bprender.pause(); bprender.seek(t); }", settle(data["scene"], "end"))
    fit = "() => { if (bprender.camera) bprender.fit(); }"     # the whole graph: every group on screen

    def click_group(scene, label):
        evaluate(pg, fit)
        node = next(n for n in scene["nodes"] if n["info"]["label"] == label)
        pg.mouse.click(*node_screen_point(pg, scene, node))

    click_group(data["scene"], "Sequential × 3")
    assert evaluate(pg, "bprender.opened") == ["1.0–2"]
    click_group(variants[1]["scene"], "Sequential × 3 #2")        # the second outer block's inner group
    opened = evaluate(pg, "bprender.opened")
    assert opened == ["1.0–2", "1.1.0–2"]
    inner = next(v for v in variants if v["key"] == opened)
    assert labels(pg) == [n["info"]["label"] for n in inner["scene"]["nodes"]]
    assert pg.eval_on_selector_all("#bp-folds button", "bs => bs.map(b => b.textContent)") == [
        "Fold Sequential × 3 (1.0–2)", "Fold Sequential × 3 (1.1.0–2)"]
    assert evaluate(pg, "bprender.time") == pytest.approx(inner["scene"]["duration"])   # the end is the end
    pg.click("#bp-folds button >> nth=0")                             # the outer one: both fold
    assert evaluate(pg, "bprender.opened") == []
    assert labels(pg) == [n["info"]["label"] for n in data["scene"]["nodes"]]
    guard.check(path.resolve().as_uri())
