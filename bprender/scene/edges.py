"""Edges in the Scene: each route sampled for particles, its forward and backward strokes with
their tracks, the particles riding it (one forward, one gradient), and its gradient label,
placed where it covers no box."""
from __future__ import annotations

from ..fmt import num, summary_sign_value, summary_text
from ..layout import point_along, sample_route
from ..timeline import Timing
from ..tracks import ramp
from .style import GradientStyle, Sizes, grad_role

FADE = 0.2  # seconds for a label to fade in


def scene_edge(index: int, e, route, timing: Timing, grads: GradientStyle, sizes: Sizes, fonts,
               labels: bool, step_labels: list[str] | None = None) -> tuple[dict, list[dict]]:
    """step_labels (training): the gradient label at every step, picked by the scene's step."""
    poly = sample_route(route)
    end_x, end_y = route[-1][6], route[-1][7]
    arrow = sizes.px(7)
    edge = {
        "id": e.id, "from": e.src, "to": e.dst, "route": route, "poly": poly,
        "idle_color": "edge_idle", "idle_width": sizes.px(1.5),
        "dash": [] if e.carries_grad else [sizes.px(5), sizes.px(4)],
        "cum": _cumulative(poly),
        "forward_color": "forward", "forward_width": sizes.px(2.2),
        "arrow": [round(end_x - arrow, 2), round(end_y - arrow * 0.55, 2), end_x, end_y,
                  round(end_x - arrow, 2), round(end_y + arrow * 0.55, 2)],
        "tracks": {},
    }
    t_dst = timing.forward.get(e.dst, 0.0)
    fwd_t1 = t_dst + 0.6 * timing.forward_step
    edge["tracks"]["fwd"] = ramp(t_dst, fwd_t1)
    particles = [{"edge": index, "track": ramp(t_dst, fwd_t1), "reverse": False, "color": "forward_glow",
                  "radius": sizes.px(4.5), "alpha": 1.0}]
    fired = timing.sent.get(e.id) if e.carries_grad else None
    if fired is not None:
        value = summary_sign_value(e.grad)
        level = grads.level(value)
        color = grad_role(e.grad, value)
        width = sizes.px(0.75) if value == 0 else sizes.px(1.5 + 5.5 * level)
        alpha = round(0.2 + 0.8 * level, 4)  # faint when small: the scale is absolute over the scene
        length = timing.sent_length.get(e.id, timing.backward_step)  # its step's, a repeat's shorter
        t0 = fired + 0.2 * length
        t1 = fired + 0.85 * length
        edge.update({"grad_color": color, "grad_width": round(width, 2), "grad_alpha": alpha})
        edge["tracks"]["bwd"] = ramp(t0, t1)
        if labels:
            text = edge_label_text(e.grad)
            font = sizes.font(13, True)
            px = sizes.text_px(13)
            widest = max(fonts.measure(t, font) for t in [text] + (step_labels or []))
            edge["label"] = {"text": text, "font": font, "px": px, "color": color, "fill": "background",
                             "stroke": color, "w": round(widest + px, 2),
                             "h": round(px * 1.6, 2), "radius": round(px * 0.8, 2), "baseline": round(px * 0.35, 2)}
            if step_labels:
                edge["label"]["texts"] = step_labels
            edge["tracks"]["label"] = ramp(t1, t1 + FADE)
        if value != 0:
            particles.append({"edge": index, "track": ramp(t0, t1), "reverse": True, "color": color,
                              "radius": round(sizes.px(3 + 6 * level), 2), "alpha": alpha})
    return edge, particles


def edge_label_text(grad: dict | None) -> str:
    """The number on an edge: the value for a scalar, else the norm (shapes are on the nodes)."""
    if grad is not None and (grad.get("values") is None or len(grad["values"]) != 1):
        return f"\u2016{num(grad['stats']['norm'], 3)}\u2016"
    return summary_text(grad)


LABEL_SPOTS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78)


def place_labels(edges: list[dict], nodes: list[dict]) -> None:
    """Put each edge's gradient label at the first spot along its route that covers no box and
    no label placed before it (else the least covered spot): resolved once, drawn as data."""
    taken = [(n["x"] - n["w"] / 2 - 2, n["y"] - n["h"] / 2 - 2, n["w"] + 4, n["h"] + 4) for n in nodes]
    for edge in edges:
        label = edge.get("label")
        if label is None:
            continue
        best = None
        for spot in LABEL_SPOTS:
            x, y = point_along(edge["poly"], edge["cum"], spot)
            rect = (x - label["w"] / 2, y - label["h"] / 2, label["w"], label["h"])
            cover = sum(_overlap(rect, other) for other in taken)
            if best is None or cover < best[0]:
                best = (cover, x, y, rect)
            if cover == 0:
                break
        _, x, y, rect = best
        taken.append(rect)
        label.update({"x": round(x, 2), "y": round(y + label.pop("baseline"), 2),
                      "box": [round(v, 2) for v in rect]})


def _overlap(a, b) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _cumulative(poly: list[float]) -> list[float]:
    """Arc length at each polyline point, so particles move at even speed."""
    cum = [0.0]
    for i in range(2, len(poly), 2):
        dx, dy = poly[i] - poly[i - 2], poly[i + 1] - poly[i - 1]
        cum.append(round(cum[-1] + (dx * dx + dy * dy) ** 0.5, 3))
    return cum
