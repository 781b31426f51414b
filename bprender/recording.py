"""Reading a recorded run (``bprender.Recorder``'s file) without torch.

A recording is a ``bprender.trace/1`` trace whose top level is its first captured step, plus a
``recording`` section: ``steps`` (every step's loss, and norms if asked) and ``captures`` (each
captured step's full trace body). See docs/formats.md, "Recorded runs".

- ``select_capture(trace, step)``: the plain trace of one captured step, ready for any renderer,
- ``captured_steps(trace)``: the numbers of the captured steps,
- ``loss_curve(trace)``: (step, loss) for every recorded step.
"""
from __future__ import annotations

import math

from .errors import BprenderError
from .fmt import to_float


def is_recording(trace: dict) -> bool:
    return isinstance(trace.get("recording"), dict)


def captured_steps(trace: dict) -> list[int]:
    """The captured steps' numbers, in recording order (empty for a plain trace)."""
    if not is_recording(trace):
        return []
    return [c["step"] for c in trace["recording"].get("captures") or []]


def select_capture(trace: dict, step: int | None = None) -> dict:
    """The plain trace (no ``recording`` section) of captured step ``step``; default the first.

    A plain trace is returned as it is when no step is asked for. A step that was not captured
    raises a BprenderError listing the captured ones."""
    if not is_recording(trace):
        if step is None:
            return trace
        raise BprenderError(f"--step {step}: this trace is not a recorded run (it has one pass); "
                            "leave out --step")
    captures = trace["recording"].get("captures") or []
    if not captures:
        raise BprenderError("this recording has no captured step: record one with "
                            "rec.step(capture=True)")
    if step is None:
        chosen = captures[0]
    else:
        chosen = next((c for c in captures if c["step"] == step), None)
        if chosen is None:
            listed = ", ".join(str(c["step"]) for c in captures)
            raise BprenderError(f"step {step} was not captured; captured steps: {listed}")
    return {"schema": trace["schema"], **chosen["trace"]}


def loss_curve(trace: dict) -> list[tuple[int, float]]:
    """(step, loss) for every recorded step with a loss (NaN stays NaN)."""
    if not is_recording(trace):
        return []
    out = []
    for entry in trace["recording"].get("steps") or []:
        loss = entry.get("loss")
        if loss is not None:
            out.append((entry["step"], to_float(loss)))
    return out


def describe(trace: dict) -> str:
    """One line about a recording: steps, captured steps and the loss from first to last."""
    curve = loss_curve(trace)
    steps = captured_steps(trace)
    text = f"{len(trace['recording'].get('steps') or [])} steps recorded, captured: " + \
        ", ".join(str(s) for s in steps)
    finite = [v for _, v in curve if math.isfinite(v)]
    if finite:
        text += f"; loss {finite[0]:.4g} → {finite[-1]:.4g}"
    return text


__all__ = ["captured_steps", "describe", "is_recording", "loss_curve", "select_capture"]
