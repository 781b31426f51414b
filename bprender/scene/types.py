"""The Scene's shape, as TypedDicts: what scene/build.py and scene/compose.py produce, what
both painters read, and (through bprender/schemas/) the JSON Schema a saved scene is checked
against. docs/formats.md explains each field; here each field says what it is in a few words.

Conventions: lengths and positions are CSS pixels of the frame (origin top left); times are
seconds; every colour is a Role, looked up in the current theme's palette at paint time; a
Track is keyframes [t, value] eased by smoothstep, holding outside its keys, two keys at one
time being a jump (tracks.py). Every string is final: formatted and fitted to its room.
"""

from typing import Literal, Optional, Tuple, TypedDict

try:
    from typing import NotRequired
except ImportError:  # Python 3.10
    from typing_extensions import NotRequired

Keyframe = Tuple[float, float]   # [t, value]
Track = list[Keyframe]
Role = Literal["background", "panel", "text", "muted", "node_fill", "node_stroke", "leaf_fill", "const_fill",
               "edge_idle", "forward", "forward_glow", "loss", "positive", "negative", "zero", "nonfinite",
               "flag", "magnitude", "heat_mid", "heat_seq", "caption_fill", "caption_text",
               # caption text tinted like a mark (scene/themes.py: the mark colour made readable on the band)
               "caption_positive", "caption_negative", "caption_zero", "caption_nonfinite", "caption_flag",
               "caption_magnitude", "caption_forward_glow"]
Palette = dict[str, str]         # role -> CSS colour ("#rrggbb"); every palette defines every Role


class Font(TypedDict):
    family: str                  # the CSS family name the scene's fonts use
    weight: int                  # 400 regular, 600 bold
    file: str                    # "bundled:NAME" (a font shipped with bprender) or a path


class Phase(TypedDict):
    name: str                    # intro, forward, loss, backward, update, train, end
    label: str                   # shown in the header while the phase is under way
    t0: float
    t1: float


class Event(TypedDict):
    t: float                     # when it starts: the player's jumps, --only and --at
    name: str                    # a phase name, backward:K (backward step K+1) or step:K (training)
    label: str
    repeat_of: NotRequired[str]  # a backward step told briefly: the event that said its rule in full


class Text(TypedDict):
    text: str
    x: float
    y: float                     # the alphabetic baseline
    font: str                    # CSS font shorthand, e.g. "600 17.0px bprender-sans"
    color: Role


class PhaseLabel(TypedDict):
    x: float                     # right-aligned at x
    y: float
    font: str
    color: Role
    texts: list[str]             # one label per phase
    track: Track                 # which of texts shows: count_track of the phases' starts


class LegendEntry(TypedDict):
    text: str
    color: Role
    x: float
    y: float
    dot_x: float
    dot_y: float
    r: float


class Header(TypedDict):
    texts: list[Text]            # the title, then the description's lines
    phase: PhaseLabel
    legend: list[LegendEntry]
    legend_font: str


class NodeLine(TypedDict):
    text: str                    # centred on the node's x
    font: str
    px: float                    # the font's size: a camera hides what it would draw under the floor
    w: float                     # the widest of its strings: a camera hides it unless wholly in view
    color: Role
    y: float
    track: str                   # the node track that is its opacity ("" = always shown)
    texts: NotRequired[list[str]]  # training: one string per step, picked by the scene's train track


class NodeInfo(TypedDict):
    label: str                   # the node's name (--highlight takes it)
    value: str
    grad: str
    module: str
    lines: list[str]             # the player's tooltip


class NodeTracks(TypedDict):
    lit: Track                   # forward value shown (opacity of the value line)
    pulse: Track                 # forward ring
    grad: NotRequired[Track]     # gradient arrived (border and gradient line)
    gpulse: NotRequired[Track]   # gradient ring
    update: NotRequired[Track]   # training: old -> new line


class GlyphImage(TypedDict):
    x: float                     # where it is drawn (top left) and how big
    y: float
    w: float
    h: float
    cols: int                    # its pixels: one per cell, drawn nearest-neighbour
    rows: int
    map: Literal["signed", "positive"]  # heat_mid -> sign colours, or heat_mid -> heat_seq
    cells: list[int]             # row-major levels: -100..100 (0..100 positive), 101 NaN/±Inf, 102 transparent
    tips: NotRequired[list[str]]  # the heatmap's: the player's tooltip line per pixel ("" none); [] too many cells


class GlyphText(TypedDict):
    text: str                    # the range, and "pooled 4×4", "+ n more" where so
    x: float                     # centred on x
    y: float                     # the alphabetic baseline
    font: str
    px: float                    # as a NodeLine's: hidden under the type floor or unless wholly in view
    w: float
    color: Role


class Glyph(TypedDict):
    track: Literal["lit", "grad"]  # the node track that is its opacity: the value, or the gradient
    px: float                    # its cells' legibility size (4 cells): hidden, as a text of px, under the type floor
    cell: float                  # a cell's side
    box: list[float]             # x, y, w, h around its images: hidden unless wholly in view
    images: list[GlyphImage]     # the heatmap (channels side by side), then its scale bar
    frames: list[list[float]]    # x, y, w, h of each channel's image: a hairline around it
    frame_color: Role
    frame_width: float
    text: GlyphText
    labels: NotRequired[list[GlyphText]]  # an attention matrix's token labels (t₁ ...): keys on top, queries left


