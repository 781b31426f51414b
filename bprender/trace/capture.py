"""Capture one forward + backward pass from real autograd, without changing user code.

Forward: a TorchDispatchMode records every aten op (its name, its constant arguments and a
summary of its output, taken at capture time) and global module forward hooks keep the stack
of module paths. An op's outputs get their ``grad_fn`` only after the dispatch returns, so
each record is linked to its autograd node at the next op (or at the end).

Graph: breadth-first walk of ``loss.grad_fn.next_functions``; small numeric ``_saved_*``
attributes are read before backward (they are freed by it).

Backward: ``Node.register_prehook`` records the firing order and the gradient arriving at each
node; ``Node.register_hook`` records ``grad_inputs[slot]``, the gradient sent along each edge.
No hook returns a value (that would replace the gradient) and every hook and mode is removed
afterwards, also on error.
"""
from __future__ import annotations

from bprender.errors import PresetError

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn.modules import module as nn_module
from torch.utils._python_dispatch import TorchDispatchMode

from bprender.model import Built

from .summary import summarize

SCHEMA = "bprender.trace/1"

_SKIP_OPS = {"aten.detach", "aten.lift_fresh", "aten.lift_fresh_copy"}
_SUFFIX = re.compile(r"Backward\d*$")


def _safe_summary(t: Any) -> dict | None:
    try:
        return summarize(t)
    except Exception:  # an exotic tensor (sparse, quantized...) must not break the user's run
        return None


def op_label(op_name: str) -> str:
    """'PowBackward0' -> 'Pow'; names without the suffix are kept."""
    return _SUFFIX.sub("", op_name) or op_name


@dataclass
class _Arg:
    """One argument of a recorded op: a tensor that may carry gradient, or a constant."""
    tensor: torch.Tensor | None = None   # set for tensors requiring grad
    producer: Any = None                 # its grad_fn at dispatch time (None for a leaf)
    output_nr: int = 0
    const_name: str | None = None
    const_value: dict | None = None      # summary, for constants


@dataclass
class _Record:
    aten: str
    module: str
    args: list
    value: dict | None
    outputs: list = field(default_factory=list)


class _Recorder(TorchDispatchMode):
    def __init__(self, const_names: dict[int, str], module_stack: list[str]):
        super().__init__()
        self.const_names = const_names
        self.module_stack = module_stack
        self.node_record: dict[Any, _Record] = {}   # grad_fn -> record (keeps grad_fn alive)
        self._pending: list[_Record] = []
        self._unlinked: list[_Record] = []

    def link(self, final: bool = False) -> None:
        """Map the outputs' grad_fn of the ops since the last call to their records."""
        todo = self._pending + (self._unlinked if final else [])
        self._pending = []
        if final:
            self._unlinked = []
        for rec in todo:
            linked = False
            for t in rec.outputs:
                gf = t.grad_fn
                if gf is not None:
                    linked = True
                    if gf not in self.node_record:
                        self.node_record[gf] = rec
            if linked or final:
                rec.outputs = []
            else:
                self._unlinked.append(rec)

    def _args(self, func, args) -> list[_Arg]:
        out: list[_Arg] = []
        try:
            types = [str(a.type) for a in func._schema.arguments if not a.kwarg_only]
        except Exception:  # no schema: keep tensors only
            types = []

        def add(a):
            if isinstance(a, torch.Tensor):
                if a.requires_grad:
                    out.append(_Arg(tensor=a, producer=a.grad_fn,
                                    output_nr=a.output_nr if a.grad_fn is not None else 0))
                else:
                    out.append(_Arg(const_name=self.const_names.get(id(a)),
                                    const_value=_safe_summary(a)))
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                out.append(_Arg(const_value=_safe_summary(a)))

        for i, a in enumerate(args):
            ty = types[i] if i < len(types) else "Tensor"
            if "Tensor" not in ty and "number" not in ty:
                continue   # sizes, dims, flags, reduction modes: not data
            if isinstance(a, (list, tuple)):
                for b in a:
                    if isinstance(b, torch.Tensor):
                        add(b)
            else:
                add(a)
        return out

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.link()
        out = func(*args, **(kwargs or {}))
        if str(func.overloadpacket) in _SKIP_OPS:
            return out
        outputs = [t for t in (out if isinstance(out, (list, tuple)) else [out])
                   if isinstance(t, torch.Tensor)]
        rec = _Record(aten=str(func), module=self.module_stack[-1] if self.module_stack else "",
                      args=self._args(func, args),
                      value=_safe_summary(outputs[0]) if outputs else None, outputs=outputs)
        self._pending.append(rec)
        return out


