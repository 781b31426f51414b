"""Every equality a caption writes holds (issue 12): for every built-in preset, in its own view and
in the ops view, with lecture and with PyTorch's names, every caption candidate a step may show
is read as chains "a = b · c = d", and wherever two neighbouring sides are plain arithmetic they
must agree within the precision they are printed with (interval arithmetic: each printed number
stands for every number that rounds to it). The numbers come from the trace, so a chain holds only
if its factors really are the ones PyTorch multiplied: "δ = ∂L/∂a · σ'(z) = a(1 − a)" fails.

The closing caption's gradients are re-derived from the trace's leaves, fan-out lines from the
trace's fan-out sums, and no caption prints a tensor's size where its value goes ("= 4, norm")."""
from __future__ import annotations

import math
import re

import pytest

from bprender.fmt import num, to_float
from bprender.notation import Notation
from bprender.pipeline import open_preset, open_source, scene_for, trace_of
from bprender.preset import list_builtin_presets
from bprender.views import make_view
from bprender.views.budget import NODE_BUDGET, ops_node_count
from bprender.views.ops import _foldable

PRESETS = [name for name, *_ in list_builtin_presets()]


# --- interval arithmetic over the captions' notation ---------------------------------------

class Interval:
    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = min(lo, hi), max(lo, hi)

    def __add__(self, o):
        return Interval(self.lo + o.lo, self.hi + o.hi)

    def __sub__(self, o):
        return Interval(self.lo - o.hi, self.hi - o.lo)

    def __mul__(self, o):
        c = [self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi]
        return Interval(min(c), max(c))

    def __truediv__(self, o):
        if o.lo <= 0 <= o.hi:
            return Interval(-math.inf, math.inf)
        return self * Interval(1 / o.hi, 1 / o.lo)

    def __neg__(self):
        return Interval(-self.hi, -self.lo)

    def overlaps(self, o) -> bool:
        return self.lo <= o.hi and o.lo <= self.hi


NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:e[−-]?[0-9]+)?")
POWERS = {"²": 2, "³": 3}


def literal(text: str) -> Interval:
    """Every number that prints as `text`. Numbers are printed with 4 significant digits and
    trailing zeros dropped (−0.3 is −0.3000), some with 3 (norms): a number showing 3 or more
    significant digits stands for half a unit of its last digit around it, one showing fewer for
    half a unit of the 4th."""
    x = float(text.replace("−", "-"))
    if x == 0:
        return Interval(-1e-12, 1e-12)
    mantissa = text.split("e")[0]
    exponent = int(text.split("e")[1].replace("−", "-")) if "e" in text else 0
    fourth = 0.5 * 10 ** (math.floor(math.log10(abs(x))) - 3)
    digits = len(mantissa.replace(".", "").lstrip("0"))
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    half = 0.5 * 10 ** (exponent - decimals) if digits >= 3 else fourth
    return Interval(x - max(half, fourth), x + max(half, fourth))


