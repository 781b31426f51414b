"""Write a file all at once or not at all.

``atomic_output(path)`` yields a temporary path to write; what happens when the block succeeds
depends on what ``path`` is:

- a regular file, or nothing yet: the temporary file is hidden next to ``path`` (same folder, so
  the final ``os.replace`` is atomic; same suffix, so tools that pick a format from the name
  still work) and replaces ``path``. A symlink to a regular file keeps the link: its target is
  replaced.
- an existing FIFO, character device or terminal (``/dev/stdout``, ``/dev/null``, a named pipe),
  or anything under /dev or /proc: the file is written into, never replaced (replacing would
  swap the device for a regular file; as root, ``-o /dev/stdout`` would replace the system's
  link). The temporary file lives in the temp folder and is copied in when complete.
- ``-``: standard output, the same way.

If the block raises (including KeyboardInterrupt, and SIGTERM/SIGHUP, which the CLI turns into
one), the temporary file is removed and whatever was at ``path`` is left untouched. A write
error (a full disk, a name too long) becomes a one-line BprenderError.

Temporary names carry the writer's process id, ``.NAME.bprender-tmp-PID-XXXXXXXX.SUFFIX``, so a
run killed outright (SIGKILL, a power cut) leaves nothing beyond the next run: every
``atomic_output`` first sweeps the temporary files of dead processes from its folder
(``sweep_stale``), and the GIF's temporary folders from the temp folder.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from bprender.errors import BprenderError

STDOUT = "-"
TMP_TAG = "bprender-tmp"
# .NAME.bprender-tmp-PID-XXXXXXXX.SUFFIX (files) and bprender-gif-PID-... (the GIF's folders)
_STALE_FILE = re.compile(r"^\..*\." + TMP_TAG + r"-(\d+)-[0-9a-f]{8}(\.[^.]*)?$")
_STALE_DIR = re.compile(r"^bprender-(?:gif|tmp)-(\d+)-")
_STEM_MAX = 80  # of NAME in a temporary name: it must fit when the real name nearly does


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or we cannot tell: leave it
    return True


def sweep_stale(directory: str | os.PathLike) -> list[str]:
    """Remove what dead bprender processes left in ``directory``: hidden temporary outputs and
    (in the temp folder) GIF work folders. Returns the names removed. Never raises."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _STALE_FILE.match(entry.name) or _STALE_DIR.match(entry.name)
        if m is None or _alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:
            pass
    return removed


def temp_name(path: Path) -> str:
    """The hidden temporary name for ``path``: ``.NAME.bprender-tmp-PID-XXXXXXXX.SUFFIX``."""
    stem = path.stem[:_STEM_MAX]
    return f".{stem}.{TMP_TAG}-{os.getpid()}-{secrets.token_hex(4)}{path.suffix[:16]}"


def work_dir_prefix(kind: str) -> str:
    """A prefix for a temporary folder that sweep_stale removes once this process is gone."""
    return f"bprender-{kind}-{os.getpid()}-"


def is_stream(path: str | os.PathLike) -> bool:
    """True for ``-`` and for a path that must be written into rather than replaced."""
    text = os.fspath(path)
    if text == STDOUT:
        return True
    p = Path(text)
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        return True  # a FIFO, a device, a socket
    real = os.path.realpath(text)
    absolute = os.path.abspath(text)
    return any(x == d or x.startswith(d + "/") for x in (real, absolute) for d in ("/dev", "/proc"))


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


def _check_name(path: Path) -> None:
    """A name longer than the file system allows (255 bytes, usually) is the user's to fix."""
    try:
        name_max = os.pathconf(path.parent if str(path.parent) else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > name_max:
            raise BprenderError(f"cannot write {part[:40]}...: the file name is {size} bytes long, and "
                                f"this file system allows at most {name_max}; choose a shorter name")
    if len(os.fsencode(str(path))) >= 4096:
        raise BprenderError(f"cannot write {str(path)[:40]}...: the path is longer than 4096 bytes")


def check_suffix(path: Path, suffixes: tuple[str, ...], what: str) -> None:
    """A name whose suffix promises another format (an MP4 called x.gif) is a user mistake."""
    if path.suffix.lower() not in suffixes:
        raise BprenderError(f"cannot write {path}: {what} is written to a {' or '.join(suffixes)} file, "
                            f"not {path.suffix or 'a name without a suffix'}")


def _write_error(path, exc: OSError) -> BprenderError:
    where = "standard output" if os.fspath(path) == STDOUT else str(path)
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on the device; nothing was written"
    elif exc.errno == errno.EDQUOT:
        reason = "over the disk quota; nothing was written"
    return BprenderError(f"cannot write {where}: {reason}")


def _copy_into(tmp: Path, path) -> None:
    """Copy the finished temporary file into a stream (stdout, a FIFO, a device)."""
    if os.fspath(path) == STDOUT:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        out = getattr(sys.stdout, "buffer", None)
        if out is None:  # a text-only stdout (a notebook): give it text
            sys.stdout.write(tmp.read_bytes().decode("utf-8", "replace"))
            return
        with open(tmp, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        return
    with open(tmp, "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffixes: tuple[str, ...] = (), what: str = "") -> Iterator[Path]:
    """Yield a temporary path to write; move it onto ``path`` (or copy it into a stream) only if
    the block succeeds. With `suffixes`, ``path`` must end in one of them (`what` names the
    format); ``-`` (standard output) and devices take any format."""
    stream = is_stream(path)
    path = Path(path)
    if suffixes and not stream:
        check_suffix(path, suffixes, what)
    if stream:
        directory = Path(tempfile.gettempdir())
        suffix = (suffixes[0] if suffixes else path.suffix) if path.suffix.lower() not in suffixes else path.suffix
        tmp = directory / temp_name(Path("stream" + suffix))
        target = path
    else:
        _check_name(path)
        if path.is_symlink():
            path = Path(os.path.realpath(path))  # replace the link's target, keep the link
        directory = _check_directory(path)
        tmp = directory / temp_name(path)
        target = path
    sweep_stale(directory)
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"atomic_output: nothing was written to {tmp}")
        if stream:
            _copy_into(tmp, os.fspath(target) if os.fspath(target) == STDOUT else target)
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, BrokenPipeError):
            raise BprenderError(f"cannot write {path}: the reader closed the pipe") from None
        if isinstance(exc, OSError) and exc.errno is not None:
            raise _write_error(path if not stream or os.fspath(path) != STDOUT else STDOUT, exc) from None
        raise
