"""Canvas2D: the HTML Canvas 2D subset (docs/formats.md) drawn with skia-python.

Modelled on CanvasKit's htmlcanvas: spec names and semantics, its own state stack. The current
path is kept in the current user space, as Blink does: when the transform changes while a path
is open, the path is mapped by the inverse of the change, so each segment stays where the
transform at the time it was added put it. fill/stroke/clip then draw under the current
transform (strokes are therefore in user space, as the spec says). While the transform is not
invertible nothing is drawn.
"""
from __future__ import annotations

import math
from operator import attrgetter

import numpy as np
import skia

from .fonts import FontBook, FontMetrics
from .css_font import parse_font
from .geometry import arc_sweep, round_rect_radii
from .state import DrawingState, ENUMS, _styles
from .blit_memo import BlitMemo
from .path2d import Path2D
from .stroke_memo import StrokeMemo
from .text_tone import TextPaints

_isfinite = math.isfinite
_font_memo = parse_font.cache  # the font setter's fast path: a dict lookup, no call
# skia's point index of (x + upper-left radius, y) on a round rect, by which sides are negative
_RRECT_START = {(False, False): 0, (True, False): 1, (False, True): 5, (True, True): 4}
_DEG = 180.0 / math.pi
_WS = str.maketrans({"\t": " ", "\n": " ", "\f": " ", "\r": " ", "\v": " "})
_CAPS = {"butt": skia.Paint.kButt_Cap, "round": skia.Paint.kRound_Cap,
         "square": skia.Paint.kSquare_Cap}
_JOINS = {"miter": skia.Paint.kMiter_Join, "round": skia.Paint.kRound_Join,
          "bevel": skia.Paint.kBevel_Join}
_FILL_RULES = {"nonzero": skia.PathFillType.kWinding, "evenodd": skia.PathFillType.kEvenOdd}
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_INF = math.inf
_ALIGNS = ENUMS["textAlign"]
_BASELINES = ENUMS["textBaseline"]
_Color4f = skia.Color4f
_NEAREST = skia.SamplingOptions(skia.FilterMode.kNearest)
_LINEAR = skia.SamplingOptions(skia.FilterMode.kLinear)

_default_book: FontBook | None = None
_STATE = DrawingState._SAVED  # the drawing state a block starts from and leaves (not the transform)
_get_state = DrawingState._get_saved


def default_fontbook() -> FontBook:
    """A process-wide FontBook with the bundled font only (typefaces load once)."""
    global _default_book
    if _default_book is None:
        _default_book = FontBook()
    return _default_book


def _finite(*values) -> bool:
    for v in values:
        if not _isfinite(v):
            return False
    return True


def _matrix(m) -> skia.Matrix:
    a, b, c, d, e, f = m
    return skia.Matrix.MakeAll(a, c, e, b, d, f, 0.0, 0.0, 1.0)


def _invert(m):
    a, b, c, d, e, f = m
    det = a * d - b * c
    if det == 0 or not _isfinite(det):
        return None
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return (ia, ib, ic, id_, -(ia * e + ic * f), -(ib * e + id_ * f))


def _mul(m, n):
    """m · n (apply n first), both (a, b, c, d, e, f)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + c * B, b * A + d * B, a * C + c * D, b * C + d * D,
            a * E + c * F + e, b * E + d * F + f)


class TextMetrics:
    """measureText's result: width, plus font/em box metrics relative to textBaseline."""
    __slots__ = ("width", "fontBoundingBoxAscent", "fontBoundingBoxDescent",
                 "emHeightAscent", "emHeightDescent", "actualBoundingBoxLeft",
                 "actualBoundingBoxRight")

    def __init__(self, width: float, metrics: FontMetrics | None = None, baseline: str = "alphabetic",
                 dx: float = 0.0):
        self.width = width
        m = metrics or FontMetrics(0.0, 0.0, 0.0, 0.0)
        off = m.baseline_offset(baseline)
        self.fontBoundingBoxAscent = float(round(m.ascent)) - off
        self.fontBoundingBoxDescent = float(round(m.descent)) + off
        self.emHeightAscent = m.em_ascent - off
        self.emHeightDescent = m.em_descent + off
        self.actualBoundingBoxLeft = dx   # from the layout box (not glyph ink)
        self.actualBoundingBoxRight = width - dx

    def __repr__(self) -> str:
        return f"TextMetrics(width={self.width!r})"


