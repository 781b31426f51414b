"""The chain-rule formula built up with the picture (issue 12): a backward step's caption line is
drawn as spans, each term tinted like what it names (the upstream gradient like the edge it
arrives on, the local derivative in the op's forward colour, the result like the edge it is sent
along) and appearing in order, upstream, local, result, all fully shown by the step's settle
moment. Both painters draw the spans with the same calls (op logs equal, pixels close)."""
from __future__ import annotations

import functools

import pytest

from bprender.canvas import RecordingCanvas2D, ops_diff
from bprender.lecture import settle_time
from bprender.paint import VISIBLE, paint_frame
from bprender.pipeline import open_preset, scene_of, trace_of
from bprender.scene import formula
from bprender.tracks import value_at
from test_oplog_parity import js_ops, node, python_ops  # noqa: F401  (node: the Node.js fixture)

TINTED = ("linear", "deep_sigmoid", "micrograd", "shared_layer")


@functools.lru_cache(maxsize=None)
def scene(name: str) -> dict:
    preset = open_preset(name)
    return scene_of(trace_of(preset, cache=True), preset)


def step_items(s: dict):
    """(event, its caption items) for every backward step."""
    steps = [e for e in s["events"] if e["name"].startswith("backward:")]
    times = [e["t"] for e in steps] + [next(p["t1"] for p in s["phases"] if p["name"] == "backward")]
    for k, event in enumerate(steps):
        yield event, [it for it in s["captions"]["items"] if times[k] - 1e-6 <= it["track"][0][0] < times[k + 1] - 1e-6]


def appears(span: dict) -> float:
    return span["track"][0][0]


def kinds(line: str) -> list[str]:
    return [kind for _, kind in formula.terms(line)]


