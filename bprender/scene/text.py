"""Text measured and fitted with the scene's real fonts. Views and the chain-rule captions give
what they would like to say, most detailed first (a caption line may have alternatives, and an
alternative may be several lines); here the first alternative that fits the real width is
taken, and a line that still does not fit is shortened with an ellipsis."""
from __future__ import annotations

from typing import Union

ELLIPSIS = "\u2026"

Slot = Union[str, list]  # one caption line, or its alternatives ("\n" inside one: several lines)


class TextFitter:
    def __init__(self, fonts):
        self.fonts = fonts  # a FontBook: measure(text, css_font) -> px

    def measure(self, text: str, font: str) -> float:
        return self.fonts.measure(text, font)

    def fit(self, text: str, font: str, max_w: float) -> str:
        """text, or its longest prefix that fits with an ellipsis (binary search: a long name
        costs a few measurements, not one per character)."""
        if not text or self.measure(text, font) <= max_w:
            return text
        lo, hi = 0, len(text)  # the prefix of length lo fits (with the ellipsis); hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.measure(text[:mid].rstrip() + ELLIPSIS, font) <= max_w:
                lo = mid
            else:
                hi = mid
        return text[:lo].rstrip() + ELLIPSIS

    def lines(self, slots: list, font: str, max_w: float, max_lines: int) -> list[str]:
        """Caption lines from slots: each slot takes its first alternative that fits and has
        the room (lines left over when every slot has one line are shared out in order)."""
        spare = max(0, max_lines - len(slots))
        out: list[str] = []
        for slot in slots:
            options = [slot] if isinstance(slot, str) else [a for a in slot if a]
            if not options:
                continue
            roomy = [a for a in options if a.count("\n") <= spare] or options[-1:]
            chosen = next((a for a in roomy if all(self.measure(part, font) <= max_w for part in a.split("\n"))),
                          roomy[-1])
            spare -= chosen.count("\n")
            out += chosen.split("\n")
        return [self.fit(line, font, max_w) for line in out[:max_lines]]
