"""The pipeline as plain functions: preset -> trace -> scene. The CLI and the Python API are thin
layers over these; nothing here draws or encodes."""
from __future__ import annotations

from .canvas import FontBook
from .errors import BprenderError
from .preset import Preset, apply_overrides, load_preset, resolve_preset_path
from .render import BUNDLED
from .scene import build_scene
from .style import FAMILY


def open_preset(arg, overrides: dict | None = None) -> Preset:
    """A preset by path or built-in name, with command-line overrides applied."""
    preset = load_preset(resolve_preset_path(arg))
    return apply_overrides(preset, overrides) if overrides else preset


def trace_of(preset: Preset) -> dict:
    from .trace import trace_preset  # torch is imported only when a trace is really made
    return trace_preset(preset)


def scene_settings(preset: Preset, target: str = "video") -> dict:
    """Size, frame rate and looks for one output. A GIF gets its own (smaller) size and frame
    rate from the preset's gif section; its text keeps a readable minimum size (style.py)."""
    data = preset.data
    width, height = data["render"]["size"]
    fps = data["render"]["fps"]
    if target == "gif":
        gif_w = data["gif"]["width"]
        height = max(16, 2 * round(gif_w * height / width / 2))
        width = gif_w - gif_w % 2
        fps = data["gif"]["fps"]
    font = data["render"]["font"]
    if font:
        files = {"regular": str(preset.base_dir / font), "bold": str(preset.base_dir / font)}
    else:
        files = {"regular": BUNDLED + "bprender-sans.ttf", "bold": BUNDLED + "bprender-sans-bold.ttf"}
    return {"size": [width, height], "fps": fps, "theme": data["render"]["theme"],
            "pacing": dict(data["pacing"]), "font_files": files, "view": data["view"],
            "collapse_views": data["collapse_views"]}


def fonts_for(settings: dict) -> FontBook:
    from .render import font_book
    return font_book({"fonts": [{"family": FAMILY, "weight": 400, "file": settings["font_files"]["regular"]},
                                {"family": FAMILY, "weight": 600, "file": settings["font_files"]["bold"]}]})


def scene_of(trace: dict, preset: Preset, target: str = "video") -> dict:
    settings = scene_settings(preset, target)
    try:
        fonts = fonts_for(settings)
    except OSError as exc:
        raise BprenderError(f"cannot load the font file: {exc}") from None
    return build_scene(trace, settings, fonts)


def side_by_side(presets: list[Preset], target: str = "video") -> dict:
    """Several presets in panels on one clock (bprender.compose): the output's size, frame rate
    and theme come from the first preset (with any command-line overrides)."""
    from .compose import MAX_PANELS, compose_scenes
    if len(presets) > MAX_PANELS:
        raise BprenderError(f"at most {MAX_PANELS} presets side by side, got {len(presets)}")
    settings = scene_settings(presets[0], target)
    items = []
    for preset in presets:
        own = scene_settings(preset, target)
        own["theme"] = settings["theme"]
        items.append((preset.data["title"], trace_of(preset), own))
    return compose_scenes(items, settings, fonts_for(settings))
