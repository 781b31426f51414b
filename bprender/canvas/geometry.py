"""Spec geometry shared by the canvases: arc angles (as Chromium canonicalises them) and
roundRect radii (the HTML spec's normalisation)."""
from __future__ import annotations

import math

TWO_PI = 2.0 * math.pi


def arc_sweep(start: float, end: float, ccw: bool) -> tuple[float, float]:
    """(start, sweep) in radians for arc(): start in [0, 2pi), sweep within [-2pi, 2pi]
    (Blink's CanonicalizeAngle + AdjustEndAngle)."""
    new_start = math.fmod(start, TWO_PI)
    if new_start < 0:
        new_start += TWO_PI
        if new_start >= TWO_PI:
            new_start -= TWO_PI
    end += new_start - start
    start = new_start
    if not ccw and end - start >= TWO_PI:
        end = start + TWO_PI
    elif ccw and start - end >= TWO_PI:
        end = start - TWO_PI
    elif not ccw and start > end:
        end = start + (TWO_PI - math.fmod(start - end, TWO_PI))
    elif ccw and start < end:
        end = start - (TWO_PI - math.fmod(end - start, TWO_PI))
    return start, end - start


def round_rect_radii(w: float, h: float, radii) -> tuple[float, float, float, float] | None:
    """Corner radii (upper-left, upper-right, lower-right, lower-left) of the rectangle's
    physical corners, scaled down when they overlap. None when a radius is not finite (the spec
    then does nothing); ValueError (the spec's RangeError) for a bad count or a negative radius."""
    if isinstance(radii, (int, float)):
        radii = [radii]
    radii = [float(r) for r in radii]
    if not 1 <= len(radii) <= 4:
        raise ValueError(f"roundRect: 1 to 4 radii expected, got {len(radii)}")
    if not all(math.isfinite(r) for r in radii):
        return None
    if any(r < 0 for r in radii):
        raise ValueError("roundRect: radii must not be negative")
    if len(radii) == 4:
        ul, ur, lr, ll = radii
    elif len(radii) == 3:
        ul, ur, lr = radii
        ll = ur
    elif len(radii) == 2:
        ul, ur = radii
        lr, ll = ul, ur
    else:
        ul = ur = lr = ll = radii[0]
    aw, ah = abs(w), abs(h)
    scale = 1.0
    for side, total in ((aw, ul + ur), (ah, ur + lr), (aw, lr + ll), (ah, ul + ll)):
        if total > 0:
            scale = min(scale, side / total)
    if scale < 1.0:
        ul, ur, lr, ll = ul * scale, ur * scale, lr * scale, ll * scale
    return ul, ur, lr, ll
