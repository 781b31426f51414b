"""Training steps after the traced one: the trace's ``train`` section.

The graph's structure does not change from step to step, so it is captured once (the full
trace is step 1's forward and backward). A later step records the loss and every parameter's
value and gradient. For a small graph (at most FULL_STEP_NODES nodes: the gallery's training
presets) it is captured in full too, so that each shown step's boxes and edge labels show that
step's numbers, not step 1's: the step's ``nodes`` (value and gradient, in the trace's node
order) and ``edges`` (gradients, in edge order). A bigger graph's later steps are plain
PyTorch, no hooks and no dispatch mode (about 1.3x a plain step; a full capture is 10-30x).
Step 1's update uses the gradients the traced backward left in ``.grad``. A model whose input
has two features also has its output over the input plane recorded at every step
(trace/boundary.py), between the step's backward pass and its update.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from bprender.model import Built

from .boundary import plane_of, plane_outputs
from .summary import summarize

OPTIMIZERS = ("sgd", "adam")
FULL_STEP_NODES = 64   # graphs this small have every training step captured in full


def make_optimizer(params: list, spec: Mapping[str, Any]) -> tuple[torch.optim.Optimizer, dict]:
    """The torch optimizer for a preset's ``train`` mapping, and its settings as trace data."""
    name = spec.get("optimizer") or "sgd"
    lr = float(spec["lr"])
    if name == "sgd":
        momentum = float(spec.get("momentum") or 0.0)
        return (torch.optim.SGD(params, lr=lr, momentum=momentum),
                {"name": "sgd", "lr": lr, "momentum": momentum})
    if name == "adam":
        betas, eps = (0.9, 0.999), 1e-8
        return (torch.optim.Adam(params, lr=lr, betas=betas, eps=eps),
                {"name": "adam", "lr": lr, "betas": list(betas), "eps": eps})
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def _record(step: int, loss: torch.Tensor, leaves: dict) -> dict:
    return {"step": step, "loss": summarize(loss),
            "leaves": [{"name": n, "value": summarize(t), "grad": summarize(t.grad)}
                       for n, t in leaves.items()]}


def _captured(built: Built, first: dict) -> tuple[torch.Tensor, dict | None]:
    """One forward and backward pass captured in full: its loss, and its nodes' and edges'
    numbers when the graph is step 1's (same operations in the same order), else None."""
    from .capture import Capture, _user_backward
    with Capture(built) as capture:
        loss = built.run()
        capture.backward(loss, lambda: _user_backward(loss))
    body = capture.body
    same = [(n["id"], n["label"]) for n in body["nodes"]] == [(n["id"], n["label"]) for n in first["nodes"]] \
        and [e["id"] for e in body["edges"]] == [e["id"] for e in first["edges"]]
    if not same:
        return loss, None
    return loss, {"nodes": [{"value": n.get("value"), "grad": n.get("grad")} for n in body["nodes"]],
                  "edges": [e.get("grad") for e in body["edges"]]}


def train_steps(built: Built, loss: torch.Tensor, spec: Mapping[str, Any], first: dict | None = None) -> dict:
    """Steps 1..N after ``trace_built`` has run step 1's forward and backward on ``built``
    (``loss`` is its loss; the leaves' ``.grad`` hold its gradients and nothing else; ``first``
    its trace body, whose size decides whether later steps are captured in full).

    Each step records the loss, and each leaf's value (the one its forward used) and gradient;
    ``final`` holds the values after the last update."""
    steps = int(spec["steps"])
    leaves = built.leaves
    optimizer, settings = make_optimizer(list(leaves.values()), spec)
    records = [_record(1, loss, leaves)]
    full = first is not None and len(first["nodes"]) <= FULL_STEP_NODES
    plane = plane_of(built)
    if plane is not None:
        records[-1]["plane"] = plane_outputs(built, plane)
    optimizer.step()                            # step 1: the traced backward's gradients
    for k in range(2, steps + 1):
        optimizer.zero_grad(set_to_none=True)
        numbers = None
        if full:
            loss, numbers = _captured(built, first)
            full = numbers is not None          # a graph that changed: plain steps from here
        else:
            loss = built.run()
            loss.backward()
        records.append(_record(k, loss, leaves))
        if numbers is not None:
            records[-1].update(numbers)
        if plane is not None:
            records[-1]["plane"] = plane_outputs(built, plane)
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    final = [{"name": n, "value": summarize(t)} for n, t in leaves.items()]
    out = {"optimizer": settings, "steps": records, "final": final}
    if plane is not None:
        out["plane"] = {"x": plane.x, "y": plane.y, "samples": plane.samples, "outputs": plane.outputs}
    return out


__all__ = ["OPTIMIZERS", "make_optimizer", "train_steps"]
