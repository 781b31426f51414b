"""Traces cached by content, so a second render of an unchanged model needs no torch.

A trace depends on the preset's model and train sections, on the model file's source and the
Python files beside it (what it can import from its folder), and on the torch, bprender and
Python versions, and on the tracer's own source (bprender/trace/, bprender/model/: an edited
or patched checkout at the same version never reuses another tracer's traces): the key hashes
all of them. Drawing settings (render, pacing, view, theme...)
are not in the key, so changing only those re-uses the trace. Entries live in
$BPRENDER_CACHE_DIR, else $XDG_CACHE_HOME/bprender/traces, else ~/.cache/bprender/traces; the
folder is kept under MAX_BYTES (oldest entries go first). An entry is its trace's JSON after a
first line holding the SHA-256 of that JSON: an entry whose bytes do not match it (cut short,
edited, from an older bprender) or that is not a trace is removed and made again, never trusted.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

MAX_BYTES = 256 * 1024 * 1024
MAX_SOURCE = 4 * 1024 * 1024  # a file beside the model bigger than this is keyed by size and mtime


def cache_dir() -> Path:
    own = os.environ.get("BPRENDER_CACHE_DIR")
    if own:
        return Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bprender" / "traces"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


@functools.lru_cache(maxsize=1)
def tracer_source() -> str:
    """A hash of the code that makes traces (what a trace's numbers and fields come from)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("trace/**/*.py"), *package.glob("model/**/*.py"), package / "trace_format.py"]):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def model_file(preset) -> Path | None:
    """The preset's model file (model: {python: FILE.py:FUNCTION}), or None for a formula."""
    model = preset.data["model"]
    if not (model and model.get("python")):
        return None
    return preset.base_dir / model["python"].rpartition(":")[0]


def model_sources(preset) -> list[Path]:
    """The Python files a preset's trace depends on: its model file and the files beside it
    (what it can import from its folder), sorted; none for a formula. Raises OSError when
    the folder cannot be read."""
    file = model_file(preset)
    return [] if file is None else sorted(file.resolve().parent.glob("*.py"))


def key_of(preset) -> str | None:
    """The cache key of a preset's trace, or None when it cannot be keyed (a missing file)."""
    from . import __version__
    from .trace_format import CONTENT
    model = preset.data["model"]
    parts = {"bprender": __version__, "content": CONTENT, "tracer": tracer_source(), "torch": _version("torch"),
             "python": platform.python_version(),
             "model": model, "train": preset.data.get("train")}
    file = model_file(preset)
    if file is not None:
        try:
            sources = {}
            for path in model_sources(preset):
                stat = path.stat()
                sources[path.name] = hashlib.sha256(path.read_bytes()).hexdigest() if stat.st_size <= MAX_SOURCE \
                    else f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            return None
        parts["sources"] = sources
        parts["file"] = file.name
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load(key: str) -> dict | None:
    """The cached trace for a key, or None (a missing, stale or corrupt entry is removed)."""
    from .documents import read_document
    from .errors import BprenderError
    path = cache_dir() / f"{key}.trace.json"
    try:
        digest, newline, body = path.read_bytes().partition(b"\n")
        if not newline or hashlib.sha256(body).hexdigest().encode("ascii") != digest:
            raise ValueError("not the bytes this cache wrote")
        data = json.loads(body)
        # the digest says these are the bytes store() wrote, from a trace this bprender made:
        # the JSON Schema check (and the jsonschema import) would only repeat that
        kind, trace = read_document(data, str(path), validate=False)
        if kind != "trace":
            raise ValueError(kind)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, BprenderError):
        try:
            path.unlink()
        except OSError:
            pass
        return None
    try:
        os.utime(path)  # recently used: the size cap removes the oldest first
    except OSError:
        pass
    return trace


def store(key: str, trace: dict) -> None:
    """Keep a trace (written whole or not at all; a cache that cannot be written is skipped)."""
    from .jsonio import dumps
    folder = cache_dir()
    body = dumps(trace).encode("utf-8")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body)
        os.replace(tmp, folder / f"{key}.trace.json")
        _keep_under_cap(folder)
    except OSError:
        return


def _keep_under_cap(folder: Path) -> None:
    entries = sorted(((p.stat().st_mtime, p.stat().st_size, p) for p in folder.glob("*.trace.json")),
                     key=lambda e: e[0])
    total = sum(size for _, size, _ in entries)
    for _, size, path in entries:
        if total <= MAX_BYTES:
            break
        path.unlink(missing_ok=True)
        total -= size
