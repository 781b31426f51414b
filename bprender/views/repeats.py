"""Repeated backward steps told briefly, so a big graph's video stays a sensible length.

A deep stack runs the same few rules layer after layer: in a 24-layer tanh MLP every layer's
backward pass is "∂L/∂z = ∂L/∂a · (1 − tanh²(z))", then the Linear's three gradients, then its
two leaves, 24 times over. In a backward pass of more than MANY_STEPS steps, once a kind of step
(the same op, sending gradient along as many edges) has been shown in full FULL_REPEATS times,
a later step of that kind is a repeat: its caption shrinks to one line of the step's results
("‖∂L/∂b¹²‖ = 3.8e−4;  ‖∂L/∂a¹¹‖ = 2.4e−4;  ‖∂L/∂W¹²‖ = 3.3e−4   (as in step 3)") and the
timeline gives it the pacing's `repeat_step` seconds instead of its full reading time: the
audience has read that rule three times; only its numbers change, and those are what they are
watching now (the gradient shrinking, or not).
"""
from __future__ import annotations

import re
from dataclasses import replace

from .graph import Step, ViewGraph

FULL_REPEATS = 3   # times a wording is shown in full before its repeats go quickly
MANY_STEPS = 40    # a backward pass this long or shorter is told in full (every gallery preset)
BRIEF_RESULTS = 3  # results named in a repeat's one line; more are counted ("+ 2 more")

# a number (ASCII digits, as the captions write them), or an index written in super/subscripts
_NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?")
_INDEX = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉]+")
_SIGNED = re.compile(r"[+−] #")
ASIDE = "   ("  # where a caption line's parenthetical aside starts (chain_rule/steps.py)


def masked(text: str) -> str:
    """text with its numbers and layer indices masked: "z⁷ = W⁷(·) + b⁷" is "z⁶ = W⁶(·) + b⁶"."""
    text = _INDEX.sub("#", _NUMBER.sub("#", text)).replace("(#)", "#")  # "· (−0.35)" is "· 0.2"
    return _SIGNED.sub("± #", text)   # a sum's signs are its numbers': "2 − 3" is "2 + 3"


def kind_of(step: Step, graph: ViewGraph) -> tuple:
    """What makes two steps the same kind: the same ops (a Linear of layer 7 and of layer 6, an
    AccumulateGrad into any leaf) sending gradient along as many edges, so that their captions
    say the same rule about different layers."""
    nodes = [graph.node(i) for i in step.nodes]
    return tuple((n.kind, masked(n.op or n.label)) for n in nodes), len(step.lines)


def shortest(slot) -> str:
    return slot if isinstance(slot, str) else slot[-1]


def result_of(line: str) -> str | None:
    """"‖∂L/∂W⁵‖ = 6.5e−4" from "∂L/∂W⁵ = ∂L/∂z⁵ · (the other factor);  norm 6.5e−4", and
    "∂L/∂w = −6" from "∂L/∂w = ∂L/∂y · x = −2 · 3 = −6": what the line computes, and its last
    number (before any aside); None when the line has no "name = ..." head or no number."""
    body = line.split(ASIDE, 1)[0]
    if " = " not in body:
        return None
    name = body.split(" = ", 1)[0].strip()
    numbers = _NUMBER.findall(body.split(" = ", 1)[1])
    if not name or not numbers or len(name) > 24:
        return None
    value = numbers[-1].replace("-", "−")
    rhs = body.split(" = ", 1)[1]
    if "norm" in rhs or "‖" in rhs:   # a tensor's step says its norm
        return f"‖{name}‖ = {value}"
    return f"{name} = {value}"


def brief_lines(step: Step, first: int) -> list[str]:
    """One line of the step's results, pointing at the step that said the rule in full."""
    results = [result_of(shortest(slot)) for slot in step.lines]
    where = f"   (as in step {first + 1})"
    if not results or any(r is None for r in results):
        return [shortest(step.lines[0]) + where] if step.lines else [where.strip()]
    more = len(results) - BRIEF_RESULTS
    shown = ";  ".join(results[:BRIEF_RESULTS]) + (f";  + {more} more" if more > 0 else "")
    return [shown + where]


def brief_repeats(graph: ViewGraph) -> ViewGraph:
    """The graph with each repeat step's caption made brief and the step marked (`repeat_of`:
    the index of the first step of that kind)."""
    if len(graph.steps) <= MANY_STEPS:
        return graph
    seen: dict[str, list[int]] = {}
    steps = []
    for k, step in enumerate(graph.steps):
        said = seen.setdefault(kind_of(step, graph), [])
        if len(said) >= FULL_REPEATS and step.lines:
            steps.append(replace(step, lines=brief_lines(step, said[0]), repeat_of=said[0]))
        else:
            steps.append(step)
        said.append(k)
    return replace(graph, steps=steps)
