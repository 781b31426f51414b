"""The modules view: one node per leaf module (Linear, Conv2d, LayerNorm, ReLU, Dropout, ...),
gradient norms aggregated, readable for models of 100+ modules.

Grouping rule (docs: "runs"). The trace's op nodes are taken in forward execution order (their
autograd sequence number) and cut into *runs*: maximal stretches of consecutive ops with the same
`module` path. Each run is one node:

- a run of a leaf module (a path with no deeper path under it in the trace) is that module's
  call: labelled by its path, `sub` its type when the ops and parameter shapes tell it
  ("Linear 4→3", "Conv2d 1→4 3×3", "LayerNorm 16", "ReLU", ...), else a short op summary;
- a run of a parent module's own ops (functional code in its forward: residual adds, reshapes,
  `torch.softmax(q @ k.T)`) is one node labelled by the parent path ("model" for the root) with
  an op summary as `sub` ("matmul·softmax·matmul": view-only ops and scalings by a constant
  left out, at most three names);
- the loss is one node (kind "loss"): the run that ends in the loss, from its first op that
  takes the target (F.cross_entropy's log_softmax included); top-level ops before that (a
  residual add at the end of the model's forward) form their own node.

Runs are contiguous stretches of a topological order, so the module graph is acyclic whatever
the model does; a module called twice (a shared layer) gets one node per call, and a parent with
several stretches of its own ops (a block's two residual adds) one node per stretch: the k-th
node of a path is labelled "path #k". A trace without any module (an expression preset) gets
one node per op.

Parameters fold into the node of the call that uses them (a parameter used by several calls, or
by a call of another module, stays a leaf node of its own); named constants (input, target) are
const nodes. An edge joins two nodes wherever a trace edge crosses between them (deduplicated,
producer -> consumer); its gradient combines the crossing edges' (norm: root of the sum of
squares; sign: the sum of the means). A node's value and gradient are those of its output (the
run's last op whose value leaves the run).

Dense graphs (more than EDGE_LABELS_UP_TO edges) show no gradient label on every edge; colour
and width still show each edge's gradient. Forward waves light a node once all its inputs are lit.

Parts without gradient (the trace's "frozen" op nodes: a frozen backbone, a value computed from
the inputs, a detached branch) form their own runs the same way, in forward order, drawn as kind
"frozen" nodes; a frozen module's own frozen parameters and buffers fold into its node. They join
the rest by edges that carry no gradient, wherever a constant input names its source (``from``).

Steps: one per node (constants and frozen nodes excepted), each where the engine fires the node's FIRST op (when
the gradient reaches the module's output), kept causal: a node steps only after every node it
feeds has stepped (the engine order mostly already is).
"""
from __future__ import annotations

import heapq
import math
import re

from ..fmt import num, summary_text, to_float
from ..notation import Notation, residual_adds
from .flags import apply_flags, layer_flags, layer_title, module_type, summary_norm
from .attention import attention_weights
from .blocks import Plan, plan_blocks
from .budget import NODE_BUDGET
from .graph import Step, ViewEdge, ViewGraph, ViewNode
from .ops import VIEW_ONLY, step_labels

MAX_LINES = 3
MAX_SUMMARY = 3        # op names in a node's op summary
MAX_TARGETS = 3        # gradients named in a step's "sends" line
ONE_LINE = 90          # characters: a step's head and its sends line share one line up to this
EDGE_LABELS_UP_TO = 40  # edges; a denser graph shows no gradient label on each edge
MATMUL_OPS = {"Mm": "matmul", "Bmm": "matmul", "Matmul": "matmul", "Addmm": "addmm", "Baddbmm": "baddbmm"}
LOSS_INPUT = "target"
NO_GRAD_GROUP = "no gradient"   # legend group of the parts without gradient outside any module


class _Group:
    __slots__ = ("id", "module", "ops", "leaves", "kind", "title", "sub", "modules", "parts")

    def __init__(self, module: str, kind: str = "op"):
        self.id = ""
        self.module = module
        self.ops: list[dict] = []     # trace op nodes, forward order
        self.leaves: list[dict] = []  # folded parameter nodes
        self.kind = kind
        self.title = ""               # set when coarsened (_coarsen): the node's label and sub
        self.sub = ""
        self.modules = {module}       # module paths whose parameters fold into it
        self.parts: list[_Group] = [] # coarsened: the groups merged into it, forward order


