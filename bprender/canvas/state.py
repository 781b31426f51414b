"""Canvas 2D drawing-state properties with the spec's defaults, validation and save/restore.

Shared by the skia canvas and the recording canvas so both accept and ignore exactly the same
values: an assignment the spec says to ignore (a lineWidth <= 0 or NaN, a globalAlpha outside
[0, 1], an unparsable colour or font, an unknown enum value) leaves the property unchanged.
"""
from __future__ import annotations

import math
from operator import attrgetter

from .colors import parse_color, serialize_color
from .css_font import parse_font

PROPERTIES = ("fillStyle", "strokeStyle", "lineWidth", "lineCap", "lineJoin", "miterLimit",
              "globalAlpha", "font", "textAlign", "textBaseline", "lineDashOffset", "imageSmoothingEnabled")
ENUMS = {
    "lineCap": ("butt", "round", "square"),
    "lineJoin": ("miter", "round", "bevel"),
    "textAlign": ("start", "end", "left", "right", "center"),
    "textBaseline": ("top", "hanging", "middle", "alphabetic", "ideographic", "bottom"),
}
DEFAULT_FONT = "10px sans-serif"


_styles: dict[str, tuple] = {}


def _style(value):
    """(r, g, b, a floats 0..1, serialisation) for a CSS colour, or None; cached."""
    hit = _styles.get(value) if isinstance(value, str) else None
    if hit is None:
        rgba = parse_color(value)
        if rgba is None:
            return None
        hit = ((rgba[0] / 255.0, rgba[1] / 255.0, rgba[2] / 255.0, rgba[3]), serialize_color(rgba))
        if len(_styles) > 4096:
            _styles.clear()
        _styles[value] = hit
    return hit


def _number(value) -> float | None:
    """A finite float, or None (the spec ignores non-finite values for these properties)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _enum(name: str):
    attr = "_" + name
    allowed = ENUMS[name]

    def get(self):
        return getattr(self, attr)

    def set_(self, value):
        if value in allowed:
            object.__setattr__(self, attr, value)
        self._changed(name)
    return property(get, set_, doc=f"{name}: one of {allowed}; other values are ignored")


class DrawingState:
    """Properties, line dash and the state stack (subclasses add transform and clip)."""

    _SAVED = ("_fill", "_fillStyle", "_stroke", "_strokeStyle", "_lineWidth", "_lineCap",
              "_lineJoin", "_miterLimit", "_globalAlpha", "_font", "_font_spec", "_textAlign",
              "_textBaseline", "_dash", "_lineDashOffset", "_imageSmoothingEnabled")
    _get_saved = attrgetter(*_SAVED)

    def _init_state(self) -> None:
        s = object.__setattr__
        s(self, "_fill", (0.0, 0.0, 0.0, 1.0))
        s(self, "_fillStyle", "#000000")
        s(self, "_stroke", (0.0, 0.0, 0.0, 1.0))
        s(self, "_strokeStyle", "#000000")
        s(self, "_lineWidth", 1.0)
        s(self, "_lineCap", "butt")
        s(self, "_lineJoin", "miter")
        s(self, "_miterLimit", 10.0)
        s(self, "_globalAlpha", 1.0)
        s(self, "_font", DEFAULT_FONT)
        s(self, "_font_spec", parse_font(DEFAULT_FONT))
        s(self, "_textAlign", "start")
        s(self, "_textBaseline", "alphabetic")
        s(self, "_dash", ())
        s(self, "_lineDashOffset", 0.0)
        s(self, "_imageSmoothingEnabled", True)
        s(self, "_stack", [])

    def _changed(self, name: str) -> None:
        """Hook: a property was assigned (whether or not the value was accepted)."""

    # -- state stack -----------------------------------------------------------------------
    def _push_state(self) -> None:
        self._stack.append(self._get_saved(self))

    def _pop_state(self) -> bool:
        if not self._stack:
            return False  # restore() with an empty stack does nothing
        for name, value in zip(self._SAVED, self._stack.pop()):
            object.__setattr__(self, name, value)
        return True

    # -- colours ---------------------------------------------------------------------------
    @property
    def fillStyle(self) -> str:
        return self._fillStyle

    @fillStyle.setter
    def fillStyle(self, value) -> None:
        style = _style(value)
        if style is not None:
            object.__setattr__(self, "_fill", style[0])
            object.__setattr__(self, "_fillStyle", style[1])
        self._changed("fillStyle")

    @property
    def strokeStyle(self) -> str:
        return self._strokeStyle

    @strokeStyle.setter
    def strokeStyle(self, value) -> None:
        style = _style(value)
        if style is not None:
            object.__setattr__(self, "_stroke", style[0])
            object.__setattr__(self, "_strokeStyle", style[1])
        self._changed("strokeStyle")

    # -- numbers ---------------------------------------------------------------------------
    @property
    def lineWidth(self) -> float:
        return self._lineWidth

    @lineWidth.setter
    def lineWidth(self, value) -> None:
        v = _number(value)
        if v is not None and v > 0:
            object.__setattr__(self, "_lineWidth", v)
        self._changed("lineWidth")

    @property
    def miterLimit(self) -> float:
        return self._miterLimit

    @miterLimit.setter
    def miterLimit(self, value) -> None:
        v = _number(value)
        if v is not None and v > 0:
            object.__setattr__(self, "_miterLimit", v)
        self._changed("miterLimit")

    @property
    def globalAlpha(self) -> float:
        return self._globalAlpha

    @globalAlpha.setter
    def globalAlpha(self, value) -> None:
        v = _number(value)
        if v is not None and 0.0 <= v <= 1.0:
            object.__setattr__(self, "_globalAlpha", v)
        self._changed("globalAlpha")

    @property
    def lineDashOffset(self) -> float:
        return self._lineDashOffset

    @lineDashOffset.setter
    def lineDashOffset(self, value) -> None:
        v = _number(value)
        if v is not None:
            object.__setattr__(self, "_lineDashOffset", v)
        self._changed("lineDashOffset")

    @property
    def imageSmoothingEnabled(self) -> bool:
        return self._imageSmoothingEnabled

    @imageSmoothingEnabled.setter
    def imageSmoothingEnabled(self, value) -> None:
        object.__setattr__(self, "_imageSmoothingEnabled", bool(value))  # the spec converts to a boolean
        self._changed("imageSmoothingEnabled")

    # -- font and enums --------------------------------------------------------------------
    @property
    def font(self) -> str:
        return self._font

    @font.setter
    def font(self, value) -> None:
        spec = parse_font(value)
        if spec is not None:
            object.__setattr__(self, "_font_spec", spec)
            object.__setattr__(self, "_font", spec.css)
        self._changed("font")

    lineCap = _enum("lineCap")
    lineJoin = _enum("lineJoin")
    textAlign = _enum("textAlign")
    textBaseline = _enum("textBaseline")

    # -- line dash -------------------------------------------------------------------------
    def _accept_dash(self, segments) -> bool:
        try:
            vals = [_number(v) for v in segments]
        except TypeError:
            return False
        if any(v is None or v < 0 for v in vals):
            return False  # the spec ignores the call
        if len(vals) % 2:
            vals = vals + vals
        object.__setattr__(self, "_dash", tuple(vals))
        return True

    def getLineDash(self) -> list[float]:
        return list(self._dash)
