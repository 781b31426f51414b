"""Captions: what the band under the graph says at each moment, from the title card through
every backward step (the chain rule with real numbers) to the final gradients. Each caption
is fitted to the band here, with the real font, and shown by its own track."""
from __future__ import annotations

from ..fmt import grad_text, summary_text, to_float
from ..lecture import EVENT_SETTLE
from ..timeline import Timing
from ..tracks import ramp, shown_between
from ..views.graph import ViewGraph
from . import formula
from .regions import CAPTION_BASE_PX, CAPTION_LINES, Regions
from .style import Sizes, sign_role
from .themes import CAPTION_TINTS
from ..reading import reading_time
from .training import end_lines, later_step_lines, non_finite_loss_line, train_count, training_captions, update_lines

FADE = 0.2  # seconds for a caption to fade in
NBSP = "\u00a0"
MAX_LEAVES = 8  # parameters named in the closing caption (it turns pages over the hold)


def caption_script(trace, graph: ViewGraph, caption_text_w: float, names=None) -> dict:
    """The words of every caption but the backward steps' own (graph.steps[k].lines), by phase:
    known before the timing is made, so each phase lasts as long as its caption takes to read
    (timeline.make_timing). caption_text_w: the band's line width (a narrow panel names fewer
    parameters at the end)."""
    loss = trace["loss"]
    script = {
        "intro": [trace.get("description") or "A forward pass, then backpropagation through it.",
                  "First the forward pass: every op computes its value from its inputs."],
        "forward": ["Forward pass: values flow from the inputs to the loss."],
        "loss": [f"The loss: L = {summary_text(loss['value'])}",
                 "Backward pass next: the engine starts from ∂L/∂L = 1."],
    }
    leaves = trace.get("leaves", [])
    shown = leaves[:MAX_LEAVES if caption_text_w >= 800 else 3]  # a narrow panel names fewer
    # each parameter's item is one unbreakable word (no-break spaces inside it): a line or page of
    # the closing caption ends between two items, never inside "∂L/∂W² (4×4), ‖·‖ = 8.7e−7"
    summary = ", ".join(grad_text(names.param(leaf["name"]) if names else leaf["name"], leaf["grad"]).replace(" ", NBSP)
                        for leaf in shown)
    if len(leaves) > len(shown):
        summary += f" and {len(leaves) - len(shown)} more parameters (their norms are in the chart)"
    final = ["Gradients ready: " + summary if leaves else "Done."]
    warning = non_finite_loss_line(trace)
    if train_count(trace):  # training: the update, every later step, then the summary
        script["update"] = update_lines(trace, names)
        script["train"] = later_step_lines(trace, len(trace["train"]["steps"]) - 1, names=names)
        final = end_lines(trace)
        warning = None  # end_lines says it for every step
    script["closing"] = ([warning] if warning else []) + final
    script["end"] = script["closing"] + list(graph.notes)  # all the closing caption says
    return script


def reading_needs(script: dict, graph: ViewGraph, fitter, font: str, text_w: float,
                  step_widths: list[float] | None = None) -> dict:
    """Seconds each caption needs on screen, as timeline.make_timing takes them: the sum of its
    pages' reading times (reading.reading_time), the pages being what the band will show.
    step_widths: each backward step's line width (narrower beside its heatmaps: step_text_widths)."""
    def need(slots, last=(), width=text_w):
        return sum(reading_time(page) for page in paginate(fitter, font, width, slots, last))
    needs = {name: need(script[name]) for name in ("intro", "forward", "loss", "update", "train") if name in script}
    needs["end"] = need(script["closing"], graph.notes)
    widths = step_widths or [text_w] * len(graph.steps)
    needs["steps"] = [need(step.lines, width=w) for step, w in zip(graph.steps, widths)]
    return needs


def step_text_widths(blocks: list, text_w: float, sizes: Sizes) -> list[float]:
    """Each backward step's caption line width: the band's, less its heatmaps and a gap."""
    return [round(text_w - b["w"] - sizes.px(24), 2) if b else text_w for b in blocks]


def paginate(fitter, font: str, text_w: float, slots, last=()) -> list[list[str]]:
    """A caption as the pages the band shows; `last` starts a page of its own."""
    pages = fitter.pages(slots, font, text_w, CAPTION_LINES)
    if last:
        pages = [p for p in pages if p] + fitter.pages(list(last), font, text_w, CAPTION_LINES)
    return pages


def caption_font(sizes: Sizes) -> str:
    return sizes.font(CAPTION_BASE_PX, primary=True)


