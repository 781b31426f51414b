"""The per-layer gradient-norm chart: one bar per layer (a module's parameters together, or a
leaf when there are no modules) on a log axis, each growing in when the engine finishes that
layer's gradients. Resolved here; painted by paint.paint_chart on its own canvas."""
from __future__ import annotations

import math

from ..fmt import num
from ..layers import layer_norms
from .style import Sizes
from ..tracks import ramp
from ..views.flags import layer_flags, layer_title

MAX_ROWS = 16


def log_axis(norms: list[float]) -> tuple[int, int]:
    """Whole decades spanning the finite, non-zero norms: the chart's log axis."""
    finite = [n for n in norms if n > 0 and math.isfinite(n)]
    lo = math.floor(math.log10(min(finite))) if finite else -1
    hi = math.ceil(math.log10(max(finite))) if finite else 0
    return (lo, hi) if hi > lo else (lo, lo + 1)


def build_chart(trace: dict, fired_at: dict[str, float], sizes: Sizes, fonts, width: float,
                axis: tuple[int, int] | None = None, rows: list | None = None, names=None) -> dict:
    """The chart for one trace; `axis` (decades) shared with other charts puts several traces on
    one scale; `rows` ((label, norm, leaf node ids)) replaces the trace's own layers; `names` (a
    Notation) names the trace's layers ("layer 1" for module 0)."""
    flagged = {layer_title(f.layer, names) for f in layer_flags(trace)} if rows is None else set()
    if rows is None:
        rows = [(layer_title(name, names), norm, ids) for name, norm, ids in layer_norms(trace)]
    rows = rows[:MAX_ROWS]
    font = sizes.font(12)
    px = sizes.text_px(12)
    row_h = round(px * 1.7, 2)
    pad = sizes.px(14)
    title_h = round(px * 2.2, 2)
    label_w = max([fonts.measure(name, font) for name, _, _ in rows] + [0.0]) + sizes.px(12)
    value_w = fonts.measure("0.0000e−00", font) + sizes.px(8)
    bar_x = round(pad + label_w, 2)
    bar_full = round(max(width - bar_x - value_w - pad, 10.0), 2)
    lo, hi = axis or log_axis([n for _, n, _ in rows])
    height = math.ceil(title_h + row_h * max(len(rows), 1) + px * 2.4)
    out_rows = []
    for i, (name, norm, ids) in enumerate(rows):
        if norm > 0 and math.isfinite(norm):
            length = bar_full * (math.log10(norm) - lo) / (hi - lo)
            color = "flag" if name in flagged else "forward"
        else:
            length = bar_full if not math.isfinite(norm) else 0.0
            color = "nonfinite" if not math.isfinite(norm) else "zero"
        t = max((fired_at[n] for n in ids if n in fired_at), default=0.0)
        y = round(title_h + row_h * i, 2)
        out_rows.append({"label": name, "value": num(norm, 3), "y": y, "h": round(row_h * 0.64, 2),
                         "w": round(max(length, 1.0), 2), "color": color,
                         "text_y": round(y + row_h * 0.5, 2), "track": ramp(t, t + 0.4)})
    axis_y = round(title_h + row_h * max(len(rows), 1) + px * 0.4, 2)
    ticks = [{"x": round(bar_x + bar_full * (k - lo) / (hi - lo), 2), "text": f"1e{k}".replace("-", "−")}
             for k in range(lo, hi + 1)]
    return {"width": width, "height": height, "font": font, "background": "panel",
            "text": "text", "muted": "muted", "grid": "edge_idle",
            "title": {"text": "Gradient norm per layer (log scale)", "x": pad, "y": round(px * 1.5, 2)},
            "label_x": pad, "bar_x": bar_x, "value_x": round(bar_x + bar_full + sizes.px(8), 2),
            "axis_y": axis_y, "tick_y": round(axis_y + px * 1.3, 2), "ticks": ticks, "rows": out_rows}
