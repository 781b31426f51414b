"""The trace's shape (`bprender.trace/1`), as TypedDicts: what bprender/trace/ records from
PyTorch, what the views read, and (through bprender/schemas/) the JSON Schema a saved trace
is checked against. docs/formats.md explains each field.

In memory every number is a Python int or float, NaN and infinities included (Real); only
the JSON writer (jsonio.py) spells non-finite floats as the strings "NaN", "Infinity" and
"-Infinity", and documents.py reads them back.
"""
from typing import Annotated, Literal, Optional, TypedDict, Union

try:
    from typing import NotRequired
except ImportError:  # Python 3.10
    from typing_extensions import NotRequired

NON_FINITE = "non-finite as a string in JSON"
# What a trace holds, for the trace cache's key: bumped when capture records something new
# (2: heat; 3: a two-feature model's output over its input plane per training step; 4: values
# kept up to 256 elements, was 64, and a fan-out sum's heat preview)
CONTENT = 4
Real = Annotated[float, NON_FINITE]      # a float that may be NaN or infinite
Number = Union[int, Real]                 # an integer tensor keeps integer min/max/values


class Stats(TypedDict):
    min: Optional[Number]                 # null for an empty tensor
    max: Optional[Number]
    mean: Optional[Real]
    norm: Optional[Real]


class Heat(TypedDict):
    """A tensor cut and pooled for a heatmap glyph (bprender/trace/heat.py)."""
    layout: Literal["strip", "grid", "channels"]   # 1-d; 2-d (3-d: its first sample); (N, C, H, W): channels
    rows: int                             # cells per image, after pooling
    cols: int
    channels: int                         # images: the first sample's first channels (a conv weight's
                                          # first filters, input channel 0); 1 for a strip or grid
    more: int                             # channels not kept
    pool: list[int]                       # [rows, cols] of each max-|x| pooling window; [1, 1]: not pooled
    values: list[Real]                    # channels x rows x cols, row-major; each its window's max-|x| element


class Summary(TypedDict):
    shape: list[int]
    dtype: str                            # "float32", "int64", "bool", ...
    stats: Stats
    values: NotRequired[list[Number]]     # flat, row-major; only for tensors of at most 256 elements
    sample: NotRequired[list[Number]]     # a bigger 2-D tensor's first row (up to 1024 numbers)
    samples: NotRequired[list[list[Number]]]  # its first 4 rows, for --sample
    heat: NotRequired[Heat]               # float tensors of 2+ elements in the graph, edges and fan-out
                                          # sums too (not training steps)


ConstInput = TypedDict("ConstInput", {
    "const": Optional[str],
    "value": Optional[Summary],
    "from": NotRequired[str],             # the node that computed it (frozen) or it was detached from
})


class EdgeInput(TypedDict):
    edge: str                             # the edge from the input's producer


class TraceNode(TypedDict):
    id: str                               # n0 is the loss's grad_fn; breadth-first from it
    op: str                               # the autograd node's class, e.g. PowBackward0
    label: str                            # its short name, e.g. Pow
    kind: Literal["op", "leaf", "loss", "frozen"]  # frozen: a no-gradient op feeding the graph
    seq: Optional[int]                    # sequence number less the graph's smallest; null for leaves
    aten: Optional[str]                   # the forward aten op linked to it
    module: str                           # the module path active in the forward pass
    name: Optional[str]                   # leaves: the parameter's name
    value: Optional[Summary]              # the forward output
    grad: Optional[Summary]               # the gradient arriving (summed over fan-out)
    inputs: list[Union[EdgeInput, ConstInput]]
    attrs: dict[str, Real]                # small saved scalars (exponent, dim, ...)


TraceEdge = TypedDict("TraceEdge", {
    "id": str,
    "from": str,                          # the producer (forward direction)
    "to": str,                            # the consumer
    "slot": int,                          # index in the consumer's next_functions
    "output": int,                        # which output of the producer
    "grad": Optional[Summary],            # the gradient sent along it
})


