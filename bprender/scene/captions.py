"""Captions: what the band under the graph says at each moment, from the title card through
every backward step (the chain rule with real numbers) to the final gradients. Each caption
is fitted to the band here, with the real font, and shown by its own track."""
from __future__ import annotations

from ..fmt import summary_text
from ..timeline import Timing
from ..tracks import shown_between
from ..views.graph import ViewGraph
from .regions import CAPTION_BASE_PX, CAPTION_LINES, Regions
from .style import Sizes
from .training import end_lines, training_captions

FADE = 0.2  # seconds for a caption to fade in


def build_captions(trace, graph: ViewGraph, timing: Timing, sizes: Sizes, fitter, regions: Regions) -> dict:
    font = sizes.font(CAPTION_BASE_PX)
    items = []

    def add(t0, t1, slots):
        items.append({"lines": fitter.lines(slots, font, regions.caption_text_w, CAPTION_LINES),
                      "track": shown_between(t0, t1, FADE)})

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
    summary = ", ".join(f"∂L/∂{leaf['name']} = {summary_text(leaf['grad'])}" for leaf in leaves[:4])
    if len(leaves) > 4:
        summary += f", … ({len(leaves)} leaves)"
    final = ["Gradients ready: " + summary if leaves else "Done."] + graph.notes
    if timing.train_starts:  # training: the update, every later step, then the summary
        for t0, t1, lines in training_captions(trace, timing):
            add(t0, t1, lines)
        final = end_lines(trace) + graph.notes
    add(phase["end"]["t0"], phase["end"]["t1"] + 1.0, final)
    x, y, w, h = regions.caption
    return {"font": font, "line_height": round(sizes.text_px(CAPTION_BASE_PX) * 1.35, 2),
            "x": x, "y": y, "w": w, "h": h, "pad": sizes.px(18), "radius": sizes.px(10),
            "fill": "caption_fill", "color": "caption_text", "items": items}
