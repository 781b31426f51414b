"""A Scene -> one self-contained HTML page: the interactive player.

The page needs nothing but itself: the bundled font files are inlined as base64 @font-face
rules, the web_player scripts (the interpreter: tracks.js, geometry.js, paint.js; then the UI:
player.js) and player.css are inlined, and the scene is embedded as JSON data (with the
palettes of all its themes: the page switches theme without another scene). It opens from
file://, inside a Jupyter iframe's srcdoc, or from any web server, and makes no request.

Names and labels are data, never markup. The scene goes into a
``<script type="application/json">`` element with every ``<`` written as ``\\u003c`` (and
U+2028/U+2029 escaped), so no string can close the element or open a comment; the player puts
text on the page only through canvas ``fillText`` and ``textContent``. A Content-Security-Policy
allows only the page's own scripts (by hash) and data: fonts and images, so even markup that
slipped in could neither run nor reach the network.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

from .errors import BprenderError
from .jsonio import dumps_compact
from .scene.fonts import font_path

# In a source checkout bprender/web_player is a link to ../web_player; in a wheel a folder.
WEB_PLAYER = Path(__file__).parent / "web_player"

SCRIPTS = ("tracks.js", "geometry.js", "paint.js", "player.js")
LIVE_SCRIPT = "live.js"  # only in the pages `bprender watch` serves: it talks to that server
STYLE = "player.css"
TEMPLATE = "player.html"

FONT_FORMATS = {".ttf": ("font/ttf", "truetype"), ".otf": ("font/otf", "opentype"),
                ".woff": ("font/woff", "woff"), ".woff2": ("font/woff2", "woff2")}
FAMILY_OK = re.compile(r"^[A-Za-z0-9 _-]+$")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def export_html(scene: dict, theme: str | None = None, live: dict | None = None,
                folds: dict | None = None) -> str:
    """The player page for a scene (single or composite); it opens in `theme` (else the
    scene's own) and can switch to any theme whose palette the scene carries.

    folds (folds.page_folds): the scenes with folded groups opened, which a click on a group
    shows; without it a group stays folded.

    live ({"scene_version": N}): the page `bprender watch` serves, which also runs live.js and
    may connect to the server it came from (and only to it); the exported page cannot connect
    anywhere and has no live.js."""
    if theme is not None and theme not in scene["palettes"]:
        raise BprenderError(f"no theme called '{theme}' (themes: {', '.join(scene['palettes'])})")
    data = {"theme": theme or scene["theme"], "scene": scene}
    if folds:
        data["folds"] = folds
    names, connect = SCRIPTS, "'none'"
    if live is not None:
        connect = "'self'"
        data["live"] = live
        names = SCRIPTS + (LIVE_SCRIPT,)
    # the browser hashes a script's text after turning CR LF into LF: hash the same text
    scripts = [_read(name).replace("\r\n", "\n").replace("\r", "\n") for name in names]
    for name, text in zip(names, scripts):
        if re.search(r"</script|<!--", text, flags=re.I):
            raise BprenderError(f"web_player/{name} contains '</script' or '<!--' and cannot be inlined")
    script_tags = "\n".join(f"<script>{text}</script>" for text in scripts)
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(t.encode("utf-8")).digest()).decode() + "'"
                      for t in scripts)
    parts = {
        "csp": html.escape(f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
                           "font-src data:; img-src data: blob:; "
                           f"connect-src {connect}; "
                           "base-uri 'none'; form-action 'none'", quote=True),
        "title": html.escape(str(scene.get("title") or "bprender"), quote=False),
        "fonts_css": font_css(scene.get("fonts", [])),
        "player_css": _read(STYLE),
        "scenes_json": json_for_script(data),
        "scripts": script_tags,
    }
    # one pass over the template: text put in never gets its own {{...}} replaced
    return PLACEHOLDER.sub(lambda m: parts[m.group(1)], _read(TEMPLATE))


def json_for_script(data) -> str:
    """JSON that is safe as the text of a <script type="application/json"> element: no '<' at
    all (so no '</script' and no '<!--'), and no U+2028/U+2029 line separators. JSON.parse reads
    the escapes back as the original characters."""
    text = dumps_compact(data)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def font_css(fonts: list[dict]) -> str:
    """One @font-face per (family, weight) the scene names, the file's bytes inlined."""
    rules, seen = [], set()
    for font in fonts:
        family, weight = str(font["family"]), int(font["weight"])
        if (family, weight) in seen:
            continue
        seen.add((family, weight))
        if not FAMILY_OK.match(family):
            raise BprenderError(f"font family {family!r}: use letters, digits, spaces, '-' and '_' only")
        path = font_path(font["file"])
        mime, fmt = FONT_FORMATS.get(path.suffix.lower(), ("font/ttf", "truetype"))
        try:
            payload = base64.b64encode(path.read_bytes()).decode("ascii")
        except OSError as exc:
            raise BprenderError(f"cannot read the font file {path}: {exc.strerror or exc}") from None
        rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: normal; '
                     f'font-display: block; src: url(data:{mime};base64,{payload}) format("{fmt}"); }}')
    return "\n".join(rules)


def _read(name: str) -> str:
    path = WEB_PLAYER / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise BprenderError(f"the HTML player file {path} is missing (is the package installed completely?)") from None
