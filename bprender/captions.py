"""Captions: what the band under the graph says at each moment, from the title card through
every backward step (the chain rule with real numbers) to the final gradients."""
from __future__ import annotations

from .fmt import summary_text
from .views.graph import ViewGraph
from .style import Sizes
from .timeline import Timing
from .training import end_lines, training_captions

FADE = 0.2  # seconds for a caption to fade in
MAX_LINES = 3  # the caption band holds three lines


def caption_band_height(sizes: Sizes) -> float:
    """Room for MAX_LINES lines: the top padding, the lines, a little padding below."""
    return round(sizes.px(18) * 1.6 + MAX_LINES * sizes.text_px(19) * 1.35, 2)


def build_captions(trace, graph: ViewGraph, timing: Timing, sizes: Sizes, fonts, width, height, colors) -> dict:
    font = sizes.font(19)
    max_w = width - 2 * sizes.px(40) - 2 * sizes.px(18)
    items = []

    def add(t0, t1, lines):
        items.append({"t0": round(t0, 6), "t1": round(t1, 6),
                      "lines": [fit_text(line, font, max_w, fonts) for line in lines[:MAX_LINES]]})

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
    band_h = caption_band_height(sizes)
    return {"font": font, "line_height": round(sizes.text_px(19) * 1.35, 2),
            "x": sizes.px(40), "y": round(height - band_h - sizes.px(16), 2), "w": width - 2 * sizes.px(40),
            "h": round(band_h, 2), "pad": sizes.px(18), "radius": sizes.px(10), "fade": FADE,
            "fill": colors["caption_fill"], "color": colors["caption_text"], "items": items}


def fit_text(text: str, font: str, max_w: float, fonts) -> str:
    """Shorten a line with an ellipsis until it fits (measured with the real font)."""
    if not text or fonts.measure(text, font) <= max_w:
        return text
    while len(text) > 4 and fonts.measure(text + "…", font) > max_w:
        text = text[:-1]
    return text.rstrip() + "…"
