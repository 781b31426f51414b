"""The predictions panel of a training scene: the model's outputs against the targets, one row
per sample, the outputs changing with the step shown. It is the payoff of training: the
numbers in the prediction column walk towards the targets as the loss falls.

It needs every step's output (a small graph, captured in full at every step: trace/train.py)
and a loss whose inputs are the model's output and a target of one of two shapes: the same
shape (regression: numbers side by side) or one class index per sample against one score per
class (classification: the predicted class, the argmax). Anything else gets no panel.
"""
from __future__ import annotations

import math

from ..fmt import num, to_float
from ..tracks import ramp
from .boundary import LEAST_CELL, build_boundary, legend_texts, least_side
from .glyphs import CELL_RATIO
from .style import Sizes

MAX_ROWS = 8          # samples listed; the rest are counted in a last line
NEAR = 0.1            # an output within 10% of its target (at least 0.1) reads as fitted
GRID_SIDE = 24        # cells per side of the decision boundary (trace/boundary.py's GRID)
LEGEND_ROWS = 1.0     # rows' height under the table for the boundary's legend line


def _numbers(summary: dict | None) -> list[float] | None:
    values = (summary or {}).get("values")
    return [to_float(v) for v in values] if values is not None else None


def _rows(values: list[float], shape: list[int]) -> list[list[float]]:
    n = shape[0] if shape else 1
    width = len(values) // n if n else 0
    return [values[i * width:(i + 1) * width] for i in range(n)] if width else []


def _argmax(row: list[float]) -> int:
    best = max((v for v in row if not math.isnan(v)), default=math.nan)
    return row.index(best) if best in row else 0


def _output_and_target(trace: dict) -> tuple[str, dict] | None:
    """The id of the node whose value is the model's output, and the target's summary."""
    nodes = {n["id"]: n for n in trace["nodes"]}
    edges = {e["id"]: e for e in trace["edges"]}
    loss = nodes.get(trace["loss"]["node"])
    if loss is None:
        return None
    output = target = None
    for item in loss.get("inputs") or []:
        if "edge" in item and output is None and item["edge"] in edges:
            output = edges[item["edge"]]["from"]
        elif "const" in item and target is None and item.get("value"):
            target = item["value"]
    return (output, target) if output is not None and target is not None else None


def _columns(output_rows, target_rows) -> str | None:
    """'numbers' (regression), 'classes' (scores against class indices) or None."""
    if not output_rows or len(output_rows) != len(target_rows):
        return None
    if all(len(o) == len(t) for o, t in zip(output_rows, target_rows)) and len(output_rows[0]) <= 2:
        return "numbers"
    if all(len(t) == 1 for t in target_rows) and len(output_rows[0]) > 1:
        return "classes"
    return None


def _point_text(row: list[float]) -> str:
    return ", ".join(num(v, 3) for v in row)


def prediction_table(trace: dict, step_traces: list[dict]) -> dict | None:
    """{"kind": "numbers" | "classes", "targets": [text per sample], "outputs": [[text per
    sample] per step], "near": [[bool per sample] per step]}, or None: nothing to show."""
    found = _output_and_target(trace)
    if found is None or not step_traces:
        return None
    output_id, target = found
    index = next(k for k, n in enumerate(trace["nodes"]) if n["id"] == output_id)
    outputs = []
    for t in step_traces:
        value = t["nodes"][index].get("value")
        numbers = _numbers(value)
        if numbers is None:
            return None
        outputs.append(_rows(numbers, value.get("shape") or []))
    targets = _numbers(target)
    if targets is None:
        return None
    target_rows = _rows(targets, target.get("shape") or [len(targets)])
    kind = _columns(outputs[0], target_rows)
    if kind is None:
        return None
    if kind == "numbers":
        scales = [max([1.0] + [abs(v) for v in row]) for row in target_rows]
        return {"kind": kind, "output": output_id, "target_values": [row[0] for row in target_rows],
                "targets": [_point_text(row) for row in target_rows],
                "outputs": [[_point_text(row) for row in step] for step in outputs],
                "near": [[max(abs(a - b) for a, b in zip(o, t)) <= NEAR * s
                          for o, t, s in zip(step, target_rows, scales)] for step in outputs]}
    wanted = [int(row[0]) for row in target_rows]
    classes = [[_argmax(row) for row in step] for step in outputs]
    return {"kind": kind, "output": output_id, "target_values": [float(c) for c in wanted],
            "targets": [str(c) for c in wanted],
            "outputs": [[str(c) for c in step] for step in classes],
            "near": [[c == w for c, w in zip(step, wanted)] for step in classes]}


def _metrics(sizes: Sizes) -> tuple[float, float, float]:
    """(padding, title size, row height)."""
    return sizes.px(14), sizes.text_px(15), round(sizes.text_px(13) * 1.3, 2)


