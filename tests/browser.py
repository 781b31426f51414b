"""Headless Chromium for tests: one browser per test session, driven by Playwright's sync API.

Chromium is Debian's (/usr/bin/chromium, or whatever ``chromium`` is on PATH); Playwright never
downloads a browser here. Without one, browser tests are skipped on a developer's machine and
fail under CI (CI=true), so a CI machine that lost its browser cannot pass silently.

Fixtures (import them in conftest.py): ``chromium`` (session: the BrowserContext) and
``chromium_page`` (a fresh page per test, closed afterwards). Helpers: ``open_html``,
``open_file``, ``evaluate``, ``decode_png_data_url``, ``compare_pixels``.
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

OUTPUT = Path(__file__).parent / "output"

# The headless flags measured to work on these machines (DESIGN.md); --user-data-dir is added
# by launch_persistent_context, fresh for every session.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"headless Chromium is required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium (a persistent BrowserContext on a fresh user-data-dir) shared by
    every test of the session."""
    exe = chromium_path()
    if exe is None:
        _unavailable("no Chromium found (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the machine
        _unavailable(f"playwright is not installed ({exc})")
    profile = tempfile.mkdtemp(prefix="bprender-chromium-")
    pw = sync_playwright().start()
    try:
        try:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=exe, headless=True, args=CHROMIUM_FLAGS,
                device_scale_factor=1, viewport={"width": 1280, "height": 800})
        except Exception as exc:  # the browser exists but cannot start
            _unavailable(f"Chromium at {exe} did not start: {exc}")
        try:
            yield context
        finally:
            context.close()
    finally:
        pw.stop()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def chromium_page(chromium):
    """A new blank page in the shared browser, closed after the test."""
    page = chromium.new_page()
    try:
        yield page
    finally:
        page.close()


def open_html(page, html: str, wait_until: str = "load"):
    """Load an HTML string into page (as its document, no server needed)."""
    page.set_content(html, wait_until=wait_until)
    return page


def open_file(page, path: str | Path, wait_until: str = "load"):
    """Navigate page to a local file through a file:// URL."""
    page.goto(Path(path).resolve().as_uri(), wait_until=wait_until)
    return page


def evaluate(page, script: str, arg=None):
    """Run a JS expression or function in the page; promises are awaited."""
    return page.evaluate(script) if arg is None else page.evaluate(script, arg)


def wait_until(page, expression: str, timeout: float = 20) -> None:
    """Poll a JS expression until it is true (page.wait_for_function evaluates its text with
    eval, which the player's Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout
    while not evaluate(page, expression):
        assert time.monotonic() < deadline, f"not within {timeout} s: {expression}"
        time.sleep(0.02)


def decode_png_data_url(data_url: str, rgba: bool = False) -> np.ndarray:
    """'data:image/png;base64,...' (canvas.toDataURL()) -> (H, W, 3) uint8 RGB (or RGBA)."""
    from PIL import Image

    head, sep, payload = data_url.partition(",")
    if not sep or not head.startswith("data:image/png") or ";base64" not in head:
        raise ValueError(f"not a base64 PNG data URL: {data_url[:40]!r}...")
    with Image.open(io.BytesIO(base64.b64decode(payload))) as im:
        return np.asarray(im.convert("RGBA" if rgba else "RGB")).copy()


def _channel_delta(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(actual.astype(np.int16) - expected.astype(np.int16)).max(axis=-1)


def compare_pixels(actual: np.ndarray, expected: np.ndarray, name: str | None = None,
                   write: bool = False, out: Path | None = None) -> tuple[float, float]:
    """(fraction of pixels off by > 8, fraction off by > 64) in any channel; a shape mismatch
    counts as every pixel off. With ``write`` (and a name) writes NAME-actual/-expected/-diff.png
    to ``out`` (default tests/output/; the diff is the per-pixel max channel difference, times 4)."""
    if actual.shape != expected.shape:
        return 1.0, 1.0
    delta = _channel_delta(actual, expected)
    result = float((delta > 8).mean()), float((delta > 64).mean())
    if write and name:
        write_comparison(name, actual, expected, out)
    return result


def write_comparison(name: str, actual: np.ndarray, expected: np.ndarray,
                     out: Path | None = None) -> Path:
    """Write NAME-actual.png, NAME-expected.png and (same shapes) NAME-diff.png; returns the dir."""
    from PIL import Image

    out = Path(out) if out is not None else OUTPUT
    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(actual)).save(out / f"{name}-actual.png")
    Image.fromarray(np.ascontiguousarray(expected)).save(out / f"{name}-expected.png")
    if actual.shape == expected.shape:
        diff = np.clip(_channel_delta(actual, expected) * 4, 0, 255).astype(np.uint8)
        Image.fromarray(diff).save(out / f"{name}-diff.png")
    return out
