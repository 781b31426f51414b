"""Captions: what the band under the graph says at each moment, from the title card through
every backward step (the chain rule with real numbers) to the final gradients. Each caption
is fitted to the band here, with the real font, and shown by its own track."""
from __future__ import annotations

from ..fmt import grad_text, summary_text
from ..timeline import Timing
from ..tracks import shown_between
from ..views.graph import ViewGraph
from .regions import CAPTION_BASE_PX, CAPTION_LINES, Regions
from .style import Sizes
from .training import end_lines, non_finite_loss_line, training_captions

FADE = 0.2  # seconds for a caption to fade in
MAX_LEAVES = 8  # parameters named in the closing caption (it turns pages over the hold)


def build_captions(trace, graph: ViewGraph, timing: Timing, sizes: Sizes, fitter, regions: Regions,
                   names=None) -> dict:
    font = sizes.font(CAPTION_BASE_PX, primary=True)
    items = []

    def add(t0, t1, slots, seen_until=None, last=()):
        """A caption from t0 to t1; one longer than the band turns its pages in the time it is
        seen (up to seen_until, the end of the animation for the closing caption). `last`
        starts a page of its own, the one left showing at the end."""
        pages = fitter.pages(slots, font, regions.caption_text_w, CAPTION_LINES)
        if last:
            pages = [p for p in pages if p] + fitter.pages(list(last), font, regions.caption_text_w, CAPTION_LINES)
        length = ((seen_until if seen_until is not None else t1) - t0) / len(pages)
        for k, lines in enumerate(pages):
            start = t0 + k * length
            end = t1 if k == len(pages) - 1 else t0 + (k + 1) * length
            # a caption that takes over from the one before replaces it at once: fading in from
            # nothing would leave the band blank at every step boundary
            follows = bool(items) and abs(items[-1]["track"][-1][0] - round(start, 6)) < 1e-6
            items.append({"lines": lines, "track": shown_between(start, end, 0.0 if follows else FADE)})

    phase = {p["name"]: p for p in timing.phases}
    add(phase["intro"]["t0"], phase["intro"]["t1"],
        [trace.get("description") or "A forward pass, then backpropagation through it.",
         "First the forward pass: every op computes its value from its inputs."])
    add(phase["forward"]["t0"], phase["forward"]["t1"], ["Forward pass: values flow from the inputs to the loss."])
    loss = trace["loss"]
    add(phase["loss"]["t0"], phase["loss"]["t1"], [f"The loss: L = {summary_text(loss['value'])}",
                                                   "Backward pass next: the engine starts from ∂L/∂L = 1."])
    for k, (step, t) in enumerate(zip(graph.steps, timing.steps)):
        end = timing.steps[k + 1] if k + 1 < len(timing.steps) else phase["backward"]["t1"]
        add(t, end, step.lines)
    leaves = trace.get("leaves", [])
    shown = leaves[:MAX_LEAVES if regions.caption_text_w >= 800 else 3]  # a narrow panel names fewer
    summary = ", ".join(grad_text(names.param(leaf["name"]) if names else leaf["name"], leaf["grad"]) for leaf in shown)
    if len(leaves) > len(shown):
        summary += f" and {len(leaves) - len(shown)} more parameters (their norms are in the chart)"
    final = ["Gradients ready: " + summary if leaves else "Done."]
    warning = non_finite_loss_line(trace)
    if timing.train_starts:  # training: the update, every later step, then the summary
        for t0, t1, lines in training_captions(trace, timing, names):
            add(t0, t1, lines)
        final = end_lines(trace)
        warning = None  # end_lines says it for every step
    # the closing caption outlasts the animation, so the last frame shows it settled
    # what stands out (a vanishing or exploding layer) gets the last page: the final frame shows it
    add(phase["end"]["t0"], phase["end"]["t1"] + 1.0, ([warning] if warning else []) + final,
        seen_until=phase["end"]["t1"] - FADE, last=graph.notes)
    x, y, w, h = regions.caption
    return {"font": font, "line_height": round(sizes.text_px(CAPTION_BASE_PX, primary=True) * 1.35, 2),
            "x": x, "y": y, "w": w, "h": h, "pad": sizes.px(18), "radius": sizes.px(10),
            "fill": "caption_fill", "color": "caption_text", "items": items}
