"""A view without some of its groups (`--hide inputs`, a preset's `hide:`): their nodes, the
edges that touch them and the backward steps left with nothing to show are taken out before the
layout, so the rest is laid out again to fill the frame instead of leaving holes. (A saved
scene is already laid out: there `--hide` is view state, and the hidden groups leave holes.)"""
from __future__ import annotations

from typing import Callable

from ..errors import BprenderError
from .graph import Step, ViewGraph, ViewNode


def without_groups(graph: ViewGraph, hidden, group_of: Callable[[ViewNode], str]) -> ViewGraph:
    groups = list(dict.fromkeys(group_of(n) for n in graph.nodes))
    for name in hidden:
        if name not in groups:
            raise BprenderError(f"--hide: no group called '{name}' (groups: {', '.join(groups)})")
    hidden = set(hidden)
    nodes = [n for n in graph.nodes if group_of(n) not in hidden]
    if not nodes:
        raise BprenderError(f"--hide: that hides every node (groups: {', '.join(groups)}); leave one group shown")
    kept = {n.id for n in nodes}
    edges = [e for e in graph.edges if e.src in kept and e.dst in kept]
    edge_ids = {e.id for e in edges}
    steps = []
    for step in graph.steps:
        shown = [i for i in step.nodes if i in kept]
        if shown:
            steps.append(Step(nodes=shown, edges=[e for e in step.edges if e in edge_ids], lines=step.lines,
                              label=step.label, ops=step.ops))
    forward = None if graph.forward is None else [w for w in ([i for i in wave if i in kept] for wave in graph.forward) if w]
    return ViewGraph(kind=graph.kind, nodes=nodes, edges=edges, steps=steps, forward=forward, shape=graph.shape,
                     edge_labels=graph.edge_labels, notes=list(graph.notes))
