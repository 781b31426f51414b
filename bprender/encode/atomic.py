"""Write a file all at once or not at all.

``atomic_output(path)`` yields a hidden temporary path next to ``path`` (same directory,
so the final ``os.replace`` is atomic; same suffix, so tools that pick a format from the
name still work). If the block finishes, the temp file replaces ``path``; if it raises
(including KeyboardInterrupt), the temp file is removed and whatever was at ``path``
before is left untouched.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

from bprender.errors import BprenderError


def _check_directory(path: Path) -> Path:
    directory = path.parent
    if not directory.exists():
        raise BprenderError(f"cannot write {path}: the folder {directory} does not exist")
    if not directory.is_dir():
        raise BprenderError(f"cannot write {path}: {directory} is not a folder")
    if path.is_dir():
        raise BprenderError(f"cannot write {path}: it is a folder")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BprenderError(f"cannot write {path}: no permission to write in {directory}")
    return directory


def check_suffix(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    """A name whose suffix promises another format (an MP4 called x.gif) is a user mistake."""
    if path.suffix.lower() not in suffixes:
        raise BprenderError(f"cannot write {path}: {what} is written to a {' or '.join(suffixes)} file, "
                            f"not {path.suffix or 'a name without a suffix'}")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffixes: tuple[str, ...] = (), what: str = "") -> Iterator[Path]:
    """Yield a temporary path to write; move it onto ``path`` only if the block succeeds.
    With `suffixes`, ``path`` must end in one of them (`what` names the format)."""
    path = Path(path)
    if suffixes:
        check_suffix(path, suffixes, what)
    directory = _check_directory(path)
    tmp = directory / f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}"
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"atomic_output: nothing was written to {tmp}")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
