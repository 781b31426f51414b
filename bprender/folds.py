"""The folded groups of a modules-view page, made ready for the player to open with a click.

A folded group ("TransformerEncoderLayer × 6", views/blocks.py) opens in the HTML player without
Python and without a request: the page carries, beside its own scene, the scenes of the same
trace with groups expanded (the pipeline `--expand NAME` runs), and the links between them. A
variant is named by the set of groups it opens (beyond the preset's own `expand:`); from the
page's scene the variants are made breadth first, each opening one more group that is folded
in the one before (a group nested in an opened one too), until MAX_VARIANTS scenes or
MAX_VARIANT_BYTES of their JSON. A group whose variant did not fit says in its tooltip which
`--expand NAME` draws it opened.

Each link carries a time map, pairs (t in this scene, t in that one) through which the player
maps the time piecewise linearly, so opening or folding keeps the animation's place: every
phase and training step starts at its own start, and a backward step at the step it becomes
(the group's step runs over its blocks' steps), with the moments presentation mode stops at
(lecture.settle_time) mapped onto each other too. Everything here is decided in Python; the
player only follows the links (DESIGN rule 2).
"""
from __future__ import annotations

import re

from .jsonio import dumps_compact
from .lecture import settle_time

MAX_VARIANTS = 8                 # scenes a page carries besides its own
MAX_VARIANT_BYTES = 6_000_000    # their compact JSON together (a 12-block transformer's is ~1 MB)


def page_folds(trace: dict, preset, scene: dict, target: str = "video",
               max_variants: int = MAX_VARIANTS, max_bytes: int = MAX_VARIANT_BYTES) -> dict | None:
    """The page's "folds" section for a scene built from (trace, preset), or None when it draws
    no group that could open (another view, a composite, no repeats).

    {"variants": [{"key": [...names opened...], "scene": (absent for the page's own scene),
                   "open": {node id: {"label", "name", "to": variant index or None, "tip",
                                      "times": [[t here, t there], ...]}},
                   "close": [{"label", "name", "to", "times"}]}, ...],
     "limits": {"variants": max_variants, "bytes": max_bytes}}"""
    from .pipeline import fonts_for, scene_settings
    from .scene import build_scene
    if "panels" in scene:
        return None
    settings = scene_settings(preset, target)
    if settings.get("view") != "modules":
        return None
    base = list(settings.get("expand") or ())
    shape = _Shape(trace, settings, base)
    first = shape.of(())
    if not first.groups:
        return None
    fonts = None
    keys: list[tuple] = [()]
    shapes = {(): first}
    scenes: dict[tuple, dict] = {(): scene}
    used = 0
    queue, seen, k = [()], {()}, 0
    while k < len(queue):
        key = queue[k]
        k += 1
        for name in shapes[key].groups.values():
            wider = shape.normal(key + (name,))
            if wider in seen:
                continue
            seen.add(wider)
            if len(keys) - 1 >= max_variants:
                continue
            if fonts is None:
                fonts = fonts_for(settings)
            built = build_scene(trace, {**settings, "expand": base + list(wider)}, fonts)
            size = len(dumps_compact(built).encode("utf-8"))
            if used + size > max_bytes:
                continue
            used += size
            keys.append(wider)
            shapes[wider] = shape.of(wider)
            scenes[wider] = built
            queue.append(wider)
    index = {key: i for i, key in enumerate(keys)}
    variants = []
    for key in keys:
        here = shapes[key]
        opens = {}
        for node_id, name in here.groups.items():
            wider = shape.normal(key + (name,))
            to = index.get(wider)
            label = here.labels[node_id]
            link = {"label": label, "name": name, "to": to, "tip": _open_tip(here.counts[name], to, name, here.hint[name])}
            if to is not None:
                link["times"] = time_map(scenes[key], here, scenes[wider], shapes[wider])
            opens[node_id] = link
        closes = []
        for name in sorted(key, key=lambda n: (n.count("."), n)):   # the outermost group first
            narrower = shape.normal(tuple(n for n in key if n != name))
            to = index.get(narrower, 0)
            back = time_map(scenes[keys[to]], shapes[keys[to]], scenes[key], here)
            closes.append({"label": f"Fold {shape.label_of(name)} ({name})", "name": name, "to": to,
                           "times": [[b, a] for a, b in back]})
        variant = {"key": list(key), "open": opens, "close": closes}
        if key:
            variant["scene"] = scenes[key]
        variants.append(variant)
    return {"variants": variants, "limits": {"variants": max_variants, "bytes": max_bytes}}


def folds_note(folds: dict | None) -> str:
    """What `bprender html` says of the page's groups: "" without any, else how many layouts
    it carries and how many groups only --expand opens (past the bound)."""
    if not folds:
        return ""
    count = len(folds["variants"]) - 1
    missing = sorted({link["name"] for v in folds["variants"] for link in v["open"].values() if link["to"] is None})
    note = f"; a click opens its groups ({count} more layout{'s' if count != 1 else ''} inside)"
    if missing:
        note += (f"; past the bound of {folds['limits']['variants']} layouts / {folds['limits']['bytes'] // 1_000_000} MB, "
                 f"{len(missing)} group{'s' if len(missing) != 1 else ''} open{'' if len(missing) != 1 else 's'} "
                 f"with --expand only")
    return note


