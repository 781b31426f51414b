"""The preset schema: every key, its kind, default, allowed values and a one-line doc.

This is data only; bprender.preset.validate checks values against it. Kinds:
  section     a mapping of the keys in `children`
  text        a string
  bool        true or false
  int         a whole number within [min, max]
  number      a number within [min, max] (`above`: min itself is not allowed)
  enum        one of `choices`
  size        "1280x720" or [1280, 720], normalised to [w, h]; both even, >= MIN_SIDE
  font        optional path to a .ttf/.otf (relative to the preset's folder)
  pyref       FILE.py:FUNCTION (FILE relative to the preset's folder)
  expression  a Python expression (text)
  steps       named formulas, one `name = formula` per line (text)
  tensors     a mapping of identifier -> number or rectangular nested list of numbers
  names       a list of strings (one string alone: a list of one)
  renames     a mapping of name -> the name to show (both strings)
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Key", "SCHEMA", "MIN_SIDE", "MAX_SIDE", "lookup", "all_keys", "defaults"]

MIN_SIDE = 16       # smallest video side, pixels
MAX_SIDE = 8192     # largest video side, pixels


@dataclass(frozen=True)
class Key:
    kind: str
    default: Any = None
    doc: str = ""
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    above: bool = False           # min is exclusive
    nullable: bool = False        # null is a valid value (means "not set")
    required: bool = False
    unit: str = ""
    children: Mapping[str, "Key"] = field(default_factory=dict)


def _seconds(default: float, doc: str, *, above: bool = False) -> Key:
    return Key("number", default, doc, min=0.0, max=60.0, above=above, unit="seconds")


SCHEMA: dict[str, Key] = {
    "title": Key("text", None, "Title card text; default: the preset file's name (stem)."),
    "description": Key("text", "", "One line shown under the title and in `bprender list`."),
    "model": Key("section", None, "What to differentiate: exactly one of expression, steps or"
                 " python.",
                 required=True, children={
        "expression": Key("expression", None, "A formula over params and inputs giving a scalar,"
                          " e.g. (w * x + b - y_true) ** 2.", nullable=True),
        "steps": Key("steps", None, "Named formulas, one `name = formula` per line (`+=` and"
                     " re-assigning allowed); the last is the loss unless `loss` names it.",
                     nullable=True),
        "loss": Key("text", None, "With steps: the name whose value is the loss; default: the"
                    " last step's.", nullable=True),
        "python": Key("pyref", None, "FILE.py:FUNCTION returning model, inputs, target, loss;"
                      " FILE relative to the preset's folder.", nullable=True),
        "params": Key("tensors", {}, "Leaves that require grad: name -> number or nested list"
                      " (stored as floats). Only with expression or steps."),
        "inputs": Key("tensors", {}, "Constants: name -> number or nested list."
                      " Only with expression or steps."),
        "seed": Key("int", 0, "torch.manual_seed before building the model.", min=0,
                    max=2 ** 64 - 1),
    }),
    "train": Key("section", None, "Optional training: after the traced step, more optimizer steps"
                 " on the same model (loss, parameters and gradients recorded per step).", children={
        "steps": Key("int", None, "Number of training steps, the traced one included; leave out"
                     " for a single traced pass without training.", min=1, max=10000, nullable=True),
        "optimizer": Key("enum", "sgd", "sgd (torch.optim.SGD) or adam (torch.optim.Adam).",
                         choices=("sgd", "adam")),
        "lr": Key("number", 0.1, "Learning rate.", min=0.0, max=1000.0, above=True),
        "momentum": Key("number", 0.0, "SGD momentum (sgd only).", min=0.0, max=1.0),
    }),
    "view": Key("enum", "ops", "How the trace is drawn: ops (the autograd graph), neurons (an MLP"
                " as a network diagram) or modules (one node per module).",
                choices=("ops", "neurons", "modules")),
    "depth": Key("int", None, "Modules view: how many levels of the module tree to draw (1: the"
                 " top-level modules); deeper modules are drawn whole. Default: all.", min=1, max=64,
                 nullable=True),
    "expand": Key("names", [], "Modules view: modules, classes or repeated blocks to open (a"
                  " module path such as encoder.layers, or a class such as TransformerEncoderLayer)."),
    "hide": Key("names", [], "Groups of nodes to leave out (a top-level module, or inputs / parameters /"
                " ops): the rest is laid out again to fill the frame. --hide on the command line."),
    "sample": Key("int", None, "Neurons view: which sample of a batch the neurons show (1: the first;"
                  " a trace keeps every sample of a tensor of at most 256 numbers, the first 4 of a bigger one). Default: 1.", min=1, max=1 << 20, nullable=True),
    "notation": Key("enum", "lecture", "How things are named: lecture (W¹, b¹, z¹, a¹ counted by layer;"
                    " σ, ReLU, + residual) or torch (PyTorch's own: 0.weight, Addmm). --names on the"
                    " command line.", choices=("lecture", "torch")),
    "names": Key("renames", {}, "Rename anything shown: {name: shown name}, the name PyTorch's"
                 " (0.weight, fc, Addmm) or the lecture's (W1 or W¹, layer 1, z1)."),
    "collapse_views": Key("bool", True, "In the ops view, fold view-only ops (View, T, Expand,"
                          " Transpose, ...) into the edges they sit on."),
    "render": Key("section", None, "Video output.", children={
        "size": Key("size", [1280, 720], "Frame size WIDTHxHEIGHT or [W, H]; both even."),
        "fps": Key("int", 30, "Video frames per second.", min=1, max=120),
        "quality": Key("enum", "final", "final, or draft (faster, lower quality).",
                       choices=("final", "draft")),
        "theme": Key("enum", "light", "Colour theme.", choices=("light", "dark", "colorblind")),
        "font": Key("font", None, "Optional .ttf/.otf used for all text; relative to the"
                    " preset's folder.", nullable=True),
    }),
    "pacing": Key("section", None, "How long each part of the animation lasts, in seconds.",
                  children={
        "intro": _seconds(1.0, "Title card before the forward pass."),
        "forward_step": _seconds(0.5, "Per node lighting up in the forward pass.", above=True),
        "loss": _seconds(1.0, "Loss highlight."),
        "backward_step": _seconds(1.2, "Per backward engine step.", above=True),
        "repeat_step": _seconds(0.6, "Per backward step repeating a rule already shown in full three"
                                " times (a deep stack's later layers): a one-line caption of its numbers.",
                                above=True),
        "pause": _seconds(0.6, "Between phases."),
        "update": _seconds(3.0, "The parameter update after the first step (presets with train)."),
        "train_step": _seconds(0.4, "Per later training step (presets with train).", above=True),
        "hold": _seconds(2.0, "Final state held at the end."),
    }),
    "pace": Key("enum", "normal", "Scales the whole timeline: slow (x1.5), normal or fast (x0.7); every"
                " caption stays at least its reading time at that pace (README, \"Pacing\").",
                choices=("slow", "normal", "fast")),
    "gif": Key("section", None, "GIF output.", children={
        "width": Key("int", 640, "GIF width in pixels (height keeps the aspect ratio).",
                     min=MIN_SIDE, max=4096),
        "fps": Key("int", 15, "GIF frames per second (GIF delays are in 1/100 s, so at most 50).",
                   min=1, max=50),
    }),
}


def lookup(dotted: str) -> Key | None:
    """The Key at a dotted path like "render.fps", or None if there is no such key."""
    children: Mapping[str, Key] = SCHEMA
    key = None
    for part in dotted.split("."):
        key = children.get(part)
        if key is None:
            return None
        children = key.children
    return key


def all_keys(*, sections: bool = False) -> list[str]:
    """Every dotted key path, in schema order (leaves only unless sections=True)."""
    out: list[str] = []

    def walk(children: Mapping[str, Key], prefix: str) -> None:
        for name, key in children.items():
            dotted = prefix + name
            if key.kind == "section":
                if sections:
                    out.append(dotted)
                walk(key.children, dotted + ".")
            else:
                out.append(dotted)

    walk(SCHEMA, "")
    return out


def defaults(children: Mapping[str, Key] = SCHEMA) -> dict:
    """A fresh dict of all defaults (sections filled recursively)."""
    return {name: defaults(key.children) if key.kind == "section" else copy.deepcopy(key.default)
            for name, key in children.items()}
