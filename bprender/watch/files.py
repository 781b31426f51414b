"""Which files a watched preset depends on, and a cheap stamp of them to notice a save.

A save is noticed by polling: each file's (mtime, size) is read every POLL seconds, which needs
no dependency and works on every file system (inotify does not see edits over a network mount
or inside some containers). A file that is missing has the stamp None, so deleting or
re-creating it counts as a change too.
"""
from __future__ import annotations

import os
from pathlib import Path

POLL = 0.2  # seconds between two looks at the files: a save shows within a second


def watched_files(source_file: Path | None, preset=None) -> list[Path]:
    """The file named on the command line, and for a preset with a Python model the model file
    and the Python files beside it (what the trace cache keys on: trace_cache.model_sources)."""
    from ..trace_cache import model_sources
    files = [source_file] if source_file is not None else []
    if preset is not None:
        try:
            files += model_sources(preset)
        except OSError:
            pass   # an unreadable folder: the trace's own error names it
        from ..trace_cache import model_file
        model = model_file(preset)
        if model is not None:
            files.append(model.resolve())   # watched even while it is missing
    unique = []
    for path in files:
        path = Path(os.path.abspath(path))
        if path not in unique:
            unique.append(path)
    return unique


def stamp(files: list[Path]) -> dict:
    """{path: (mtime_ns, size) or None when missing}: equal stamps, no save in between."""
    out = {}
    for path in files:
        try:
            st = path.stat()
            out[path] = (st.st_mtime_ns, st.st_size)
        except OSError:
            out[path] = None
    return out
