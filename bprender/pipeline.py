"""The pipeline as plain functions: source -> trace -> scene. The CLI and the Python API are
thin layers over these; nothing here draws or encodes.

A source is what a user names on the command line: a preset (a YAML file or a built-in name),
a saved trace, or a saved scene (documents.py tells them apart by their `schema` field). A
preset is traced (torch is imported only then); a trace is laid out; a scene is used as it is.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from .errors import BprenderError, PresetError
from .preset import Preset, apply_overrides, load_preset, resolve_preset_path, settings_from_dict

PRESENTATION = ("view", "depth", "expand", "hide", "sample", "collapse_views", "notation", "names", "render", "pacing", "pace", "gif")  # a preset's sections a trace keeps
SHEET_FRAME_W = 640  # a contact sheet's frames, by default: readable in print, three to a row


@dataclass(frozen=True)
class Request:
    """What a command asks for on top of a source's own settings; None: not asked."""
    size: str | None = None
    fps: int | None = None
    quality: str | None = None
    theme: str | None = None
    view: str | None = None
    font: str | None = None
    gif_width: int | None = None
    gif_fps: int | None = None
    depth: int | None = None
    expand: tuple | None = None   # names to open; None (or empty): the preset's
    names: str | None = None      # "lecture" | "torch" (preset key notation)
    sample: int | None = None     # the neurons view's sample of a batch, 1-based
    step: int | None = None       # a recorded run's captured step (not a preset key)
    pace: str | None = None       # slow | normal | fast (reading.PACES)
    hide: tuple | None = None     # groups left out, the rest laid out again (a saved scene: holes)

    # the preset key each field overrides (an error about it names the option: cli.FLAGS)
    KEYS = {"size": "render.size", "fps": "render.fps", "quality": "render.quality", "theme": "render.theme",
            "view": "view", "font": "render.font", "gif_width": "gif.width", "gif_fps": "gif.fps", "depth": "depth", "expand": "expand",
            "names": "notation", "sample": "sample", "pace": "pace", "hide": "hide"}

    def overrides(self) -> dict:
        return {self.KEYS[f.name]: getattr(self, f.name) for f in fields(self)
                if f.name in self.KEYS and getattr(self, f.name) not in (None, ())}

    def layout_options(self) -> list[str]:
        """The options given that change the layout (a saved scene is already laid out)."""
        return [name for name in ("size", "view", "font", "gif_width", "depth", "expand", "step", "names", "sample", "pace")
                if getattr(self, name) not in (None, ())]


@dataclass(frozen=True)
class Source:
    """What a PRESET argument turned out to be, with the request applied. `preset` holds the
    render settings (a preset's, or a trace's own), None for a scene file."""
    arg: str
    kind: str                 # "preset" | "trace" | "scene" | "composite"
    preset: Preset | None
    trace: dict | None = None
    scene: dict | None = None


def open_source(arg, request: Request | None = None) -> Source:
    """A preset, trace or scene file (or a built-in preset name) with the request applied."""
    from .documents import read_source_file
    request = request or Request()
    path = Path(arg)
    document = read_source_file(path) if path.is_file() else None
    if document is None:
        if request.step is not None:
            raise BprenderError(f"--step {request.step}: {arg} is a preset, not a recorded run "
                                "(bprender.Recorder writes those); leave out --step")
        return Source(str(arg), "preset", open_preset(arg, request.overrides()))
    kind, data = document
    if kind == "trace":
        from .recording import select_capture  # a recorded run: the captured step asked for
        data = select_capture(data, request.step)
        try:
            settings = settings_from_dict(data.get("preset") or {}, name=path.stem)
        except PresetError as err:
            raise BprenderError(f"{arg}: the trace's preset section: {err}") from None
        return Source(str(arg), kind, apply_overrides(settings, request.overrides()), trace=data)
    given = request.layout_options()
    if given:
        raise BprenderError(f"{arg}: a saved scene is already laid out at {data['width']}x{data['height']}, so "
                            f"--{given[0].replace('_', '-')} cannot change it; give the preset or the trace instead")
    return Source(str(arg), kind, None, scene=data)


def open_preset(arg, overrides: dict | None = None) -> Preset:
    """A preset by path or built-in name, with command-line overrides applied."""
    preset = load_preset(resolve_preset_path(arg))
    return apply_overrides(preset, overrides) if overrides else preset


def trace_of(preset: Preset, cache: bool = False) -> dict:
    """The preset's model traced, with the preset's presentation sections kept in the trace so
    a saved trace renders as its preset does. cache: re-use a trace of the same model made
    before (trace_cache.py), so only a changed model imports torch."""
    from . import trace_cache
    key = trace_cache.key_of(preset) if cache else None
    trace = trace_cache.load(key) if key else None
    if trace is None:
        from .trace import trace_preset  # torch is imported only when a trace is really made
        trace = trace_preset(preset)
        if key:
            trace_cache.store(key, trace)
    return for_preset(trace, preset)


