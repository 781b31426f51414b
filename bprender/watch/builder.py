"""The watched source made into a scene again after a save, re-tracing only a changed model.

A preset's trace depends only on its model and train sections and the model's Python files
(trace_cache.key_of hashes exactly those): while that key stays the same, the trace made
before is used again from memory, so a change of title, pacing, theme or view is laid out
in a few hundredths of a second and torch is not touched. A new key re-traces (through the
trace cache on disk); with --no-cache every save runs the model afresh (a model reading data
files of its own sees them change). A mistake becomes an error report, {file, line,
message}, for the page; the last good scene stays.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import BprenderError, PresetError


class SceneBuilder:
    def __init__(self, arg: str, request=None, cache: bool = True):
        from ..pipeline import Request
        self.arg = arg
        self.request = request or Request()
        self.cache = cache
        self.preset = None         # the last preset that loaded (its files are watched)
        self._key = None
        self._trace = None

    def source_file(self) -> Path | None:
        """The file behind the argument (a built-in preset's name too), None if there is none."""
        from ..preset import resolve_preset_path
        path = Path(self.arg)
        if path.is_file():
            return path
        try:
            return resolve_preset_path(self.arg)
        except BprenderError:
            return None

    def build(self, on_trace=None) -> tuple[dict, dict | None]:
        """The scene of the source as it is on disk now, and its folded groups' variants (the
        page's, folds.py: a click opens a group the same way in the exported page and here);
        raises BprenderError for a mistake. on_trace() is called before the model runs (the
        page then says it is tracing)."""
        from ..folds import page_folds
        from ..pipeline import for_preset, open_source, page_for, scene_of, trace_of
        source = open_source(self.arg, self.request)
        if source.kind != "preset":
            self.preset = None
            return page_for([source], cache=self.cache)
        preset = source.preset
        self.preset = preset
        from .. import trace_cache
        key = trace_cache.key_of(preset)
        if self.cache and key is not None and key == self._key and self._trace is not None:
            trace = for_preset(self._trace, preset)  # same model: only the drawing settings changed
        else:                                       # (--no-cache: every save runs the model)
            if on_trace is not None:
                on_trace()
            forget_model_modules(preset)
            trace = trace_of(preset, cache=self.cache)
            self._key, self._trace = key, trace
        scene = scene_of(trace, preset)
        return scene, page_folds(trace, preset, scene)


def forget_model_modules(preset) -> None:
    """Drop the modules a model imported from its own folder (``import helper``) from
    sys.modules, so tracing again in this process runs the files as they are now; the model
    file itself is imported afresh every time (model/python_file.py)."""
    import sys

    from ..trace_cache import model_file
    file = model_file(preset)
    if file is None:
        return
    folder = file.resolve().parent
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if where and Path(where).resolve().parent == folder:
            del sys.modules[name]


def error_report(exc: BaseException, fallback: Path | None) -> dict:
    """{file, line, message} of a failed build. A mistake in a model's own code points at that
    code's line; a preset mistake at the preset's line; anything else is a bug in bprender,
    said as such (the watch goes on, and the last good animation stays)."""
    if isinstance(exc, PresetError):
        file, line = exc.code if exc.code else (exc.path, exc.line)
        if exc.code and exc.path:   # the preset line naming the model file is said too
            message = f"{exc.unlocated()} (from {exc.path}" + (f":{exc.line})" if exc.line else ")")
        else:
            message = exc.unlocated()
    elif isinstance(exc, BprenderError):
        file, line, message = None, None, str(exc)
    else:
        file, line = None, None
        message = f"internal error (a bug in bprender, please report it): {type(exc).__name__}: {exc}"
    if file is None and fallback is not None:
        file = str(fallback)
    return {"file": str(file) if file is not None else None, "line": line, "message": message}


def error_line(report: dict) -> str:
    """A report as one terminal line, like the other commands' errors."""
    where = report["file"] + (f":{report['line']}" if report["line"] else "") + ": " if report["file"] else ""
    return where + report["message"]
