"""The contact sheet: the key frames of an animation in a grid, each with its step's label
under it, as one PNG (skia raster) or PDF page (skia's PDF backend: vector, fonts embedded).

The key frames are lecture.key_steps: every phase and a few backward steps, each shown a moment
after its start (lecture.settle_time, as ``bprender frame --at EVENT`` shows it). Each frame is
drawn with the painter at the scene's own size; build the scene at the size a cell should have
(text keeps a readable minimum size, so a small scene stays legible on paper).
"""
from __future__ import annotations

from dataclasses import dataclass

from .canvas import Canvas2D
from .encode import write_still
from .errors import BprenderError
from .lecture import Step, key_steps, settle_time
from .paint import paint_frame, palette_of
from .scene.style import FAMILY
from .scene.text import TextFitter

MARGIN = 24      # around the grid
GAP = 18         # between cells, across and down
LABEL_GAP = 6    # frame to its label
LABEL_H = 18     # the label line
LABEL_FONT = f"600 13px {FAMILY}"
NOTE_FONT = f"12px {FAMILY}"


@dataclass(frozen=True)
class Cell:
    step: Step
    t: float
    x: float
    y: float


@dataclass(frozen=True)
class SheetLayout:
    width: int
    height: int
    frame_w: int
    frame_h: int
    cells: list


def sheet_layout(scene: dict, cols: int = 3, backward: int = 5) -> SheetLayout:
    """Where each key frame goes: `cols` frames a row, left to right, top to bottom."""
    if not isinstance(cols, int) or cols < 1:
        raise BprenderError(f"--cols must be a whole number of at least 1, got {cols!r}")
    chosen = key_steps(scene, backward)
    fw, fh = scene["width"], scene["height"]
    cols = min(cols, len(chosen))
    rows = -(-len(chosen) // cols)
    cell_h = fh + LABEL_GAP + LABEL_H
    cells = [Cell(step, settle_time(scene, step.name),
                  MARGIN + (i % cols) * (fw + GAP), MARGIN + (i // cols) * (cell_h + GAP))
             for i, step in enumerate(chosen)]
    width = 2 * MARGIN + cols * fw + (cols - 1) * GAP
    height = 2 * MARGIN + rows * cell_h + (rows - 1) * GAP
    return SheetLayout(width, height, fw, fh, cells)


class _CanvasMeasure:
    """The canvas as the measurer TextFitter takes (measure(text, font) -> px)."""

    def __init__(self, ctx):
        self.ctx = ctx

    def measure(self, text: str, font: str) -> float:
        self.ctx.font = font
        return self.ctx.measureText(text).width


def paint_sheet(ctx, scene: dict, layout: SheetLayout, view: dict | None = None) -> None:
    """Draw the sheet through the Canvas 2D API (ctx: a bprender.canvas.Canvas2D)."""
    colors = palette_of(scene, view)
    ctx.fillStyle = colors["background"]
    ctx.fillRect(0, 0, layout.width, layout.height)
    fw, fh = layout.frame_w, layout.frame_h
    for cell in layout.cells:
        ctx.save()
        ctx.translate(cell.x, cell.y)
        ctx.beginPath()
        ctx.rect(0, 0, fw, fh)
        ctx.clip()
        paint_frame(ctx, scene, cell.t, view)
        ctx.restore()
        ctx.save()
        ctx.globalAlpha = 1.0
        ctx.strokeStyle = colors["edge_idle"]
        ctx.lineWidth = 1
        ctx.strokeRect(cell.x + 0.5, cell.y + 0.5, fw - 1, fh - 1)
        baseline = cell.y + fh + LABEL_GAP + 13
        ctx.textBaseline = "alphabetic"
        ctx.font = NOTE_FONT
        ctx.fillStyle = colors["muted"]
        ctx.textAlign = "right"
        note = f"{cell.step.name} \u00b7 {cell.step.start:.1f} s"
        ctx.fillText(note, cell.x + fw, baseline)
        room = fw - ctx.measureText(note).width - 12
        label = TextFitter(_CanvasMeasure(ctx)).fit(cell.step.label, LABEL_FONT, room)
        ctx.font = LABEL_FONT
        ctx.fillStyle = colors["text"]
        ctx.textAlign = "left"
        ctx.fillText(label, cell.x, baseline)
        ctx.restore()


def render_sheet(scene: dict, path, *, cols: int = 3, backward: int = 5, view: dict | None = None,
                 image_format: str | None = None) -> SheetLayout:
    """Write the contact sheet to path (.png or .pdf; .svg works too; image_format overrides)."""
    from .render import font_book
    layout = sheet_layout(scene, cols, backward)
    fonts = font_book(scene)
    write_still(path, lambda canvas: paint_sheet(Canvas2D(canvas, fonts), scene, layout, view),
                width=layout.width, height=layout.height, background=palette_of(scene, view)["background"],
                image_format=image_format)
    return layout


def sheet_pixels(scene: dict, *, cols: int = 3, backward: int = 5, view: dict | None = None,
                 scale: float = 1.0):
    """The sheet as an (H, W, 4) BGRA array, drawn at `scale` pixels per sheet unit."""
    from .canvas import RasterSurface
    from .render import font_book
    layout = sheet_layout(scene, cols, backward)
    surface = RasterSurface(layout.width, layout.height, scale=scale, fonts=font_book(scene))
    paint_sheet(surface.ctx, scene, layout, view)
    return surface.pixels().copy()