def modules_view(trace: dict, depth: int | None = None, expand=(), collapse: bool = True,
                 names: Notation | None = None) -> ViewGraph:
    """depth: how many levels of the module tree to draw (None: all); expand: modules, classes
    or repeated blocks to open; collapse: fold repeated blocks (views/blocks.py); names: the
    notation its labels, groups and captions use (default: PyTorch's)."""
    names = names or Notation(trace, "torch")
    plan = plan_blocks(trace, depth, expand, collapse)
    repeat_norms = _repeat_norms(trace, plan)
    original = trace  # flags are per real layer: a vanishing repeat flags its group
    if plan.drawn:  # draw every module at the path the plan gives it (a copy: the trace stays as it is)
        trace = {**trace, "nodes": [{**n, "module": plan.drawn[n["module"]]} if n.get("module") in plan.drawn
                                    else n for n in trace["nodes"]]}
    ops = sorted((n for n in trace["nodes"] if n["kind"] not in ("leaf", "frozen")),
                 key=lambda n: (n["seq"] if n["seq"] is not None else math.inf, n["id"]))
    frozen = _frozen_runs([n for n in trace["nodes"] if n["kind"] == "frozen"])
    loss_id = (trace.get("loss") or {}).get("node") or "n0"
    has_modules = any(n.get("module") for n in trace["nodes"])
    groups = _runs(ops, loss_id) if has_modules else [_single(n, loss_id) for n in ops]
    drawn_before = len(groups)
    groups = _coarsen(groups, has_modules, step_labels(trace))
    member_of: dict[str, str] = {}
    for k, g in enumerate(groups):
        g.id = f"m{k}"
        for n in g.ops:
            member_of[n["id"]] = g.id
    for k, g in enumerate(frozen):
        g.id = f"f{k}"
        for n in g.ops:
            member_of[n["id"]] = g.id
    by_group = {g.id: g for g in groups + frozen}

    consumers: dict[str, list[dict]] = {}
    for e in trace["edges"]:
        consumers.setdefault(e["from"], []).append(e)
    leaf_nodes = []
    for n in trace["nodes"]:
        if n["kind"] != "leaf":
            continue
        used_by = {member_of[e["to"]] for e in consumers.get(n["id"], []) if e["to"] in member_of}
        if len(used_by) == 1 and has_modules:
            g = by_group[next(iter(used_by))]
            if (n.get("module") or "") in g.modules and g.kind != "loss":
                g.leaves.append(n)
                member_of[n["id"]] = g.id
                continue
        member_of[n["id"]] = n["id"]
        leaf_nodes.append(n)

    graph = ViewGraph(kind="modules")
    parents = _parent_paths(trace)
    params_of: dict[str, list] = {}  # module path -> its parameters (name, shape), folded or not
    for n in trace["nodes"]:
        if n["kind"] == "leaf" and n.get("module"):
            shape = (n.get("value") or {}).get("shape") or []
            params_of.setdefault(n["module"], []).append((n.get("name") or "", shape))
    leaf_grads = {leaf["node"]: leaf.get("grad") for leaf in trace.get("leaves", []) if leaf.get("node")}
    leaf_rank = {leaf["node"]: k for k, leaf in enumerate(trace.get("leaves", [])) if leaf.get("node")}
    for g in groups:  # parameters in named_parameters() order: weight before bias
        g.leaves.sort(key=lambda n: leaf_rank.get(n["id"], len(leaf_rank)))
    roles = {i["name"]: i.get("role") for i in trace.get("inputs", [])}
    folded = _fold_frozen_consts(frozen, roles, member_of)
    consts = _const_nodes(trace, ops + [n for g in frozen for n in g.ops], roles, folded)
    graph.nodes.extend(consts)
    graph.nodes.extend(_frozen_node(g, trace, parents) for g in frozen)
    first_use = {}  # leaf nodes go just before their first consumer: the node order reads forward
    for n in leaf_nodes:
        uses = [member_of[e["to"]] for e in consumers.get(n["id"], []) if e["to"] in member_of]
        first_use[n["id"]] = min((int(u[1:]) for u in uses if u.startswith("m")), default=len(groups))
    leaf_view = {n["id"]: _leaf_node(n, leaf_grads) for n in leaf_nodes}
    used_outside = {e["from"] for e in trace["edges"]
                    if e["from"] in member_of and e["to"] in member_of and member_of[e["from"]] != member_of[e["to"]]}
    types: dict[str, str] = {}
    labels = step_labels(trace)
    weights = attention_weights(trace)
    call_count: dict[str, int] = {}
    leaves_before: dict[int, list[str]] = {}
    for n in leaf_nodes:
        leaves_before.setdefault(first_use[n["id"]], []).append(n["id"])
    for k, g in enumerate(groups):
        graph.nodes.extend(leaf_view[i] for i in leaves_before.get(k, []))
        node, type_name = _group_node(g, parents, params_of, trace, loss_id, used_outside, labels, plan,
                                      repeat_norms)
        if not node.repeats:   # a folded block's repeats each have their own: none stands for all
            node.attention = _attention_inside(g.ops, node, weights)
        call_count[node.label] = call_count.get(node.label, 0) + 1
        if call_count[node.label] > 1:
            node.label += f" #{call_count[node.label]}"
        types[g.id] = type_name
        graph.nodes.append(node)
    graph.nodes.extend(leaf_view[i] for i in leaves_before.get(len(groups), []))

    graph.edges = _edges(trace, member_of)
    graph.edges.extend(_acyclic(graph.edges, _const_edges(ops + [n for g in frozen for n in g.ops], member_of, folded)))
    graph.edge_labels = len(graph.edges) <= EDGE_LABELS_UP_TO
    graph.forward = _waves(graph)

    flags = layer_flags(original)
    layer_nodes: dict[str, list[str]] = {}
    for f in flags:
        ids = {member_of[i] for i in f.leaf_nodes if i in member_of}
        ids |= {g.id for g in groups if g.module and g.module == plan.path(f.layer)}
        layer_nodes[f.layer] = sorted(ids)
    apply_flags(graph, flags, layer_nodes, names=names)
    _rename(graph, by_group, names, residual_adds(original) if names.lecture else set())
    flag_of: dict = {}
    for f in flags:  # a group of repeats is captioned with its first flagged layer (chart order)
        for node_id in layer_nodes[f.layer]:
            flag_of.setdefault(node_id, f)

    graph.steps = _steps(trace, graph, by_group, types, leaf_grads, flag_of, names)
    if len(groups) < drawn_before:
        hint = "; --depth and --expand choose what to open" if has_modules else ""
        graph.notes.append(f"Drawn coarser: {drawn_before:,} boxes merged into {len(groups)} "
                           f"(the node budget is {NODE_BUDGET}){hint}")
    return graph