def for_preset(trace: dict, preset: Preset) -> dict:
    """A trace of the preset's model with the preset's own title, description and presentation
    sections (a copy: a trace re-used from the cache, or from memory in `bprender watch`, was
    made for a preset that may have had other ones, and none of them is part of its key)."""
    return {**trace, "title": preset.data.get("title") or "", "description": preset.data.get("description") or "",
            "preset": presentation(preset)}


def presentation(preset: Preset) -> dict:
    """The sections of a preset that say how to draw, not what to trace (fonts as absolute paths)."""
    data = {name: preset.data[name] for name in PRESENTATION}
    font = data["render"]["font"]
    if font:
        data["render"] = {**data["render"], "font": str((preset.base_dir / font).absolute())}
    return data


def trace_for(source: Source, cache: bool = False) -> dict:
    if source.kind == "scene" or source.kind == "composite":
        raise BprenderError(f"{source.arg}: a saved scene holds no trace; give the preset or the trace instead")
    return source.trace if source.trace is not None else trace_of(source.preset, cache)


def scene_settings(preset: Preset, target: str = "video") -> dict:
    """Size, frame rate and looks for one output. A GIF gets its own (smaller) size and frame
    rate from the preset's gif section, a contact sheet 640-wide frames; their text keeps a
    readable minimum size (scene/style.py)."""
    from .scene.fonts import scene_fonts
    data = preset.data
    width, height = data["render"]["size"]
    fps = data["render"]["fps"]
    if target == "gif":
        gif_w = data["gif"]["width"]
        height = max(16, 2 * round(gif_w * height / width / 2))
        width = gif_w - gif_w % 2
        fps = data["gif"]["fps"]
    elif target == "sheet":  # (a sheet asked for at a --size is rendered as target "video")
        width, height = SHEET_FRAME_W, 2 * round(SHEET_FRAME_W * height / width / 2)
    font = data["render"]["font"]
    return {"size": [width, height], "fps": fps, "theme": data["render"]["theme"],
            "pacing": dict(data["pacing"]), "pace": data["pace"], "view": data["view"], "collapse_views": data["collapse_views"],
            "depth": data["depth"], "expand": list(data["expand"]), "hide": list(data["hide"]), "sample": data["sample"],
            "names": data["notation"], "renames": dict(data["names"]),
            "fonts": scene_fonts(preset.base_dir / font if font else None)}


def fonts_for(settings: dict):
    from .scene.fonts import font_book
    try:
        return font_book(settings["fonts"])
    except OSError as exc:
        raise BprenderError(f"cannot load the font file: {exc}") from None


def scene_of(trace: dict, preset: Preset, target: str = "video") -> dict:
    from .scene import build_scene
    settings = scene_settings(preset, target)
    try:
        return build_scene(trace, settings, fonts_for(settings))
    except PresetError as err:   # a `names:` key the traced model lacks: at its line in the file
        raise preset.locate(err) from None


def scene_for(sources: list[Source], target: str = "video", cache: bool = False) -> dict:
    """The scene for one source, or several side by side."""
    if len(sources) == 1:
        source = sources[0]
        if source.scene is not None:
            return source.scene
        return scene_of(trace_for(source, cache), source.preset, target)
    return side_by_side(sources, target, cache)


def page_for(sources: list[Source], cache: bool = False) -> tuple[dict, dict | None]:
    """The HTML page's scene and its folded groups' variants (folds.py; None when it has none:
    several sources, a saved scene, a view without groups)."""
    from .folds import page_folds
    if len(sources) != 1 or sources[0].scene is not None:
        return scene_for(sources, cache=cache), None
    source = sources[0]
    trace = trace_for(source, cache)
    scene = scene_of(trace, source.preset)
    return scene, page_folds(trace, source.preset, scene)


def side_by_side(sources: list, target: str = "video", cache: bool = False) -> dict:
    """Several sources (or presets) in panels on one clock (scene/compose.py): the output's
    size, frame rate and theme come from the first (with any command-line overrides)."""
    from .scene import MAX_PANELS, compose_scenes
    sources = [s if isinstance(s, Source) else Source(s.name, "preset", s) for s in sources]
    if len(sources) > MAX_PANELS:
        raise BprenderError(f"at most {MAX_PANELS} presets side by side, got {len(sources)}")
    for source in sources:
        if source.scene is not None:
            raise BprenderError(f"{source.arg}: a saved scene cannot be put side by side (it is laid out "
                                f"for a whole frame); give the preset or the trace instead")
    settings = scene_settings(sources[0].preset, target)
    items = []
    for source in sources:
        own = scene_settings(source.preset, target)
        own["theme"] = settings["theme"]
        trace = trace_for(source, cache)
        items.append((trace.get("title") or source.preset.data["title"], trace, own))
    return compose_scenes(items, settings, fonts_for(settings))
