"""The exported player page as a file: one self-contained document, fonts inlined, names
embedded as data that cannot close their script element. (Its behaviour in a browser is
tests/test_player.py.) Also the CLI command and the page from an installed wheel."""
from __future__ import annotations

import base64
import html
import json
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from bprender.cli import cli
from bprender.errors import BprenderError
from bprender.html import export_html, json_for_script
from bprender.jsonio import clean
from playerkit import EVIL_IMG, EVIL_SCRIPT, EVIL_TITLE, SCENES_JSON, animation, evil_animation, evil_page, page

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "bprender" / "assets" / "fonts"

CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]*)""", re.I)


class Markup(HTMLParser):
    """The page's elements, their URL-valued attributes and its style sheets' text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.urls, self.styles, self._in_style = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "poster", "srcset", "data")]
        self.styles += [v or "" for k, v in attrs if k == "style"]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def embedded(text: str) -> dict:
    payloads = SCENES_JSON.findall(text)
    assert len(payloads) == 1
    return json.loads(payloads[0])


def test_page_is_one_self_contained_file():
    text = page()
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    markup = Markup()
    markup.feed(text)
    assert markup.urls == []                             # no src/href at all
    css_urls = [u for style in markup.styles for u in CSS_URL.findall(style)]
    assert len(css_urls) == 2                            # the two fonts
    for url in css_urls:
        assert url.startswith("data:font/"), url[:40]   # no file, no //host, no relative path
    assert not {"link", "img", "iframe", "object", "embed", "base"} & set(markup.tags)
    assert markup.tags.count("script") == 5 and "@import" not in text
    # the interpreter, the UI and the styles are inlined
    for name in ("tracks.js", "geometry.js", "paint.js", "player.js", "player.css"):
        source = (ROOT / "web_player" / name).read_text(encoding="utf-8")
        assert source in text, name
    assert "Content-Security-Policy" in text and "connect-src &#x27;none&#x27;" in text


def test_fonts_are_embedded_and_awaited():
    text = page()
    faces = re.findall(r'@font-face \{ font-family: "bprender-sans"; font-weight: (\d+);.*?'
                       r'url\(data:font/ttf;base64,([A-Za-z0-9+/=]+)\)', text)
    assert {w for w, _ in faces} == {"400", "600"}
    files = {"400": "bprender-sans.ttf", "600": "bprender-sans-bold.ttf"}
    for weight, payload in faces:
        assert base64.b64decode(payload) == (FONTS / files[weight]).read_bytes()
    assert "document.fonts.load" in text


def test_one_scene_carries_every_theme():
    data = embedded(page())
    assert data["theme"] == "light"
    scene = data["scene"]
    assert scene == clean(animation().scene())
    assert set(scene["palettes"]) == {"light", "dark", "colorblind"}
    assert scene["palettes"]["dark"]["background"] != scene["palettes"]["light"]["background"]
    # colours in the scene are roles that every palette defines
    assert scene["nodes"][0]["fill"] in scene["palettes"]["dark"]


def test_json_escaping_round_trips_markup_in_names():
    text = evil_page()
    assert "<img" not in text
    # the only '</script' are the ends of the page's own script elements
    assert text.count("</script") == text.count("<script")
    payload = SCENES_JSON.search(text).group(1)
    assert "<" not in payload and "\u2028" not in payload and "\u2029" not in payload
    data = json.loads(payload)
    scene = data["scene"]
    assert scene == clean(evil_animation().scene())
    assert scene["title"] == EVIL_TITLE
    assert EVIL_SCRIPT in scene["groups"] and EVIL_IMG in scene["groups"]
    assert any(f"module: {EVIL_IMG}" in n["info"]["lines"] for n in scene["nodes"])
    # the <title> is escaped text
    assert f"<title>{html.escape(EVIL_TITLE, quote=False)}</title>" in text


def test_json_for_script_escapes():
    value = {"a": "</script><!-- \u2028\u2029 & >", "b": [1.5, None, True]}
    text = json_for_script(value)
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == value


def test_the_page_opens_in_the_theme_asked_for():
    scene = animation().scene()
    assert embedded(export_html(scene, "dark")) == {"theme": "dark", "scene": clean(scene)}
    assert embedded(export_html(scene))["theme"] == scene["theme"] == "light"
    with pytest.raises(BprenderError, match="no theme called 'nope'"):
        export_html(scene, "nope")


def test_repr_html_is_an_iframe_with_the_player():
    anim = animation()
    shown = anim._repr_html_()
    assert shown.startswith("<iframe srcdoc=\"")
    srcdoc = html.unescape(re.match(r'<iframe srcdoc="([^"]*)"', shown).group(1))
    assert srcdoc == anim.html()


def test_save_html(tmp_path):
    out = animation().save(tmp_path / "x.html")
    assert out.read_text(encoding="utf-8") == page()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.html"]


def test_cli_html(tmp_path):
    out = tmp_path / "backprop.html"
    result = CliRunner().invoke(cli, ["html", "linear", "-o", str(out), "--theme", "dark"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backprop.html"]   # one file, no leftovers
    data = embedded(out.read_text(encoding="utf-8"))
    assert data["theme"] == "dark" and set(data["scene"]["palettes"]) == {"light", "dark", "colorblind"}


def test_cli_html_user_errors(tmp_path):
    out = tmp_path / "missing" / "x.html"
    result = CliRunner().invoke(cli, ["html", "linear", "-o", str(out)])
    assert result.exit_code == 1 and "Error:" in result.output and "does not exist" in result.output
    result = CliRunner().invoke(cli, ["html", "no_such_preset", "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 1 and "Error:" in result.output
    assert list(tmp_path.iterdir()) == []


def test_installed_wheel_exports_html(tmp_path):
    """Build the wheel, install it alone in a fresh venv (torch and friends from the system
    site-packages) and export a page from a folder outside the checkout."""
    start = time.monotonic()
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    wheel = next(wheels.glob("bprender-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, capture_output=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # the system pip, run by the venv's python, installs into the venv
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, env=env)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(python), "-c", "import bprender; print(bprender.__file__)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    result = subprocess.run([str(python), "-m", "bprender", "html", "linear", "-o", "x.html"],
                            cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = (work / "x.html").read_text(encoding="utf-8")
    assert 'id="bp-graph"' in text and "window.bprender = " in text and "function paintFrame" in text
    assert embedded(text)["scene"]["duration"] == animation().duration
    assert time.monotonic() - start < 40
