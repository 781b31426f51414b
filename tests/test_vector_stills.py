"""PDF and SVG stills are vector: PDF text is real, selectable text in the embedded font (no
soft-mask images from the raster text tone), and each is the same picture as the PNG once a real
renderer draws it: poppler's pdftoppm for the PDF (`apt-get install -y poppler-utils`; .ci/run
installs it), headless Chromium for the SVG."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from bprender.cli import entry

POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext") and shutil.which("pdffonts")
if not POPPLER:
    if os.environ.get("CI") == "true":
        raise RuntimeError("poppler-utils (pdftoppm, pdftotext, pdffonts) is needed in CI")
    pytest.skip("poppler-utils is not installed (apt-get install -y poppler-utils)", allow_module_level=True)


def still(tmp_path, suffix, at="end", preset="linear"):
    out = tmp_path / f"{preset}-{at}{suffix}"
    assert entry(["frame", preset, "--at", at, "-o", str(out)]) == 0
    return out


def rasterised(pdf) -> np.ndarray:
    base = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "72", "-png", "-singlefile", str(pdf), str(base)], check=True)
    return np.asarray(Image.open(f"{base}.png").convert("RGB")).astype(int)


def rgb(png) -> np.ndarray:
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean of the largest channel difference, share of pixels off by more than 64)."""
    assert a.shape == b.shape
    d = np.abs(a - b).max(axis=2)
    return float(d.mean()), float((d > 64).mean())


@pytest.mark.parametrize("preset, at", [("linear", "end"), ("linear", "backward:2"), ("attention", "forward"),
                                        ("cnn", "backward:5")])
def test_pdf_looks_like_the_png(tmp_path, capsys, preset, at):
    pdf, png = still(tmp_path, ".pdf", at, preset), still(tmp_path, ".png", at, preset)
    mean, off = difference(rasterised(pdf), rgb(png))
    assert mean < 3.0 and off < 0.02, (mean, off)


def test_heatmaps_are_sharp_cells_in_vector_stills(tmp_path, capsys):
    """A nearest-neighbour image would be smoothed by a viewer scaling an embedded bitmap: the
    vector stills draw the heatmaps' cells as rectangles, so there is no image at all."""
    svg = still(tmp_path, ".svg", "backward:5", "cnn").read_text(encoding="utf-8")
    assert "<image" not in svg and svg.count("<rect") > 60
    assert b"/Subtype /Image" not in still(tmp_path, ".pdf", "backward:5", "cnn").read_bytes()


def test_the_comparison_can_fail(tmp_path, capsys):
    """A different frame is far outside the tolerance the test above allows."""
    mean, off = difference(rasterised(still(tmp_path, ".pdf", "intro")), rgb(still(tmp_path, ".png", "end")))
    assert mean > 3.0 or off > 0.02


def test_pdf_text_is_real_text_in_the_embedded_font(tmp_path, capsys):
    pdf = still(tmp_path, ".pdf")
    data = pdf.read_bytes()
    assert b"/SMask" not in data                     # no text rasterised into soft masks
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "A single linear neuron" in text and "Gradients ready" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(re.search("bprendersans", row[0]) for row in rows)
    assert all(row[-5] == "yes" for row in rows), fonts   # "emb" column: embedded


def test_raster_text_keeps_its_tone(tmp_path):
    """The tone filter stays on raster canvases (what the golden images and Chromium parity need)."""
    import skia
    from bprender.canvas import Canvas2D
    surface = skia.Surface.MakeRaster(skia.ImageInfo.MakeN32Premul(8, 8))
    assert Canvas2D(surface.getCanvas())._text_paints is not None
    stream = skia.DynamicMemoryWStream()
    doc = skia.PDF.MakeDocument(stream)
    assert Canvas2D(doc.beginPage(8, 8))._text_paints is None
    doc.endPage()
    doc.close()


def test_svg_looks_like_the_png_in_chromium(tmp_path, capsys, chromium_page):
    """The SVG (text as outlines) drawn by Chromium, against the skia PNG."""
    import base64
    import io
    svg, png = still(tmp_path, ".svg"), still(tmp_path, ".png")
    page = chromium_page
    page.set_viewport_size({"width": 1280, "height": 720})
    data = base64.b64encode(svg.read_bytes()).decode()
    page.set_content(f'<html><body style="margin:0"><img id="s" src="data:image/svg+xml;base64,{data}" '
                     'width="1280" height="720" style="display:block"></body></html>')
    page.wait_for_function("document.getElementById('s').complete")
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot(clip={"x": 0, "y": 0, "width": 1280, "height": 720})))
                      .convert("RGB")).astype(int)
    mean, off = difference(shot, rgb(png))
    assert mean < 3.0 and off < 0.02, (mean, off)