def _module_names(module) -> dict[int, str]:
    if module is None:
        return {}
    return {id(m): name for name, m in module.named_modules()}


def _forward(built: Built):
    """Run the forward pass under the recorder and the module hooks; (loss, recorder)."""
    names = _module_names(built.module)
    stack: list[str] = []
    classes: dict[str, str] = {}  # module path -> class name, of the modules called

    def pre(mod, args):
        name = names.get(id(mod))
        if name is None:
            parent = stack[-1] if stack else ""
            name = f"{parent}.{type(mod).__name__}" if parent else type(mod).__name__
        stack.append(name)
        if name:  # the root module's path is "": it is drawn as "model"
            classes.setdefault(name, type(mod).__name__)

    def post(mod, args, output):
        if stack:
            stack.pop()

    const_names = {id(t): n for n, t in built.constants.items()}
    recorder = _Recorder(const_names, stack)
    recorder.classes = classes
    h_pre = nn_module.register_module_forward_pre_hook(pre)
    h_post = nn_module.register_module_forward_hook(post)
    try:
        with recorder:
            loss = built.run()
        recorder.link(final=True)
    finally:
        h_pre.remove()
        h_post.remove()
    return loss, recorder


def _walk(root) -> tuple[list, list[tuple[int, int, int, int]]]:
    """Nodes in breadth-first order and edges (from, to, slot, output_nr) in walk order."""
    nodes = [root]
    index = {root: 0}
    edges = []
    queue = deque([root])
    while queue:
        fn = queue.popleft()
        for slot, (nxt, out_nr) in enumerate(fn.next_functions):
            if nxt is None:
                continue
            if nxt not in index:
                index[nxt] = len(nodes)
                nodes.append(nxt)
                queue.append(nxt)
            edges.append((index[nxt], index[fn], slot, int(out_nr)))
    return nodes, edges


def _saved_attrs(fn) -> dict:
    attrs = {}
    for name in dir(fn):
        if not name.startswith("_saved_"):
            continue
        try:
            v = getattr(fn, name)
        except Exception:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if isinstance(v, int) and v >= 2 ** 63:
            v -= 2 ** 64    # negative dims come back as unsigned 64-bit integers
        attrs[name[len("_saved_"):]] = v
    return attrs


def _clone_grads(grads) -> list:
    return [g.detach().clone() if isinstance(g, torch.Tensor) else None for g in grads]


def _is_leaf_node(fn) -> bool:
    return type(fn).__name__ == "AccumulateGrad"


def _backward(loss, nodes) -> tuple[list[int], dict[int, list], dict[int, list]]:
    """Run backward with hooks on every node: (firing order, arrived grads, sent grads)."""
    order: list[int] = []
    arrived: dict[int, list] = {}
    sent: dict[int, list] = {}
    handles = []

    def make_pre(i):
        def pre(grad_outputs):
            if i not in arrived:
                order.append(i)
                arrived[i] = _clone_grads(grad_outputs)
        return pre

    def make_post(i):
        def post(grad_inputs, grad_outputs):
            sent.setdefault(i, _clone_grads(grad_inputs))
        return post

    try:
        for i, fn in enumerate(nodes):
            handles.append(fn.register_prehook(make_pre(i)))
            if not _is_leaf_node(fn):
                handles.append(fn.register_hook(make_post(i)))
        try:
            loss.backward()
        except RuntimeError as exc:  # the model's own mistake: plain loss.backward() fails the same way
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PresetError(f"PyTorch's backward pass failed: {first}", key="model",
                              hint="plain loss.backward() fails the same way; an in-place op on a value "
                                   "that backward needs is the usual cause") from None
    finally:
        for h in handles:
            h.remove()
    return order, arrived, sent


