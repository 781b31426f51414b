"""Which module paths the modules view draws: how deep the module tree goes (`depth`), which
repeated blocks fold into one node ("TransformerEncoderLayer × 6") and which are opened
(`expand`). The answer is a rewrite of module paths (trace path -> drawn path), so the modules
view's grouping into runs works on it unchanged.

Repeats: under one parent, MIN_REPEATS or more consecutive numbered children (the items of an
nn.Sequential or nn.ModuleList: `layers.0`, `layers.1`, ...; named siblings such as q, k, v are
different roles, not repeats) of the same structure (the
same class, the same sequence of sub-module runs, the same parameter names and shapes) whose
ops follow each other in the forward pass without anything in between. Layer 0 of a stack often
has fewer ops than the rest (its input needs no gradient), so ops are not compared one by one.
The outermost repeats fold first; an opened repeat is searched inside.

Everything here is linear in the trace (no recursion: module trees and chains can be deep).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ..errors import BprenderError

MIN_REPEATS = 3  # two identical layers read fine as two boxes


@dataclass
class Repeat:
    path: str              # the drawn path, e.g. "0.layers.0–5"
    container: str         # the parent holding the repeats ("0.layers"; "" for the root)
    members: list[str]     # the repeated children's paths, forward order
    type: str = ""         # their class name when the trace has it


@dataclass
class Plan:
    drawn: dict[str, str] = field(default_factory=dict)      # trace module path -> drawn path
    repeats: dict[str, Repeat] = field(default_factory=dict)  # drawn path -> its repeat
    cut: dict[str, str] = field(default_factory=dict)         # drawn path of a module cut by depth -> class
    opened: list[str] = field(default_factory=list)           # repeats opened by their drawn path

    def path(self, module: str) -> str:
        return self.drawn.get(module, module)


def _ancestors(path: str):
    """path, its parent, ..., down to "" (the root)."""
    while path:
        yield path
        path = path.rpartition(".")[0]
    yield ""


def plan_blocks(trace: dict, depth: int | None = None, expand=(), collapse: bool = True) -> Plan:
    classes = trace.get("modules") or {}
    expand = list(expand or ())
    ops = sorted((n for n in trace["nodes"] if n["kind"] not in ("leaf", "frozen")),
                 key=lambda n: (n["seq"] if n["seq"] is not None else float("inf"), n["id"]))
    paths = {n.get("module") or "" for n in trace["nodes"]}
    known = set()
    for p in paths:
        known.update(_ancestors(p))
    known.discard("")
    opened = set(expand) | ({""} if "model" in expand else set())  # "model": the root module

    def cut(path: str) -> str:
        if depth is None or not path:
            return path
        parts = path.split(".")
        for k in range(depth, len(parts)):
            prefix = ".".join(parts[:k])
            if prefix not in opened:
                return prefix
        return path

    plan = Plan()
    cut_of = {p: cut(p) for p in paths}
    for p, c in cut_of.items():
        if c != p:
            plan.cut[c] = classes.get(c, "")
    op_path = [cut_of[n.get("module") or ""] for n in ops]

    # per drawn path (and its ancestors): where its ops are in forward order, and its parameters
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    count: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    for i, p in enumerate(op_path):
        below, below_new = None, False
        for a in _ancestors(p):
            new = a not in first
            if new:
                first[a] = i
            if below_new:  # a child is listed under its parent once, when its first op comes
                children.setdefault(a, []).append(below)
            last[a] = i
            count[a] = count.get(a, 0) + 1
            below, below_new = a, new
    params: dict[str, list[tuple[str, tuple]]] = {}
    for n in trace["nodes"]:
        if n["kind"] == "leaf" and n.get("module"):
            name = n.get("name") or ""
            shape = tuple((n.get("value") or {}).get("shape") or [])
            for a in _ancestors(cut_of.get(n["module"], n["module"])):
                if a:
                    params.setdefault(a, []).append((name, shape))

    def signature(c: str):
        runs = []
        for i in range(first[c], last[c] + 1):
            rel = op_path[i][len(c) + 1:] if op_path[i] != c else ""
            if not runs or runs[-1] != rel:
                runs.append(rel)
        own = sorted((name[len(c) + 1:] if name.startswith(c + ".") else name, shape)
                     for name, shape in params.get(c, []))
        return classes.get(c), tuple(runs), tuple(own)

    def whole(c: str) -> bool:  # numbered, and its ops are one stretch of the forward pass
        return c.rpartition(".")[2].isdigit() and count[c] == last[c] - first[c] + 1

    stack = [""] if collapse else []
    while stack:
        parent = stack.pop()
        kids = children.get(parent, [])
        k = 0
        while k < len(kids):
            j = k + 1
            if whole(kids[k]):
                sig = signature(kids[k])
                while (j < len(kids) and whole(kids[j]) and first[kids[j]] == last[kids[j - 1]] + 1
                       and signature(kids[j]) == sig):
                    j += 1
            members = kids[k:j]
            names = {parent, *members, classes.get(members[0], "")}
            if len(members) >= MIN_REPEATS and not (names & opened):
                head = members[0].rpartition(".")
                tail = members[-1].rpartition(".")[2]
                drawn = f"{head[0]}.{head[2]}–{tail}" if head[0] else f"{head[2]}–{tail}"
                plan.repeats[drawn] = Repeat(drawn, parent, list(members), classes.get(members[0], ""))
                if drawn in opened:  # opened by its own name: draw the members instead
                    del plan.repeats[drawn]
                    plan.opened.append(drawn)
                    stack.extend(reversed(members))
            else:
                stack.extend(reversed(members))
            k = j

    member_of = {m: r.path for r in plan.repeats.values() for m in r.members}
    for p, c in cut_of.items():
        drawn = next((member_of[a] for a in _ancestors(c) if a in member_of), c)
        if drawn != p:
            plan.drawn[p] = drawn
    _check_expand(expand, known, classes, plan)
    return plan


def _check_expand(expand: list[str], known: set[str], classes: dict, plan: Plan) -> None:
    """Every name given to expand must name a module, a class or a repeat: a typo otherwise
    silently draws the default."""
    names = known | set(classes.values()) | set(plan.repeats) | set(plan.opened) | {"model"}
    for name in expand:
        if name in names or name == "":
            continue
        close = difflib.get_close_matches(name, sorted(names), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        some = ", ".join(sorted(r.container or "model" for r in plan.repeats.values())[:4])
        raise BprenderError(f"--expand (expand: in a preset): no module, class or repeated block called "
                            f"'{name}' ({hint}give a module path such as "
                            f"{some or next(iter(sorted(known)), 'fc1')})")