class Node(TypedDict):
    id: str
    kind: Literal["loss", "op", "leaf", "const", "frozen"]
    x: float                     # centre
    y: float
    w: float
    h: float
    radius: float                # corner radius (w / 2: a round neuron)
    fill: Role
    stroke: Role
    stroke_width: float
    dash: list[float]            # the border's dash pattern ([] solid)
    grad_stroke_width: float
    ring_width: float
    ring_gap: float
    ring_color: Role
    grad_color: Role             # the gradient's sign (or the vanishing/exploding flag)
    lines: list[NodeLine]
    tracks: NodeTracks
    info: NodeInfo
    reach: list[str]             # the nodes on its gradient paths to the loss (highlighting)
    group: str                   # the legend group that hides it
    glyphs: NotRequired[list[Glyph]]  # a tensor's heatmaps below its text: value, then gradient


class EdgeLabel(TypedDict):
    text: str
    texts: NotRequired[list[str]]  # training: the label at every step, picked by the step
    font: str
    px: float
    color: Role
    fill: Role
    stroke: Role
    w: float
    h: float
    radius: float
    x: float                     # the text's centre and baseline
    y: float
    box: list[float]             # x, y, w, h of the box around it


class EdgeTracks(TypedDict):
    fwd: NotRequired[Track]      # forward value travelling (stroke opacity)
    bwd: NotRequired[Track]      # gradient travelling
    label: NotRequired[Track]    # the gradient label


# the forward direction, producer -> consumer, as node ids ("from" is a Python keyword)
EdgeEnds = TypedDict("EdgeEnds", {"from": str, "to": str})


class Edge(EdgeEnds):
    id: str
    route: list[list[float]]     # cubic segments [x0, y0, c1x, c1y, c2x, c2y, x1, y1]
    poly: list[float]            # the route sampled: x0, y0, x1, y1, ...
    cum: list[float]             # arc length at each point of poly
    idle_color: Role
    idle_width: float
    dash: list[float]            # dashed: no gradient flows along it
    forward_color: Role
    forward_width: float
    arrow: list[float]           # the arrow head's three corners
    tracks: EdgeTracks
    grad_color: NotRequired[Role]
    grad_width: NotRequired[float]
    grad_alpha: NotRequired[float]   # the gradient stroke's opacity: the magnitude scale
    label: NotRequired[EdgeLabel]


class Particle(TypedDict):
    edge: int                    # index into edges
    track: Track                 # progress 0 -> 1 along the edge; drawn only within its keys
    reverse: bool                # gradients run from the consumer back to the producer
    color: Role
    radius: float
    alpha: float                 # opacity: the magnitude scale (1 for forward particles)


class CaptionSpan(TypedDict):
    text: str                    # one term of a chain-rule formula, or the plain text around it
    x: float                     # from the line's start: the width of the line's text before it
    color: Role                  # upstream: its edge's sign; local: the op's; result: the target's
    track: Track                 # opacity within the item's: upstream, then local, then result


class CaptionItem(TypedDict):
    lines: list[str]             # at most three, each fitted to the band
    track: Track                 # opacity: fades in, shows, then is gone
    # a backward step's: each line as spans concatenating to it ([] a plain line); all fully
    # shown by the step's settle moment (lecture.settle_time)
    spans: NotRequired[list[list[CaptionSpan]]]


class Captions(TypedDict):
    x: float
    y: float
    w: float
    h: float
    radius: float
    pad: float
    line_height: float
    font: str
    fill: Role
    color: Role
    items: list[CaptionItem]


class ChartRow(TypedDict):
    label: str
    value: str
    y: float
    h: float
    w: float                     # the full bar's length
    color: Role
    text_y: float
    track: Track                 # the bar grows in when the layer's gradients are done


class Tick(TypedDict):
    x: float
    text: str


class TitleText(TypedDict):
    text: str
    x: float
    y: float


class Chart(TypedDict):
    width: float
    height: float
    font: str
    background: Role
    text: Role
    muted: Role
    grid: Role
    title: TitleText
    label_x: float
    bar_x: float
    value_x: float
    axis_y: float
    tick_y: float
    ticks: list[Tick]
    rows: list[ChartRow]


class CurvePoint(TypedDict):
    x: float
    y: float
    label: str


class YTick(TypedDict):
    y: float
    text: str
    text_y: float


class Point(TypedDict):
    x: float
    y: float


class LossCurve(TypedDict):
    x: float
    y: float
    w: float
    h: float
    radius: float
    background: Role
    border: Role
    grid: Role
    text: Role
    muted: Role
    title_font: str
    font: str
    title: TitleText
    label: Point                 # where the newest point's label goes
    plot: list[float]            # x0, y0, x1, y1 of the plot area
    ytick_x: float
    xtick_y: float
    yticks: list[YTick]
    xticks: list[Tick]
    line_color: Role
    line_width: float
    dot_r: float
    current_r: float
    current_color: Role
    points: list[CurvePoint]     # one per training step
    shown: Track                 # how many points have appeared


