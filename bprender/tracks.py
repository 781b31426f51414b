"""Keyframed tracks: a track is a list of [time, value] pairs; between two keyframes the value
follows a smoothstep, before the first and after the last it holds, and two keyframes at one
time make a jump. Everything in a Scene that changes with time is a track: opacities, growth,
a particle's progress along its edge, which string of a list shows (count_track). Both backends evaluate
tracks with exactly this arithmetic (web_player/ mirrors it), so a frame is a pure function
of time."""
from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter

_TIME = itemgetter(0)  # a keyframe's time


Track = list  # [[t, value], ...], times non-decreasing


def ramp(t0: float, t1: float, v0: float = 0.0, v1: float = 1.0) -> Track:
    return [[round(t0, 6), v0], [round(t1, 6), v1]]


def count_track(times: list[float]) -> Track:
    """How many of `times` (sorted) are at or before t: a staircase that jumps by one at each
    time (two keyframes at one time are a jump). Picks a string by index, or counts points."""
    track: Track = []
    for k, t in enumerate(times):
        track += [[round(t, 6), float(k)], [round(t, 6), float(k + 1)]]
    return track


def shown_between(t0: float, t1: float, fade: float) -> Track:
    """0 before t0, fading in to 1 over `fade` seconds, 1 until t1, 0 from t1 on."""
    t0, t1 = round(t0, 6), round(t1, 6)
    return [[t0, 0.0], [round(min(t0 + fade, t1), 6), 1.0], [t1, 1.0], [t1, 0.0]]


def pulse(t0: float, t1: float) -> list[list[float]]:
    mid = (t0 + t1) / 2
    return [[round(t0, 6), 0.0], [round(mid, 6), 1.0], [round(t1, 6), 0.0]]


def smoothstep(u: float) -> float:
    return u * u * (3.0 - 2.0 * u)


def value_at(track: Track | None, t: float, default: float = 0.0) -> float:
    """The track's value at t. At a time with two keyframes (a jump) the later one holds."""
    if not track:
        return default
    if t < track[0][0]:
        return track[0][1]
    if t >= track[-1][0]:
        return track[-1][1]
    i = bisect_right(track, t, key=_TIME)
    (ta, va), (tb, vb) = track[i - 1], track[i]
    if tb <= ta:
        return vb
    return va + (vb - va) * smoothstep((t - ta) / (tb - ta))


def active(track: Track, t: float) -> bool:
    """Whether t lies within the track's keyframes (a particle exists only while it moves)."""
    return track[0][0] <= t <= track[-1][0]
