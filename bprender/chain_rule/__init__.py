"""Chain-rule captions: each backward step written out with the real numbers, e.g.
"∂L/∂w = ∂L/∂(w·x) · x = −2 · 3 = −6", and for tensors the op's local rule worked out on one
element ("∂L/∂fc.weight[1,0] = Σₙ ∂L/∂Addmm[n,1] · x[n,0] = … = 0.16"). Strings only; the
timeline decides when they show.

symbols: names for node outputs; scalar: elementwise formulas; tensors: values and fitting;
rules / elementwise / nn: the rule of each op kind; steps: the caption of a backward step."""
from __future__ import annotations

from .scalar import local_derivative
from .steps import RULES, edge_line, fanin_line, leaf_line, step_lines
from .symbols import Symbols, d

__all__ = ["RULES", "Symbols", "d", "edge_line", "fanin_line", "leaf_line", "local_derivative", "step_lines"]
