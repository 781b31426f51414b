"""Canvas 2D for Python: the subset of the HTML Canvas 2D API that bprender's painter uses
(docs/formats.md), drawn with skia (Canvas2D, RasterSurface) or logged (RecordingCanvas2D)."""
from .colors import parse_color, serialize_color
from .css_font import FontSpec, parse_font
from .fonts import FontBook, FontMetrics
from .path2d import Path2D
from .recording import RecordingCanvas2D, ops_diff, ops_equal
from .skia_canvas import Canvas2D, TextMetrics, default_fontbook
from .surface import RasterSurface

__all__ = ["Canvas2D", "FontBook", "FontMetrics", "FontSpec", "Path2D", "RasterSurface",
           "RecordingCanvas2D", "TextMetrics", "default_fontbook", "ops_diff", "ops_equal",
           "parse_color", "parse_font", "serialize_color"]