class BackwardStep(TypedDict):
    step: int
    node: str
    edges: list[str]                      # the edges it sends gradient back along


class Fanout(TypedDict):
    node: str
    edges: list[str]
    sum: Optional[Summary]                # the engine's sum of the edges' gradients


class Loss(TypedDict):
    node: str
    value: Optional[Summary]


class Leaf(TypedDict):
    name: str
    node: Optional[str]
    shape: list[int]
    value: Optional[Summary]
    grad: Optional[Summary]


class Constant(TypedDict):
    name: str
    shape: list[int]
    value: Optional[Summary]
    role: NotRequired[Literal["frozen", "buffer"]]   # model tensors without gradient; absent: an input


class Optimizer(TypedDict):
    name: Literal["sgd", "adam"]
    lr: float
    momentum: NotRequired[float]
    betas: NotRequired[list[float]]
    eps: NotRequired[float]


class StepLeaf(TypedDict):
    name: str
    value: Optional[Summary]
    grad: NotRequired[Optional[Summary]]


class StepNode(TypedDict):
    value: Optional[Summary]
    grad: Optional[Summary]


class TrainStep(TypedDict):
    step: int
    loss: Optional[Summary]
    leaves: list[StepLeaf]
    # a small graph's later steps, captured in full: each node's numbers (in the trace's node
    # order) and each edge's gradient (in edge order); step 1's are the trace's own
    nodes: NotRequired[list[StepNode]]
    edges: NotRequired[list[Optional[Summary]]]
    # a model whose input has two features: its output at every point of Train.plane's grid,
    # with this step's parameters; row-major (row, column, output), rows bottom to top
    plane: NotRequired[list[Real]]


class Plane(TypedDict):
    """The grid of the input plane a two-feature model is evaluated on (trace/boundary.py)."""
    x: list[Real]                         # the first feature's value at each column, left to right
    y: list[Real]                         # the second feature's value at each row, bottom to top
    samples: list[list[Real]]             # the input's first 256 samples, [first, second feature]
    outputs: int                          # numbers per point: 1, or 2 (two classes' logits)


class Train(TypedDict):
    optimizer: Optimizer
    steps: list[TrainStep]
    final: list[StepLeaf]
    plane: NotRequired[Plane]


class CapturedTrace(TypedDict):
    """A captured step's trace in a recording: a Trace without schema, preset and recording."""
    title: str
    description: str
    nodes: list[TraceNode]
    edges: list[TraceEdge]
    backward: list[BackwardStep]
    fanout: list[Fanout]
    loss: Loss
    leaves: list[Leaf]
    inputs: list[Constant]
    modules: NotRequired[dict[str, str]]  # module path -> class name (python models)


class RecordedStep(TypedDict):
    step: int                             # 0, 1, 2... in the order rec.step() ran
    loss: Optional[Real]                  # the step's first backward call's loss; null: none ran
    param_norm: NotRequired[Real]         # Recorder(norms=True)
    grad_norm: NotRequired[Optional[Real]]


class Capture(TypedDict):
    step: int
    trace: CapturedTrace


class Recording(TypedDict):
    steps: list[RecordedStep]
    captures: list[Capture]               # every captured step, the first (the top level) too


class Trace(TypedDict):
    schema: Literal["bprender.trace/1"]
    title: str
    description: str
    nodes: list[TraceNode]
    edges: list[TraceEdge]
    backward: list[BackwardStep]          # the engine's firing order
    fanout: list[Fanout]
    loss: Loss
    leaves: list[Leaf]
    inputs: list[Constant]
    train: NotRequired[Train]
    # python models: module path -> class name of every module called in the forward pass
    modules: NotRequired[dict[str, str]]
    # the preset's presentation sections (view, collapse_views, render, pacing, gif), so a saved
    # trace renders as its preset does; checked by the preset rules when it is read
    preset: NotRequired[dict]
    recording: NotRequired[Recording]     # a run recorded by bprender.Recorder (docs/formats.md)
