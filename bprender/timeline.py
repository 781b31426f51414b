"""When things happen. Turns the forward order and the engine's backward firing order into
times, from the preset's pacing; scene.py turns these times into keyframed tracks.

Times are rounded to microseconds so the Scene JSON is byte-stable.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .views.graph import ViewGraph


def r6(t: float) -> float:
    return round(t, 6)


# The phase names are the player's jump targets; the labels are shown in the header.
PHASE_LABELS = {"intro": "The model", "forward": "Forward pass", "loss": "The loss",
                "backward": "Backward pass", "update": "Update: w ← w − lr·∂L/∂w",
                "train": "Training steps", "end": "Gradients ready"}
TRAINED_LABEL = "After training"   # the end phase's label when the preset trains


@dataclass
class Timing:
    forward: dict[str, float] = field(default_factory=dict)  # node id -> start of its forward step
    steps: list[float] = field(default_factory=list)         # start of each backward step (graph.steps)
    fired: dict[str, float] = field(default_factory=dict)    # node id -> when its gradient arrives
    sent: dict[str, float] = field(default_factory=dict)     # edge id -> start of the step sending along it
    phases: list[dict] = field(default_factory=list)  # {"name", "label", "t0", "t1"}
    duration: float = 0.0
    train_starts: list[float] = field(default_factory=list)  # start of each training step (1..N)
    forward_step: float = 0.5
    backward_step: float = 1.2


def forward_order(graph: ViewGraph) -> list[list[str]]:
    """Topological waves: all sources first, then every op once all its inputs are ready,
    one op per step in the order the trace lists them (stable, so the scene is deterministic)."""
    inputs: dict[str, set[str]] = {n.id: set() for n in graph.nodes}
    for e in graph.edges:
        inputs[e.dst].add(e.src)
    sources = [n.id for n in graph.nodes if not inputs[n.id]]
    order, done = [sources], set(sources)
    pending = [n.id for n in graph.nodes if inputs[n.id]]
    # the trace lists ops from the loss backwards; the forward pass runs them in reverse
    pending.reverse()
    while pending:
        ready = next((n for n in pending if inputs[n] <= done), None)
        if ready is None:  # a cycle cannot come from autograd; keep going rather than hang
            ready = pending[0]
        pending.remove(ready)
        done.add(ready)
        order.append([ready])
    return order


def make_timing(graph: ViewGraph, pacing: dict, train_steps: int = 0) -> Timing:
    """train_steps: 0 for one traced pass; N >= 1 adds the update phase after the backward pass
    and N - 1 quick training steps (phase "train") before the end."""
    timing = Timing(forward_step=pacing["forward_step"], backward_step=pacing["backward_step"])
    t = 0.0

    def phase(name: str, length: float, label: str | None = None) -> None:
        nonlocal t
        timing.phases.append({"name": name, "label": label or PHASE_LABELS[name], "t0": r6(t),
                              "t1": r6(t + length)})
        t += length

    phase("intro", pacing["intro"])
    start = t
    waves = graph.forward or forward_order(graph)
    for k, wave in enumerate(waves):
        for node_id in wave:
            timing.forward[node_id] = r6(start + k * timing.forward_step)
    t = start
    phase("forward", len(waves) * timing.forward_step + pacing["pause"])
    phase("loss", pacing["loss"])
    start = t
    for k, step in enumerate(graph.steps):
        at = r6(start + k * timing.backward_step)
        timing.steps.append(at)
        for node_id in step.nodes:
            timing.fired.setdefault(node_id, at)
        for edge_id in step.edges:
            timing.sent.setdefault(edge_id, at)
    t = start
    phase("backward", len(graph.steps) * timing.backward_step + pacing["pause"])
    if train_steps:
        timing.train_starts.append(0.0)   # step 1 is everything up to here
        phase("update", pacing.get("update", 3.0))
        step = pacing.get("train_step", 0.4)
        if train_steps > 1:
            start = t
            timing.train_starts += [r6(start + k * step) for k in range(train_steps - 1)]
            phase("train", (train_steps - 1) * step)
        phase("end", pacing["hold"], TRAINED_LABEL)
    else:
        phase("end", pacing["hold"])
    timing.duration = r6(t)
    return timing
