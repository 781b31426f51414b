"""The header: title and description on the left, the current phase and the colour legend on
the right. Text that would run into the right-hand side is shortened with an ellipsis."""
from __future__ import annotations

from ..tracks import count_track
from .style import Sizes

LEGEND = (("negative gradient", "negative"), ("positive gradient", "positive"), ("forward value", "forward_glow"))


def build_header(trace: dict, width: int, sizes: Sizes, fitter, phases: list[dict]) -> dict:
    margin = sizes.px(40)
    gap = sizes.px(24)
    title_y = round(sizes.px(22) + sizes.text_px(26), 2)
    line2_y = round(title_y + sizes.text_px(15) * 1.7, 2)
    legend_font = sizes.font(13)
    legend_px = sizes.text_px(13)
    legend = []
    x = width - margin
    for text, role in LEGEND:
        w = fitter.measure(text, legend_font)
        legend.append({"text": text, "color": role, "x": round(x - w, 2), "y": line2_y,
                       "dot_x": round(x - w - legend_px * 0.75, 2), "dot_y": round(line2_y - legend_px * 0.35, 2),
                       "r": round(legend_px * 0.38, 2)})
        x -= w + legend_px * 2.2
    legend_left = x + legend_px * 2.2 - legend_px * 1.2
    phase_font = sizes.font(20, True)
    labels = [p["label"] for p in phases]
    phase_w = max(fitter.measure(label, phase_font) for label in labels)
    title_font, description_font = sizes.font(26, True), sizes.font(15)
    return {
        "title": {"text": fitter.fit(trace.get("title", ""), title_font, width - 2 * margin - phase_w - gap),
                  "x": margin, "y": title_y, "font": title_font, "color": "text"},
        "description": {"text": fitter.fit(trace.get("description", ""), description_font,
                                           legend_left - margin - gap),
                        "x": margin, "y": line2_y, "font": description_font, "color": "muted"},
        # the label of the phase under way: texts[k] from phases[k]'s start on
        "phase": {"x": width - margin, "y": title_y, "font": phase_font, "color": "text", "texts": labels,
                  "track": count_track([p["t0"] for p in phases[1:]])},
        "legend": legend, "legend_font": legend_font,
    }