class Parser:
    """expr := term (("+" | "−") term)*; term := unary (("·" | "×" | "/") unary)*;
    unary := "−" unary | power; power := atom ("²" | "³")?; atom := number | "(" expr ")" | "[" expr ">" expr "]"."""

    def __init__(self, text: str):
        self.tokens = re.findall(r"[0-9]+(?:\.[0-9]+)?(?:e[−-]?[0-9]+)?|[−+·×/()²³\[\]>]|\S", text)
        self.k = 0

    def peek(self):
        return self.tokens[self.k] if self.k < len(self.tokens) else None

    def take(self, token=None):
        t = self.peek()
        if t is None or (token is not None and t != token):
            raise ValueError(text_of(self.tokens))
        self.k += 1
        return t

    def parse(self) -> Interval:
        value = self.expr()
        if self.peek() is not None:
            raise ValueError(text_of(self.tokens))
        return value

    def expr(self):
        value = self.term()
        while self.peek() in ("+", "−"):
            op = self.take()
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self):
        value = self.unary()
        while self.peek() in ("·", "×", "/"):
            op = self.take()
            rhs = self.unary()
            value = value / rhs if op == "/" else value * rhs
        return value

    def unary(self):
        if self.peek() == "−":
            self.take()
            return -self.unary()
        return self.power()

    def power(self):
        value = self.atom()
        if self.peek() in POWERS:
            n = POWERS[self.take()]
            lo, hi = value.lo ** n, value.hi ** n
            value = Interval(0 if value.lo < 0 < value.hi else min(lo, hi), max(lo, hi))
        return value

    def atom(self):
        t = self.peek()
        if t == "(":
            self.take()
            value = self.expr()
            self.take(")")
            return value
        if t == "[":   # Iverson bracket: [z > 0]
            self.take()
            a = self.expr()
            self.take(">")
            b = self.expr()
            self.take("]")
            if a.lo > b.hi:
                return Interval(1, 1)
            if a.hi <= b.lo:
                return Interval(0, 0)
            return Interval(0, 1)
        if t is not None and NUMBER.fullmatch(t):
            self.take()
            return literal(t)
        raise ValueError(text_of(self.tokens))


def text_of(tokens) -> str:
    return " ".join(tokens)


def arithmetic(text: str) -> Interval | None:
    """The value of a side that is plain arithmetic, else None."""
    text = text.strip()
    if not text or "…" in text or not re.search(r"[0-9]", text):
        return None
    try:
        return Parser(text).parse()
    except ValueError:
        return None


LEFT_CUT = re.compile(r".*(?:;|:\s|e\.g\.\s|\s{3}|,\s)")       # a side's last clause starts after these
RIGHT_CUT = re.compile(r";|\s{3}|,\s|\s\((?=[^\d−(])|\s//")     # and its first clause ends at these


def equalities(text: str) -> list[tuple[str, str]]:
    """(left, right) arithmetic texts of every "left = right" a caption line writes."""
    out = []
    for line in text.split("\n"):
        sides = line.split(" = ")
        for left, right in zip(sides, sides[1:]):
            left = LEFT_CUT.sub("", left)
            right = RIGHT_CUT.split(right, maxsplit=1)[0]
            out.append((left, right))
    return out


def check_line(line: str) -> int:
    """Assert every arithmetic equality of a caption line; how many there were."""
    checked = 0
    for left, right in equalities(line):
        a, b = arithmetic(left), arithmetic(right)
        if a is None or b is None:
            continue
        assert a.overlaps(b), f"{left} = {right} does not hold ({a.lo:.6g}…{a.hi:.6g} vs {b.lo:.6g}…{b.hi:.6g}) in: {line}"
        checked += 1
    return checked


def test_the_reader_catches_what_it_should():
    assert check_line("∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6") == 1
    assert check_line("e.g. δ²₁ = −1.287 · 0.3565·(1 − 0.3565) = −0.2952") == 1
    assert check_line("∂L/∂z = ∂L/∂(z·z) · [z·z > 0] = 1 · [100 > 0] = 1") == 1
    assert check_line("e.g. [0,1]: −0.5899 · (1 − 0.3961²) = −0.4974;  norm 1.2 → 0.5") == 1
    assert check_line("∂L/∂f = ∂L/∂(1/f) · −1/f² = 10 · −4.16e−4 = −0.004165") == 1
    for wrong in ("layer 2: δ = ∂L/∂z = ∂L/∂a · σ'(z) = a(1 − a)   e.g. δ₁ = −1.287 · 0.2294 = −0.3",
                  "‖0.572‖ + ‖0.812‖ = 1.01".replace("‖", ""), "e.g. δ₁ = −1.287 · 0.3565·(1 − 0.3565) = 0.2952"):
        with pytest.raises(AssertionError):
            check_line(wrong)
    assert check_line("∂L/∂b¹ (4 values), ‖·‖ = 1.1e−7") == 0   # a norm stated, no arithmetic to check


# --- every preset, every caption candidate ------------------------------------------------

