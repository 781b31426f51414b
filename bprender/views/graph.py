"""What a view of a trace is: the nodes and edges a viewer sees, and the backward pass as the
steps that viewer watches. Every view (ops, neurons, modules) builds one of these from the
same trace; scene.py turns any of them into a Scene.

Plain data in, plain data out: no torch here (DESIGN rule 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field



@dataclass
class ViewNode:
    id: str
    kind: str             # "loss" | "op" | "leaf" | "const"
    label: str            # the op or the name
    sub: str = ""         # a small second line: unnamed constants, module path
    value: dict | None = None   # forward value summary
    grad: dict | None = None    # gradient arriving at the node (None for constants)
    trace: dict | None = None   # the trace node, for the ops view (None otherwise)
    module: str = ""            # module path, for the tooltip and the legend group
    op: str = ""                # what the node computes, for the tooltip (e.g. AddmmBackward0)
    group: str = ""             # legend group; default: top-level module, else by kind
    flag: str = ""              # "vanishing" / "exploding" when its gradient stands out
    # captions' names for the node's output: `symbol` always (the lecture's z¹, a¹), `word` only
    # where no formula fits (numbered: matmul₁, matmul₂); both "" with PyTorch's names
    symbol: str = ""
    word: str = ""
    # repeated blocks drawn as one node (modules view): one gradient norm per repeat, forward
    # order (its parameters' gradient norm, or without parameters its output's), and the
    # repeats' module paths; empty for any other node
    repeats: list[float] = field(default_factory=list)
    repeat_labels: list[str] = field(default_factory=list)
    # the attention weights the node draws as token x token matrices, (A, ∂L/∂A): the node's own
    # value and gradient for the softmax op itself (ops view), the softmax's inside a module
    # (modules view, beside the module's output); None for any other node
    attention: tuple[dict | None, dict | None] | None = None


@dataclass
class ViewEdge:
    id: str
    src: str              # forward direction: producer
    dst: str              # consumer
    carries_grad: bool
    grad: dict | None = None
    slot: int | None = None


@dataclass
class Step:
    """One backward event as the viewer sees it: `nodes` get their gradient, then gradient
    leaves them along `edges` (toward the inputs); `lines` is the caption, a slot per line:
    a string, or alternatives most detailed first (the scene stage fits them to its band)."""
    nodes: list[str]
    edges: list[str]
    lines: list
    label: str = ""  # short name of the event, for the player's event list
    repeat_of: int | None = None  # a repeat told briefly (views/repeats.py): the step said in full


@dataclass
class ViewGraph:
    kind: str = "ops"
    nodes: list[ViewNode] = field(default_factory=list)
    edges: list[ViewEdge] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)          # the backward pass, in order
    forward: list[list[str]] | None = None  # forward waves (node ids lit together); None: topological
    shape: str = "box"                      # "box", or "circle" (the neuron diagram)
    edge_labels: bool = True                # a gradient label on every edge (off for dense views)
    notes: list[str] = field(default_factory=list)  # extra caption lines for the end (flags)

    _index: dict[str, ViewNode] = field(default_factory=dict, repr=False, compare=False)

    def node(self, node_id: str) -> ViewNode:
        """The node with this id. Views append nodes while they build: the index is rebuilt
        when it has fallen behind the list."""
        if len(self._index) != len(self.nodes) or node_id not in self._index:
            self._index = {n.id: n for n in self.nodes}
        return self._index[node_id]
