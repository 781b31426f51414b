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
from .style import Sizes

MAX_ROWS = 8          # samples listed; the rest are counted in a last line
NEAR = 0.1            # an output within 10% of its target (at least 0.1) reads as fitted


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
        return {"kind": kind, "targets": [_point_text(row) for row in target_rows],
                "outputs": [[_point_text(row) for row in step] for step in outputs],
                "near": [[max(abs(a - b) for a, b in zip(o, t)) <= NEAR * s
                          for o, t, s in zip(step, target_rows, scales)] for step in outputs]}
    wanted = [int(row[0]) for row in target_rows]
    classes = [[_argmax(row) for row in step] for step in outputs]
    return {"kind": kind, "targets": [str(c) for c in wanted],
            "outputs": [[str(c) for c in step] for step in classes],
            "near": [[c == w for c, w in zip(step, wanted)] for step in classes]}


def _metrics(sizes: Sizes) -> tuple[float, float, float]:
    """(padding, title size, row height)."""
    return sizes.px(14), sizes.text_px(15), round(sizes.text_px(13) * 1.3, 2)


def predictions_height(sizes: Sizes, rows: int) -> float:
    """The panel's height for `rows` samples (at most MAX_ROWS are listed)."""
    pad, title_px, row_h = _metrics(sizes)
    return round(2 * pad + title_px + row_h * (1.3 + min(rows, MAX_ROWS) + 0.3), 2)


def build_predictions(table: dict, rect, sizes: Sizes, shown_from: float) -> dict:
    """The panel at rect (x, y, w, h), fading in at shown_from (step 1's output is known once
    its forward pass has reached the loss). The painters pick each row's output by step."""
    x, y, w, h = rect
    pad, title_px, row_h = _metrics(sizes)
    px = sizes.text_px(13)
    title_y = round(y + pad + title_px, 2)
    head_y = round(title_y + row_h * 1.3, 2)
    fit = max(1, int((y + h - pad - head_y) // row_h))
    n = len(table["targets"])
    shown = n if n <= min(fit, MAX_ROWS) else max(1, min(fit, MAX_ROWS) - 1)
    rows = [{"y": round(head_y + row_h * (i + 1), 2), "label": str(i + 1), "target": table["targets"][i],
             "texts": [step[i] for step in table["outputs"]],
             "colors": ["text" if step[i] else "loss" for step in table["near"]]} for i in range(shown)]
    return {
        "x": x, "y": y, "w": w, "h": h, "radius": sizes.px(10), "track": ramp(shown_from, shown_from + 0.3),
        "background": "panel", "border": "edge_idle", "text": "text", "muted": "muted",
        "title_font": sizes.font(15, True), "font": sizes.font(13), "px": px,
        "title": {"text": "Predictions", "x": round(x + pad, 2), "y": title_y},
        "head": {"y": head_y, "texts": ["#", "target", "class" if table["kind"] == "classes" else "output"],
                 "xs": [round(x + pad, 2), round(x + pad + (w - 2 * pad) * 0.55, 2), round(x + w - pad, 2)]},
        "rows": rows,
        "more": {"text": f"… {n - shown} more", "x": round(x + pad, 2),
                 "y": round(head_y + row_h * (shown + 1), 2)} if shown < n else None,
    }
