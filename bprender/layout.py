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
    to max_gaps, so a small graph stays compact in the middle. Raises DoesNotFit.
    """
    index = {n: i for i, n in enumerate(node_ids)}
    column = columns(node_ids, [(s, d) for _, s, d in edges])
    graph = igraph.Graph(n=len(node_ids), edges=[(index[s], index[d]) for _, s, d in edges], directed=True)
    result = graph.layout_sugiyama(layers=[column[n] for n in node_ids], maxiter=200)
    along = _separated([c[0] for c in result.coords[:len(node_ids)]], [column[n] for n in node_ids])
    n_columns = max(column.values(), default=0) + 1
    lo, hi = min(along, default=0.0), max(along, default=0.0)

    left, top, width, height = area
    col_w = [0.0] * n_columns
    for n in node_ids:
        col_w[column[n]] = max(col_w[column[n]], sizes[n][0])
    tallest = max((h for _, h in sizes.values()), default=0.0)
    spare_x = width - sum(col_w) - gaps[0] * (n_columns - 1)
    spare_y = height - tallest - (tallest + gaps[1]) * (hi - lo)
    if spare_x < 0 or spare_y < 0:
        need_w = sum(col_w) + gaps[0] * (n_columns - 1)
        need_h = tallest + (tallest + gaps[1]) * (hi - lo)
        raise DoesNotFit(min(width / need_w, height / need_h, 1.0))
    col_gap = min(max_gaps[0], gaps[0] + spare_x / max(n_columns - 1, 1))
    row_pitch = min(max_gaps[1] + tallest, tallest + gaps[1] + spare_y / max(hi - lo, 1.0))
    centres, x = [], left + (width - sum(col_w) - col_gap * (n_columns - 1)) / 2
    for w in col_w:
        centres.append(x + w / 2)
        x += w + col_gap
    y0 = top + (height - row_pitch * (hi - lo)) / 2

    def place(col: float, pos: float) -> Point:
        c = int(col)
        return (round(centres[c], 2), round(y0 + (pos - lo) * row_pitch, 2))

    boxes = {}
    for n in node_ids:
        x, y = place(column[n], along[index[n]])
        boxes[n] = Box(x, y, sizes[n][0], sizes[n][1])

    out_ports = _ports(edges, boxes, end="src", round_nodes=round_nodes)
    in_ports = _ports(edges, boxes, end="dst", round_nodes=round_nodes)
    routes = {}
    for k, (eid, src, dst) in enumerate(edges):
        via = [place(p[1], p[0]) for p in result.edge_routing[k]] if k < len(result.edge_routing) else []
        points = [out_ports[eid], *via, in_ports[eid]]
        routes[eid] = [_smooth_segment(p, q) for p, q in zip(points, points[1:])]
    return Layout(boxes, routes)


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
