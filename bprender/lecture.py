"""Lecture mode: the named steps of a scene, and parts of the animation picked by name.

Every phase (intro, forward, loss, backward, end, ...) and every backward step (backward:0 ..
backward:N-1) is an event of the scene (scene["events"]). A step runs from its event's start to
where it ends: a phase to its phase's end (scene["phases"]), any other event to the start of the
next later event, or the end of the animation.

A part (``--only``) is one step by name (``backward``, ``backward:3``) or an inclusive range of
steps (``forward..loss``, ``backward:2..backward:5``): from the first's start to the last's end.
A frame is a pure function of (scene, t), so a part is only another time range to render.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import BprenderError

EVENT_SETTLE = 0.5  # seconds after an event's start that a still of that event shows
RANGE = ".."


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def steps(scene: dict) -> list[Step]:
    """The scene's named steps in order (the order of scene["events"])."""
    events = scene["events"]
    duration = scene["duration"]
    phase_end = {p["name"]: p["t1"] for p in scene.get("phases", [])}
    out = []
    for event in events:
        t = event["t"]
        if event["name"] in phase_end:
            end = phase_end[event["name"]]
        else:
            end = min([e["t"] for e in events if e["t"] > t + 1e-9] + [duration])
        out.append(Step(event["name"], event["label"], t, max(t, min(end, duration))))
    return out


def step_lines(scene: dict) -> list[str]:
    """One line per step: name, time range, label (what --steps prints)."""
    items = steps(scene)
    width = max((len(s.name) for s in items), default=0)
    digits = len(f"{scene['duration']:.2f}")
    return [f"{s.name:<{width}}  {s.start:>{digits}.2f} - {s.end:>{digits}.2f} s  {s.label}" for s in items]


def _names(items: list[Step]) -> str:
    """The step names in order, each numbered family (backward:N, step:N) as one
    'first .. last' entry where its first member stands."""
    families: dict[str, list[str]] = {}
    for s in items:
        family, sep, _ = s.name.partition(":")
        if sep:
            families.setdefault(family, []).append(s.name)
    shown = []
    for s in items:
        family, sep, _ = s.name.partition(":")
        members = families.get(family) if sep else None
        if members is None:
            shown.append(s.name)
        elif s.name == members[0]:
            shown.append(members[0] if len(members) == 1 else f"{members[0]} .. {members[-1]}")
    return ", ".join(shown)


def find_step(scene: dict, name: str, option: str = "--only") -> Step:
    items = steps(scene)
    for s in items:
        if s.name == name:
            return s
    raise BprenderError(f"{option}: no step called '{name}' (steps: {_names(items)}; "
                        f"`--steps` lists them with their times)")


def part_span(scene: dict, spec: str, option: str = "--only") -> tuple[float, float]:
    """The (start, end) seconds of a step or an inclusive range of steps 'A..B'."""
    spec = spec.strip()
    if RANGE in spec:
        first_name, _, last_name = (part.strip() for part in spec.partition(RANGE))
        if not first_name or not last_name:
            raise BprenderError(f"{option}: '{spec}' is not a range; write FIRST..LAST, e.g. forward..loss")
        first, last = find_step(scene, first_name, option), find_step(scene, last_name, option)
        t0, t1 = first.start, last.end
        if t1 <= t0:
            raise BprenderError(f"{option}: the range '{spec}' is empty: {last.name} ends at {t1:.2f} s, "
                                f"before {first.name} starts at {t0:.2f} s (write the earlier step first)")
        return t0, t1
    if not spec:
        raise BprenderError(f"{option}: give a step name such as backward or backward:3, or a range such as "
                            f"forward..loss")
    step = find_step(scene, spec, option)
    if step.duration <= 0:
        raise BprenderError(f"{option}: the step '{step.name}' is empty (it lasts 0 s)")
    return step.start, step.end


def part_frame_count(t0: float, t1: float, fps: float) -> int:
    """A part's length x fps, rounded (at least one frame)."""
    return max(1, round((t1 - t0) * fps))


def settle_time(scene: dict, name: str) -> float:
    """The time a still of an event shows: a moment into the event, so its caption and labels
    have faded in, but well before the next event (a short training step is still itself, not
    the next one, whose strings replace it at its first instant); for the closing phase, the
    last frame (what the animation ends on: the camera's overview, the closing caption's last
    page)."""
    times = {e["name"]: e["t"] for e in scene["events"]}
    t = times[name]
    if name == "end":
        return scene["duration"]
    later = min([u for u in times.values() if u > t] + [scene["duration"]])
    return min(t + EVENT_SETTLE, t + 0.75 * (later - t))


def _spread(items: list[Step], count: int) -> list[Step]:
    """At most `count` of the items, evenly spread, the first and the last included."""
    if count <= 0:
        return []
    if len(items) <= count:
        return items
    if count == 1:
        return [items[0]]
    picks = sorted({round(i * (len(items) - 1) / (count - 1)) for i in range(count)})
    return [items[i] for i in picks]


TRAINING_STEPS = 3  # later training steps on a sheet: the first, one midway, the last


def key_steps(scene: dict, backward: int = 5, training: int = TRAINING_STEPS) -> list[Step]:
    """The steps a contact sheet shows: every phase, at most `backward` backward steps and at
    most `training` later training steps (each evenly spread, the first and the last included:
    24 steps of one small model look alike). A phase that starts with the same frame as its
    first step (backward and backward:0, train and step:2) is shown once, as the step."""
    items = steps(scene)
    chosen = _spread([s for s in items if s.name.startswith("backward:")], backward) + \
        _spread([s for s in items if s.name.startswith("step:")], training)
    keep = {s.name for s in chosen}
    starts = {s.start for s in chosen}
    out = []
    for s in items:
        if s.name.startswith(("backward:", "step:")):
            if s.name in keep:
                out.append(s)
        elif not (s.name in ("backward", "train") and s.start in starts):
            out.append(s)
    return out
