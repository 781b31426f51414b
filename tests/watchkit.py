"""Shared by the `bprender watch` tests: talking to the server, and saving an edited preset."""
from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as reply:
        return reply.read()


def get_json(url: str):
    return json.loads(get(url))


def edit(path: Path, pattern: str, replacement: str) -> None:
    """Save the file with one regex replacement (which must match: a test edits on purpose)."""
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    assert count == 1, f"{pattern!r} is not in {path}"
    path.write_text(new, encoding="utf-8")


def next_state(url: str, state: dict, until=None, timeout: float = 60) -> dict:
    """The server's state after `state` (long polls), once until(state) holds (default: any
    change)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = get_json(f"{url}events?after={state['version']}")
        if until is None or until(state):
            return state
    raise AssertionError(f"no such state within {timeout} s; the last: {state}")
