"""Side by side: several traces in panels on one clock, for comparisons such as deep sigmoid
vs deep ReLU. Each panel is an ordinary Scene laid out at its own panel size (so its text keeps
a readable size), with its per-layer gradient-norm chart under it on a log axis shared by all
panels; painters draw a composite by translating to each panel (paint.paint_panels). Every
panel lasts as long as the longest (a shorter one holds its end), so each keeps its closing
caption to the end."""
from __future__ import annotations

from ..layers import layer_norms
from .build import build_scene
from .chart import build_chart, log_axis
from .style import sizes_for
from .themes import palettes

COMPOSITE_SCHEMA = "bprender.composite/1"
MAX_PANELS = 4


def compose_scenes(items: list[tuple[str, dict, dict]], settings: dict, fonts) -> dict:
    """items: (label, trace, that preset's scene settings); settings: the output's size, fps and
    theme (from the first preset). Returns a composite scene (COMPOSITE_SCHEMA)."""
    width, height = settings["size"]
    count = len(items)
    panel_w = (width // count) - (width // count) % 2
    axis = log_axis([norm for _, trace, _ in items for _, norm, _ in layer_norms(trace)])
    sizes = sizes_for(panel_w, height)  # the type floor is the whole frame's, in every panel
    # every panel's chart gets the room of the tallest, so the panels line up
    chart_h = max(build_chart(trace, {}, sizes, fonts, panel_w, axis=axis)["height"] for _, trace, _ in items)
    panels = []
    for k, (label, trace, own) in enumerate(items):
        sub = dict(own, size=[panel_w, height - chart_h], fps=settings["fps"], theme=settings["theme"],
                   fonts=settings["fonts"], chart_axis=axis, floor_height=height)
        panels.append({"x": k * panel_w, "y": 0, "w": panel_w, "h": height - chart_h, "label": label,
                       "scene": build_scene(trace, sub, fonts), "sub": sub, "trace": trace})
    duration = max(p["scene"]["duration"] for p in panels)
    for panel in panels:
        # a shorter panel holds its end (its closing caption and chart) until the longest ends
        if panel["scene"]["duration"] < duration:
            panel["scene"] = build_scene(panel["trace"], dict(panel["sub"], end_at=duration), fonts)
        del panel["sub"], panel["trace"]
        panel["scene"]["chart"]["height"] = chart_h
    first = max((p["scene"] for p in panels), key=lambda s: s["duration"])
    return {
        "schema": COMPOSITE_SCHEMA,
        "title": " | ".join(label for label, _, _ in items),
        "width": width, "height": height, "fps": settings["fps"],
        "duration": duration,
        "fonts": settings["fonts"], "theme": settings["theme"], "palettes": palettes(),
        "phases": first["phases"], "events": first["events"], "stops": first["stops"],
        # each panel's chart is drawn in the frame under it (paint.paint_panels), growing as that
        # panel's own backward pass reaches each layer; the composite has no chart of its own
        "panels": panels, "divider": "edge_idle",
    }
