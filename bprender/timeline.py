"""When things happen. Turns the forward order and the engine's backward firing order into
times, from the preset's pacing and the reading time of each caption (reading.py), scaled by
the pace; scene/build.py turns these times into keyframed tracks.

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
    sent_length: dict[str, float] = field(default_factory=dict)  # edge id -> how long that step lasts
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


def make_timing(graph: ViewGraph, pacing: dict, train_steps: int = 0, reading: dict | None = None,
                scale: float = 1.0, end_at: float | None = None) -> Timing:
    """train_steps: 0 for one traced pass; N >= 1 adds the update phase after the backward pass
    and N - 1 quick training steps (phase "train") before the end.

    reading: how long each caption takes to read (reading.py, scene/captions.reading_needs), in
    seconds by phase (intro, forward, loss, update, train, end) and "steps", one per backward
    step: every phase and every backward step lasts at least that. The later training steps
    share one caption's wording (only their numbers change), so the train phase as a whole lasts
    at least its reading time. scale: the pace (reading.PACES), applied to every length, the
    pacing's and the reading times alike. end_at: the end phase holds at least until then (a
    side-by-side panel lasts as long as the longest, its closing caption shown to the end)."""
    reading = reading or {}
    pacing = {name: value * scale for name, value in pacing.items()}
    step_needs = [need * scale for need in reading.get("steps", [])]

    def needs(name: str) -> float:
        return reading.get(name, 0.0) * scale

    timing = Timing(forward_step=pacing["forward_step"], backward_step=pacing["backward_step"])
    t = 0.0

    def phase(name: str, length: float, label: str | None = None) -> None:
        nonlocal t
        timing.phases.append({"name": name, "label": label or PHASE_LABELS[name], "t0": r6(t),
                              "t1": r6(t + length)})
        t += length

    phase("intro", max(pacing["intro"], needs("intro")))
    start = t
    waves = graph.forward or forward_order(graph)
    for k, wave in enumerate(waves):
        for node_id in wave:
            timing.forward[node_id] = r6(start + k * timing.forward_step)
    t = start
    played = len(waves) * timing.forward_step
    phase("forward", played + max(pacing["pause"], needs("forward") - played))
    phase("loss", max(pacing["loss"], needs("loss")))
    at = t
    repeat_step = pacing.get("repeat_step", 0.6 * scale)
    for k, step in enumerate(graph.steps):
        # a step lasts its animation, or as long as its chain-rule caption takes to read; a
        # repeat of a rule already read in full (views/repeats.py) goes quicker
        if step.repeat_of is not None:
            length = repeat_step
        else:
            length = max(timing.backward_step, step_needs[k] if k < len(step_needs) else 0.0)
        timing.steps.append(r6(at))
        for node_id in step.nodes:
            timing.fired.setdefault(node_id, r6(at))
        for edge_id in step.edges:
            if edge_id not in timing.sent:
                timing.sent[edge_id] = r6(at)
                timing.sent_length[edge_id] = min(length, timing.backward_step)
        at += length
    phase("backward", at - t + pacing["pause"])
    def hold() -> float:
        return max(pacing["hold"], needs("end"), (end_at or 0.0) - t)

    if train_steps:
        timing.train_starts.append(0.0)   # step 1 is everything up to here
        phase("update", max(pacing.get("update", 3.0 * scale), needs("update")))
        if train_steps > 1:
            step = max(pacing.get("train_step", 0.4 * scale), needs("train") / (train_steps - 1))
            start = t
            timing.train_starts += [r6(start + k * step) for k in range(train_steps - 1)]
            phase("train", (train_steps - 1) * step)
        phase("end", hold(), TRAINED_LABEL)
    else:
        phase("end", hold())
    timing.duration = r6(t)
    return timing