def predictions_height(sizes: Sizes, rows: int, boundary: bool = False) -> float:
    """The panel's height for `rows` samples (at most MAX_ROWS are listed); boundary: room for
    the decision boundary beside the rows, at least its smallest legible size, and its legend
    line under both."""
    pad, title_px, row_h = _metrics(sizes)
    body = row_h * (1.3 + min(rows, MAX_ROWS) + 0.3)
    if boundary:
        body = max(body, sizes.floor / CELL_RATIO * LEAST_CELL * GRID_SIDE + row_h) + row_h * LEGEND_ROWS
    return round(2 * pad + title_px + body, 2)


def _table_xs(table: dict, shown: int, x: float, pad: float, font: str, fonts) -> list[float]:
    """Column edges of a table as narrow as its texts (the boundary takes the rest): the
    label's left edge, the target's and the output's right edges."""
    gap = pad
    label_w = max(fonts.measure(t, font) for t in ["#"] + [str(i + 1) for i in range(shown)])
    target_w = max(fonts.measure(t, font) for t in ["target"] + table["targets"][:shown])
    head = "class" if table["kind"] == "classes" else "output"
    output_w = max(fonts.measure(t, font) for t in [head] + [text for step in table["outputs"] for text in step[:shown]])
    left = x + pad
    return [round(left, 2), round(left + label_w + gap + target_w, 2),
            round(left + label_w + gap + target_w + gap + output_w, 2)]


def build_predictions(table: dict, rect, sizes: Sizes, shown_from: float, boundary: dict | None = None,
                      fonts=None) -> dict:
    """The panel at rect (x, y, w, h), fading in at shown_from (step 1's output is known once
    its forward pass has reached the loss). The painters pick each row's output by step.
    boundary (scene/boundary.py's boundary_map, with fonts to measure the table): the decision
    boundary beside the rows, where it fits at a legible size."""
    x, y, w, h = rect
    pad, title_px, row_h = _metrics(sizes)
    px = sizes.text_px(13)
    title_y = round(y + pad + title_px, 2)
    head_y = round(title_y + row_h * 1.3, 2)
    bottom = y + h - pad - (row_h * LEGEND_ROWS if boundary is not None else 0)
    fit = max(1, int((bottom - head_y) // row_h))
    n = len(table["targets"])
    shown = n if n <= min(fit, MAX_ROWS) else max(1, min(fit, MAX_ROWS) - 1)
    xs = [round(x + pad, 2), round(x + pad + (w - 2 * pad) * 0.55, 2), round(x + w - pad, 2)]
    drawn = None
    if boundary is not None:
        font = sizes.font(13)
        narrow = _table_xs(table, shown, x, pad, font, fonts)
        legend_y = round(y + h - pad - px * 0.25, 2)
        bar_h = round(max(px * 0.35, sizes.px(3)), 2)
        image_top = head_y - px * 0.8
        image_bottom = legend_y - px * 0.8 - sizes.px(4) - bar_h - sizes.px(4)
        left, right = narrow[2] + pad, x + w - pad
        side = min(image_bottom - image_top, right - left)
        scale, dots = legend_texts(boundary)
        title_w = fonts.measure("Predictions", sizes.font(15, True))
        fits = fonts.measure(scale, font) <= w - 2 * pad and title_w + pad + fonts.measure(dots, font) <= w - 2 * pad
        if side >= least_side(boundary, sizes) and fits:
            xs = narrow
            legend = {"font": font, "px": px, "color": "muted",
                      "texts": [{"text": scale, "x": round(x + pad, 2), "y": legend_y, "align": "left"},
                                {"text": dots, "x": round(x + w - pad, 2), "y": title_y, "align": "right"}]}
            drawn = build_boundary(boundary, (right - side, image_top, side, side), legend, sizes)
    rows = [{"y": round(head_y + row_h * (i + 1), 2), "label": str(i + 1), "target": table["targets"][i],
             "texts": [step[i] for step in table["outputs"]],
             "colors": ["text" if step[i] else "loss" for step in table["near"]]} for i in range(shown)]
    out = {
        "x": x, "y": y, "w": w, "h": h, "radius": sizes.px(10), "track": ramp(shown_from, shown_from + 0.3),
        "background": "panel", "border": "edge_idle", "text": "text", "muted": "muted",
        "title_font": sizes.font(15, True), "font": sizes.font(13), "px": px,
        "title": {"text": "Predictions", "x": round(x + pad, 2), "y": title_y},
        "head": {"y": head_y, "texts": ["#", "target", "class" if table["kind"] == "classes" else "output"],
                 "xs": xs},
        "rows": rows,
        "more": {"text": f"… {n - shown} more", "x": round(x + pad, 2),
                 "y": round(head_y + row_h * (shown + 1), 2)} if shown < n else None,
    }
    if drawn is not None:
        out["boundary"] = drawn
    return out