class PredictionHead(TypedDict):
    y: float
    texts: list[str]             # "#", "target", "output" (or "class")
    xs: list[float]              # left edge of the first; right edges of the others


class PredictionRow(TypedDict):
    y: float
    label: str                   # the sample's number
    target: str
    texts: list[str]             # the model's output at every training step
    colors: list[Role]           # per step: "text" near the target, "loss" still far


class PlacedText(TypedDict):
    text: str
    x: float
    y: float


class BoundaryDot(TypedDict):
    x: float                     # a training sample's place on the map
    y: float
    level: int                   # its target's level on the map's signed scale (colour: heat_rgba)


class LegendText(TypedDict):
    text: str
    x: float
    y: float
    align: Literal["left", "right"]


class BoundaryLegend(TypedDict):
    font: str
    px: float
    color: Role
    texts: list[LegendText]      # what the colour means (under the map); what the dots are (title line)


class Boundary(TypedDict):
    """A two-feature model's output over its input plane (scene/boundary.py)."""
    px: float                    # its cell size times CELL_RATIO (legibility, as a glyph's)
    images: list[GlyphImage]     # one per training step, all at one place; map "signed"
    bar: GlyphImage              # the map's scale, under it
    frame: list[float]           # x, y, w, h of the map's outline
    frame_color: Role
    frame_width: float
    dots: list[BoundaryDot]      # the training samples
    dot_r: float
    dot_ring: Role               # each dot's outline
    dot_ring_width: float
    legend: BoundaryLegend


class Predictions(TypedDict):
    x: float
    y: float
    w: float
    h: float
    radius: float
    track: Track                 # opacity: shown once step 1's output exists
    background: Role
    border: Role
    text: Role
    muted: Role
    title_font: str
    font: str
    px: float
    title: TitleText
    head: PredictionHead
    rows: list[PredictionRow]
    more: Optional[PlacedText]   # "… 12 more" when not every sample fits
    boundary: NotRequired[Boundary]  # a two-feature model's decision boundary beside the rows


class CameraTrack(TypedDict):
    x: Track                     # the centre of the view, in graph coordinates
    y: Track
    zoom: Track                  # 1: text at its made size; the overview is smaller


class Inset(TypedDict):
    x: float                     # the overview inset's box, in the frame
    y: float
    w: float
    h: float
    pad: float
    scale: float                 # graph units -> inset pixels
    origin: list[float]          # the graph's top left corner
    zoom_from: float             # shown when the camera is closer than this
    boxes: list[list[float]]     # every node's box, already in inset pixels


class Camera(TypedDict):
    x: float                     # the view: the part of the frame the graph layer is drawn in
    y: float
    w: float
    h: float
    floor: float                 # the type floor in px: no text is drawn smaller
    track: CameraTrack
    inset: Inset


class Train(TypedDict):
    steps: int
    track: Track                 # which step's strings the nodes show (0 = step 1)


class Scene(TypedDict):
    schema: Literal["bprender.scene/2"]
    title: str
    width: int
    height: int
    fps: int                     # the frame rate it was made for (a frame is the same at any rate)
    duration: float
    fonts: list[Font]
    theme: str                   # the palette used when the view names none
    palettes: dict[str, Palette]  # light, dark, colorblind
    header: Header
    phases: list[Phase]
    events: list[Event]
    # presentation mode's stops: a moment into each event, its caption fully shown (lecture.stop_times);
    # a scene saved before stops existed has none (the player then stops at the events' starts)
    stops: NotRequired[list[float]]
    nodes: list[Node]
    edges: list[Edge]
    particles: list[Particle]
    captions: Captions
    view: Literal["ops", "neurons", "modules"]
    groups: list[str]            # legend groups, in order
    chart: Chart                 # the per-layer gradient-norm chart (the player's second canvas)
    dim: float                   # opacity of what a highlight leaves out
    train: NotRequired[Train]
    loss_curve: NotRequired[LossCurve]
    predictions: NotRequired[Predictions]  # training: the outputs against the targets
    # a graph bigger than its view at reading size is drawn through a camera (without one,
    # graph coordinates are frame coordinates)
    camera: NotRequired[Camera]


class Panel(TypedDict):
    x: float
    y: float
    w: float
    h: float                     # the panel's scene; its chart is drawn below, at y + h
    label: str
    scene: Scene


class Composite(TypedDict):
    schema: Literal["bprender.composite/1"]
    title: str
    width: int
    height: int
    fps: int
    duration: float              # the longest panel's
    fonts: list[Font]
    theme: str
    palettes: dict[str, Palette]
    phases: list[Phase]          # the longest panel's phases, events and stops
    events: list[Event]
    stops: NotRequired[list[float]]
    panels: list[Panel]
    divider: Role                # the hairline between panels (each panel's chart is in its scene)
