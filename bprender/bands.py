"""Where the frame's two bands lie: the header across the top, the caption along the bottom (with
the heatmaps beside a caption), in the scene's CSS px. The damage (damage.py) and the painter's
memo of a band (paint.py) both need every pixel a band can touch."""
from __future__ import annotations

from .canvas.css_font import parse_font


def _px(font: str) -> float:
    spec = parse_font(font)
    return spec.size if spec is not None else 100.0


def header_extent(header: dict, width: float) -> list:
    """The band across the top of the frame the header's texts, phase and legend sit in: down
    to the lowest descender (half the font size under a baseline: more than any font's) or dot."""
    ys = [item["y"] + 0.5 * _px(item["font"]) for item in header["texts"]]
    ys.append(header["phase"]["y"] + 0.5 * _px(header["phase"]["font"]))
    legend_px = _px(header["legend_font"])
    ys += [max(e["y"] + 0.5 * legend_px, e["dot_y"] + e["r"] + 2.0) for e in header["legend"]]
    return [0.0, 0.0, width, max(ys, default=0.0) + 2.0]


def caption_extent(captions: dict, width: float, height: float) -> list:
    """The band of the frame the caption box and its heatmaps are drawn in: the full width
    (lines and formulas run along it), from the highest of them to the bottom of the frame."""
    top = captions["y"]
    for item in captions["items"]:
        heat = item.get("heatmaps")
        if heat:
            for term in heat["terms"]:
                top = min(top, term["image"]["y"], term["label"]["y"] - 40.0)
                for frame in term["frames"]:
                    top = min(top, frame[1])
            for op in heat["operators"]:
                top = min(top, op["y"] - 40.0)
    return [0.0, top - 4.0, width, height]
