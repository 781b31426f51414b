"""The header: title and description on the left, the current phase and the colour legend on
the right. A description too long for its line wraps onto a second (the header grows); the
title and what is still too long are shortened with an ellipsis."""
from __future__ import annotations

from ..tracks import count_track
from .style import Sizes

DESCRIPTION_LINES = 2  # a longer description is cut: the caption band says it in full at the start
LEGEND = (("negative gradient", "negative"), ("positive gradient", "positive"), ("forward value", "forward_glow"))


def header_lines(header: dict) -> int:
    """How many lines the header has below the title (the graph starts below them)."""
    texts = header["texts"]
    if len(texts) < 2:
        return 1
    step = texts[-1]["y"] - texts[1]["y"]
    below_legend = texts[1]["y"] > header["legend"][0]["y"] + 0.5 if header["legend"] else False
    return len(texts) - 1 + (1 if below_legend else 0) if step >= 0 else 1


def build_header(trace: dict, width: int, sizes: Sizes, fitter, phases: list[dict], extra=()) -> dict:
    """extra: more legend entries (text, role), drawn left of the sign colours: the scene's
    magnitude range, the NaN/Inf colour where there are any."""
    margin = sizes.px(40)
    gap = sizes.px(24)
    title_y = round(sizes.px(22) + sizes.text_px(26), 2)
    line2_y = round(title_y + sizes.text_px(15) * 1.7, 2)
    legend_font = sizes.font(13)
    legend_px = sizes.text_px(13)
    legend = []
    x = width - margin
    for k, (text, role) in enumerate(tuple(LEGEND) + tuple(extra)):
        w = fitter.measure(text, legend_font)
        if k >= len(LEGEND) and x - w - legend_px * 1.2 < margin:
            continue  # an extra entry that does not fit a narrow frame (a panel) is left out
        legend.append({"text": text, "color": role, "x": round(x - w, 2), "y": line2_y,
                       "dot_x": round(x - w - legend_px * 0.75, 2), "dot_y": round(line2_y - legend_px * 0.35, 2),
                       "r": round(legend_px * 0.38, 2)})
        x -= w + legend_px * 2.2
    legend_left = x + legend_px * 2.2 - legend_px * 1.2
    phase_font = sizes.font(20, True)
    labels = [p["label"] for p in phases]
    phase_w = max(fitter.measure(label, phase_font) for label in labels)
    title_font, description_font = sizes.font(26, True), sizes.font(15)
    title = {"text": fitter.fit(trace.get("title", ""), title_font, width - 2 * margin - phase_w - gap),
             "x": margin, "y": title_y, "font": title_font, "color": "text"}
    room = legend_left - margin - gap
    step = sizes.text_px(15) * 1.35
    first_y = line2_y
    if room < 0.45 * (width - 2 * margin):  # a narrow frame (a panel): the description goes under the legend
        room, first_y = width - 2 * margin, line2_y + step
    wrapped = fitter.wrap(trace.get("description", ""), description_font, room)
    if len(wrapped) > DESCRIPTION_LINES:
        wrapped = wrapped[:DESCRIPTION_LINES - 1] + [fitter.fit(" ".join(wrapped[DESCRIPTION_LINES - 1:]),
                                                                 description_font, room)]
    texts = [title] + [{"text": line.strip(), "x": margin, "y": round(first_y + k * step, 2), "font": description_font,
                        "color": "muted"} for k, line in enumerate(wrapped) if line.strip()]
    return {
        "texts": texts,
        # the label of the phase under way: texts[k] from phases[k]'s start on
        "phase": {"x": width - margin, "y": title_y, "font": phase_font, "color": "text", "texts": labels,
                  "track": count_track([p["t0"] for p in phases[1:]])},
        "legend": legend, "legend_font": legend_font,
    }