def trace_built(built: Built, title: str = "", description: str = "",
                train: dict | None = None) -> dict:
    """Trace one forward + backward pass of ``built`` into a ``bprender.trace/1`` dict.

    train: a preset's ``train`` mapping (steps, optimizer, lr, momentum). With ``steps`` set,
    the traced pass is training step 1 and the trace gets a ``train`` section (trace/train.py);
    the leaves' old ``.grad`` is cleared first so step 1 updates with this pass's gradients."""
    training = bool(train) and train.get("steps") is not None
    if training:
        for t in built.leaves.values():
            t.grad = None
    loss, recorder = _forward(built)
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        raise ValueError("the loss has no grad_fn: it does not depend on a tensor that "
                         "requires grad through an operation")
    root = loss.grad_fn
    nodes, edges = _walk(root)
    # a steps model's names: the node that computed a step's value is labelled by it (the first
    # name wins where a step only renames a value, d = c)
    step_name: dict[Any, str] = {}
    for name, value in built.names:
        if isinstance(value, torch.Tensor) and value.grad_fn is not None:
            step_name.setdefault(value.grad_fn, name)

    # leaves: names by identity with the AccumulateGrad node's variable
    leaf_name_of = {id(t): n for n, t in built.leaves.items()}
    node_name: dict[int, str] = {}
    leaf_tensor: dict[int, torch.Tensor] = {}
    leaf_node_of: dict[int, int] = {}    # id(variable) -> node index
    unnamed = 0
    for i, fn in enumerate(nodes):
        if _is_leaf_node(fn):
            var = fn.variable
            leaf_tensor[i] = var
            leaf_node_of[id(var)] = i
            name = leaf_name_of.get(id(var))
            if name is None:
                name = f"leaf{unnamed}"
                unnamed += 1
            node_name[i] = name

    attrs = {i: ({} if _is_leaf_node(fn) else _saved_attrs(fn)) for i, fn in enumerate(nodes)}
    seqs = [fn._sequence_nr() for fn in nodes if not _is_leaf_node(fn)]
    seq_base = min(seqs) if seqs else 0
    leaf_values = {i: summarize(t) for i, t in leaf_tensor.items()}
    had_grad = {n: t.grad is not None for n, t in built.leaves.items()}

    # the forward op's inputs, linked to edges before backward frees anything
    edges_into: dict[int, list[int]] = {}
    for e, (src, dst, slot, out_nr) in enumerate(edges):
        edges_into.setdefault(dst, []).append(e)
    node_index = {fn: i for i, fn in enumerate(nodes)}
    node_inputs: dict[int, list] = {}
    for i, fn in enumerate(nodes):
        rec = recorder.node_record.get(fn)
        if rec is None:
            continue
        used: set[int] = set()
        items = []
        for arg in rec.args:
            if arg.tensor is None:
                items.append({"const": arg.const_name, "value": arg.const_value})
                continue
            if arg.producer is not None:
                src, out_nr = node_index.get(arg.producer), arg.output_nr
            else:
                src, out_nr = leaf_node_of.get(id(arg.tensor)), 0
            match = next((e for e in edges_into.get(i, [])
                          if e not in used and edges[e][0] == src and edges[e][3] == out_nr),
                         None)
            if src is not None and match is not None:
                used.add(match)
                items.append({"edge": f"e{match}"})
            else:   # requires grad, but this op sends no gradient to it
                items.append({"const": leaf_name_of.get(id(arg.tensor)),
                              "value": summarize(arg.tensor)})
        node_inputs[i] = items

    order, arrived, sent = _backward(loss, nodes)

    def edge_grad(e):
        src, dst, slot, _ = edges[e]
        grads = sent.get(dst)
        return grads[slot] if grads is not None and slot < len(grads) else None

    out_nodes = []
    for i, fn in enumerate(nodes):
        op = type(fn).__name__
        is_leaf = _is_leaf_node(fn)
        rec = recorder.node_record.get(fn)
        grads = arrived.get(i)
        if is_leaf:
            name = node_name[i]
            module = name.rpartition(".")[0] if built.module is not None else ""
        else:
            name = step_name.get(fn)
            module = rec.module if rec is not None else ""
        out_nodes.append({
            "id": f"n{i}",
            "op": op,
            "label": node_name[i] if is_leaf else op_label(op),
            "kind": "loss" if i == 0 else ("leaf" if is_leaf else "op"),
            "seq": None if is_leaf else fn._sequence_nr() - seq_base,
            "aten": rec.aten if (rec is not None and not is_leaf) else None,
            "module": module,
            "name": name,
            "value": leaf_values[i] if is_leaf else (rec.value if rec is not None else None),
            "grad": summarize(grads[0]) if grads else None,
            "inputs": node_inputs.get(i, []),
            "attrs": attrs[i],
        })

    out_edges = [{"id": f"e{e}", "from": f"n{src}", "to": f"n{dst}", "slot": slot,
                  "output": out_nr, "grad": summarize(edge_grad(e))}
                 for e, (src, dst, slot, out_nr) in enumerate(edges)]

    backward = [{"step": k, "node": f"n{i}",
                 "edges": [f"e{e}" for e in edges_into.get(i, []) if edge_grad(e) is not None]}
                for k, i in enumerate(order)]

    groups: dict[tuple[int, int], list[int]] = {}
    for e, (src, dst, slot, out_nr) in enumerate(edges):
        groups.setdefault((src, out_nr), []).append(e)
    fanout = []
    for (src, out_nr), es in sorted(groups.items()):
        if len(es) < 2:
            continue
        total = None
        for e in es:
            g = edge_grad(e)
            if g is not None:
                total = g.clone() if total is None else total + g
        fanout.append({"node": f"n{src}", "edges": [f"e{e}" for e in es],
                       "sum": summarize(total)})

    leaves = []
    for name, t in built.leaves.items():
        i = leaf_node_of.get(id(t))
        g = t.grad
        if had_grad[name]:
            # .grad also holds earlier passes' gradients: show this pass's, as it arrived
            g = arrived[i][0] if i is not None and arrived.get(i) else None
        leaves.append({"name": name, "node": f"n{i}" if i is not None else None,
                       "shape": list(t.shape), "value": summarize(t), "grad": summarize(g)})
    named = {id(t) for t in built.leaves.values()}
    for i, t in leaf_tensor.items():
        if id(t) not in named:
            leaves.append({"name": node_name[i], "node": f"n{i}", "shape": list(t.shape),
                           "value": leaf_values[i], "grad": summarize(t.grad)})

    inputs = [{"name": n, "shape": list(t.shape), "value": summarize(t)}
              for n, t in built.constants.items()]

    out = {
        "schema": SCHEMA,
        "title": title or "",
        "description": description or "",
        "nodes": out_nodes,
        "edges": out_edges,
        "backward": backward,
        "fanout": fanout,
        "loss": {"node": "n0", "value": summarize(loss)},
        "leaves": leaves,
        "inputs": inputs,
    }
    if recorder.classes:  # the modules view names repeated blocks by class ("TransformerEncoderLayer × 6")
        out["modules"] = dict(sorted(recorder.classes.items()))
    if training:
        from .train import train_steps
        out["train"] = train_steps(built, loss, train)
    return out
