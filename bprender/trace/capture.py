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

No-gradient parts: every op's outputs are remembered (weakly), so a constant argument of a graph
op that some recorded op computed (a frozen layer, a buffer's use, a value computed from the
inputs) or that was detached from the graph leads back to where it came from; those ops become
``"frozen"`` nodes of the trace, linked by ``{"from": ...}`` on the consuming input.

:class:`Capture` is the one code path: ``trace_built`` runs ``built.run()`` and
``loss.backward()`` inside it, bprender.trace.record runs the user's own code inside it.
"""
from __future__ import annotations

from bprender.errors import PresetError

import re
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch.nn.modules import module as nn_module
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes

from bprender.model import Built

from .summary import Deferred, summarize


class _Summaries:
    """How one captured pass summarises its tensors. Right away (``defer`` off: trace_built), or,
    for a step of the user's training loop (``defer`` on), as little as possible inside it: a
    tensor is cloned and its summary taken when the recording is saved (summary.Deferred); one
    too big to keep a copy of (more than DEFER_ELEMENTS, or past the step's DEFER_BUDGET) is
    summarised now with its number lists left for save (summary.Floats). Either way the same
    summary, hence the same trace bytes."""

    DEFER_ELEMENTS = 1 << 16     # a copy of at most 256 KB (float32) per tensor
    DEFER_BUDGET = 1 << 22       # and at most 16 MB of copies per captured step

    def __init__(self, defer: bool):
        self.defer = defer
        self.budget = self.DEFER_BUDGET

    def __call__(self, t: Any, heat: bool = False, kernels: bool = False, *, safe: bool = False,
                 private: bool = False) -> Any:
        """private: t is already a copy nobody changes (a hook's cloned gradient)."""
        if not self.defer:
            return summarize(t, heat=heat, kernels=kernels)
        if isinstance(t, torch.Tensor) and t.layout == torch.strided and t.device.type == "cpu" \
                and not t.is_quantized and t.numel() <= min(self.DEFER_ELEMENTS, self.budget):
            self.budget -= t.numel()
            copy = t.detach() if private else t.detach().clone()   # detached: no autograd record
            return Deferred(copy, heat, kernels, safe)
        return summarize(t, heat=heat, kernels=kernels, defer=True)

    def safe(self, t: Any) -> Any:
        try:
            return self(t, heat=True, safe=True)
        except Exception:  # an exotic tensor (sparse, quantized...) must not break the user's run
            return None


SCHEMA = "bprender.trace/1"

_SKIP_OPS = {"aten.detach", "aten.lift_fresh", "aten.lift_fresh_copy"}
# ops whose output is memory nobody has written yet (its value is not recorded)
_UNINITIALISED = {"aten.empty", "aten.empty_like", "aten.new_empty", "aten.empty_strided",
                  "aten.new_empty_strided", "aten.empty_permuted"}
_SUFFIX = re.compile(r"Backward\d*$")


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
    source: Any = None                   # constants: the _Record that computed it, or the
                                         # tensor requiring grad it was detached from


@dataclass
class _Record:
    aten: str
    module: str
    args: list
    value: dict | None
    outputs: list = field(default_factory=list)
    index: int = 0            # forward order


class _Recorder(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Left True (the default), torch wraps __torch_dispatch__ in torch._dynamo.disable, whose
        # first call imports torch._dynamo (about 1.1 s of a cold trace, after `import torch`), for
        # a mode that records eager ops and is never compiled. A compiled function run under the
        # mode still records (tests/test_trace.py).
        return False

    def __init__(self, const_names: dict[int, str], module_stack: list[str],
                 name_const: Callable[[torch.Tensor], str | None] | None = None,
                 summaries: _Summaries | None = None):
        super().__init__()
        self.summaries = summaries or _Summaries(defer=False)
        self.const_names = const_names
        self.module_stack = module_stack
        self.name_const = name_const        # names a constant met for the first time (or None)
        self.active = True                  # off from the backward call on: only the forward
        self.node_record: dict[Any, _Record] = {}   # grad_fn -> record (keeps grad_fn alive)
        self._pending: list[_Record] = []
        self._unlinked: list[_Record] = []
        self._count = 0
        # id(output) -> (weakref, record); id(detached) -> (weakref, its input). Weak, so an id
        # reused by a later tensor is recognised (the ref is dead or another object)
        self._made: dict[int, tuple[Any, _Record]] = {}
        self._alias: dict[int, tuple[Any, torch.Tensor]] = {}

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

    def source(self, t: torch.Tensor) -> Any:
        """Where a tensor without gradient came from: the record of the op that computed it,
        the tensor requiring grad it was detached from, or None (made before the capture)."""
        for _ in range(1000):  # a chain of detaches; the bound only guards against a cycle
            made = self._made.get(id(t))
            if made is not None and made[0]() is t:
                return made[1]
            alias = self._alias.get(id(t))
            if alias is None or alias[0]() is not t:
                return None
            t = alias[1]
            if t.requires_grad:
                return t
        return None

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
                    source = self.source(a)
                    name = self.const_names.get(id(a))
                    if name is None and source is None and self.name_const is not None:
                        name = self.name_const(a)
                    out.append(_Arg(const_name=name, const_value=self.summaries.safe(a), source=source))
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                out.append(_Arg(const_value=self.summaries.safe(a)))

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
        if not self.active:
            return func(*args, **(kwargs or {}))
        self.link()
        out = func(*args, **(kwargs or {}))
        if str(func.overloadpacket) in _SKIP_OPS:
            if args and isinstance(args[0], torch.Tensor) and isinstance(out, torch.Tensor):
                self._alias[id(out)] = (weakref.ref(out), args[0])
            return out
        outputs = [t for t in (out if isinstance(out, (list, tuple)) else [out])
                   if isinstance(t, torch.Tensor)]
        # an empty_like's output is whatever memory it got (an in-place op fills it later, as
        # dropout's mask is): its numbers now are not the model's and differ from run to run
        uninitialised = str(func.overloadpacket) in _UNINITIALISED
        rec = _Record(aten=str(func), module=self.module_stack[-1] if self.module_stack else "",
                      args=self._args(func, args),
                      value=self.summaries.safe(outputs[0]) if outputs and not uninitialised else None,
                      outputs=outputs,
                      index=self._count)
        self._count += 1
        for t in outputs:
            self._made[id(t)] = (weakref.ref(t), rec)
        self._pending.append(rec)
        return out


def _module_names(module) -> dict[int, str]:
    if module is None:
        return {}
    return {id(m): name for name, m in module.named_modules()}


def _user_backward(loss) -> None:
    """loss.backward() for a model bprender runs itself: the model's own failure is a
    PresetError naming the usual cause."""
    try:
        loss.backward()
    except RuntimeError as exc:  # the model's own mistake: plain loss.backward() fails the same way
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PresetError(f"PyTorch's backward pass failed: {first}", key="model",
                          hint="plain loss.backward() fails the same way; an in-place op on a value "
                               "that backward needs is the usual cause") from None


class Capture:
    """One forward + backward pass, captured while code runs inside ``with Capture(built):``.

    From ``__enter__`` the forward is recorded (dispatch mode, module path hooks);
    ``backward(loss, run)`` stops recording, reads the graph from ``loss.grad_fn`` (before
    backward frees anything), runs ``run()`` (the real ``loss.backward()``) with the node hooks,
    removes them and summarises everything into ``self.body`` (the trace without schema, title
    and description). ``__exit__`` removes every hook and mode, also on error.

    name_const(tensor) may name constants met for the first time (the recorder names the
    target); add_constant() names tensors while the forward runs (the model's inputs)."""

    def __init__(self, built: Built, name_const: Callable[[torch.Tensor], str | None] | None = None,
                 defer: bool = False):
        self.built = built
        # defer: the body keeps summary.Deferred and Floats; the caller materializes it
        self.summaries = _Summaries(defer)
        self.leaves = dict(built.leaves)
        self.constants = dict(built.constants)
        self.body: dict | None = None
        self._names = _module_names(built.module)
        self._stack: list[str] = []
        self.classes: dict[str, str] = {}  # module path -> class name, of the modules called
        self._const_names = {id(t): n for n, t in self.constants.items()}
        self.recorder = _Recorder(self._const_names, self._stack, name_const, self.summaries)
        self._handles: list = []
        self._entered = False

    def add_constant(self, name: str, t: torch.Tensor) -> None:
        """Name a tensor the forward pass uses (a leaf if it requires grad)."""
        if t.requires_grad and t.grad_fn is None:
            self.leaves.setdefault(name, t)
        elif not t.requires_grad and id(t) not in self._const_names:
            self.constants[name] = t
            self._const_names[id(t)] = name

    def __enter__(self) -> "Capture":
        stack, names, classes = self._stack, self._names, self.classes

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

        self._handles = [nn_module.register_module_forward_pre_hook(pre),
                         nn_module.register_module_forward_hook(post)]
        try:
            self.recorder.__enter__()
        except BaseException:
            self._remove()
            raise
        self._entered = True
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._entered:
                self._entered = False
                self.recorder.__exit__(*exc)
        finally:
            self._remove()

    def _remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def backward(self, loss, run: Callable[[], Any] | None = None) -> Any:
        """Run ``run()`` (default ``loss.backward()``) as the captured backward pass."""
        recorder = self.recorder
        recorder.active = False
        with _disable_current_modes():
            recorder.link(final=True)
            if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
                raise ValueError("the loss has no grad_fn: it does not depend on a tensor that "
                                 "requires grad through an operation")
            graph = _Graph(loss, recorder, self.leaves, self.constants, self.built.roles,
                           _step_names(self.built), self.summaries)
            result = graph.run_backward(run or loss.backward)
            self.body = graph.assemble(self.built.module is not None)
            if self.classes:  # the modules view names repeated blocks by class ("TransformerEncoderLayer × 6")
                self.body["modules"] = dict(sorted(self.classes.items()))
        return result


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


_SAVED_NAMES: dict[type, list[str]] = {}   # node class -> its _saved_* attribute names


def _saved_attrs(fn) -> dict:
    attrs = {}
    names = _SAVED_NAMES.get(type(fn))
    if names is None:   # dir() of every node of every captured step costs: once per class
        names = [n for n in dir(fn) if n.startswith("_saved_")]
        if not hasattr(fn, "__dict__"):   # a custom Function's node may have its own attributes
            _SAVED_NAMES[type(fn)] = names
    for name in names:
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


def _same(a, b) -> bool:
    """Two gradients with the same numbers (so one summary serves both)."""
    return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and \
        a.shape == b.shape and torch.equal(a, b)


def _is_leaf_node(fn) -> bool:
    return type(fn).__name__ == "AccumulateGrad"


def _step_names(built: Built) -> dict:
    """A steps model's names: the node that computed a step's value is labelled by it (the first
    name wins where a step only renames a value, d = c)."""
    step_name: dict[Any, str] = {}
    for name, value in built.names:
        if isinstance(value, torch.Tensor) and value.grad_fn is not None:
            step_name.setdefault(value.grad_fn, name)
    return step_name


def _frozen_label(aten: str) -> str:
    """'aten.native_layer_norm.default' -> 'NativeLayerNorm' (autograd's naming of the op)."""
    packet = aten.split(".")[1] if aten.count(".") >= 1 else aten
    return "".join(part.capitalize() for part in packet.strip("_").split("_")) or packet


class _Graph:
    """The autograd graph of one loss, read before backward; then the backward pass with a
    hook on every node, and the trace body assembled from both."""

    def __init__(self, loss, recorder: _Recorder, named_leaves: dict, constants: dict,
                 roles: dict | None = None, step_name: dict | None = None,
                 summaries: _Summaries | None = None):
        self.summaries = summary = summaries or _Summaries(defer=False)
        self.loss = loss
        self.roles = roles or {}
        self.step_name = step_name or {}
        self.recorder = recorder
        self.named_leaves = named_leaves
        self.constants = constants
        self.nodes, self.edges = nodes, edges = _walk(loss.grad_fn)

        # leaves: names by identity with the AccumulateGrad node's variable
        self.leaf_name_of = leaf_name_of = {id(t): n for n, t in named_leaves.items()}
        self.node_name: dict[int, str] = {}
        self.leaf_tensor: dict[int, torch.Tensor] = {}
        self.leaf_node_of: dict[int, int] = {}    # id(variable) -> node index
        unnamed = 0
        for i, fn in enumerate(nodes):
            if _is_leaf_node(fn):
                var = fn.variable
                self.leaf_tensor[i] = var
                self.leaf_node_of[id(var)] = i
                name = leaf_name_of.get(id(var))
                if name is None:
                    name = f"leaf{unnamed}"
                    unnamed += 1
                self.node_name[i] = name

        self.attrs = {i: ({} if _is_leaf_node(fn) else _saved_attrs(fn)) for i, fn in enumerate(nodes)}
        seqs = [fn._sequence_nr() for fn in nodes if not _is_leaf_node(fn)]
        self.seq_base = min(seqs) if seqs else 0
        self.leaf_values = {i: summary(t, heat=True, kernels=True) for i, t in self.leaf_tensor.items()}
        self.had_grad = {n: t.grad is not None for n, t in named_leaves.items()}

        self.edges_into: dict[int, list[int]] = {}
        for e, (src, dst, slot, out_nr) in enumerate(edges):
            self.edges_into.setdefault(dst, []).append(e)
        self.node_index = {fn: i for i, fn in enumerate(nodes)}
        self.record_node = {id(rec): i for fn, rec in recorder.node_record.items()
                            if (i := self.node_index.get(fn)) is not None}
        self.frozen: list[_Record] = []         # no-gradient ops feeding the graph, by first use
        self.frozen_id: dict[int, str] = {}     # id(record) -> node id
        self.node_inputs = {}
        for i, fn in enumerate(nodes):
            rec = recorder.node_record.get(fn)
            if rec is not None:
                self.node_inputs[i] = self._inputs(i, rec)
        self.frozen_inputs = []
        k = 0
        while k < len(self.frozen):              # grows while their own inputs are read
            self.frozen_inputs.append(self._inputs(None, self.frozen[k]))
            k += 1
        self._forward_order()

    def _forward_order(self) -> None:
        """Frozen nodes numbered in forward order (they were found walking back from the loss)."""
        ranked = sorted(range(len(self.frozen)), key=lambda k: self.frozen[k].index)
        base = len(self.nodes)
        new_id = {f"n{base + old}": f"n{base + new}" for new, old in enumerate(ranked)}
        self.frozen = [self.frozen[k] for k in ranked]
        self.frozen_inputs = [self.frozen_inputs[k] for k in ranked]
        for items in list(self.node_inputs.values()) + self.frozen_inputs:
            for item in items:
                if item.get("from") in new_id:
                    item["from"] = new_id[item["from"]]

    def _from(self, source) -> str | None:
        """The node id a constant's source is (a frozen op gets an id on first use)."""
        if source is None:
            return None
        if isinstance(source, _Record):
            i = self.record_node.get(id(source))
            if i is not None:   # a graph op's output that carries no gradient (indices, stats)
                return f"n{i}"
            if id(source) not in self.frozen_id:
                self.frozen_id[id(source)] = f"n{len(self.nodes) + len(self.frozen)}"
                self.frozen.append(source)
            return self.frozen_id[id(source)]
        i = self._tensor_node(source)           # detached from a tensor of the graph
        return f"n{i}" if i is not None else None

    def _tensor_node(self, t: torch.Tensor) -> int | None:
        if t.grad_fn is not None:
            return self.node_index.get(t.grad_fn)
        return self.leaf_node_of.get(id(t))

    def _inputs(self, i: int | None, rec: _Record) -> list:
        """A node's forward inputs, linked to edges (i: graph node) or to their sources."""
        used: set[int] = set()
        items = []
        for arg in rec.args:
            if arg.tensor is None:
                item = {"const": arg.const_name, "value": arg.const_value}
                origin = self._from(arg.source)
                if origin is not None:
                    item["from"] = origin
                items.append(item)
                continue
            if arg.producer is not None:
                src, out_nr = self.node_index.get(arg.producer), arg.output_nr
            else:
                src, out_nr = self.leaf_node_of.get(id(arg.tensor)), 0
            match = None if i is None else next(
                (e for e in self.edges_into.get(i, [])
                 if e not in used and self.edges[e][0] == src and self.edges[e][3] == out_nr), None)
            if src is not None and match is not None:
                used.add(match)
                items.append({"edge": f"e{match}"})
            else:   # requires grad, but this op sends no gradient to it (or runs under no_grad)
                item = {"const": self.leaf_name_of.get(id(arg.tensor)), "value": self.summaries(arg.tensor, heat=True)}
                if i is None and src is not None:
                    item["from"] = f"n{src}"
                items.append(item)
        return items

    def run_backward(self, run: Callable[[], Any]) -> Any:
        """Run ``run()`` with hooks on every node: the firing order, the gradient arriving at
        each node and the gradient sent along each edge."""
        self.order: list[int] = []
        self.arrived: dict[int, list] = {}
        self.sent: dict[int, list] = {}
        order, arrived, sent = self.order, self.arrived, self.sent
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
            for i, fn in enumerate(self.nodes):
                handles.append(fn.register_prehook(make_pre(i)))
                if not _is_leaf_node(fn):
                    handles.append(fn.register_hook(make_post(i)))
            return run()
        finally:
            for h in handles:
                h.remove()

    def _edge_grad(self, e):
        src, dst, slot, _ = self.edges[e]
        grads = self.sent.get(dst)
        return grads[slot] if grads is not None and slot < len(grads) else None

    def assemble(self, has_module: bool) -> dict:
        """The trace body (docs/formats.md) without schema, title and description."""
        nodes, edges, arrived = self.nodes, self.edges, self.arrived
        # summaries are the costly part of a captured step: a gradient the engine passed on
        # unchanged (one consumer) is summarised once, for the edge and for the node it reached
        edge_grads = [self._edge_grad(e) for e in range(len(edges))]
        # the gradient along an edge from a leaf is a parameter's: heatmaps draw a 4-d one by filter
        summary = self.summaries   # the hooks' gradients are private copies: no second clone
        edge_summary = [summary(g, heat=True, kernels=_is_leaf_node(nodes[edges[e][0]]), private=True)
                        for e, g in enumerate(edge_grads)]
        uses: dict[int, list[int]] = {}
        for e, (src, dst, slot, out_nr) in enumerate(edges):
            uses.setdefault(src, []).append(e)

        def node_grad(i: int) -> dict | None:
            grads = arrived.get(i)
            if not grads:
                return None
            g, only = grads[0], uses.get(i, [])
            if len(only) == 1 and edges[only[0]][3] == 0 and _same(g, edge_grads[only[0]]):
                return edge_summary[only[0]]
            return summary(g, heat=True, kernels=_is_leaf_node(nodes[i]), private=True)

        node_grads = {i: node_grad(i) for i in range(len(nodes))}
        out_nodes = []
        for i, fn in enumerate(nodes):
            op = type(fn).__name__
            is_leaf = _is_leaf_node(fn)
            rec = self.recorder.node_record.get(fn)
            if is_leaf:
                name = self.node_name[i]
                module = name.rpartition(".")[0] if has_module else ""
            else:
                name = self.step_name.get(fn)
                module = rec.module if rec is not None else ""
            out_nodes.append({
                "id": f"n{i}",
                "op": op,
                "label": self.node_name[i] if is_leaf else op_label(op),
                "kind": "loss" if i == 0 else ("leaf" if is_leaf else "op"),
                "seq": None if is_leaf else fn._sequence_nr() - self.seq_base,
                "aten": rec.aten if (rec is not None and not is_leaf) else None,
                "module": module,
                "name": name,
                "value": self.leaf_values[i] if is_leaf else (rec.value if rec is not None else None),
                "grad": node_grads[i],
                "inputs": self.node_inputs.get(i, []),
                "attrs": self.attrs[i],
            })
        for k, rec in enumerate(self.frozen):
            label = _frozen_label(rec.aten)
            out_nodes.append({"id": f"n{len(nodes) + k}", "op": label, "label": label, "kind": "frozen",
                              "seq": None, "aten": rec.aten, "module": rec.module, "name": None,
                              "value": rec.value, "grad": None, "inputs": self.frozen_inputs[k], "attrs": {}})

        out_edges = [{"id": f"e{e}", "from": f"n{src}", "to": f"n{dst}", "slot": slot,
                      "output": out_nr, "grad": edge_summary[e]}
                     for e, (src, dst, slot, out_nr) in enumerate(edges)]

        backward = [{"step": k, "node": f"n{i}",
                     "edges": [f"e{e}" for e in self.edges_into.get(i, []) if self._edge_grad(e) is not None]}
                    for k, i in enumerate(self.order)]

        groups: dict[tuple[int, int], list[int]] = {}
        for e, (src, dst, slot, out_nr) in enumerate(edges):
            groups.setdefault((src, out_nr), []).append(e)
        fanout = []
        for (src, out_nr), es in sorted(groups.items()):
            if len(es) < 2:
                continue
            total = None
            for e in es:
                g = self._edge_grad(e)
                if g is not None:
                    total = g.clone() if total is None else total + g
            # kept like the edges' own gradients (values within the budget, a heat preview
            # beyond it), so each part and the sum can be checked and drawn alike
            fanout.append({"node": f"n{src}", "edges": [f"e{e}" for e in es],
                           "sum": summary(total, heat=True, kernels=_is_leaf_node(nodes[src]), private=True)})

        leaves = []
        for name, t in self.named_leaves.items():
            i = self.leaf_node_of.get(id(t))
            g = t.grad
            if self.had_grad[name]:
                # .grad also holds earlier passes' gradients: show this pass's, as it arrived
                g = arrived[i][0] if i is not None and arrived.get(i) else None
            arrived_here = arrived[i][0] if i is not None and arrived.get(i) else None
            leaves.append({"name": name, "node": f"n{i}" if i is not None else None, "shape": list(t.shape),
                           "value": self.leaf_values[i] if i is not None else summary(t),
                           "grad": node_grads[i] if _same(g, arrived_here) else summary(g, heat=True, kernels=True)})
        named = {id(t) for t in self.named_leaves.values()}
        for i, t in self.leaf_tensor.items():
            if id(t) not in named:
                leaves.append({"name": self.node_name[i], "node": f"n{i}", "shape": list(t.shape),
                               "value": self.leaf_values[i], "grad": summary(t.grad, heat=True, kernels=True)})

        roles = self.roles
        inputs = []
        for n, t in self.constants.items():
            item = {"name": n, "shape": list(t.shape), "value": summary(t, heat=True)}
            if n in roles:
                item["role"] = roles[n]
            inputs.append(item)

        return {
            "nodes": out_nodes,
            "edges": out_edges,
            "backward": backward,
            "fanout": fanout,
            "loss": {"node": "n0", "value": summary(self.loss)},
            "leaves": leaves,
            "inputs": inputs,
        }


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
    with Capture(built) as capture:
        loss = built.run()
        capture.backward(loss, lambda: _user_backward(loss))
    out = {"schema": SCHEMA, "title": title or "", "description": description or "", **capture.body}
    if training:
        from .train import train_steps
        out["train"] = train_steps(built, loss, train, capture.body)
    return out
