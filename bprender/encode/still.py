"""One frame as a still image; the format follows the file's suffix.

- ``.png``: raster, drawn on a skia raster surface of width x height pixels.
- ``.svg``: vector; text is converted to paths (``kConvertTextToPaths_Flag``) so the file
  needs no font and looks the same everywhere (the text is no longer selectable).
- ``.pdf``: vector, one page of width x height points; skia embeds (subsets) the fonts.

``draw(canvas)`` draws onto a ``skia.Canvas`` whose (0, 0)..(width, height) is the
picture; it must not keep the canvas after returning (the SVG is completed when the
canvas is released). ``background`` is a hex colour ("#fff", "#ffffff", "#ffffffff") painted
first, or None for a transparent PNG / no background rectangle in SVG and PDF.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import skia

from bprender.encode.atomic import atomic_output, is_stream
from bprender.errors import BprenderError

FORMATS = (".png", ".svg", ".pdf")
MAX_PIXELS = 1 << 28   # a PNG of 16384 x 16384: 1 GB while drawn; a contact sheet can ask for more
MAX_PAGE = 200 * 72    # points: the largest page PDF viewers show (200 inches)


def parse_hex_color(text: str) -> int:
    """``#rgb``, ``#rrggbb`` or ``#rrggbbaa`` as a skia ARGB colour int."""
    digits = text[1:] if isinstance(text, str) and text.startswith("#") else None
    if digits is not None and len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    try:
        if digits is None or len(digits) not in (6, 8):
            raise ValueError
        r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
        a = int(digits[6:8], 16) if len(digits) == 8 else 255
    except ValueError:
        raise BprenderError(f"background must be a hex colour like '#ffffff', got {text!r}") from None
    return skia.Color(r, g, b, a)


def _paint(canvas: skia.Canvas, draw, width: int, height: int, background) -> None:
    if background is not None:
        canvas.drawRect(skia.Rect.MakeWH(width, height),
                        skia.Paint(Color=parse_hex_color(background)))
    draw(canvas)


def _png(draw, width, height, background) -> bytes:
    surface = skia.Surface.MakeRaster(skia.ImageInfo.MakeN32Premul(width, height))
    if surface is None:
        raise BprenderError(f"not enough memory for a {width}x{height} image; make it smaller")
    canvas = surface.getCanvas()
    canvas.clear(skia.ColorTRANSPARENT)
    _paint(canvas, draw, width, height, background)
    data = surface.makeImageSnapshot().encodeToData(skia.kPNG, 100)
    if data is None:
        raise RuntimeError("skia could not encode the PNG")
    return bytes(data)


def _svg(draw, width, height, background) -> bytes:
    stream = skia.DynamicMemoryWStream()
    canvas = skia.SVGCanvas.Make(skia.Rect.MakeWH(width, height), stream,
                                 skia.SVGCanvas.kConvertTextToPaths_Flag)
    _paint(canvas, draw, width, height, background)
    del canvas  # the SVG is finished (closing tags written) when the canvas is destroyed
    svg = bytes(stream.detachAsData())
    # skia writes width/height but no viewBox; add one so the SVG scales when resized.
    if b"viewBox" not in svg[:500]:
        size = f'width="{width}" height="{height}"'.encode()
        svg = svg.replace(size, size + f' viewBox="0 0 {width} {height}"'.encode(), 1)
    return svg


def _pdf(draw, width, height, background) -> bytes:
    stream = skia.DynamicMemoryWStream()
    document = skia.PDF.MakeDocument(stream, Creator="bprender", Producer="bprender")
    canvas = document.beginPage(width, height)
    _paint(canvas, draw, width, height, background)
    document.endPage()
    document.close()
    return bytes(stream.detachAsData())


WRITERS = {".png": _png, ".svg": _svg, ".pdf": _pdf}


def write_still(path: str | os.PathLike, draw: Callable[[skia.Canvas], None], *,
                width: int, height: int, background: str | None = "#ffffff",
                image_format: str | None = None) -> None:
    """Draw one picture with ``draw(canvas)`` and save it as PNG, SVG or PDF: image_format
    ("png", "svg", "pdf") when given, else by suffix (PNG into ``-``, standard output, or a
    device whose name has no image suffix)."""
    named = Path(path).suffix.lower()
    if image_format and named in WRITERS and named != f".{image_format}":
        raise BprenderError(f"cannot write {path}: --format {image_format} asks for a .{image_format}, but the "
                            f"name says {named}; rename the output or leave out --format")
    suffix = f".{image_format}" if image_format else named
    if suffix not in WRITERS and is_stream(path):
        suffix = ".png"
    if suffix not in WRITERS:
        raise BprenderError(f"cannot write {path}: unknown image type {suffix or '(no suffix)'!r}; "
                            f"supported: {', '.join(FORMATS)}")
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or value <= 0:
            raise BprenderError(f"image {name} must be a positive whole number, got {value!r}")
    if suffix == ".png" and width * height > MAX_PIXELS:
        raise BprenderError(f"cannot write {path}: a {width}x{height} PNG is {width * height / 1e6:.0f} "
                            f"million pixels, more than the {MAX_PIXELS / 1e6:.0f} million bprender draws "
                            "at once; make it smaller (--size, --cols) or write a .pdf")
    if suffix == ".pdf" and max(width, height) > MAX_PAGE:
        raise BprenderError(f"cannot write {path}: a {width}x{height} page is larger than PDF viewers "
                            f"show (at most {MAX_PAGE} points a side); make it smaller (--size, --cols)")
    if background is not None:
        parse_hex_color(background)  # a bad colour is reported before anything is drawn
    data = WRITERS[suffix](draw, width, height, background)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