def build_captions(trace, graph: ViewGraph, timing: Timing, script: dict, sizes: Sizes, fitter,
                   regions: Regions, names=None, nodes=(), edges=(), blocks=None) -> dict:
    """nodes, edges: the scene's, whose colour roles a backward step's formula terms take.
    blocks: each backward step's heatmaps of its factors (chain_heat.chain_block) or None."""
    font = caption_font(sizes)
    items = []
    blocks = blocks or [None] * len(graph.steps)
    widths = step_text_widths(blocks, regions.caption_text_w, sizes)

    def add(t0, t1, slots, seen_until=None, last=(), tints=None, width=None, block=None):
        """A caption from t0 to t1; one longer than the band turns its pages in the time it is
        seen (up to seen_until, the end of the animation for the closing caption), each page for
        a share of that time in proportion to its reading time (so each page stays its reading
        time, as the timing gave the caption the sum of them). `last` starts a page of its own,
        the one left showing at the end."""
        pages = paginate(fitter, font, width or regions.caption_text_w, slots, last)
        seen = (seen_until if seen_until is not None else t1) - t0
        weights = [reading_time(lines) for lines in pages]
        start = t0
        heat = None
        for k, lines in enumerate(pages):
            end = t1 if k == len(pages) - 1 else start + seen * weights[k] / sum(weights)
            # a caption that takes over from the one before replaces it at once: fading in from
            # nothing would leave the band blank at every step boundary
            follows = bool(items) and abs(items[-1]["track"][-1][0] - round(start, 6)) < 1e-6
            items.append({"lines": lines, "track": shown_between(start, end, 0.0 if follows else FADE)})
            if tints is not None:
                items[-1]["spans"] = page_spans(lines, tints, start, end, fitter, font)
            if block is not None:   # timed with the first page's terms; on every page of the step
                heat = heat or timed_block(block, start, end)
                items[-1]["heatmaps"] = heat
            start = end

    phase = {p["name"]: p for p in timing.phases}
    for name in ("intro", "forward", "loss"):
        add(phase[name]["t0"], phase[name]["t1"], script[name])
    for k, (step, t) in enumerate(zip(graph.steps, timing.steps)):
        end = timing.steps[k + 1] if k + 1 < len(timing.steps) else phase["backward"]["t1"]
        add(t, end, step.lines, tints=step_tints(step, nodes, edges), width=widths[k], block=blocks[k])
    if timing.train_starts:
        for t0, t1, lines in training_captions(trace, timing, names):
            add(t0, t1, lines)
    # the closing caption outlasts the animation, so the last frame shows it settled (it takes
    # over from the last step's at once: no fade); what stands out (a vanishing or exploding
    # layer) gets the last page: the final frame shows it
    add(phase["end"]["t0"], phase["end"]["t1"] + 1.0, script["closing"],
        seen_until=phase["end"]["t1"], last=graph.notes)
    x, y, w, h = regions.caption
    return {"font": font, "line_height": round(sizes.text_px(CAPTION_BASE_PX, primary=True) * 1.35, 2),
            "x": x, "y": y, "w": w, "h": h, "pad": sizes.px(18), "radius": sizes.px(10),
            "fill": "caption_fill", "color": "caption_text", "items": items}


# when each stage of a formula starts to appear, as a share of the step's settle window (the
# upstream gradient is there when the step starts: it arrived in the step before), and how long
# it takes to fade in: the result is fully shown at 3/4 of the window, before the settle moment
# where presentation mode stops and a still is taken (lecture.settle_time)
STAGE_AT = (0.0, 0.25, 0.5)
STAGE_FADE = 0.25


def step_tints(step, nodes, edges) -> dict:
    """The colour roles a backward step's formula terms take, where the step says them: the
    upstream gradient the colour of the edges it arrives on (those leaving the step's nodes
    toward the loss), the result the colour of the edges it sends along (a leaf's: its own),
    None where those edges disagree (each chain's own number then says its sign); the fallback:
    the step's first node's gradient colour."""
    mine = set(step.nodes)
    node = next((n for n in nodes if n["id"] in mine), None)
    arrive = {e["grad_color"] for e in edges if e["from"] in mine and "grad_color" in e}
    sends = set(step.edges)
    sent = {e["grad_color"] for e in edges if e["id"] in sends and "grad_color" in e}
    fallback = node["grad_color"] if node else "magnitude"
    if not step.edges:
        sent = {fallback}
    return {formula.UPSTREAM: next(iter(arrive)) if len(arrive) == 1 else None,
            formula.RESULT: next(iter(sent)) if len(sent) == 1 else None, "fallback": fallback}


def _term_role(text: str, kind: str, chain: list, tints: dict) -> str:
    """A term's colour role (a caption_* tint): a norm and what equals it are a tensor's (magnitude); a tensor's
    edges are the neutral magnitude colour whatever element a number picks; a scalar's, the
    sign of the chain's own number for that term (the edge it names shows that sign)."""
    if kind == formula.LOCAL:
        role = "forward_glow"  # the op's colour: its forward ring, the legend's forward value
    elif any(t.startswith("\u2016") for t, k in chain if k == kind):  # "‖∂L/∂W‖ = 0.172": a norm
        role = "magnitude"
    elif tints[kind] == "magnitude":
        role = "magnitude"
    else:
        signs = [_sign(t) for t, k in chain if k == kind and _sign(t)]
        pick = (signs[0] if kind == formula.UPSTREAM else signs[-1]) if signs else None
        role = pick or tints[kind] or tints["fallback"]
    return "caption_" + role if role in CAPTION_TINTS else "caption_text"