# --- grouping ------------------------------------------------------------------------------

def _runs(ops: list[dict], loss_id: str) -> list[_Group]:
    groups: list[_Group] = []
    for n in ops:
        module = n.get("module") or ""
        if groups and groups[-1].module == module:
            groups[-1].ops.append(n)
        else:
            groups.append(_Group(module))
            groups[-1].ops.append(n)
    last = next((g for g in groups if any(n["id"] == loss_id for n in g.ops)), None)
    if last is None:
        return groups
    # the loss starts at the first op of its run that takes the target (or at the loss op)
    start = next((k for k, n in enumerate(last.ops) if _takes(n, LOSS_INPUT) or n["id"] == loss_id), 0)
    if start > 0 and last.ops[start - 1]["label"] == "LogSoftmax" and last.ops[start]["label"] == "NllLoss":
        start -= 1  # F.cross_entropy is log_softmax then nll_loss
    loss = _Group(last.module, kind="loss")
    loss.ops = last.ops[start:]
    at = groups.index(last)
    before = last.ops[:start]
    if before:
        last.ops = before
        groups.insert(at + 1, loss)
    else:
        groups[at] = loss
    return groups


def _single(n: dict, loss_id: str) -> _Group:
    g = _Group("", kind="loss" if n["id"] == loss_id else "op")
    g.ops.append(n)
    return g


def _takes(n: dict, name: str) -> bool:
    return any(inp.get("const") == name for inp in n.get("inputs") or [] if "const" in inp)


def _parent_paths(trace: dict) -> set[str]:
    """Module paths with a deeper path under them somewhere in the trace."""
    parents = set()
    for n in trace["nodes"]:
        path = n.get("module") or ""
        if not path:
            continue
        parents.add("")
        parts = path.split(".")
        for k in range(1, len(parts)):
            parents.add(".".join(parts[:k]))
    return parents


# --- nodes ---------------------------------------------------------------------------------

