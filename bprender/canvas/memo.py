"""A bounded memo for the CSS string parsers (colours, fonts): the painter sets the same few
strings every frame, so each is parsed once. `.cache` is the dict itself, for the canvas's
fast paths that look a string up without a call."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def memo_parser(limit: int) -> Callable[[Callable[[str], T]], Callable[[object], T | None]]:
    """Wrap parse(text) so non-strings give None and results are kept for up to `limit`
    strings (then the memo starts over: real painters use far fewer)."""
    def wrap(parse: Callable[[str], T]) -> Callable[[object], T | None]:
        cache: dict[str, T | None] = {}

        def lookup(text: object) -> T | None:
            if not isinstance(text, str):
                return None
            try:
                return cache[text]
            except KeyError:
                pass
            value = parse(text)
            if len(cache) >= limit:
                cache.clear()
            cache[text] = value
            return value

        lookup.cache = cache  # type: ignore[attr-defined]
        lookup.__doc__ = parse.__doc__
        lookup.__name__ = parse.__name__
        return lookup
    return wrap
