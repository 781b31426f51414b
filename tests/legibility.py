"""What a frame really draws as text: the op log of a frame replayed with its transforms, so
each fillText has its size on the frame (font px times the current scale) and its box."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bprender.canvas import FontBook, RecordingCanvas2D
from bprender.paint import paint_frame

PX = re.compile(r"([0-9.]+)px")


@dataclass(frozen=True)
class DrawnText:
    text: str
    size: float                                 # px on the frame
    box: tuple[float, float, float, float]      # x0, y0, x1, y1 on the frame
    alpha: float


def drawn_texts(scene: dict, t: float, view: dict | None = None, fonts: FontBook | None = None) -> list[DrawnText]:
    ctx = RecordingCanvas2D()
    paint_frame(ctx, scene, t, view)
    fonts = fonts or FontBook()
    matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)  # a, b, c, d, e, f as in the Canvas spec
    stack = []
    state = {"font": "10px sans-serif", "textAlign": "start", "textBaseline": "alphabetic", "globalAlpha": 1.0}
    saved_state = []
    out = []
    for op in ctx.ops:
        name = op[0]
        if name == "set":
            state[op[1]] = op[2]
        elif name == "save":
            stack.append(matrix)
            saved_state.append(dict(state))
        elif name == "restore":
            matrix = stack.pop()
            state = saved_state.pop()
        elif name == "translate":
            a, b, c, d, e, f = matrix
            matrix = (a, b, c, d, e + a * op[1] + c * op[2], f + b * op[1] + d * op[2])
        elif name == "scale":
            a, b, c, d, e, f = matrix
            matrix = (a * op[1], b * op[1], c * op[2], d * op[2], e, f)
        elif name in ("setTransform", "resetTransform", "rotate"):
            matrix = tuple(op[1:7]) if name == "setTransform" else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
            assert name != "rotate", "rotated text is not measured here"
        elif name == "fillText":
            text, x, y = op[1], op[2], op[3]
            px = float(PX.search(state["font"]).group(1))
            width = fonts.measure(text, state["font"])
            align = state["textAlign"]
            left = x - width / 2 if align == "center" else x - width if align in ("right", "end") else x
            top, bottom = (y - px * 0.5, y + px * 0.5) if state["textBaseline"] == "middle" else \
                (y - px * 0.8, y + px * 0.25)
            a, _, _, d, e, f = matrix
            box = (e + a * left, f + d * top, e + a * (left + width), f + d * bottom)
            out.append(DrawnText(text, px * d, box, state["globalAlpha"]))
    return out