def _group_node(g: _Group, parents: set[str], params_of: dict, trace: dict, loss_id: str,
                used_outside: set[str], labels: dict, plan: Plan, repeat_norms: dict) -> tuple[ViewNode, str]:
    out = _output_op(g, loss_id, used_outside)
    op_names = []
    for n in g.ops:
        if n["op"] not in op_names:
            op_names.append(n["op"])
    op = ", ".join(op_names[:4]) + (", …" if len(op_names) > 4 else "")
    summary = op_summary(g.ops)
    path = g.module
    if g.kind == "loss":
        value = (trace.get("loss") or {}).get("value") or out.get("value")
        return ViewNode(id=g.id, kind="loss", label="loss", sub=summary, value=value, grad=out.get("grad"),
                        module=path, op=op, group="loss"), "loss"
    if g.title:  # merged to keep within the node budget
        # a run of one op kind keeps a gradient norm per op (its output's), like a repeated block
        norms = [_output_norm(part, loss_id, used_outside) for part in g.parts] if g.sub == PER_OP else []
        name = g.ops[0]["label"]
        return ViewNode(id=g.id, kind="op", label=g.title, sub=repeat_sub(norms, "out") if norms else g.sub,
                        value=out.get("value"), grad=out.get("grad"), module=path, op=op,
                        group=path.split(".")[0] if path else ("model" if parents else "ops"), repeats=norms,
                        repeat_labels=[f"{name} {k}" for k in range(1, len(norms) + 1)]), g.title
    if not path and not parents:  # a trace without modules: one node per op (a step's name if it has one)
        return ViewNode(id=g.id, kind="op", label=labels.get(out["id"], out["label"]), value=out.get("value"), grad=out.get("grad"),
                        op=op, group="ops"), ""
    group = path.split(".")[0] if path else ("model" if parents else "ops")
    if path in plan.repeats:  # repeated blocks drawn as one node, a gradient norm per repeat
        r = plan.repeats[path]
        norms, symbol = repeat_norms[path]
        type_name = r.type or module_type(g.ops, [])[0] or "block"
        return ViewNode(id=g.id, kind="op", label=f"{type_name} × {len(r.members)}", sub=repeat_sub(norms, symbol),
                        value=out.get("value"), grad=out.get("grad"), module=path, op=op, group=group,
                        repeats=norms, repeat_labels=list(r.members)), type_name
    type_name, description = "", ""
    if path in plan.cut:  # a module drawn whole (--depth): its class, else what its ops do
        type_name = plan.cut[path]
        return ViewNode(id=g.id, kind="op", label=path, sub=type_name or summary, value=out.get("value"),
                        grad=out.get("grad"), module=path, op=op, group=group), type_name or summary
    if path not in parents:
        type_name, description = module_type(g.ops, params_of.get(path, []))
    return ViewNode(id=g.id, kind="op", label=path or "model", sub=description or summary,
                    value=out.get("value"), grad=out.get("grad"), module=path, op=op,
                    group=path.split(".")[0] if path else "model"), type_name or summary


def _attention_inside(ops: list[dict], node: ViewNode, weights: set[str]) -> tuple[dict | None, dict | None] | None:
    """(A, ∂L/∂A) of the last attention-weights softmax among a module's ops (views/attention.py);
    the node's own (value, gradient) when the softmax is the module's output."""
    for n in reversed(ops):
        if n["id"] in weights:
            return (node.value, node.grad) if n.get("value") is node.value else (n.get("value"), n.get("grad"))
    return None


def _rename(graph: ViewGraph, by_group: dict, names: Notation, residual: set[str]) -> None:
    """The boxes and groups named as the notation names them: a module's box by its layer
    ("layer 1") or what it computes (σ), a parameter by its name (W¹), the model's input x,
    a residual add "+ residual"; PyTorch's names leave every label as it is."""
    if not names.lecture and not names.renames:
        return
    for node in graph.nodes:
        g = by_group.get(node.id)
        if node.kind == "leaf":
            node.label = names.param(node.label)
        elif node.id.startswith("c:"):
            node.label = names.const(node.label)
        elif node.kind == "loss" and names.lecture:
            node.label = "L"
        elif g is not None and g.module and not g.title:
            base, _, count = node.label.partition(" #")
            if base == g.module:
                node.label = names.module(g.module) + (f" #{count}" if count else "")
        if g is not None and len(g.ops) == 1 and g.ops[0]["id"] in residual:
            node.label = "+ residual"
        if node.group and node.group not in ("inputs", "parameters", "ops", "loss", "model", NO_GRAD_GROUP):
            node.group = names.group(node.group)


def _output_op(g: _Group, loss_id: str, used_outside: set[str]) -> dict:
    """The run's output: its last op (forward order) whose value is used outside the run."""
    if g.kind == "loss":
        return next((n for n in g.ops if n["id"] == loss_id), g.ops[-1])
    outs = [n for n in g.ops if n["id"] in used_outside]
    return outs[-1] if outs else g.ops[-1]


