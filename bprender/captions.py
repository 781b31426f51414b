"""Captions: what the band under the graph says at each moment, from the title card through
every backward step (the chain rule with real numbers) to the final gradients."""
from __future__ import annotations

from .chain_rule import Symbols, fanin_line, step_lines
from .fmt import summary_text
from .graph_view import ViewGraph
from .style import Sizes
from .timeline import Timing

FADE = 0.2  # seconds for a caption to fade in


def build_captions(trace, graph: ViewGraph, timing: Timing, sizes: Sizes, fonts, width, height, colors) -> dict:
    font = sizes.font(19)
    max_w = width - 2 * sizes.px(40) - 2 * sizes.px(18)
    producer = {e.id: e.src for e in graph.edges}
    symbols = Symbols(graph, producer)
    fanout = {f["node"]: f for f in trace.get("fanout", [])}
    edge_grad = {e["id"]: e.get("grad") for e in trace["edges"]}
    items = []

    def add(t0, t1, lines):
        items.append({"t0": round(t0, 6), "t1": round(t1, 6),
                      "lines": [fit_text(line, font, max_w, fonts) for line in lines[:3]]})

    phase = {p["name"]: p for p in timing.phases}
    add(phase["intro"]["t0"], phase["intro"]["t1"],
        [trace.get("description") or "A forward pass, then backpropagation through it.",
         "First the forward pass: every op computes its value from its inputs."])
    add(phase["forward"]["t0"], phase["forward"]["t1"], ["Forward pass: values flow from the inputs to the loss."])
    loss = trace["loss"]
    add(phase["loss"]["t0"], phase["loss"]["t1"], [f"The loss: L = {summary_text(loss['value'])}",
                                                   "Backward pass next: the engine starts from ∂L/∂L = 1."])
    steps = {s["node"]: s for s in trace["backward"]}
    for k, (node_id, t) in enumerate(timing.backward):
        sends = [(producer[eid], _slot(trace, eid), edge_grad[eid]) for eid in steps[node_id]["edges"]]
        lines = []
        if node_id in fanout:
            f = fanout[node_id]
            lines.append(fanin_line(symbols, node_id, [edge_grad[eid] for eid in f["edges"]], f["sum"]))
        lines += step_lines(symbols, node_id, graph.node(node_id).grad, sends)
        if len(lines) > 3:
            lines = lines[:2] + [f"… and {len(lines) - 2} more edges"]
        end = timing.backward[k + 1][1] if k + 1 < len(timing.backward) else phase["backward"]["t1"]
        add(t, end, lines)
    leaves = trace.get("leaves", [])
    summary = ", ".join(f"∂L/∂{leaf['name']} = {summary_text(leaf['grad'])}" for leaf in leaves[:4])
    if len(leaves) > 4:
        summary += f", … ({len(leaves)} leaves)"
    add(phase["end"]["t0"], phase["end"]["t1"] + 1.0, ["Gradients ready: " + summary if leaves else "Done."])
    band_h = sizes.text_px(19) * 4.2
    return {"font": font, "line_height": round(sizes.text_px(19) * 1.35, 2),
            "x": sizes.px(40), "y": round(height - band_h - sizes.px(16), 2), "w": width - 2 * sizes.px(40),
            "h": round(band_h, 2), "pad": sizes.px(18), "radius": sizes.px(10), "fade": FADE,
            "fill": colors["caption_fill"], "color": colors["caption_text"], "items": items}


def _slot(trace, edge_id) -> int:
    """Which operand of the consumer's forward op this edge feeds (constants count too)."""
    edge = next(e for e in trace["edges"] if e["id"] == edge_id)
    consumer = next(n for n in trace["nodes"] if n["id"] == edge["to"])
    for position, inp in enumerate(consumer.get("inputs") or []):
        if inp.get("edge") == edge_id:
            return position
    return edge.get("slot", 0)


def fit_text(text: str, font: str, max_w: float, fonts) -> str:
    """Shorten a line with an ellipsis until it fits (measured with the real font)."""
    if not text or fonts.measure(text, font) <= max_w:
        return text
    while len(text) > 4 and fonts.measure(text + "…", font) > max_w:
        text = text[:-1]
    return text.rstrip() + "…"
