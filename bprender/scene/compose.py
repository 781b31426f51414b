"""Side by side: several traces in panels on one clock, for comparisons such as deep sigmoid
vs deep ReLU. Each panel is an ordinary Scene laid out at its own panel size (so its text keeps
a readable size), with its per-layer gradient-norm chart under it on a log axis shared by all
panels; painters draw a composite by translating to each panel (paint.paint_panels)."""
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
    sizes = sizes_for(panel_w, height)
    # every panel's chart gets the room of the tallest, so the panels line up
    chart_h = max(build_chart(trace, {}, sizes, fonts, panel_w, axis=axis)["height"] for _, trace, _ in items)
    panels = []
    for k, (label, trace, own) in enumerate(items):
        sub = dict(own, size=[panel_w, height - chart_h], fps=settings["fps"], theme=settings["theme"],
                   fonts=settings["fonts"], chart_axis=axis)
        scene = build_scene(trace, sub, fonts)
        scene["chart"]["height"] = chart_h
        panels.append({"x": k * panel_w, "y": 0, "w": panel_w, "h": height - chart_h, "label": label,
                       "scene": scene})
    first = max((p["scene"] for p in panels), key=lambda s: s["duration"])
    # one chart of every panel's layers for the player's chart canvas; node ids are per panel
    fired = {f"{k}:{node['id']}": node["tracks"]["grad"][0][0]
             for k, p in enumerate(panels) for node in p["scene"]["nodes"] if "grad" in node["tracks"]}
    rows = [(f"{label}: {name}", norm, [f"{k}:{i}" for i in ids])
            for k, (label, trace, _) in enumerate(items) for name, norm, ids in layer_norms(trace)]
    combined = build_chart({}, fired, sizes_for(width, height), fonts, width, axis=axis, rows=rows)
    return {
        "schema": COMPOSITE_SCHEMA,
        "title": " | ".join(label for label, _, _ in items),
        "width": width, "height": height, "fps": settings["fps"],
        "duration": max(p["scene"]["duration"] for p in panels),
        "fonts": settings["fonts"], "theme": settings["theme"], "palettes": palettes(),
        "phases": first["phases"], "events": first["events"],
        "panels": panels, "divider": "edge_idle",
        # the player's own chart canvas shows every panel's layers on the shared axis
        "chart": combined,
    }