def op_summary(op_nodes: list[dict]) -> str:
    """A short name for a run of ops: 'matmul·softmax·matmul' (view-only ops and scalings by a
    constant left out, repeats merged, at most MAX_SUMMARY names and a count of the rest: a
    trailing "…" would read as text cut off)."""
    names = []
    for n in op_nodes:
        label = n["label"]
        if label in VIEW_ONLY:
            continue
        if label in ("Mul", "Div") and _scaled_by_constant(n):
            continue
        name = MATMUL_OPS.get(label) or _snake(label)
        if not names or names[-1] != name:
            names.append(name)
    if not names:
        names = [_snake(op_nodes[0]["label"])] if op_nodes else []
    text = "·".join(names[:MAX_SUMMARY])
    return text + (f" + {len(names) - MAX_SUMMARY} more" if len(names) > MAX_SUMMARY else "")


def _scaled_by_constant(n: dict) -> bool:
    inputs = n.get("inputs") or []
    return any("const" in i and not ((i.get("value") or {}).get("shape")) for i in inputs)


def _snake(label: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", label).lower()


def _leaf_node(n: dict, leaf_grads: dict) -> ViewNode:
    module = n.get("module") or ""
    return ViewNode(id=n["id"], kind="leaf", label=n.get("name") or n["label"], value=n.get("value"),
                    grad=leaf_grads.get(n["id"]) or n.get("grad"), module=module, op=n.get("op") or "",
                    group=module.split(".")[0] if module else "parameters")


def _const_nodes(trace: dict, ops: list[dict], roles: dict, folded: dict) -> list[ViewNode]:
    """Named constants: inputs (kind const), and parameters / buffers without gradient (kind
    frozen) unless they fold into their frozen module's node."""
    values = {i["name"]: i.get("value") for i in trace.get("inputs", [])}
    out, seen = [], set()
    for n in ops:
        for inp in n.get("inputs") or []:
            name = inp.get("const") if "const" in inp else None
            if name and name not in seen and name not in folded:
                seen.add(name)
                role = roles.get(name)
                out.append(ViewNode(id=f"c:{name}", kind="frozen" if role else "const", label=name,
                                    sub=role or "", value=values.get(name) or inp.get("value"),
                                    group=NO_GRAD_GROUP if role else "inputs", op="no gradient" if role else ""))
    return out


def _frozen_runs(nodes: list[dict]) -> list[_Group]:
    """Frozen op nodes (in the trace's forward order) cut into runs of one module path."""
    runs: list[_Group] = []
    for n in nodes:
        module = n.get("module") or ""
        if not runs or runs[-1].module != module:
            runs.append(_Group(module, kind="frozen"))
        runs[-1].ops.append(n)
    return runs


def _fold_frozen_consts(frozen: list[_Group], roles: dict, member_of: dict) -> dict[str, str]:
    """Frozen parameters and buffers used only by their own module's frozen node: name -> node."""
    users: dict[str, set[str]] = {}
    for g in frozen:
        for n in g.ops:
            for inp in n.get("inputs") or []:
                name = inp.get("const") if "const" in inp else None
                if name and roles.get(name):
                    users.setdefault(name, set()).add(g.id)
    by_id = {g.id: g for g in frozen}
    out = {}
    for name, ids in users.items():
        if len(ids) == 1:
            g = by_id[next(iter(ids))]
            if g.module and name.rpartition(".")[0] == g.module:
                out[name] = g.id
    return out


def _frozen_node(g: _Group, trace: dict, parents: set[str]) -> ViewNode:
    shapes = [(i["name"], i.get("shape") or []) for i in trace.get("inputs", [])
              if i.get("role") and i["name"].rpartition(".")[0] == g.module]
    _, description = module_type(g.ops, shapes) if g.module and g.module not in parents else ("", "")
    out = g.ops[-1]
    return ViewNode(id=g.id, kind="frozen", label=g.module or "model", sub=description or op_summary(g.ops),
                    value=out.get("value"), module=g.module, op="no gradient",
                    group=g.module.split(".")[0] if g.module else NO_GRAD_GROUP)


# --- edges ---------------------------------------------------------------------------------

def _edges(trace: dict, member_of: dict) -> list[ViewEdge]:
    crossing: dict[tuple[str, str], list[dict]] = {}
    for e in trace["edges"]:
        src, dst = member_of.get(e["from"]), member_of.get(e["to"])
        if src is None or dst is None or src == dst:
            continue
        crossing.setdefault((src, dst), []).append(e)
    return [ViewEdge(id=f"{src}>{dst}", src=src, dst=dst, carries_grad=True,
                     grad=combine_grads([e.get("grad") for e in es]))
            for (src, dst), es in crossing.items()]


def _const_edges(ops: list[dict], member_of: dict, folded: dict) -> list[ViewEdge]:
    """Edges without gradient: named constants to their users, and a constant's source (a frozen
    node, or the node a detached branch left) to the constant or to its user."""
    out, seen = [], set()

    def add(src: str, dst: str) -> None:
        if src != dst and (src, dst) not in seen:
            seen.add((src, dst))
            out.append(ViewEdge(id=f"{src}>{dst}", src=src, dst=dst, carries_grad=False))

    for n in ops:
        for inp in n.get("inputs") or []:
            if "const" not in inp:
                continue
            name = inp.get("const")
            source = member_of.get(inp["from"]) if inp.get("from") else None
            if name and name in folded:
                continue
            if name:
                add(f"c:{name}", member_of[n["id"]])
                if source:
                    add(source, f"c:{name}")
            elif source:
                add(source, member_of[n["id"]])
    return out


def _acyclic(edges: list[ViewEdge], extra: list[ViewEdge]) -> list[ViewEdge]:
    """The no-gradient edges that keep the graph acyclic. A frozen run between two ops of one
    module's run (a mask computed inside an attention block) would feed back into the node it
    came from; that edge is left out (the gradient edges alone are acyclic: runs follow forward
    order)."""
    out_of: dict[str, list[str]] = {}
    for e in edges:
        out_of.setdefault(e.src, []).append(e.dst)

    def reaches(a: str, b: str) -> bool:
        todo, seen = [a], set()
        while todo:
            node = todo.pop()
            if node == b:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(out_of.get(node, []))
        return False

    kept = []
    for e in extra:
        if not reaches(e.dst, e.src):
            kept.append(e)
            out_of.setdefault(e.src, []).append(e.dst)
    return kept


def combine_grads(grads: list[dict | None]) -> dict | None:
    """One summary for the gradients of several crossing edges: norm = √(Σ norm²), mean = the
    mean of the means (its sign is the sum's), min/max over all; a single one is kept as is."""
    present = [g for g in grads if g and g.get("stats")]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    stats = [{k: to_float(g["stats"][k]) for k in ("min", "max", "mean", "norm")} for g in present]
    return {"shape": present[0].get("shape") or [], "dtype": present[0].get("dtype", "float32"),
            "stats": {"min": _json(min(s["min"] for s in stats)), "max": _json(max(s["max"] for s in stats)),
                      "mean": _json(sum(s["mean"] for s in stats) / len(stats)),
                      "norm": _json(math.sqrt(sum(s["norm"] ** 2 for s in stats)))}}


def _json(x: float):
    """A float as the trace writes it: NaN/Inf as strings (strict JSON)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def _waves(graph: ViewGraph) -> list[list[str]]:
    """Forward waves: a node lights once all its inputs have (nodes are in forward order)."""
    inputs: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for e in graph.edges:
        inputs[e.dst].append(e.src)
    level: dict[str, int] = {}
    pending = [n.id for n in graph.nodes]
    while pending:  # one pass in node order suffices; the loop guards against any misorder
        rest = []
        for node_id in pending:
            if all(s in level for s in inputs[node_id]):
                level[node_id] = 1 + max((level[s] for s in inputs[node_id]), default=-1)
            else:
                rest.append(node_id)
        if len(rest) == len(pending):
            for node_id in rest:
                level[node_id] = 1 + max((level.get(s, 0) for s in inputs[node_id]), default=-1)
            break
        pending = rest
    waves: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for n in graph.nodes:
        waves[level[n.id]].append(n.id)
    return [w for w in waves if w]


# --- steps ---------------------------------------------------------------------------------

def _steps(trace: dict, graph: ViewGraph, by_group: dict, types: dict, leaf_grads: dict, flag_of: dict,
           names: Notation) -> list[Step]:
    fired = {s["node"]: k for k, s in enumerate(trace.get("backward", []))}
    first = {}
    for n in graph.nodes:
        if n.kind in ("const", "frozen"):
            continue
        g = by_group.get(n.id)
        members = [o["id"] for o in g.ops] if g else [n.id]
        first[n.id] = min((fired[m] for m in members if m in fired), default=math.inf)
    view = {n.id: n for n in graph.nodes}
    into: dict[str, list[ViewEdge]] = {}
    feeds: dict[str, set[str]] = {node_id: set() for node_id in first}
    for e in graph.edges:
        if not e.carries_grad:
            continue
        into.setdefault(e.dst, []).append(e)
        if e.src in feeds:
            feeds[e.src].add(e.dst)
    waiting = {node_id: len(dsts) for node_id, dsts in feeds.items()}
    position = {n.id: k for k, n in enumerate(graph.nodes)}
    ready = [(first[i], position[i], i) for i, w in waiting.items() if w == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for e in into.get(node_id, []):
            if e.src in waiting:
                waiting[e.src] -= 1
                if waiting[e.src] == 0:
                    heapq.heappush(ready, (first[e.src], position[e.src], e.src))
    placed = set(order)
    order += [i for i in first if i not in placed]  # unreachable for an acyclic graph

    steps = []
    for node_id in order:
        node = view[node_id]
        sends = [e for e in into.get(node_id, []) if e.grad is not None]
        lines = _step_lines(node, by_group.get(node_id), types.get(node_id, ""), sends, view, leaf_grads,
                            flag_of.get(node_id), names)
        label = node.label + (f": {node.sub}" if node.sub and node.kind == "op" else "")
        g = by_group.get(node_id)
        steps.append(Step(nodes=[node_id], edges=[e.id for e in sends], lines=lines, label=label,
                          ops=[o["id"] for o in g.ops] if g else []))
    return steps


def _step_lines(node: ViewNode, g, type_name: str, sends: list[ViewEdge], view: dict, leaf_grads: dict,
                flag, names: Notation) -> list[str]:
    if node.kind == "loss":
        head = f"The loss L = {summary_text(node.value)} starts the backward pass: ∂L/∂L = 1"
    elif node.kind == "leaf":
        head = f"{node.label}: ‖∂L/∂{node.label}‖ = {_norm_text(node.grad)}"
    elif node.repeats:
        symbol = "θ" if node.sub.startswith("‖∂L/∂θ‖") else "out"  # parameters' gradients, or the output's
        where = f" ({node.module})" if node.module else ""
        head = f"{node.label}{where}: {repeat_caption(node.repeats, node.repeat_labels, symbol)}"
    else:
        name = f"{node.label} ({type_name})" if type_name else node.label
        params = [(names.param(leaf["name"]) if names.lecture and leaf.get("name") else
                   _short_param(leaf.get("name") or leaf["label"], node.module),
                   leaf_grads.get(leaf["id"]) or leaf.get("grad")) for leaf in (g.leaves if g else [])]
        if params:
            shown = ", ".join(f"‖∂L/∂{p}‖ = {_norm_text(grad)}" for p, grad in params[:3])
            head = f"{name}: {shown}" + (f" (+{len(params) - 3} more)" if len(params) > 3 else "")
        else:
            head = f"{name}: ‖∂L/∂out‖ = {_norm_text(node.grad)}"
    lines = [head]
    if sends:
        parts = [f"{_norm_text(e.grad)} to {view[e.src].label}" for e in sends[:MAX_TARGETS]]
        if len(sends) > MAX_TARGETS:
            parts.append(f"{len(sends) - MAX_TARGETS} more")
        send = "sends ‖g‖ = " + ", ".join(parts)
        if len(head) + 2 + len(send) <= ONE_LINE:
            lines[0] = f"{head}; {send}"
        else:
            lines.append(send[0].upper() + send[1:])
    if flag is not None:
        what = "of the largest layer's" if flag.kind == "vanishing" else "times the nearest-to-loss layer's"
        layer, reference = layer_title(flag.layer, names), layer_title(flag.reference, names)
        layer = layer if layer.startswith("layer ") else f"layer {layer}"
        lines.append(f"{flag.kind.capitalize()} gradient: {layer} gets {num(flag.ratio, 2)} "
                     f"{what} gradient norm ({reference})")
    return lines[:MAX_LINES]


def _short_param(name: str, module: str) -> str:
    short = name[len(module) + 1:] if module and name.startswith(module + ".") else name
    return {"weight": "W", "bias": "b"}.get(short, short)


def _norm_text(summary: dict | None) -> str:
    norm = summary_norm(summary)
    return "–" if norm is None else num(norm)


# --- within the node budget ---------------------------------------------------------------

PER_OP = "per op"   # the sub of a run of one op kind, until its norms replace it
ROOM_FOR_INPUTS = 20  # of the node budget, kept for the inputs and unfolded parameters


def _coarsen(groups: list[_Group], has_modules: bool, labels: dict) -> list[_Group]:
    """Groups merged until they fit the node budget, keeping forward order (merged stretches of
    a topological order stay acyclic). First, without modules, consecutive ops of one kind
    ("Mul × 5001", a gradient norm per op); then consecutive stretches of equal length. The
    loss stays a node of its own."""
    # with modules parameters fold into their module's box; without, each is a box of its own
    target = NODE_BUDGET - ROOM_FOR_INPUTS if has_modules else NODE_BUDGET // 2
    if len(groups) <= target:
        return groups
    if not has_modules:
        groups = _merge(groups, lambda a, b: a.kind == b.kind == "op" and a.ops[-1]["label"] == b.ops[0]["label"],
                        lambda run: (f"{run[0].ops[0]['label']} × {len(run)}", PER_OP))
    if len(groups) > target:
        size = -(-len(groups) // (target - 1))
        count = {"n": 0}

        def same_stretch(a, b):
            count["n"] += 1
            return a.kind == b.kind == "op" and count["n"] % size != 0

        def name(g: _Group) -> str:
            return g.title or (g.module or labels.get(g.ops[-1]["id"], g.ops[-1]["label"]))

        groups = _merge(groups, same_stretch, lambda run: (f"{name(run[0])} … {name(run[-1])}",
                                                            f"{len(run)} {'modules' if has_modules else 'ops'}"))
    return groups


def _merge(groups: list[_Group], joins, title) -> list[_Group]:
    """Consecutive groups for which joins(previous, next) holds merged into one (a run of two or
    more gets title(run) -> (label, sub))."""
    runs: list[list[_Group]] = []
    for g in groups:
        if runs and joins(runs[-1][-1], g):
            runs[-1].append(g)
        else:
            runs.append([g])
    out = []
    for run in runs:
        if len(run) == 1:
            out.append(run[0])
            continue
        merged = _Group(run[0].module)
        merged.title, merged.sub = title(run)
        for g in run:
            merged.ops.extend(g.ops)
            merged.modules |= g.modules
            merged.parts.extend(g.parts or [g])
        out.append(merged)
    return out


def _output_norm(g: _Group, loss_id: str, used_outside: set[str]) -> float:
    norm = summary_norm(_output_op(g, loss_id, used_outside).get("grad"))
    return math.nan if norm is None else norm


# --- repeated blocks -----------------------------------------------------------------------

def _repeat_norms(trace: dict, plan: Plan) -> dict[str, tuple[list[float], str]]:
    """Drawn path of each repeat -> (one gradient norm per repeat in forward order, its symbol):
    the norm of all the repeat's parameters' gradients together (their .grad), "θ"; or, when a
    repeat has no parameters, the norm of the gradient at each repeat's output (its last op in
    forward order), "out"."""
    if not plan.repeats:
        return {}
    member = {m: r.path for r in plan.repeats.values() for m in r.members}

    def owner(path: str):
        while path:
            if path in member:
                return path
            path = path.rpartition(".")[0]
        return None

    nodes = {n["id"]: n for n in trace["nodes"]}
    squares: dict[str, float] = {}
    has_params: set[str] = set()
    for leaf in trace.get("leaves", []):
        m = owner((nodes.get(leaf.get("node")) or {}).get("module") or "")
        if m is None:
            continue
        has_params.add(m)
        norm = summary_norm(leaf.get("grad"))
        squares[m] = squares.get(m, 0.0) + (norm * norm if norm is not None else 0.0)
    output: dict[str, tuple] = {}
    for n in trace["nodes"]:
        m = owner(n.get("module") or "") if n["kind"] != "leaf" else None
        if m is not None and n["seq"] is not None and (m not in output or n["seq"] > output[m][0]):
            output[m] = (n["seq"], summary_norm(n.get("grad")))
    out = {}
    for r in plan.repeats.values():
        if all(m in has_params for m in r.members):
            out[r.path] = [math.sqrt(squares[m]) for m in r.members], "θ"
        else:  # parameterless blocks (ReLU × 4): the gradient at each one's output
            out[r.path] = [math.nan if output.get(m, (0, None))[1] is None else output[m][1]
                           for m in r.members], "out"
    return out


def repeat_sub(norms: list[float], symbol: str = "θ") -> str:
    """The node's short line: the first and last repeat's gradient norm ("‖∂L/∂θ‖ 3e−7 … 0.21");
    symbol θ: the repeat's parameters, out: its output."""
    if len(norms) <= 3:
        return f"‖∂L/∂{symbol}‖ " + " · ".join(num(x) for x in norms)
    return f"‖∂L/∂{symbol}‖ {num(norms[0])} … {num(norms[-1])}"


def repeat_caption(norms: list[float], labels: list[str], symbol: str = "θ") -> str:
    """The step's summary of the repeats: a few norms in forward order and the smallest."""
    shown = [num(x) for x in norms] if len(norms) <= 5 else \
        [num(x) for x in norms[:3]] + ["…", num(norms[-1])]
    text = f"‖∂L/∂{symbol}‖ per repeat {', '.join(shown)}"
    finite = [(x, k) for k, x in enumerate(norms) if math.isfinite(x)]
    if finite and len(norms) > 1:
        low, k = min(finite)
        text += f"; smallest {num(low)} at {labels[k]}"
    return text