def _sign(text: str) -> str | None:
    try:
        return sign_role(to_float(text.strip().replace("\u2212", "-")))
    except (TypeError, ValueError):
        return None


CONTINUED = "  "  # TextFitter.wrap's indent: a display line that carries on the one above


def page_spans(lines: list[str], tints: dict, t0: float, t1: float, fitter, font: str) -> list[list[dict]]:
    """Spans for each display line of a caption page. A line the band wrapped is parsed whole
    (its continuation lines joined back on), so the terms after the break keep their tints and
    stages; each display line gets the spans, or parts of spans, that fall on it."""
    out: list[list[dict]] = []
    k = 0
    while k < len(lines):
        group = [lines[k]]
        while k + len(group) < len(lines) and lines[k + len(group)].startswith(CONTINUED):
            group.append(lines[k + len(group)])
        out += _group_spans(group, tints, t0, t1, fitter, font)
        k += len(group)
    return out


def _group_spans(group: list[str], tints: dict, t0: float, t1: float, fitter, font: str) -> list[list[dict]]:
    if len(group) == 1:
        return [line_spans(group[0], tints, t0, t1, fitter, font)]
    parts = [group[0]] + [line[len(CONTINUED):] for line in group[1:]]
    whole = " ".join(parts)
    spans = line_spans(whole, tints, t0, t1, fitter, font)
    if not spans:
        return [[] for _ in group]
    # the logical line's pieces with their character ranges, cut where the display lines break
    pieces, at = [], 0
    for span in spans:
        pieces.append((at, at + len(span["text"]), span))
        at += len(span["text"])
    out, start = [], 0
    for index, (line, part) in enumerate(zip(group, parts)):
        end = start + len(part)
        indent = CONTINUED if index else ""
        mine = []
        for a, b, span in pieces:
            lo, hi = max(a, start), min(b, end)
            if lo >= hi:
                continue
            text = whole[lo:hi]
            if not mine:
                text = text.lstrip(" ")   # the space the break took is the indent's
                if not text:
                    continue
                lo = hi - len(text)
            before = indent + whole[start:lo]
            mine.append({**span, "text": text, "x": round(fitter.measure(before, font), 2) if before else 0.0})
        if "".join(span["text"] for span in mine) != part.lstrip(" "):
            # not the words the band shows (a word wider than the band was cut): each alone
            return [line_spans(line, tints, t0, t1, fitter, font) for line in group]
        if indent and mine:   # the spans join to the display line, indent and all
            mine.insert(0, {"text": line[:len(line) - len(part.lstrip(" "))], "x": 0.0, "color": "caption_text",
                            "track": spans[0]["track"]})
        out.append(mine)
        start = end + 1   # the space the wrap broke at
    return out


def line_spans(line: str, tints: dict, t0: float, t1: float, fitter, font: str) -> list[dict]:
    """A fitted caption line as spans: each term of its formula tinted and appearing in order,
    upstream, local, result, from t0 (the page's start) on, all shown well before the settle
    moment; [] when the line says no formula (it is drawn whole, in the caption colour)."""
    pieces = formula.terms(line)
    if not formula.is_formula(pieces):
        return []
    window = min(EVENT_SETTLE, 0.75 * (t1 - t0))
    # each piece's chain (one list shared by the pieces between two plain texts, filled as it
    # goes): a term's colour reads the signs of its chain's numbers
    chain_of, chain = [], []
    for piece in pieces:
        if piece[1] == formula.TEXT:
            chain = []
        else:
            chain.append(piece)
        chain_of.append(chain)
    spans, offset = [], 0
    for (text, kind), stage, chain in zip(pieces, formula.stages(pieces), chain_of):
        if kind in (formula.UPSTREAM, formula.LOCAL, formula.RESULT):
            color = _term_role(text, kind, chain, tints)
        else:
            color = "caption_text"
        at = t0 + STAGE_AT[stage] * window
        track = [[round(at, 6), 0.0], [round(at, 6), 1.0]] if stage == 0 else ramp(at, at + STAGE_FADE * window)
        spans.append({"text": text, "x": round(fitter.measure(line[:offset], font), 2) if offset else 0.0,
                      "color": color, "track": track})
        offset += len(text)
    return spans


def timed_block(block: dict, t0: float, t1: float) -> dict:
    """The block as a caption item holds it: each heatmap and operator with its opacity track,
    appearing from t0 (the step's first page) as the formula's terms of its stage do."""
    window = min(EVENT_SETTLE, 0.75 * (t1 - t0))

    def track(stage: int) -> list:
        at = t0 + STAGE_AT[stage] * window
        return [[round(at, 6), 0.0], [round(at, 6), 1.0]] if stage == 0 else ramp(at, at + STAGE_FADE * window)

    terms = [{**{k: v for k, v in term.items() if k != "stage"}, "track": track(term["stage"])} for term in block["terms"]]
    ops = [{**{k: v for k, v in op.items() if k != "stage"}, "track": track(op["stage"])} for op in block["operators"]]
    return {"terms": terms, "operators": ops, "frame_color": block["frame_color"], "frame_width": block["frame_width"]}
