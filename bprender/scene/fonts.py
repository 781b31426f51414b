"""The fonts a Scene names, and where their files are. A scene font is
{"family", "weight", "file"}: "bundled:NAME" for a font shipped in the package, else a path.
The raster backend loads the same files into skia, the HTML page inlines their bytes; both
find them here."""
from __future__ import annotations

from pathlib import Path

from ..canvas import FontBook
from ..canvas.fonts import ASSETS
from .style import FAMILY

BUNDLED = "bundled:"
REGULAR, BOLD = 400, 600


def scene_fonts(font_file: str | Path | None = None) -> list[dict]:
    """The scene's font list: the bundled pair, or one user font file for both weights (an
    absolute path, so a scene file renders from any folder)."""
    if font_file:
        path = str(Path(font_file).absolute())
        files = (path, path)
    else:
        files = (BUNDLED + "bprender-sans.ttf", BUNDLED + "bprender-sans-bold.ttf")
    return [{"family": FAMILY, "weight": REGULAR, "file": files[0]},
            {"family": FAMILY, "weight": BOLD, "file": files[1]}]


def font_path(src: str) -> Path:
    """A scene font's file: 'bundled:NAME' from the package's fonts, else the path itself."""
    return ASSETS / src[len(BUNDLED):] if src.startswith(BUNDLED) else Path(src)


def font_book(fonts: list[dict]) -> FontBook:
    """A FontBook (measuring and drawing text) over a scene's fonts."""
    return FontBook({f["family"] + (":bold" if f["weight"] >= BOLD else ""): font_path(f["file"]) for f in fonts})