def align_offset(text_align: str, width: float) -> float:
    """x shift of the text's left edge for a textAlign (direction ltr)."""
    if text_align == "center":
        return -width / 2.0
    if text_align in ("right", "end"):
        return -width
    return 0.0


class Canvas2D(DrawingState):
    """A Canvas 2D context over a skia.Canvas. The canvas's matrix at construction is the base
    transform (a HiDPI scale, say): setTransform/resetTransform are relative to it.
    ``owner`` is kept referenced: skia's canvas does not keep its surface (or the surface its
    pixel array) alive, so whoever made them passes itself here."""

    _SAVED = DrawingState._SAVED + ("_m",)
    _get_saved = attrgetter(*_SAVED)

    def __init__(self, canvas: skia.Canvas, fonts: FontBook | None = None, *, owner=None,
                 tone_text: bool | None = None, pixels: np.ndarray | None = None):
        """pixels: the (H, W, 4) array the canvas draws into, when there is one (RasterSurface):
        big texts drawn again on the same pixels are then pasted (blit_memo)."""
        self._init_state()
        self._owner = owner
        self._canvas = canvas
        # The text tone (text_tone) is a mask filter: right for pixels, wrong for a vector
        # canvas (PDF, SVG), where skia would turn every text run into a soft-mask image instead
        # of real, selectable text. By default: toned on raster canvases only (a vector canvas
        # has no pixel format).
        # A vector canvas (PDF, SVG) would embed a small image that viewers smooth when they
        # scale it up: nearest-neighbour images are drawn there as their pixels' rectangles
        self._vector = canvas.imageInfo().colorType() == skia.ColorType.kUnknown_ColorType
        if tone_text is None:
            tone_text = not self._vector
        self._text_paints = TextPaints() if tone_text else None
        self.fonts = fonts or default_fontbook()
        self._base = canvas.getTotalMatrix()
        b = self._base
        # the base transform as (a, b, c, d, e, f) when it only scales and moves (else None: no
        # memo), and the memo of big text draws
        self._base_t = None
        if b.getSkewX() == 0 and b.getSkewY() == 0 and b.getPerspX() == 0 and b.getPerspY() == 0:
            self._base_t = (b.getScaleX(), 0.0, 0.0, b.getScaleY(), b.getTranslateX(), b.getTranslateY())
        self._blits = BlitMemo(pixels) if pixels is not None and self._base_t is not None else None
        # strokes drawn as their remembered outlines (raster only: a vector still keeps strokes)
        self._strokes = StrokeMemo() if not self._vector and self._base_t is not None else None
        self._outline_paint = skia.Paint(AntiAlias=True)
        self._clips = 0  # clip() calls so far: a block must not leave a clip behind
        self._base_save_count = canvas.getSaveCount()
        self._m = _IDENTITY
        self._invertible = True
        self._path = skia.Path()
        self._fill_paint = skia.Paint(AntiAlias=True)
        self._stroke_paint = skia.Paint(AntiAlias=True)
        self._stroke_paint.setStyle(skia.Paint.kStroke_Style)
        self._dash_paint = skia.Paint(AntiAlias=True)
        self._dash_paint.setStyle(skia.Paint.kStroke_Style)
        self._clear_paint = skia.Paint(AntiAlias=True)
        self._clear_paint.setBlendMode(skia.BlendMode.kClear)
        self._image_paint = skia.Paint(AntiAlias=False)
        self._dash_key = None  # (segments, offset) the dash paint's effect was made for
        # What each paint holds now (skia setters cost a call each; skip unchanged ones):
        # fill: [rgba tuple, alpha]; strokes: [rgba tuple, alpha, width, cap, join, miter].
        self._fill_set = [None, None]
        self._stroke_set = [None, None, None, None, None, None]
        self._dash_set = [None, None, None, None, None, None]
        self._empty = True  # the current path has no points (countPoints() == 0)
        self._rule = "nonzero"  # the current path's fill type (reset() makes it nonzero)
        self._texts: dict = {}  # (text, id(spec), baseline) -> (spec, blob, width, baseline offset)
        self._rrects: dict = {}  # (x, y, w, h, radius) -> roundRect's (RRect, direction, start)
        self._blocks: dict = {}  # draw_block's key -> (holder, the state and path the block left)

    # -- fast property setters (same acceptance as DrawingState's; the common case without
    #    re-validating, anything unusual goes to DrawingState's setter) ----------------------
    @property
    def globalAlpha(self) -> float:
        return self._globalAlpha

    @globalAlpha.setter
    def globalAlpha(self, value) -> None:
        if value.__class__ is float and 0.0 <= value <= 1.0:
            self._globalAlpha = value
        else:
            DrawingState.globalAlpha.fset(self, value)

    @property
    def lineWidth(self) -> float:
        return self._lineWidth

    @lineWidth.setter
    def lineWidth(self, value) -> None:
        if value.__class__ is float and 0.0 < value < _INF:
            self._lineWidth = value
        else:
            DrawingState.lineWidth.fset(self, value)

    @property
    def fillStyle(self) -> str:
        return self._fillStyle

    @fillStyle.setter
    def fillStyle(self, value) -> None:
        hit = _styles.get(value) if value.__class__ is str else None
        if hit is None:
            DrawingState.fillStyle.fset(self, value)
        else:
            self._fill, self._fillStyle = hit

    @property
    def strokeStyle(self) -> str:
        return self._strokeStyle

    @strokeStyle.setter
    def strokeStyle(self, value) -> None:
        hit = _styles.get(value) if value.__class__ is str else None
        if hit is None:
            DrawingState.strokeStyle.fset(self, value)
        else:
            self._stroke, self._strokeStyle = hit

    @property
    def font(self) -> str:
        return self._font

    @font.setter
    def font(self, value) -> None:
        spec = _font_memo.get(value) if value.__class__ is str else None
        if spec is None:
            DrawingState.font.fset(self, value)
        else:
            self._font_spec = spec
            self._font = spec.css

    @property
    def textAlign(self) -> str:
        return self._textAlign

    @textAlign.setter
    def textAlign(self, value) -> None:
        if value in _ALIGNS:
            self._textAlign = value

    @property
    def textBaseline(self) -> str:
        return self._textBaseline

    @textBaseline.setter
    def textBaseline(self, value) -> None:
        if value in _BASELINES:
            self._textBaseline = value

    @property
    def canvas(self) -> skia.Canvas:
        return self._canvas

    # -- state -----------------------------------------------------------------------------
    def save(self) -> None:
        self._push_state()
        self._canvas.save()

    def restore(self) -> None:
        old = self._m
        if not self._pop_state():
            return
        self._canvas.restore()
        if self._m != old:
            self._matrix_changed(old)

    # -- transform -------------------------------------------------------------------------
    def _matrix_changed(self, old) -> None:
        """Keep the open path where it was drawn, in the new user space."""
        inv = _invert(self._m)
        self._invertible = inv is not None
        if inv is not None and not self._path.isEmpty() and _invert(old) is not None:
            self._path.transform(_matrix(_mul(inv, old)))

    def translate(self, x: float, y: float) -> None:
        if not _finite(x, y):
            return
        old = self._m
        self._m = _mul(old, (1.0, 0.0, 0.0, 1.0, float(x), float(y)))
        self._canvas.translate(x, y)
        if self._invertible and not self._path.isEmpty():
            self._path.offset(-x, -y)

    def scale(self, x: float, y: float) -> None:
        if not _finite(x, y):
            return
        old = self._m
        self._m = _mul(old, (float(x), 0.0, 0.0, float(y), 0.0, 0.0))
        self._canvas.scale(x, y)
        self._matrix_changed(old)

    def rotate(self, angle: float) -> None:
        if not _finite(angle):
            return
        old = self._m
        c, s = math.cos(angle), math.sin(angle)
        self._m = _mul(old, (c, s, -s, c, 0.0, 0.0))
        self._canvas.rotate(angle * _DEG)
        self._matrix_changed(old)

    def transform(self, a: float, b: float, c: float, d: float, e: float, f: float) -> None:
        if not _finite(a, b, c, d, e, f):
            return
        old = self._m
        self._set_matrix(_mul(old, (float(a), float(b), float(c), float(d), float(e), float(f))), old)

    def setTransform(self, a: float, b: float, c: float, d: float, e: float, f: float) -> None:
        if not _finite(a, b, c, d, e, f):
            return
        self._set_matrix((float(a), float(b), float(c), float(d), float(e), float(f)), self._m)

    def resetTransform(self) -> None:
        self._set_matrix(_IDENTITY, self._m)

    def getTransform(self) -> tuple[float, float, float, float, float, float]:
        return self._m

    def _set_matrix(self, m, old) -> None:
        self._m = m
        self._canvas.setMatrix(skia.Matrix.Concat(self._base, _matrix(m)))
        self._matrix_changed(old)

    # -- paths -----------------------------------------------------------------------------
    def beginPath(self) -> None:
        self._path.reset()
        self._empty = True
        self._rule = "nonzero"

    def closePath(self) -> None:
        if not self._empty:
            self._path.close()

    # The path methods run hundreds of times a frame: finiteness is tested with arithmetic,
    # no calls (v - v is 0.0 for a finite number, NaN for an infinite or NaN one, and a sum of
    # those is 0.0 only when all are finite); a non-number raises TypeError as isfinite does.
    def moveTo(self, x: float, y: float) -> None:
        if (x - x) + (y - y) == 0.0:
            self._path.moveTo(x, y)
            self._empty = False

    def lineTo(self, x: float, y: float) -> None:
        if (x - x) + (y - y) != 0.0:
            return
        if self._empty:
            self._path.moveTo(x, y)  # "ensure there is a subpath"
            self._empty = False
        else:
            self._path.lineTo(x, y)

    def quadraticCurveTo(self, cpx: float, cpy: float, x: float, y: float) -> None:
        if not _finite(cpx, cpy, x, y):
            return
        if self._empty:
            self._path.moveTo(cpx, cpy)
            self._empty = False
        self._path.quadTo(cpx, cpy, x, y)

    def bezierCurveTo(self, cp1x: float, cp1y: float, cp2x: float, cp2y: float,
                      x: float, y: float) -> None:
        if (cp1x - cp1x) + (cp1y - cp1y) + (cp2x - cp2x) + (cp2y - cp2y) + (x - x) + (y - y) != 0.0:
            return
        if self._empty:
            self._path.moveTo(cp1x, cp1y)
            self._empty = False
        self._path.cubicTo(cp1x, cp1y, cp2x, cp2y, x, y)

    def arc(self, x: float, y: float, radius: float, startAngle: float, endAngle: float,
            counterclockwise: bool = False) -> None:
        if not _finite(x, y, radius, startAngle, endAngle):
            return
        if radius < 0:
            raise ValueError("arc: negative radius (IndexSizeError)")
        if radius == 0 or startAngle == endAngle:
            self.lineTo(x + radius * math.cos(startAngle), y + radius * math.sin(startAngle))
            return
        start, sweep = arc_sweep(startAngle, endAngle, bool(counterclockwise))
        oval = skia.Rect.MakeLTRB(x - radius, y - radius, x + radius, y + radius)
        start_deg, sweep_deg = start * _DEG, sweep * _DEG
        path = self._path
        self._empty = False
        if abs(abs(sweep_deg) - 360.0) < 1e-4:  # arcTo cannot do a full turn in one go
            half = math.copysign(180.0, sweep_deg)
            path.arcTo(oval, start_deg, half, False)
            path.arcTo(oval, start_deg + half, half, False)
        else:
            path.arcTo(oval, start_deg, sweep_deg, False)

    def rect(self, x: float, y: float, w: float, h: float) -> None:
        if not _finite(x, y, w, h):
            return
        p = self._path
        self._empty = False
        p.moveTo(x, y)
        p.lineTo(x + w, y)
        p.lineTo(x + w, y + h)
        p.lineTo(x, y + h)
        p.close()

    def roundRect(self, x: float, y: float, w: float, h: float, radii=0.0) -> None:
        # The painter draws the same boxes frame after frame: a box with one radius is made
        # into a skia.RRect once (a box that is not valid is never kept, so it is checked again)
        key = (x, y, w, h, radii) if radii.__class__ is float or radii.__class__ is int else None
        hit = self._rrects.get(key) if key is not None else None
        if hit is None:
            hit = self._rrect(x, y, w, h, radii)
            if hit is None:
                return
            if key is not None:
                if len(self._rrects) > 4096:
                    self._rrects.clear()
                self._rrects[key] = hit
        path = self._path
        path.addRRect(*hit)
        path.moveTo(x, y)
        self._empty = False

    @staticmethod
    def _rrect(x: float, y: float, w: float, h: float, radii):
        """(skia.RRect, direction, start point index) of a roundRect, or None when it draws nothing."""
        if not _finite(x, y, w, h):
            return None
        r = round_rect_radii(w, h, radii)
        if r is None:
            return None
        ul, ur, lr, ll = r
        rect = skia.Rect.MakeLTRB(min(x, x + w), min(y, y + h), max(x, x + w), max(y, y + h))
        rrect = skia.RRect()
        rrect.setRectRadii(rect, [skia.Point(ul, ul), skia.Point(ur, ur),
                                  skia.Point(lr, lr), skia.Point(ll, ll)])
        cw = (w >= 0) == (h >= 0)
        # The spec starts the outline at (x + upper-left radius, y): where a dash pattern begins
        start = _RRECT_START[(w < 0, h < 0)]
        return rrect, skia.PathDirection.kCW if cw else skia.PathDirection.kCCW, start

    # fill, stroke and clip take the current path, or a Path2D (the spec's overloads)
    def fill(self, path="nonzero", fillRule: str = "nonzero") -> None:
        """fill(fillRule="nonzero"): the current path; fill(path, fillRule="nonzero"): a Path2D."""
        if path.__class__ is Path2D:
            target = self._built(path)[0]
        else:
            target, fillRule = None, path
        if not self._invertible or fillRule not in _FILL_RULES:
            return
        if target is None:
            target = self._path
            if fillRule != self._rule:
                self._path.setFillType(_FILL_RULES[fillRule])
                self._rule = fillRule
        else:
            target.setFillType(_FILL_RULES[fillRule])
        self._canvas.drawPath(target, self._fill_ready())

    def stroke(self, path: Path2D | None = None) -> None:
        if not self._invertible:
            return
        target, key = (self._path, None) if path is None else self._built(path)
        paint = self._stroke_ready()
        if self._strokes is not None:
            style = (self._lineWidth, self._lineCap, self._lineJoin, self._miterLimit,
                     self._dash_key if paint is self._dash_paint else None)
            outline = self._strokes.outline(target, paint, _mul(self._base_t, self._m), style, key)
            if outline is not None:
                fill = self._outline_paint
                fill.setColor4f(paint.getColor4f())
                self._canvas.drawPath(outline, fill)
                return
        self._canvas.drawPath(target, paint)

    def clip(self, path="nonzero", fillRule: str = "nonzero") -> None:
        if path.__class__ is Path2D:
            source = self._built(path)[0]
        else:
            source, fillRule = self._path, path
        if fillRule not in _FILL_RULES:
            return
        self._clips += 1
        clip = skia.Path(source)
        clip.setFillType(_FILL_RULES[fillRule])
        self._canvas.clipPath(clip, skia.ClipOp.kIntersect, True)

    def _built(self, p: Path2D) -> tuple:
        """(skia.Path, its bytes: the stroke memo's key) of a Path2D: its calls replayed once
        through this canvas's own path methods on a path of their own (a Path2D added to since
        is replayed again). The current path is left as it was."""
        built = p.built
        if built is not None and built[0] == len(p.ops):
            return built[1]
        held = self._path, self._empty, self._rule
        self._path, self._empty, self._rule = skia.Path(), True, "nonzero"
        try:
            for name, *args in p.ops:
                getattr(self, name)(*args)
            made = self._path
        finally:
            self._path, self._empty, self._rule = held
        p.built = (len(p.ops), (made, bytes(made.serialize())))
        return p.built[1]

    # -- blocks (not in the spec: the painter's memo of a whole band of the frame) -----------
    def draw_block(self, key, holder, box, draw, *args) -> None:
        """draw(self, *args), or a paste of the pixels it left before (blit_memo) when it is
        the same draw over the same pixels: ``key`` (hashable) and the ``holder`` object it names
        must stand for everything draw's calls depend on besides the context's state, the device
        transform and the clip, which are keyed here; box = [x0, y0, x1, y1] in user space must
        hold every pixel draw can touch. The context is left as draw left it. Without a pixel
        memo (vector canvases), or under a rotation or skew, draw is simply called."""
        place = self._blit_place(*box)
        if place is None:
            draw(self, *args)
            return
        region, where = place
        memo = self._blits
        full = (key, _get_state(self), where)
        left = self._blocks.get(full)
        if left is not None and (left[0] is holder or left[0] == holder) and memo.paste(full, region):
            for name, value in zip(_STATE, left[1]):
                object.__setattr__(self, name, value)
            self._path = skia.Path(left[2])
            self._empty, self._rule = left[3], left[4]
            return
        before = memo.before(full, region)
        m, depth, clips = self._m, len(self._stack), self._clips
        draw(self, *args)
        if self._m != m or len(self._stack) != depth or self._clips != clips:
            raise RuntimeError("a block must leave the transform, the clip and the state stack as it found them")
        if before is not None:
            memo.after(full, region, before)
            if len(self._blocks) > 4096:
                self._blocks.clear()
            self._blocks[full] = (holder, _get_state(self), skia.Path(self._path), self._empty, self._rule)

    # -- rectangles ------------------------------------------------------------------------
    def fillRect(self, x: float, y: float, w: float, h: float) -> None:
        if not _finite(x, y, w, h) or not self._invertible or w == 0 or h == 0:
            return
        self._canvas.drawRect(skia.Rect.MakeLTRB(min(x, x + w), min(y, y + h),
                                                 max(x, x + w), max(y, y + h)), self._fill_ready())

    def strokeRect(self, x: float, y: float, w: float, h: float) -> None:
        if not _finite(x, y, w, h) or not self._invertible or (w == 0 and h == 0):
            return
        paint = self._stroke_ready()
        if w == 0 or h == 0:
            self._canvas.drawLine(x, y, x + w, y + h, paint)
        else:
            self._canvas.drawRect(skia.Rect.MakeLTRB(min(x, x + w), min(y, y + h),
                                                     max(x, x + w), max(y, y + h)), paint)

    def clearRect(self, x: float, y: float, w: float, h: float) -> None:
        if not _finite(x, y, w, h) or not self._invertible or w == 0 or h == 0:
            return
        self._canvas.drawRect(skia.Rect.MakeLTRB(min(x, x + w), min(y, y + h),
                                                 max(x, x + w), max(y, y + h)), self._clear_paint)

    # -- images ----------------------------------------------------------------------------
    def drawImage(self, image, dx: float, dy: float, dw: float | None = None, dh: float | None = None) -> None:
        """A Bitmap at (dx, dy), scaled to dw x dh; nearest-neighbour when imageSmoothingEnabled is
        false (the spec's "nearest"), else bilinear. Not anti-aliased (Chromium draws an
        axis-aligned image without), faded by globalAlpha."""
        if dw is None:
            dw, dh = image.width, image.height
        if not _finite(dx, dy, dw, dh) or not self._invertible or dw == 0 or dh == 0 or not image.width:
            return
        picture = image.skia_image
        if picture is None:
            pixels = np.frombuffer(image.rgba, dtype=np.uint8).reshape(image.height, image.width, 4)
            picture = skia.Image.fromarray(pixels, colorType=skia.ColorType.kRGBA_8888_ColorType,
                                           alphaType=skia.AlphaType.kUnpremul_AlphaType)
            image.skia_image = picture
        if self._vector and not self._imageSmoothingEnabled:
            self._pixel_rects(image, dx, dy, dw, dh)
            return
        paint = self._image_paint
        paint.setAlphaf(self._globalAlpha)
        sampling = _LINEAR if self._imageSmoothingEnabled else _NEAREST
        self._canvas.drawImageRect(picture, skia.Rect.MakeWH(image.width, image.height),
                                   skia.Rect.MakeLTRB(min(dx, dx + dw), min(dy, dy + dh), max(dx, dx + dw),
                                                      max(dy, dy + dh)), sampling, paint)

    def _pixel_rects(self, image, dx: float, dy: float, dw: float, dh: float) -> None:
        """A nearest-neighbour image as rectangles, a run of equal pixels in a row as one."""
        sx, sy = dw / image.width, dh / image.height
        paint = skia.Paint(AntiAlias=False)
        rgba = image.rgba
        for r in range(image.height):
            c = 0
            while c < image.width:
                at = 4 * (r * image.width + c)
                pixel = rgba[at:at + 4]
                end = c + 1
                while end < image.width and rgba[at + 4 * (end - c):at + 4 * (end - c) + 4] == pixel:
                    end += 1
                if pixel[3]:
                    paint.setColor4f(_Color4f(pixel[0] / 255, pixel[1] / 255, pixel[2] / 255,
                                              pixel[3] / 255 * self._globalAlpha))
                    self._canvas.drawRect(skia.Rect.MakeXYWH(dx + c * sx, dy + r * sy, (end - c) * sx, sy), paint)
                c = end

    # -- line dash -------------------------------------------------------------------------
    def setLineDash(self, segments) -> None:
        if segments.__class__ is list and not segments:
            self._dash = ()
        else:
            self._accept_dash(segments)

    # -- text ------------------------------------------------------------------------------
    def measureText(self, text: str) -> TextMetrics:
        spec = self._font_spec
        lay = self.fonts.layout(str(text).translate(_WS), spec)
        return TextMetrics(lay.width, self.fonts.metrics(spec), self._textBaseline,
                           -align_offset(self._textAlign, lay.width))

    def fillText(self, text: str, x: float, y: float, maxWidth: float | None = None) -> None:
        self._text(text, x, y, maxWidth, True)

    def strokeText(self, text: str, x: float, y: float, maxWidth: float | None = None) -> None:
        self._text(text, x, y, maxWidth, False)

    def _text(self, text, x, y, max_width, fill: bool) -> None:
        if not _finite(x, y) or not self._invertible:
            return
        if max_width is not None and (not _isfinite(max_width) or max_width <= 0):
            return
        spec = self._font_spec
        key = (text, id(spec), self._textBaseline)
        hit = self._texts.get(key) if text.__class__ is str else None
        if hit is None or hit[0] is not spec:
            lay = self.fonts.layout(str(text).translate(_WS), spec)
            bounds = lay.blob.bounds() if lay.blob is not None else None
            hit = (spec, lay.blob, lay.width,
                   self.fonts.metrics(spec).baseline_offset(self._textBaseline),
                   None if bounds is None else (bounds.fLeft, bounds.fTop, bounds.fRight, bounds.fBottom))
            if len(self._texts) > 8192:
                self._texts.clear()
            if text.__class__ is str:
                self._texts[key] = hit
        _, blob, width, base, bounds = hit
        if blob is None:
            return
        squeeze = max_width is not None and max_width < width
        avail = max_width if squeeze else width
        align = self._textAlign
        if align == "center":
            px = x - avail / 2.0
        elif align == "right" or align == "end":
            px = x - avail
        else:
            px = x + 0.0
        py = y + base
        # Linux Chromium's glyph coverage tone (text_tone): a toned copy of the paint, whose
        # mask filter also turns off skia-python's own contrast/gamma pre-blend
        paint = self._fill_ready() if fill else self._stroke_ready()
        if self._text_paints is not None:
            paint = self._text_paints.paint(paint)
        if squeeze:
            c = self._canvas
            c.save()
            c.translate(px, py)
            c.scale(max_width / width, 1.0)
            c.drawTextBlob(blob, 0.0, 0.0, paint)
            c.restore()
        elif fill and self._blits is not None:
            self._memo_text(blob, bounds, px, py, paint)
        else:
            self._canvas.drawTextBlob(blob, px, py, paint)

    def _memo_text(self, blob, bounds, px: float, py: float, paint) -> None:
        """drawTextBlob through the blit memo, when the transform only scales and moves: the key
        is everything the pixels it leaves depend on besides the pixels under it (the blob, its
        colour and alpha, where it lands, the clip)."""
        l, t, r, btm = bounds
        place = self._blit_place(px + l, py + t, px + r, py + btm)
        if place is None:
            self._canvas.drawTextBlob(blob, px, py, paint)
            return
        region, where = place
        key = (blob, self._fill, self._globalAlpha, px, py, where)
        memo = self._blits
        if memo.paste(key, region):
            return
        before = memo.before(key, region)
        self._canvas.drawTextBlob(blob, px, py, paint)
        if before is not None:
            memo.after(key, region, before)

    def _blit_place(self, x0: float, y0: float, x1: float, y1: float):
        """(the blit memo's region around the user-space box, the device transform and clip
        as a key), or None when the memo cannot take it: no memo, a transform that rotates or
        skews, or a region too small to be worth it."""
        memo = self._blits
        if memo is None or not self._invertible:
            return None
        a, b, c, d, e, f = _mul(self._base_t, self._m)
        if b != 0.0 or c != 0.0:
            return None
        dx0, dx1 = a * x0 + e, a * x1 + e
        dy0, dy1 = d * y0 + f, d * y1 + f
        region = memo.region(min(dx0, dx1), min(dy0, dy1), max(dx0, dx1), max(dy0, dy1))
        if region is None:
            return None
        canvas = self._canvas
        clip = canvas.getDeviceClipBounds()
        return region, (a, d, e, f, canvas.isClipRect(), clip.fLeft, clip.fTop, clip.fRight, clip.fBottom)

    # -- paints ----------------------------------------------------------------------------
    def _fill_ready(self) -> skia.Paint:
        p = self._fill_paint
        held = self._fill_set
        rgba, alpha = self._fill, self._globalAlpha
        if held[0] is not rgba or held[1] != alpha:
            r, g, b, a = rgba
            p.setColor4f(_Color4f(r, g, b, a * alpha))
            held[0], held[1] = rgba, alpha
        return p

    def _stroke_ready(self) -> skia.Paint:
        dash = self._dash
        if dash and sum(dash) > 0:
            p = self._dash_paint
            held = self._dash_set
            key = (dash, self._lineDashOffset)
            if key != self._dash_key:
                self._dash_key = key
                p.setPathEffect(skia.DashPathEffect.Make(list(dash), self._lineDashOffset))
        else:
            p = self._stroke_paint
            held = self._stroke_set
        rgba, alpha = self._stroke, self._globalAlpha
        if held[0] is not rgba or held[1] != alpha:
            r, g, b, a = rgba
            p.setColor4f(_Color4f(r, g, b, a * alpha))
            held[0], held[1] = rgba, alpha
        width = self._lineWidth
        if held[2] != width:
            p.setStrokeWidth(width)
            held[2] = width
        if held[3] != self._lineCap:
            p.setStrokeCap(_CAPS[self._lineCap])
            held[3] = self._lineCap
        if held[4] != self._lineJoin:
            p.setStrokeJoin(_JOINS[self._lineJoin])
            held[4] = self._lineJoin
        if held[5] != self._miterLimit:
            p.setStrokeMiter(self._miterLimit)
            held[5] = self._miterLimit
        return p