def test_the_scalar_chain_rule_is_split_into_its_terms():
    line = "∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6"
    assert formula.terms(line) == [
        ("∂L/∂w", "result"), (" = ", "operator"), ("∂L/∂(w·x)", "upstream"), (" · ", "operator"),
        ("x", "local"),
        (" = ", "operator"), ("−2", "upstream"), (" · ", "operator"), ("3", "local"), (" = ", "operator"),
        ("−6", "result")]
    # an operator comes in with the later of its terms: "· x" in one go, "= −6" with the result
    assert formula.stages(formula.terms(line)) == [2, 2, 0, 1, 1, 1, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("line", [
    "sends ‖g‖ = 1.191 to norm",                      # prose is not a formula
    "2 · (−0.1191 − 1)/2 = −1.119",                   # a product first is not "result = upstream · local"
    "Neurons show sample 1 of 8; weight gradients add up over all 8 samples.",
    "∂L/∂W⁸[i,j] = Σ over the 8 samples of δ⁸[i] · a⁷[j]",
])
def test_what_is_not_a_chain_stays_plain(line):
    assert set(kinds(line)) == {"text"}
    assert formula.terms(line) == [(line, "text")]


def test_asides_and_sums_stay_plain_around_a_chain():
    line = "∂L/∂q = 1 − 4 = −3   (used 2 times: gradients add)"
    assert formula.terms(line) == [("∂L/∂q", "result"), (" = ", "operator"), ("1 − 4", "text"),
                                   (" = ", "operator"), ("−3", "result"), ("   (used 2 times: gradients add)", "text")]
    for line in ("b.grad = ∂L/∂b (2 values, ‖·‖ = 1.25), e.g. b.grad[0] = −1.239",
                 "b.grad = ∂L/∂b (2×2, ‖·‖ = 1.25), e.g. b.grad[0] = −1.239"):
        assert [t for t, k in formula.terms(line) if k == "result"] == ["b.grad", "∂L/∂b", "b.grad[0]", "−1.239"]
    # a bracket after a space inside a product is part of the factor, not an aside
    assert ("(1 − tanh²(z¹))", "local") in formula.terms("∂L/∂z¹ = ∂L/∂a¹ · (1 − tanh²(z¹))")


@pytest.mark.parametrize("name", TINTED)
def test_spans_concatenate_to_the_line_and_appear_in_order(name):
    """Every span list joins to exactly its line (the line the subtitles, the screen reader and
    test_caption_equalities read), and within each chain the upstream gradient comes first, then
    the local derivative, then the result."""
    s = scene(name)
    lines = 0
    for _, items in step_items(s):
        for item in items:
            assert len(item["spans"]) == len(item["lines"])
            for line, spans in zip(item["lines"], item["spans"]):
                if not spans:
                    continue
                lines += 1
                assert "".join(span["text"] for span in spans) == line
                assert spans[0]["x"] == 0.0 and [sp["x"] for sp in spans] == sorted(sp["x"] for sp in spans)
                if line.startswith("  "):   # a wrapped line's rest: its terms are the whole line's (below)
                    continue
                by_kind = dict(zip(("upstream", "local", "result"), ([], [], [])))
                for span, kind in zip(spans, kinds(line)):
                    if kind in by_kind:
                        by_kind[kind].append(appears(span))
                if by_kind["local"]:
                    assert max(by_kind["upstream"]) < min(by_kind["local"]) < min(by_kind["result"]), line
    assert lines >= 3


@pytest.mark.parametrize("name", TINTED)
def test_every_span_is_fully_shown_at_the_settle_moment(name):
    """Presentation mode stops and --at backward:K show the settle moment: the whole formula is
    there, every span at the item's full opacity (the reading time assumes it)."""
    s = scene(name)
    for event, items in step_items(s):
        t = settle_time(s, event["name"])
        shown = [it for it in items if value_at(it["track"], t) == 1.0]
        assert shown, event["name"]
        for item in shown:
            for spans in item.get("spans", []):
                assert all(value_at(span["track"], t) == 1.0 for span in spans), (event["name"], spans)


def _drawn(s: dict, t: float, view=None) -> list[tuple[str, str, float]]:
    """(text, fillStyle, globalAlpha) of every caption-band fillText at t."""
    ctx = RecordingCanvas2D()
    paint_frame(ctx, s, t, view)
    fill, alpha, out = None, 1.0, []
    for op in ctx.ops:  # ["set", name, value] or [method, *args]
        if op[:2] == ["set", "fillStyle"]:
            fill = op[2]
        elif op[:2] == ["set", "globalAlpha"]:
            alpha = op[2]
        elif op[0] == "fillText":
            out.append((op[1], fill, alpha))
    return out


@pytest.mark.parametrize("theme", ["light", "dark", "colorblind"])
def test_the_settled_frame_draws_every_span_in_its_tint(theme):
    """linear's "∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6": the upstream terms in the colour of the
    edge the gradient arrives on (× → +), the local ones in the op's forward colour, the result
    in the colour of the edge it is sent along (w → ×), each drawn, in the theme's tint."""
    s = scene("linear")
    palette = s["palettes"][theme]
    edges = {(e["from"], e["to"]): e for e in s["edges"]}
    ids = {n["info"]["label"]: n["id"] for n in s["nodes"]}
    arriving = edges[(ids["×"], ids["y_pred"])]["grad_color"]
    sent = edges[(ids["w"], ids["×"])]["grad_color"]
    event, items = next((e, its) for e, its in step_items(s) if its[0]["lines"][0].startswith("∂L/∂w ="))
    spans = items[0]["spans"][0]
    want = {"upstream": "caption_" + arriving, "local": "caption_forward_glow", "result": "caption_" + sent,
            "operator": "caption_text"}
    assert [sp["color"] for sp in spans] == [want[k] for k in kinds(items[0]["lines"][0])]
    drawn = _drawn(s, settle_time(s, event["name"]), {"theme": theme})
    for span in spans:
        assert (span["text"], palette[span["color"]], 1.0) in drawn, span


def test_before_a_step_none_of_its_spans_show_and_at_its_start_only_the_upstream():
    s = scene("linear")
    events = list(step_items(s))
    for event, items in events[1:]:
        t = event["t"]
        for item in items:
            for spans in item["spans"]:
                for span in spans:  # just before: the step's caption is not drawn at all
                    assert value_at(item["track"], t - 1e-3) * value_at(span["track"], t - 1e-3) <= VISIBLE
        first = items[0]
        for line, spans in zip(first["lines"], first["spans"]):
            for span, kind in zip(spans, kinds(line)):
                at_start = value_at(first["track"], t) * value_at(span["track"], t)
                assert (at_start == 1.0) == (kind in ("upstream", "text")), (line, span)


def test_a_caption_without_formula_is_drawn_whole():
    """The closing caption and a prose line are one fillText each, in the caption colour."""
    s = scene("linear")
    drawn = _drawn(s, s["duration"])
    closing = s["captions"]["items"][-1]["lines"]
    assert "spans" not in s["captions"]["items"][-1]
    for line in closing:
        assert (line, s["palettes"][s["theme"]]["caption_text"], 1.0) in drawn


def _build_times(s: dict) -> list[float]:
    """A step's start, its local derivative and its result half faded in, and its settle moment,
    for a few steps."""
    times = []
    for event, items in list(step_items(s))[::3]:
        spans = [sp for item in items[:1] for line in item["spans"] for sp in line]
        fades = sorted({sp["track"][0][0] for sp in spans} | {sp["track"][-1][0] for sp in spans})
        times += [event["t"]] + [(a + b) / 2 for a, b in zip(fades, fades[1:])] + [settle_time(s, event["name"])]
    return times


@pytest.mark.parametrize("name", ["linear", "deep_sigmoid"])
def test_both_painters_draw_the_spans_with_the_same_calls(name, node, tmp_path):
    """The op logs of paint.py and paint.js are equal while the formula builds up, in every theme."""
    s = scene(name)
    cases = [{"t": t, "view": {"theme": theme}, "what": "frame"} for t in _build_times(s)
             for theme in ("light", "dark", "colorblind")]
    assert len(cases) >= 12
    logs = js_ops(node, s, cases, tmp_path)
    for case, js in zip(cases, logs):
        py = python_ops(s, case)
        assert sum(op[0] == "fillText" for op in py) > 3
        assert ops_diff(py, js, tol=1e-6) is None, (case, ops_diff(py, js, tol=1e-6))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_player_draws_the_tinted_formula_like_the_video(chromium_page, tmp_path, theme):
    """Pixels: Chromium's player against the skia frame while linear's formula builds up and
    when it has settled (the tinted spans on the band are where text differs, if anywhere)."""
    from test_pixel_parity import WITH_TEXT, assert_close, snapshots
    from bprender.render import render_frame
    s = dict(scene("linear"), theme=theme)
    times = _build_times(s)[:6]
    for t, shot in zip(times, snapshots(chromium_page, tmp_path, s, times)):
        assert_close(f"formula-{theme}-{t:.2f}", shot, render_frame(s, t)[..., [2, 1, 0]], WITH_TEXT)


@pytest.mark.parametrize("name", ["deep_sigmoid", "mlp"])
def test_a_wrapped_formula_keeps_its_tints_after_the_break(name):
    """A chain-rule line the band wraps is parsed whole: the terms on its continuation lines
    are tinted as they are in the whole line (a result number stays the result's colour)."""
    from bprender.scene.captions import CONTINUED
    s = scene(name)
    checked = 0
    for _, items in step_items(s):
        for item in items:
            lines, spans = item["lines"], item["spans"]
            for k in range(1, len(lines)):
                if not lines[k].startswith(CONTINUED) or not spans[k]:
                    continue
                if k + 1 < len(lines) and lines[k + 1].startswith(CONTINUED):
                    continue   # the whole line ends further down
                start = k
                while start > 0 and lines[start].startswith(CONTINUED):
                    start -= 1
                whole = " ".join([lines[start]] + [line[len(CONTINUED):] for line in lines[start + 1:k + 1]])
                pieces = formula.terms(whole)
                if not formula.is_formula(pieces):
                    continue
                tail = [(t, kind) for t, kind in pieces][-1]
                last = spans[k][-1]
                assert whole.endswith(last["text"]) and tail[0].endswith(last["text"])
                if tail[1] in ("upstream", "local", "result"):
                    assert last["color"] != "caption_text", (whole, last)
                    checked += 1
    assert checked >= 1, "a preset whose band wraps a formula"


def test_a_line_breaks_between_clauses_not_inside_an_equation():
    """Where a line must wrap, it ends after a clause (";", the wide gap before "e.g.") when the
    next clause then fits whole on its line, rather than leaving "... =" above a lone result."""
    from bprender.canvas import FontBook
    from bprender.scene.text import TextFitter
    fitter, font = TextFitter(FontBook()), "400 24px DejaVu Sans"
    first, example = "layer 1: δ¹ = ∂L/∂a¹ · σ'(z¹);", "e.g. δ¹₂ = 0.05019 · 0.4305·(1 − 0.4305) = 0.01231"
    width = fitter.measure("  " + example, font) + 4   # the example fits a line; both do not
    assert fitter.wrap(f"{first}   {example}", font, width) == [first, "  " + example]
    assert fitter.wrap(f"{first}     {example}", font, width) == [first, "  " + example]   # a wider gap
    # a clause break that would take more lines than breaking at the last space is not taken
    long = "a; " + " ".join(["word"] * 12)
    narrow = fitter.measure("a; word word word word", font)
    assert len(fitter.wrap(long, font, narrow)) == len(fitter._wrap(long, font, narrow, clauses=False))


@pytest.mark.parametrize("name", ["mlp", "deep_sigmoid", "micrograd", "cnn", "attention", "training"])
def test_no_caption_line_ends_inside_an_equation(name):
    """No caption line that the band continues ends with "=" or an operator: the result stays
    with its equation (the mlp's "e.g. δ¹₂ = … = 0.01231" used to leave 0.01231 alone below)."""
    for item in scene(name)["captions"]["items"]:
        for line, below in zip(item["lines"], item["lines"][1:]):
            assert not line.rstrip().endswith(("=", "·", "+", "−")), (line, below)
