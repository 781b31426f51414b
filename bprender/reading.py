"""How long a caption takes to read: the rule the timeline paces every caption by.

A lecture audience reads a caption while listening, slower than silent reading: we count
READING_WORDS_PER_SECOND words a second (150 a minute, a common figure for reading aloud), plus
a BEAT for every equality or arrow in it (each "=" in "∂L/∂w = ∂L/∂y · x = −2 · 3 = −6" is one
more thing to check), and never less than MIN_CAPTION seconds (a caption that flashes by is not
read, however short). A word is a whitespace-separated token with a letter or a digit in it: the
"−", "·" and "+" between terms are part of the formula's beats, not words.

The pace (`--pace`, a preset's `pace:`) scales the whole timeline, reading times included: slow
assumes a slower room, fast a quicker one (PACES).
"""
from __future__ import annotations

READING_WORDS_PER_SECOND = 2.5
BEAT = 0.4            # seconds for each equality or arrow in a caption
MIN_CAPTION = 1.5     # seconds: the least time any caption is on screen
BEAT_SIGNS = ("=", "≈", "←", "→")
PACES = {"slow": 1.5, "normal": 1.0, "fast": 0.7}  # timeline scale for each --pace


def words(text: str) -> int:
    return sum(1 for token in text.split() if any(ch.isalnum() for ch in token))


def beats(text: str) -> int:
    return sum(text.count(sign) for sign in BEAT_SIGNS)


def text_time(lines) -> float:
    """Seconds to read these lines at the lecture speed, before the minimum. A line may be a
    slot of alternatives (most detailed first, fitted to the band later): the slowest counts."""
    return sum(max(_line_time(alt) for alt in ([line] if isinstance(line, str) else line) or [""])
               for line in lines)


def _line_time(text: str) -> float:
    return words(text) / READING_WORDS_PER_SECOND + BEAT * beats(text)


def reading_time(lines, scale: float = 1.0) -> float:
    """Seconds a caption of these lines must stay on screen (at a pace of `scale`)."""
    return scale * max(MIN_CAPTION, text_time(lines))


def pace_scale(pace: str | None) -> float:
    return PACES[pace or "normal"]
