"""When a scene stands still: the times at which a frame would be the same picture as the one
before, so the raster loop can hand the encoder the previous pixels instead of drawing again.

A frame is a pure function of (scene, t, view), and everything in a Scene that changes with
time is a track: a list of [time, value] keyframes (bprender/tracks.py), held under a "track",
"shown" or "tracks" key (scene/types.py; a "track" or "tracks" mapping holds several, as the
camera's x, y and zoom). So the picture can change only where some track moves: between two
keyframes of different value, at a jump, and at a track's first and last keyframe (a particle
exists only while its track runs). The tracks are found by those keys wherever they sit
(nested panels, new parts of the scene), not by their shape: an edge's sampled route is also a
list of number pairs, and read as keyframes it would mark its x coordinates as moments of change.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

EDGE = 1e-9  # a moment just after a track's last keyframe still counts as a change


TRACK_KEYS = ("track", "shown", "tracks")


def _tracks(node):
    """Every track anywhere in the JSON-like value: the lists (or the values of the mappings)
    under TRACK_KEYS."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TRACK_KEYS and isinstance(value, list):
                if value:
                    yield value
            elif key in TRACK_KEYS and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, list) and v)
            else:
                yield from _tracks(value)
    elif isinstance(node, list):
        for value in node:
            yield from _tracks(value)


def moving_spans(scene: dict) -> list[tuple[float, float]]:
    """Sorted, merged [t0, t1] spans of time in which some track may change the picture."""
    spans = []
    for track in _tracks(scene):
        first, last = track[0][0], track[-1][0]
        spans += [(first, first + EDGE), (last, last + EDGE)]
        for (ta, va), (tb, vb) in zip(track, track[1:]):
            if va != vb:
                spans.append((ta, tb + EDGE) if tb <= ta else (ta, tb))
    spans.sort()
    merged: list[list[float]] = []
    for t0, t1 in spans:
        if merged and t0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], t1)
        else:
            merged.append([t0, t1])
    return [(a, b) for a, b in merged]


class Stillness:
    """same(t1, t2): whether the frame at t2 is the frame at t1 (t1 <= t2), for one scene."""

    def __init__(self, scene: dict):
        spans = moving_spans(scene)
        self._starts = [a for a, _ in spans]
        self._ends = [b for _, b in spans]

    def same(self, t1: float, t2: float) -> bool:
        """No moving span meets (t1, t2]: a span [a, b] changes the picture there when a <= t2
        and b > t1 (conservative at the ends)."""
        if t2 < t1:
            t1, t2 = t2, t1
        i = bisect_left(self._ends, t1)   # the first span not ended by t1 (ends are sorted too:
        while i < len(self._ends) and self._ends[i] <= t1:   # spans are disjoint after merging)
            i += 1
        return i == len(self._starts) or self._starts[i] > t2

    def stretch(self, t: float) -> int | None:
        """Which still stretch t lies in (the frames of one stretch are one picture), numbered
        from 0 in time order; None while some track moves at t. A moving span [a, b] ends at b:
        the frame at b is the frame after it (same(b, b + dt)), the frame at a is not."""
        k = bisect_right(self._ends, t)  # the spans ended by t
        if k < len(self._starts) and self._starts[k] <= t:
            return None
        return k
