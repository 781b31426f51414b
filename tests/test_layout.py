"""The layered layout's wrapped bands: a chain too long for one row wraps like lines of text,
and the edges that cross to the next band (the return sweeps) turn inside the area, never in
the frame's margins or off it."""
from __future__ import annotations

import pytest

from bprender.layout import layered_layout


@pytest.mark.parametrize("n,width", [(12, 700.0), (20, 900.0), (9, 520.0)])
def test_return_sweeps_turn_inside_the_area(n, width):
    ids = [f"n{k}" for k in range(n)]
    sizes = {i: (90.0, 40.0) for i in ids}
    edges = [(f"e{k}", ids[k], ids[k + 1]) for k in range(n - 1)]
    area = (40.0, 100.0, width, 600.0)
    layout = layered_layout(ids, sizes, edges, area, gaps=(30.0, 18.0), max_gaps=(60.0, 40.0))
    rows = {round(b.y) for b in layout.boxes.values()}
    assert len(rows) >= 2, "the chain should wrap into bands"
    sweeps = [eid for eid, _, dst in edges if len(layout.routes[eid]) == 3]
    assert sweeps, "an edge crosses to the next band"
    left, right = area[0], area[0] + area[2]
    for eid, route in layout.routes.items():
        xs = [x for seg in route for x in seg[0::2]]
        assert left <= min(xs) and max(xs) <= right, (eid, min(xs), max(xs))
    for eid in sweeps:   # the turn keeps room: its last control point is left of the port
        last = layout.routes[eid][-1]
        assert last[4] < last[6]
