"""A caption line's chain-rule formula split into its terms, so the band can tint each term like
the thing on the graph it names and show the terms in the order the gradient computes them.

The chain-rule captions write equalities as chains "∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6"
(bprender/chain_rule/; tests/test_caption_equalities.py reads the same chains). In a chain a
side that is a product "A · B" (a spaced middle dot, outside brackets) is the upstream gradient
A times the local derivative B; every other side names or gives the result (the gradient this
step computes); a sum of terms ("1 − 4", a fan-in) is left untinted. A chain must start with a
result side (a product first, as in the worked "2 · (z − t)/2" of a loss, is not the chain rule),
and no side may be prose ("… to norm", "Σ over the 8 samples of …"): anything else stays plain
text. So a term is only ever tinted where the caption really says "result = upstream · local".
"""
from __future__ import annotations

import re

UPSTREAM, LOCAL, RESULT, OPERATOR, TEXT = "upstream", "local", "result", "operator", "text"
STAGE = {UPSTREAM: 0, TEXT: 0, LOCAL: 1, RESULT: 2}  # the order terms appear in during a step

EQUALS, TIMES = " = ", " · "
# where one chain ends and the next text starts, outside brackets: "; ", a run of spaces, ": ",
# ", ", "e.g. ", " where ", a parenthetical aside " (no activation", " (2 values", " (1×3"
BOUNDARY = re.compile(r";\s*|\s{2,}|: |, |e\.g\. | where | \((?=[a-z]+ |\d+ values|\d+×)")
PROSE = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,}|\b(?:to|of|the|and)\b")
OPEN, CLOSE = "([{‖", ")]}‖"


def _depths(text: str) -> list[int]:
    """The bracket depth before each character ("‖…‖" counts as a bracket pair)."""
    out, depth, in_norm = [], 0, False
    for ch in text:
        out.append(depth)
        if ch == "‖":
            in_norm = not in_norm
            depth += 1 if in_norm else -1
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return out


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch in "([{") - (ch in ")]}")
        if depth < 0:
            return False
    return depth == 0 and text.count("‖") % 2 == 0


def _split_top(text: str, sep: str) -> list[str]:
    """text split at `sep` where it stands outside brackets."""
    depths = _depths(text)
    parts, start, i = [], 0, 0
    while True:
        i = text.find(sep, i)
        if i < 0:
            return parts + [text[start:]]
        if depths[i] == 0:
            parts.append(text[start:i])
            start = i + len(sep)
        i += len(sep)


def _segments(line: str) -> list[tuple[str, bool]]:
    """The line as (text, is_boundary) pieces, the boundaries found outside brackets."""
    depths = _depths(line)
    out, start = [], 0
    for m in BOUNDARY.finditer(line):
        if depths[m.start()] != 0 or m.start() < start:
            continue
        out += [(line[start:m.start()], False), (m.group(), True)]
        start = m.end()
    return out + [(line[start:], False)]


def _is_sum(side: str) -> bool:
    return len(_split_top(side, " + ")) > 1 or len(_split_top(side, " − ")) > 1


def _chain(segment: str) -> list[tuple[str, str]] | None:
    """A segment's terms as (text, kind), or None when it is not a chain-rule chain."""
    core = segment
    lead = trail = ""
    if core.startswith("(") and core.endswith(")"):  # "(∂L/∂b = Σ δ)": the brackets stay plain
        lead, core, trail = "(", core[1:-1], ")"
    if not _balanced(core):  # the rest of an aside ("‖·‖ = 1.25)" of "(2 values, ‖·‖ = 1.25)")
        return None
    sides = _split_top(core, EQUALS)
    if len(sides) < 2 or any(not s.strip() or PROSE.search(s) for s in sides):
        return None
    kinds = []
    for side in sides:
        factors = _split_top(side, TIMES)
        if len(factors) == 2 and not any(_is_sum(f) for f in factors):
            kinds.append("product")
        elif len(factors) > 1:
            return None
        else:
            kinds.append("sum" if _is_sum(side) else RESULT)
    if kinds[0] != RESULT:
        return None
    terms = [(lead, TEXT)] if lead else []
    for k, (side, kind) in enumerate(zip(sides, kinds)):
        if k:
            terms.append((EQUALS, OPERATOR))
        if kind == "product":
            up, local = _split_top(side, TIMES)
            terms += [(up, UPSTREAM), (TIMES, OPERATOR), (local, LOCAL)]
        else:
            terms.append((side, RESULT if kind == RESULT else TEXT))
    return terms + ([(trail, TEXT)] if trail else [])


def terms(line: str) -> list[tuple[str, str]]:
    """The line as (text, kind) pieces that concatenate to exactly the line: kind is upstream,
    local, result, operator (an "=" or "·" between terms) or text (plain, not part of a chain).
    A line without a chain is one text piece."""
    out: list[tuple[str, str]] = []
    for text, boundary in _segments(line):
        chain = None if boundary or not text else _chain(text)
        out += chain if chain else [(text, TEXT)]
    merged: list[tuple[str, str]] = []
    for text, kind in out:  # neighbouring plain pieces are one span
        if not text:
            continue
        if merged and kind == TEXT and merged[-1][1] == TEXT:
            merged[-1] = (merged[-1][0] + text, TEXT)
        else:
            merged.append((text, kind))
    return merged


def stages(pieces: list[tuple[str, str]]) -> list[int]:
    """When each piece appears, as a stage 0 (with the step), 1 (the local derivative) or 2 (the
    result): an operator appears with the later of the terms beside it, so "· x" comes in one go."""
    out = [STAGE.get(kind, 0) for _, kind in pieces]
    for i, (_, kind) in enumerate(pieces):
        if kind == OPERATOR:
            before = out[i - 1] if i > 0 else 0
            after = STAGE.get(pieces[i + 1][1], 0) if i + 1 < len(pieces) else 0
            out[i] = max(before, after)
    return out


def is_formula(pieces: list[tuple[str, str]]) -> bool:
    return any(kind != TEXT for _, kind in pieces)
