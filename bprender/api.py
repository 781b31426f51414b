"""The Python API, for scripts and Jupyter:

    import bprender
    anim = bprender.animate("linear")                    # a preset file or built-in name
    anim = bprender.animate(model=net, inputs=x, target=y, loss="cross_entropy",
                            title="My net", render={"size": "960x540"})
    anim                                                 # in Jupyter: the interactive player
    anim.save("backprop.mp4")                            # or .gif, .html, .png, .svg, .pdf

Every method is a thin call into the same pipeline the CLI uses.
"""
from __future__ import annotations

import html as html_escape
from pathlib import Path

from .errors import BprenderError
from .preset import Preset, preset_from_dict, settings_from_dict


class Animation:
    """A traced forward and backward pass, ready to render."""

    def __init__(self, trace: dict | None, preset: Preset | None, scene: dict | None = None):
        self.trace = trace          # None for an animation opened from a saved scene
        self.preset = preset        # the render settings; None for a saved scene
        self._scenes: dict[str, dict] = {}
        self._saved = scene
        self._folds: dict | None = None   # {"folds": the page's fold variants}, once made

    def scene(self, target: str = "video") -> dict:
        """The resolved Scene for an output ("video", "gif" or "sheet" size). It carries every
        theme's palette: `theme=` on frame() and save() picks one when drawing. A saved scene
        is the same for every output."""
        from .pipeline import scene_of
        if self._saved is not None:
            return self._saved
        if target not in self._scenes:
            self._scenes[target] = scene_of(self.trace, self.preset, target=target)
        return self._scenes[target]

    @property
    def duration(self) -> float:
        return self.scene()["duration"]

    def frame(self, t: float, *, highlight: str | None = None, hide=(), theme: str | None = None):
        """The frame at time t as an (H, W, 3) uint8 RGB array."""
        from .render import render_frame
        from .view import resolve_view
        scene = self.scene()
        bgra = render_frame(scene, t, view=resolve_view(scene, highlight, hide, theme))
        return bgra[..., [2, 1, 0]].copy()

    def html(self, theme: str | None = None) -> str:
        """The self-contained interactive player page (opening in `theme`, else the scene's)."""
        from .folds import page_folds
        from .html import export_html
        scene = self.scene()
        if self._folds is None:   # the groups a click opens: made once, like the scene
            self._folds = {"folds": page_folds(self.trace, self.preset, scene) if self.trace is not None else None}
        return export_html(scene, theme, folds=self._folds["folds"])

    def _repr_html_(self) -> str:
        """Jupyter shows the player inline, sandboxed in an iframe that may go full screen
        (Present): without `allow="fullscreen"` the browser refuses it inside a frame."""
        scene = self.scene()
        height = int(scene["height"] * 860 / scene["width"]) + 260
        return (f'<iframe srcdoc="{html_escape.escape(self.html(), quote=True)}" '
                f'style="width: 100%; max-width: 900px; height: {height}px; border: 0" '
                f'sandbox="allow-scripts allow-downloads" allow="fullscreen"></iframe>')

    def save(self, path, *, at: float | None = None, highlight: str | None = None, hide=(),
             theme: str | None = None, fps: int | None = None, quality: str | None = None, progress=None) -> Path:
        """Write .mp4, .gif, .html, or a .png/.svg/.pdf still (at time `at`, default the end)."""
        from .encode import atomic_output
        from .render import render_gif, render_still, render_video
        from .view import resolve_view
        path = Path(path)
        suffix = path.suffix.lower()
        data = self.preset.data if self.preset is not None else \
            {"render": {"fps": self._saved["fps"], "quality": "final"}, "gif": {"fps": self._saved["fps"]}}
        if suffix == ".mp4":
            scene = self.scene()
            render_video(scene, path, fps=fps or data["render"]["fps"], quality=quality or data["render"]["quality"],
                         view=resolve_view(scene, highlight, hide, theme), progress=progress)
        elif suffix == ".gif":
            scene = self.scene("gif")
            render_gif(scene, path, fps=fps or data["gif"]["fps"], view=resolve_view(scene, highlight, hide, theme),
                       progress=progress)
        elif suffix == ".html":
            page = self.html(theme)
            with atomic_output(path) as tmp:
                Path(tmp).write_text(page, encoding="utf-8")
        elif suffix in (".png", ".svg", ".pdf"):
            scene = self.scene()
            render_still(scene, path, scene["duration"] if at is None else at,
                         view=resolve_view(scene, highlight, hide, theme))
        else:
            raise BprenderError(f"cannot save {path.name}: use .mp4, .gif, .html, .png, .svg or .pdf")
        return path


def animate(preset=None, *, model=None, inputs=None, target=None, loss="mse", step: int | None = None,
            **settings) -> Animation:
    """Trace a preset (a YAML path, a built-in name, or a preset mapping), or open a saved trace
    or scene file, or trace a model given as Python objects with its inputs, target and loss
    ("mse", "cross_entropy", "bce" or a callable). Keyword settings are preset sections:
    title=, description=, render={...}, pacing={...}, pace=, gif={...}. step: a recorded run's captured
    step to show (default the first). names="torch" (or "lecture") picks the naming, as
    `--names` does; names={...} renames, as a preset's `names:` map does."""
    from .pipeline import open_preset, open_source, trace_of
    if isinstance(settings.get("names"), str):   # names="torch": the notation, not a rename map
        settings["notation"] = settings.pop("names")
    if (preset is None) == (model is None):
        raise BprenderError("give either a preset or a model (with inputs, target and loss)")
    if model is not None:
        from .trace import trace_model
        chosen = settings_from_dict(settings)
        trace = trace_model(model, inputs, target, loss, title=chosen.data["title"],
                            description=chosen.data["description"], train=chosen.data.get("train"))
        return Animation(trace, chosen)
    if isinstance(preset, dict):
        chosen = preset_from_dict({**preset, **settings})
    else:
        from .pipeline import Request
        source = open_source(preset, Request(step=step))
        if source.kind == "trace" and not settings:
            return Animation(source.trace, source.preset)
        if source.scene is not None:
            if settings:
                raise BprenderError(f"{preset}: a saved scene is already laid out; settings cannot change it")
            return Animation(None, None, scene=source.scene)
        if source.kind == "trace":
            return Animation(source.trace, settings_from_dict({**source.trace.get("preset", {}), **settings}))
        chosen = open_preset(preset)
        if settings:
            chosen = preset_from_dict({**_file_data(chosen), **settings}, base_dir=chosen.base_dir, name=chosen.name)
    return Animation(trace_of(chosen), chosen)


def _file_data(preset: Preset) -> dict:
    """A loaded preset's data as a mapping that validates again (the unused model key dropped)."""
    model = {k: v for k, v in preset.data["model"].items() if v not in (None, {})}
    return {**preset.data, "model": model}
