"""Layered layout: forward direction left to right, the loss in the rightmost column.

igraph's Sugiyama layout orders the nodes inside each column to reduce crossings and routes
long edges through dummy points; we choose the columns ourselves (as late as possible, so a
leaf sits next to the op that uses it) and turn the routes into smooth cubic curves.
"""
from __future__ import annotations

from dataclasses import dataclass

import igraph

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    x: float  # centre
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    routes: dict[str, list[list[float]]]  # edge id -> [x0, y0, c1x, c1y, c2x, c2y, x1, y1] segments


def columns(node_ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Column of each node: the longest forward path from it to a sink, counted from the right."""
    consumers: dict[str, list[str]] = {n: [] for n in node_ids}
    for src, dst in edges:
        consumers[src].append(dst)
    depth: dict[str, int] = {}

    def dist(node: str) -> int:  # iterative DFS: graphs can be deeper than Python's recursion limit
        stack = [(node, False)]
        while stack:
            current, expanded = stack.pop()
            if current in depth:
                continue
            if expanded:
                depth[current] = 1 + max((depth[c] for c in consumers[current]), default=-1)
                continue
            stack.append((current, True))
            stack.extend((c, False) for c in consumers[current] if c not in depth)
        return depth[node]

    for n in node_ids:
        dist(n)
    deepest = max(depth.values(), default=0)
    return {n: deepest - depth[n] for n in node_ids}


def _separated(along: list[float], column_of: list[int]) -> list[float]:
    """Positions inside each column at least 1 apart, order kept: igraph's placement can put
    two boxes of one column closer than that."""
    out = list(along)
    by_column: dict[int, list[int]] = {}
    for i, c in enumerate(column_of):
        by_column.setdefault(c, []).append(i)
    for members in by_column.values():
        members.sort(key=lambda i: (out[i], i))
        for prev, cur in zip(members, members[1:]):
            out[cur] = max(out[cur], out[prev] + 1.0)
    return out


class DoesNotFit(Exception):
    """The graph needs more room than the area: `ratio` (< 1) is how much smaller it must get."""

    def __init__(self, ratio: float):
        super().__init__(f"needs to shrink to {ratio:.2f}")
        self.ratio = ratio


def layered_layout(node_ids: list[str], sizes: dict[str, tuple[float, float]],
                   edges: list[tuple[str, str, str]], area: tuple[float, float, float, float],
                   gaps: tuple[float, float], max_gaps: tuple[float, float], round_nodes: bool = False) -> Layout:
    """Place nodes (centre boxes) inside area=(left, top, width, height) and route edges.

    edges are (edge id, src, dst) in the forward direction. Columns are as wide as their
    widest box and at least gaps[0] apart; rows at least gaps[1]. Spare room widens the gaps up
    to max_gaps, so a small graph stays compact in the middle. A long, thin graph (a deep
    network) wraps into bands read like lines of text, each edge that crosses to the next band
    sweeping back through the gap between them. Raises DoesNotFit.
    """
    index = {n: i for i, n in enumerate(node_ids)}
    column = columns(node_ids, [(s, d) for _, s, d in edges])
    graph = igraph.Graph(n=len(node_ids), edges=[(index[s], index[d]) for _, s, d in edges], directed=True)
    result = graph.layout_sugiyama(layers=[column[n] for n in node_ids], maxiter=200)
    along = _separated([c[0] for c in result.coords[:len(node_ids)]], [column[n] for n in node_ids])
    routing = [list(result.edge_routing[k]) if k < len(result.edge_routing) else [] for k in range(len(edges))]
    n_columns = max(column.values(), default=0) + 1

    left, top, width, height = area
    col_w = [0.0] * n_columns
    col_lo, col_hi = [float("inf")] * n_columns, [float("-inf")] * n_columns
    for n in node_ids:
        c = column[n]
        col_w[c] = max(col_w[c], sizes[n][0])
        col_lo[c], col_hi[c] = min(col_lo[c], along[index[n]]), max(col_hi[c], along[index[n]])
    for points in routing:
        for pos, layer in points:
            c = int(layer)
            col_lo[c], col_hi[c] = min(col_lo[c], pos), max(col_hi[c], pos)
    tallest = max((h for _, h in sizes.values()), default=0.0)
    band_gap = 2 * gaps[1] + tallest * 0.25
    bands, ratio = _choose_bands(col_w, col_lo, col_hi, width, height, gaps, tallest, band_gap)
    if ratio < 1.0:
        raise DoesNotFit(ratio)

    band_of = [0] * n_columns
    for b, (first, last) in enumerate(bands):
        for c in range(first, last + 1):
            band_of[c] = b
    spans = [(min(col_lo[first:last + 1]), max(col_hi[first:last + 1])) for first, last in bands]
    widths = [sum(col_w[first:last + 1]) for first, last in bands]
    spare_x = min(width - w - gaps[0] * (last - first) for w, (first, last) in zip(widths, bands))
    most_columns = max(last - first for first, last in bands)
    # wrapped bands keep room at both sides for the return sweeps' turns (inside the area)
    reserve = min(gaps[0] * 0.8, max(spare_x, 0.0) / 2) if len(bands) > 1 else 0.0
    col_gap = min(max_gaps[0], gaps[0] + (spare_x - 2 * reserve) / max(most_columns, 1))
    rows = sum(hi - lo for lo, hi in spans)
    spare_y = height - tallest * len(bands) - (tallest + gaps[1]) * rows - band_gap * (len(bands) - 1)
    row_pitch = min(max_gaps[1] + tallest, tallest + gaps[1] + spare_y / max(rows, 1.0))

    centres = [0.0] * n_columns
    for (first, last), w in zip(bands, widths):
        x = left + (width - (w + col_gap * (last - first))) / 2 if len(bands) == 1 else \
            left + reserve + (width - 2 * reserve - max(wd + col_gap * (l - f) for wd, (f, l) in zip(widths, bands))) / 2
        for c in range(first, last + 1):
            centres[c] = x + col_w[c] / 2
            x += col_w[c] + col_gap
    heights = [tallest + row_pitch * (hi - lo) for lo, hi in spans]
    band_top = [top + (height - sum(heights) - band_gap * (len(bands) - 1)) / 2]
    for h in heights[:-1]:
        band_top.append(band_top[-1] + h + band_gap)

    def place(col: float, pos: float) -> Point:
        c = int(col)
        b = band_of[c]
        return (round(centres[c], 2), round(band_top[b] + tallest / 2 + (pos - spans[b][0]) * row_pitch, 2))

    boxes = {}
    for n in node_ids:
        x, y = place(column[n], along[index[n]])
        boxes[n] = Box(x, y, sizes[n][0], sizes[n][1])

    out_ports = _ports(edges, boxes, end="src", round_nodes=round_nodes)
    in_ports = _ports(edges, boxes, end="dst", round_nodes=round_nodes)
    routes = {}
    for k, (eid, src, dst) in enumerate(edges):
        b_src, b_dst = band_of[column[src]], band_of[column[dst]]
        if b_src == b_dst:
            points = [out_ports[eid], *(place(p[1], p[0]) for p in routing[k]), in_ports[eid]]
            routes[eid] = [_smooth_segment(p, q) for p, q in zip(points, points[1:])]
        else:
            gap_y = band_top[b_src] + heights[b_src] + band_gap / 2
            routes[eid] = _return_sweep(out_ports[eid], in_ports[eid], gap_y, col_gap * 0.8, (left, left + width))
    return Layout(boxes, routes)


def _choose_bands(col_w, col_lo, col_hi, width, height, gaps, tallest, band_gap):
    """Split the columns into the number of bands that lets the graph be drawn largest:
    ([(first column, last column), ...], the scale it needs, >= 1 when it fits as is)."""
    n = len(col_w)
    best = None
    for count in range(1, min(n, 8) + 1):
        bands = _split(col_w, count, gaps[0])
        band_w = max(sum(col_w[f:l + 1]) + gaps[0] * (l - f) for f, l in bands)
        band_h = [tallest + (tallest + gaps[1]) * (max(col_hi[f:l + 1]) - min(col_lo[f:l + 1])) for f, l in bands]
        need_h = sum(band_h) + band_gap * (count - 1)
        ratio = min(width / max(band_w, 1e-9), height / max(need_h, 1e-9))
        if ratio >= 1.0:
            return bands, ratio  # the fewest bands that fit
        if best is None or ratio > best[1] * 1.05:  # more bands only when clearly better
            best = (bands, ratio)
    return best


def _split(col_w: list[float], count: int, gap: float) -> list[tuple[int, int]]:
    """Contiguous runs of columns of about equal width."""
    total = sum(col_w) + gap * (len(col_w) - 1)
    bands, first, acc = [], 0, 0.0
    for c, w in enumerate(col_w):
        acc += w + (gap if c > first else 0.0)
        remaining = len(col_w) - c - 1
        if len(bands) < count - 1 and acc >= total / count and remaining >= count - len(bands) - 1:
            bands.append((first, c))
            first, acc = c + 1, 0.0
    bands.append((first, len(col_w) - 1))
    return bands


def _return_sweep(p: Point, q: Point, gap_y: float, reach: float, span: tuple[float, float]) -> list[list[float]]:
    """An edge to the next band: out to the right, down into the gap, back left along it, and
    in from the left, like a typewriter's carriage return. Its turns stay inside span (the
    area's left and right): a full-width band's first and last columns sit at the area's edges,
    and a turn a whole column gap beyond them would leave the frame's margins. A bezier's
    control points bound it, so keeping them inside keeps the curve inside."""
    least = min(reach, 6.0)   # a turn needs some room, or the end's tangent (its arrowhead) is lost
    out = max(least, min(reach, span[1] - p[0]))
    back = max(least, min(reach, q[0] - span[0]))
    g1 = (p[0], gap_y)
    g2 = (q[0], gap_y)
    third = (g1[0] - g2[0]) / 3
    return [[p[0], p[1], round(p[0] + out, 2), p[1], round(p[0] + out, 2), gap_y, g1[0], gap_y],
            [g1[0], gap_y, round(g1[0] - third, 2), gap_y, round(g2[0] + third, 2), gap_y, g2[0], gap_y],
            [g2[0], gap_y, round(q[0] - back, 2), gap_y, round(q[0] - back, 2), q[1], q[0], q[1]]]


def _ports(edges, boxes: dict[str, Box], end: str, round_nodes: bool = False) -> dict[str, Point]:
    """Where each edge leaves (right side) or enters (left side) a box, spread over its height
    in the order of the node at the other end, so parallel edges do not sit on each other."""
    by_node: dict[str, list[tuple[float, str]]] = {}
    for eid, src, dst in edges:
        here, there = (src, dst) if end == "src" else (dst, src)
        by_node.setdefault(here, []).append((boxes[there].y, eid))
    ports = {}
    for node, items in by_node.items():
        box = boxes[node]
        items.sort()
        side = 1.0 if end == "src" else -1.0
        spread = box.h * 0.6
        for i, (_, eid) in enumerate(items):
            offset = 0.0 if len(items) == 1 else spread * (i / (len(items) - 1) - 0.5)
            half = box.w / 2
            if round_nodes:  # on the circle itself, not on its bounding box
                half = max(half * half - offset * offset, 0.0) ** 0.5
            ports[eid] = (round(box.x + side * half, 2), round(box.y + offset, 2))
    return ports


def _smooth_segment(p: Point, q: Point) -> list[float]:
    """A cubic from p to q leaving and arriving horizontally: chained segments join smoothly."""
    dx = (q[0] - p[0]) / 2
    return [p[0], p[1], round(p[0] + dx, 2), p[1], round(q[0] - dx, 2), q[1], q[0], q[1]]


def sample_route(route: list[list[float]], steps_per_segment: int = 12) -> list[float]:
    """The route as a polyline [x0, y0, x1, y1, ...] for moving particles at even speed."""
    points = [route[0][0], route[0][1]]
    for x0, y0, c1x, c1y, c2x, c2y, x1, y1 in route:
        for i in range(1, steps_per_segment + 1):
            t = i / steps_per_segment
            u = 1 - t
            a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
            points.append(round(a * x0 + b * c1x + c * c2x + d * x1, 2))
            points.append(round(a * y0 + b * c1y + c * c2y + d * y1, 2))
    return points


def point_along(poly: list, cum: list, fraction: float) -> tuple[float, float]:
    """The point at `fraction` of the polyline's length."""
    target = fraction * cum[-1]
    i = 1
    while i < len(cum) - 1 and cum[i] < target:
        i += 1
    span = cum[i] - cum[i - 1]
    u = 0.0 if span <= 0 else (target - cum[i - 1]) / span
    u = min(1.0, max(0.0, u))
    x = poly[2 * i - 2] + (poly[2 * i] - poly[2 * i - 2]) * u
    y = poly[2 * i - 1] + (poly[2 * i + 1] - poly[2 * i - 1]) * u
    return x, y
