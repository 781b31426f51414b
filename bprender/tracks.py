"""Keyframed tracks: a track is a list of [time, value] pairs; between two keyframes the value
follows a smoothstep, before the first and after the last it holds. Both backends evaluate
tracks with exactly this arithmetic (web_player/ mirrors it), so a frame is a pure function
of time."""
from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter

_TIME = itemgetter(0)  # a keyframe's time


def ramp(t0: float, t1: float, v0: float = 0.0, v1: float = 1.0) -> list[list[float]]:
    return [[round(t0, 6), v0], [round(t1, 6), v1]]


def pulse(t0: float, t1: float) -> list[list[float]]:
    mid = (t0 + t1) / 2
    return [[round(t0, 6), 0.0], [round(mid, 6), 1.0], [round(t1, 6), 0.0]]


def smoothstep(u: float) -> float:
    return u * u * (3.0 - 2.0 * u)


def value_at(track: list[list[float]] | None, t: float, default: float = 0.0) -> float:
    if not track:
        return default
    if t <= track[0][0]:
        return track[0][1]
    if t >= track[-1][0]:
        return track[-1][1]
    i = bisect_right(track, t, key=_TIME)
    (ta, va), (tb, vb) = track[i - 1], track[i]
    if tb <= ta:
        return vb
    return va + (vb - va) * smoothstep((t - ta) / (tb - ta))


def progress(t0: float, t1: float, t: float) -> float:
    """Eased 0..1 progress through [t0, t1] (particles)."""
    if t1 <= t0:
        return 1.0
    u = min(1.0, max(0.0, (t - t0) / (t1 - t0)))
    return smoothstep(u)