def _open_tip(count: int, to, name: str, hint: str) -> str:
    if to is not None:
        return f"click to open: its {count} blocks drawn one by one"
    return f"too many variants for this page: render with --expand {hint} to open it"


class _Shape:
    """What the modules view draws for a set of opened groups: its graph, the plan behind it,
    the groups that can open (node id -> the repeat's drawn path) and a key per node that is
    the same in a scene where more is opened (_coarse)."""

    def __init__(self, trace: dict, settings: dict, base: list):
        self.trace, self.settings, self.base = trace, settings, base
        self._labels: dict[str, str] = {}

    def of(self, key: tuple) -> "_View":
        from .scene.build import scene_view
        from .views.blocks import plan_blocks
        settings = {**self.settings, "expand": self.base + list(key)}
        graph = scene_view(self.trace, settings)
        plan = plan_blocks(self.trace, settings.get("depth"), settings["expand"])
        view = _View(graph, plan)
        for node_id, name in view.groups.items():
            self._labels.setdefault(name, view.labels[node_id])
        return view

    def normal(self, key: tuple) -> tuple:
        """The opened names that still mean something (a group nested in one folded again is
        closed with it), in a canonical order."""
        from .views.blocks import plan_blocks
        opened: list[str] = []
        while True:   # outer groups first: a nested group's name is unknown while its parent folds
            plan = plan_blocks(self.trace, self.settings.get("depth"), self.base + opened)
            more = sorted({n for n in key if n not in opened and n in plan.repeats})
            if not more:
                return tuple(sorted(opened))
            opened += more

    def label_of(self, name: str) -> str:
        """The group's node label, without the " #2" that tells equal labels apart in a view
        (the button names the group's path too)."""
        return re.sub(r" #\d+$", "", self._labels.get(name, name))


class _View:
    def __init__(self, graph, plan):
        self.graph, self.plan = graph, plan
        self.nodes = {n.id: n for n in graph.nodes}
        self.groups = {n.id: n.module for n in graph.nodes if n.module in plan.repeats and n.repeats}
        self.labels = {n.id: n.label for n in graph.nodes}
        self.counts = {name: len(plan.repeats[name].members) for name in self.groups.values()}
        # what the tooltip tells to give --expand: the repeats' parent when it holds only these
        parents = [r.container for r in plan.repeats.values()]
        self.hint = {name: (plan.repeats[name].container or "model") if parents.count(plan.repeats[name].container) == 1
                     else name for name in self.groups.values()}
        self.member_of = {m: r.path for r in plan.repeats.values() for m in r.members}
        self.modules = {n.module for n in graph.nodes if n.module}

    def coarse(self, node) -> tuple:
        """The node's key in this view: the drawn module it is part of (a repeat's member is
        part of the repeat), else its kind and label (the loss, a model without modules)."""
        path = node.module
        while path:
            if path in self.modules:
                return ("module", path)
            if path in self.member_of:
                return ("module", self.member_of[path])
            path = path.rpartition(".")[0]
        return (node.kind, node.label)


def time_map(coarse_scene: dict, coarse: _View, fine_scene: dict, fine: _View) -> list[list[float]]:
    """Pairs (t in the coarse scene, t in the fine one, where more is opened), increasing in
    both: matching events start together and settle together; the player interpolates."""
    fine_events = {e["name"]: e["t"] for e in fine_scene["events"]}
    pairs = [(0.0, 0.0)]
    matched = _matched_steps(coarse, fine)
    for event in sorted(coarse_scene["events"], key=lambda e: e["t"]):
        name = event["name"]
        other = f"backward:{matched[int(name.split(':')[1])]}" if name.startswith("backward:") and \
            int(name.split(":")[1]) in matched else name
        if other in fine_events:
            pairs.append((event["t"], fine_events[other]))
            pairs.append((settle_time(coarse_scene, name), settle_time(fine_scene, other)))
    pairs.append((coarse_scene["duration"], fine_scene["duration"]))
    out: list[list[float]] = []
    for a, b in sorted(pairs):
        if not out or (a > out[-1][0] + 1e-9 and b > out[-1][1] + 1e-9):
            out.append([round(a, 6), round(b, 6)])
    return out


def _matched_steps(coarse: _View, fine: _View) -> dict[int, int]:
    """Backward step j of the coarse view -> the first step of the fine view that gives a
    gradient to the same drawn module (a group's step -> its last block's, the first to run)."""
    keys = [{coarse.coarse(fine.nodes[i]) for i in step.nodes if i in fine.nodes} for step in fine.graph.steps]
    out, k = {}, 0
    for j, step in enumerate(coarse.graph.steps):
        want = {coarse.coarse(coarse.nodes[i]) for i in step.nodes if i in coarse.nodes}
        for m in range(k, len(keys)):
            if keys[m] & want:
                out[j], k = m, m + 1
                break
    return out
