"""Text measured and fitted with the scene's real fonts. Views and the chain-rule captions give
what they would like to say, most detailed first (a caption line may have alternatives, and an
alternative may be several lines); here the first alternative that fits the real width is
taken, and a line that still does not fit wraps at its spaces (a caption with more lines than
its band holds is shown as pages). Only a single word wider than the whole width is cut, with
an ellipsis."""
from __future__ import annotations

from typing import Union

ELLIPSIS = "\u2026"

CLAUSE_END = "; "       # a caption's clauses: "δ¹ = ∂L/∂a¹ · σ'(z¹);   e.g. δ¹₂ = ..."
CLAUSE_GAP = "   "      # the wide gap a caption puts between two parts of one line
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

    def wrap(self, text: str, font: str, max_w: float) -> list[str]:
        """text broken into lines that fit max_w at spaces, after a comma where one is near the
        end of the line (a list keeps its items whole), and after a clause (";", or the wide gap
        before "e.g.") where that keeps the next clause whole on one line and takes no more lines
        ("σ'(z¹);" / "e.g. δ¹₂ = 0.05 · 0.43 = 0.012", not "... =" / "0.012"); a word wider than
        the whole width is cut."""
        if self.measure(text, font) <= max_w:
            return [text]
        plain = self._wrap(text, font, max_w, clauses=False)
        if CLAUSE_END not in text and CLAUSE_GAP not in text:
            return plain
        by_clause = self._wrap(text, font, max_w, clauses=True)
        return by_clause if len(by_clause) <= len(plain) else plain

    def _wrap(self, text: str, font: str, max_w: float, clauses: bool) -> list[str]:
        out: list[str] = []
        line = ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if not line or self.measure(candidate, font) <= max_w:
                line = candidate
                continue
            cut = _clause_cut(line) if clauses else -1
            comma = line.rfind(", ")
            if cut < 0 and comma >= 0.6 * len(line):
                cut = comma + 1
            if cut > 0:  # end the line after the comma or the clause, carry the rest
                out.append(line[:cut].rstrip(" "))
                rest = line[cut:].strip(" ")
                line = "  " + (f"{rest} {word}" if rest else word)
                if self.measure(line, font) > max_w:
                    out.append(line[:-len(word) - 1])
                    line = "  " + word
            else:
                out.append(line)
                line = "  " + word  # continuation lines are indented a little
        out.append(line)
        return [self.fit(part, font, max_w) for part in out]

    def pages(self, slots: list, font: str, max_w: float, max_lines: int, max_pages: int = 4) -> list[list[str]]:
        """Caption pages of at most max_lines lines: each slot takes its first alternative that
        fits and has the room, long lines wrap, and what does not fit one page goes on the next
        (at most max_pages: a longer text keeps its first pages and says how much is left)."""
        groups: list[list[str]] = []  # each slot's lines: kept on one page where they fit one
        for chosen in self._chosen(slots, font, max_w, max_lines):
            group: list[str] = []
            for part in chosen:
                group += self.wrap(part, font, max_w)
            groups.append(group)
        pages: list[list[str]] = [[]]
        for group in groups:
            if pages[-1] and len(pages[-1]) + len(group) > max_lines:
                pages.append([])
            per_page = -(-len(group) // -(-len(group) // max_lines))  # a long group spread evenly: no orphan line
            for line in group:
                if len(pages[-1]) >= per_page and len(pages[-1]) > 0 and len(group) > max_lines:
                    pages.append([])
                elif len(pages[-1]) == max_lines:
                    pages.append([])
                pages[-1].append(line)
        if len(pages) > max_pages:
            rest = sum(len(p) for p in pages[max_pages:]) + 1
            pages = pages[:max_pages]
            pages[-1] = pages[-1][:max_lines - 1] + [f"(and {rest} more lines)"]
        return pages

    def _chosen(self, slots: list, font: str, max_w: float, max_lines: int) -> list[list[str]]:
        """Each slot's chosen alternative, as its lines: the first that fits max_w and has the
        room (lines left over when every slot has one line are shared out in order)."""
        spare = max(0, max_lines - len(slots))
        out = []
        for slot in slots:
            options = [slot] if isinstance(slot, str) else [a for a in slot if a]
            if not options:
                continue
            roomy = [a for a in options if a.count("\n") <= spare] or options[-1:]
            chosen = next((a for a in roomy if all(self.measure(part, font) <= max_w for part in a.split("\n"))),
                          roomy[-1])
            spare -= chosen.count("\n")
            out.append(chosen.split("\n"))
        return out


def _clause_cut(line: str) -> int:
    """Where to end a line after its last clause (after "; " or before a wide gap), counted from
    the line's start; -1 when it has none past its first third (too short a line would be left)."""
    end = line.rfind(CLAUSE_END)
    cut = max(end + 1 if end >= 0 else -1, line.rfind(CLAUSE_GAP))
    return cut if cut >= len(line) / 3 else -1