@pytest.fixture(scope="module")
def traces():
    return {name: trace_of(open_preset(name)) for name in PRESETS}


def candidates(graph) -> list[str]:
    out = []
    for step in graph.steps:
        for slot in step.lines:
            out += [slot] if isinstance(slot, str) else list(slot)
    return out + list(graph.notes)


def views_of(name: str, trace: dict) -> list[str]:
    own = open_preset(name).data["view"]
    kinds = [own]
    if own != "ops" and ops_node_count(trace, _foldable(trace)) <= NODE_BUDGET:
        kinds.append("ops")
    return kinds


@pytest.mark.parametrize("style", ["lecture", "torch"])
@pytest.mark.parametrize("name", PRESETS)
def test_every_caption_equality_holds(traces, name, style):
    trace = traces[name]
    checked = 0
    for kind in views_of(name, trace):
        graph = make_view(trace, kind, names=Notation(trace, style))
        for text in candidates(graph):
            checked += check_line(text)
            assert not re.search(r"= [0-9]+, norm", text), f"a size printed as a value: {text}"
    assert checked >= 1, name


SHOWN = re.compile(r"∂L/∂(\S+?)(?: \((?P<size>[^)]*)\), ‖·‖ = (?P<norm>[0-9.e−]+)| = (?P<value>[^,\[]+?)(?:,|$| and))")


@pytest.mark.parametrize("name", PRESETS)
def test_the_closing_caption_gives_the_trace_gradients(traces, name):
    """"Gradients ready: ∂L/∂W¹ (4×4), ‖·‖ = 4.4e−7, …": each name is a parameter's lecture
    name, its norm or value is that parameter's gradient in the trace, its size is its shape."""
    trace = traces[name]
    if trace.get("train"):
        pytest.skip("a training preset closes with the loss curve's summary")
    scene = scene_for([open_source(name)])
    names = Notation(trace)
    by_name = {names.param(leaf["name"]): leaf for leaf in trace["leaves"]}
    text = " ".join(" ".join(item["lines"]) for item in scene["captions"]["items"]
                    if "Gradients ready" in item["lines"][0] or item["lines"][0].startswith("  "))
    text = re.sub(r"\s+", " ", text)
    found = 0
    for m in SHOWN.finditer(text):
        leaf = by_name.get(m.group(1))
        if leaf is None:
            continue
        grad = leaf["grad"]
        if m.group("norm"):
            assert m.group("norm") == num(grad["stats"]["norm"], 3), m.group(0)   # the leaf's own norm, printed
            shape = grad["shape"]
            assert m.group("size") == (f"{shape[0]} values" if len(shape) == 1 else "×".join(map(str, shape))), m.group(0)
        elif m.group("value") and len(grad.get("values") or []) == 1:
            value = arithmetic(m.group("value"))
            assert value is not None and value.overlaps(Interval(*([to_float(grad["values"][0])] * 2))), m.group(0)
        found += 1
    assert found >= 1, text


def test_fan_out_lines_say_the_tensors_add(traces):
    """shared_layer's weight feeds two matmuls: the caption sums the tensors element by element,
    and where it names the edges' norms it says they do not add (the sum's norm is the trace's)."""
    trace = traces["shared_layer"]
    graph = make_view(trace, "ops", names=Notation(trace))
    lines = [t for t in candidates(graph) if "used 2 times" in t]
    assert lines and all("tensors add, element by element" in t for t in lines)
    norms = [t for t in lines if "do not add" in t]
    assert norms
    sums = {round(to_float(f["sum"]["stats"]["norm"]), 2) for f in trace["fanout"] if f.get("sum")}
    for t in norms:
        parts = [float(x.replace("−", "-")) for x in re.findall(r"the edges' norms ([0-9.e−]+), ([0-9.e−]+)", t)[0]]
        total = float(re.search(r"the sum's norm is ([0-9.e−]+)", t).group(1).replace("−", "-"))
        assert round(total, 2) in sums
        assert sum(parts) > total * 1.05   # the reason to say it: adding the norms would be wrong
