"""Neural-network ops on tensors: matrix products, losses, softmax, layer norm, convolution and
pooling, each with its local rule and one worked element (or norms where the trace kept no values)."""
from __future__ import annotations

import itertools
import math

from ..fmt import MINUS, num
from .rules import LN_EPS, Ctx, broadcast_sum, contraction
from .tensors import Tensor, factor, idx, product, terms_sum

MATMUL = {"Mm": ({0: "nk", 1: "kp"}, "np"), "Bmm": ({0: "hnk", 1: "hkp"}, "hnp"),
          "Mv": ({0: "nk", 1: "k"}, "n"), "Dot": ({0: "k", 1: "k"}, ""),
          "Addmm": ({1: "nk", 2: "kp"}, "np"), "Baddbmm": ({1: "hnk", 2: "hkp"}, "hnp"),
          "Addmv": ({1: "nk", 2: "k"}, "n")}


def matmul(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    specs, out_spec = MATMUL[ctx.label]
    if pos not in specs:  # the added term of addmm: beta · (the arriving gradient summed over rows)
        lines = broadcast_sum(ctx, pos, sent)
        beta = ctx.attr("beta", 1)
        return lines if beta == 1 else [line.replace(" = ", f" = {num(beta)} · ", 1) for line in lines]
    return contraction(ctx, pos, sent, specs, out_spec, scale=ctx.attr("alpha", 1))


def _reduction_n(ctx: Ctx, x: Tensor) -> int | None:
    """The n of a mean-reduced loss (None for reduction 'sum' or 'none')."""
    return x.numel if int(ctx.attr("reduction", 1)) == 1 else None


def mse_loss(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """L = mean((ŷ − y)²): ∂L/∂ŷ = 2(ŷ − y)/n (and minus that for y)."""
    a_sym, a = ctx.operand(0)
    b_sym, b = ctx.operand(1)
    n = _reduction_n(ctx, a)
    over = f"/{n}" if n else ""
    sign = "" if pos == 0 else MINUS
    g = ctx.g.scalar() if ctx.g.numel == 1 else None
    pre = "" if g == 1 or (g is None and ctx.g.numel == 1) else f"{ctx.own} · "
    rule = f"{pre}{sign}2({a_sym} − {b_sym}){'/n' if n else ''}"
    e = sent.biggest()
    lines = []
    if e is not None and a.values is not None and b.values is not None:
        av, bv = a.broadcast_at(e), b.broadcast_at(e)
        gv = g if g is not None else ctx.g.at(e)
        gpart = "" if gv == 1 else f"{factor(gv, True)} · "
        example = f"{gpart}{sign}2 · ({num(av)} − {factor(bv)}){over} = {num(sent.at(e))}"
        where = f", e.g. {idx(e)}: " if sent.numel > 1 else " = "
        lines.append(f"{ctx.target(pos)} = {rule}{where}{example}")
        lines.append(f"{ctx.target(pos, e)} = {rule} = {example}")
    lines.append(ctx.norm_line(pos, sent, rule))
    return lines


def bce_loss(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """L = −mean(y log p + (1 − y) log(1 − p)): ∂L/∂p = (p − y)/(p(1 − p))/n."""
    a_sym, a = ctx.operand(0)
    b_sym, b = ctx.operand(1)
    n = _reduction_n(ctx, a)
    over = f"/{n}" if n else ""
    rule = f"({a_sym} − {b_sym})/({a_sym}(1 − {a_sym})){'/n' if n else ''}"
    e = sent.biggest()
    lines = []
    if pos == 0 and e is not None and a.values is not None and b.values is not None:
        p, y = a.broadcast_at(e), b.broadcast_at(e)
        example = f"({num(p)} − {factor(y)})/({num(p)} · (1 − {num(p)})){over} = {num(sent.at(e))}"
        where = f", e.g. {idx(e)}: " if sent.numel > 1 else " = "
        lines.append(f"{ctx.target(pos)} = {rule}{where}{example}")
        lines.append(f"{ctx.target(pos)} = (p − y)/(p(1 − p)){'/n' if n else ''}{where}{example}")
    lines.append(ctx.norm_line(pos, sent, rule if pos == 0 else "−log(p/(1 − p))/n"))
    return lines


def _targets(ctx: Ctx) -> list[int]:
    for inp in ctx.inputs[1:]:
        values = Tensor(inp.get("value")).values
        if values is not None:
            return [int(v) for v in values]
    return []


def nll_loss(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """L = −mean over rows of logp[n, yₙ]: ∂L/∂logp = −onehot(y)/N."""
    _, logp = ctx.operand(0)
    rows = logp.shape[0] if len(logp.shape) == 2 else 1
    targets = _targets(ctx)
    mean = int(ctx.attr("reduction", 1)) == 1
    over = f"/{rows}" if mean and rows > 1 else ""
    rule = f"−onehot(target){over}"
    g = ctx.g.scalar()
    if g is not None and g != 1:
        rule = f"{ctx.own} · {rule}"
    target = ctx.target(pos)
    lines = []
    if sent.values is not None and targets:
        per = num(-(g if g is not None else 1) / (rows if mean else 1))
        cls = ", ".join(str(t) for t in targets[:4]) + (", …" if len(targets) > 4 else "")
        noun = "class" if len(targets) == 1 else "classes"
        if sent.numel <= 6:
            values = "[" + ", ".join(num(v) for v in sent.values) + "]"
            lines.append(f"{target} = {rule} = {values}   ({per} at the target {noun} {cls}, 0 elsewhere)")
        lines.append(f"{target} = {rule}: {per} at each row's target {noun} ({cls}), 0 elsewhere")
    lines.append(ctx.norm_line(pos, sent, rule))
    return lines


def _rows(t: Tensor, dim: int):
    """Index lists of the slices along `dim` (softmax's rows)."""
    dim %= max(1, len(t.shape))
    others = [range(s) for i, s in enumerate(t.shape) if i != dim]
    for rest in itertools.product(*others):
        yield [tuple(rest[:dim]) + (j,) + tuple(rest[dim:]) for j in range(t.shape[dim])]


def _row_of(t: Tensor, dim: int, e) -> list[tuple]:
    dim %= max(1, len(t.shape))
    return [tuple(e[:dim]) + (j,) + tuple(e[dim + 1:]) for j in range(t.shape[dim])]


def _consumer(ctx: Ctx) -> dict | None:
    """The one trace node that uses this node's output, if there is exactly one."""
    trace = ctx.symbols.trace or {}
    nodes = {n["id"]: n for n in trace.get("nodes", [])}
    out = [nodes[e["to"]] for e in trace.get("edges", []) if e["from"] == ctx.view.id]
    return out[0] if len(out) == 1 else None


def log_softmax(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """logp = z − log Σ exp z: ∂L/∂z = g − softmax(z)·Σg; after NLL that is softmax(z) − onehot(y)."""
    z_sym, _ = ctx.operand(pos)
    target = ctx.target(pos)
    dim = int(ctx.attr("dim", -1))
    e = sent.biggest()
    lines = []
    known = e is not None and ctx.out.values is not None and ctx.g.values is not None
    nll = _consumer(ctx)
    if nll is not None and nll["label"] == "NllLoss":
        targets = [int(v) for i in (nll.get("inputs") or [])[1:] for v in (Tensor(i.get("value")).values or [])]
        rows = len(ctx.out.shape) == 2 and ctx.out.shape[0] or 1
        mean = int((nll.get("attrs") or {}).get("reduction", 1)) == 1
        over = f"/{rows}" if mean and rows > 1 else ""
        rule = f"(softmax({z_sym}) − onehot(target)){over}" if over else f"softmax({z_sym}) − onehot(target)"
        if known and targets and len(e) == 2 and e[0] < len(targets):
            s = math.exp(ctx.out.at(e))
            onehot = 1 if targets[e[0]] == e[1] else 0
            example = f"({num(s)} − {onehot}){over}" if over else f"{num(s)} − {onehot}"
            lines.append(f"{target} = {rule}, e.g. {idx(e)}: {example} = {num(sent.at(e))}")
        if sent.values is not None and sent.numel <= 4:
            lines.append(f"{target} = {rule} = [{', '.join(num(v) for v in sent.values)}]")
        lines.append(ctx.norm_line(pos, sent, rule))
        return lines
    rule = f"{ctx.own} − softmax({z_sym}) · Σ {ctx.own}"
    if known:
        row = _row_of(ctx.out, dim, e)
        total = sum(ctx.g.at(i) for i in row)
        example = f"{num(ctx.g.at(e))} − {num(math.exp(ctx.out.at(e)))} · {factor(total)} = {num(sent.at(e))}"
        lines.append(f"{target} = {rule} (row-wise), e.g. {idx(e)}: {example}")
        lines.append(f"{target} = g − softmax · Σg (row-wise), e.g. {idx(e)}: {example}")
    lines.append(ctx.norm_line(pos, sent, "g − softmax · Σg (row-wise)"))
    return lines


def softmax(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """s = softmax(z): ∂L/∂zᵢ = sᵢ(gᵢ − Σₖ sₖgₖ) along the softmax dim."""
    target = ctx.target(pos)
    dim = int(ctx.attr("dim", -1))
    e = sent.biggest()
    lines = []
    rule = "s·(g − Σₖ sₖgₖ)"
    legend = f"s = {ctx.sym}, g = {ctx.own}"
    if e is not None and ctx.out.values is not None and ctx.g.values is not None:
        row = _row_of(ctx.out, dim, e)
        dot = sum(ctx.out.at(i) * ctx.g.at(i) for i in row)
        example = f"{num(ctx.out.at(e))} · ({num(ctx.g.at(e))} − {factor(dot)}) = {num(sent.at(e))}"
        lines.append(f"{target} = {rule} with {legend}, e.g. {idx(e)}: {example}")
        lines.append(f"{target} = {rule} (s = {ctx.sym}), e.g. {idx(e)}: {example}")
        lines.append(f"{target} = {rule}, e.g. {idx(e)}: {example}")
    lines.append(f"{target} = {rule} with {legend};  norm {sent.norm_text()}")
    lines.append(f"{target} = {rule};  norm {sent.norm_text()}")
    return lines


def _normalized(ctx: Ctx):
    """LayerNorm's z = (x − μ)/σ per row, with each row's σ (None without values)."""
    _, x = ctx.operand(0)
    _, w = ctx.operand(1) if len(ctx.inputs) > 1 else ("", Tensor(None))
    width = w.numel if w.known and w.shape else (x.shape[-1] if x.shape else 1)
    if x.values is None:
        return None, None, width
    z, sigma = [], []
    for r in range(0, len(x.values), width):
        row = x.values[r:r + width]
        mu = sum(row) / width
        s = math.sqrt(sum((v - mu) ** 2 for v in row) / width + LN_EPS)
        z += [(v - mu) / s for v in row]
        sigma += [s] * width
    return z, sigma, width


def layer_norm(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """y = γ·z + β, z = (x − μ)/σ: ∂β = Σₙ g, ∂γ = Σₙ g·z, ∂x = (h − mean h − z·mean(h·z))/σ, h = γ·g."""
    z, sigma, width = _normalized(ctx)
    target = ctx.target(pos)
    if pos == 2:
        return broadcast_sum(ctx, pos, sent)
    if pos == 1:
        ztensor = Tensor({"shape": list(ctx.g.shape), "values": z}) if z is not None else None
        lines = broadcast_sum(ctx, pos, sent, values=ztensor, what="z[·]") if ztensor else []
        lines = [line + "  (z = (x − μ)/σ)" for line in lines[:-1]] + lines[:-1] + [
            f"{target} = Σₙ {ctx.own} · z, z = (x − μ)/σ;  norm {sent.norm_text()}"]
        return lines
    rule = "(h − mean h − z·mean(hz))/σ"
    legend = f"h = γ·{ctx.own}, z = (x − μ)/σ"
    lines = []
    e = sent.biggest()
    _, w = ctx.operand(1) if len(ctx.inputs) > 1 else ("", Tensor(None))
    g = ctx.g
    if e is not None and z is not None and g.values is not None:
        k = sent.flat(e)
        start = k - k % width
        gamma = w.values if w.values is not None else [1.0] * width
        h = [g.values[start + j] * gamma[j] for j in range(width)]
        zr = z[start:start + width]
        mh = sum(h) / width
        mhz = sum(a * b for a, b in zip(h, zr)) / width
        zk = zr[k - start]
        third = product(-zk, mhz) if zk < 0 else MINUS + product(zk, mhz)
        example = f"({terms_sum([num(h[k - start]), num(-mh), third], 3)})/{num(sigma[k])} = {num(sent.at(e))}"
        at = ctx.target(pos, e)
        lines.append(f"{at} = {rule}, h = γ·g, z = (x − μ)/σ: {example}")
        lines.append(f"{at} = {rule}, h = γ·g: {example}")
        lines.append(f"{at} = {rule} = {example}")
    lines.append(f"{target} = {rule}, {legend};  norm {sent.norm_text()}")
    lines.append(f"{target} = {rule};  norm {sent.norm_text()}")
    return lines


def convolution(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """out = x ⋆ K + b: ∂K = Σ over positions of ∂L/∂out · the input patch there; ∂b = Σ ∂L/∂out."""
    target = ctx.target(pos)
    shape = ctx.g.shape
    positions = math.prod(shape[2:]) * (shape[0] if shape else 1) if len(shape) > 2 else 1
    if pos == 2:
        lines = []
        if sent.values is not None and sent.numel <= 4:
            lines.append(f"{target}[c] = Σ over the {positions} output positions of {ctx.own}[c] = "
                         f"[{', '.join(num(v) for v in sent.values)}]")
        lines += broadcast_sum(ctx, pos, sent)[:-1]
        lines.append(f"{target}[c] = Σ over the {positions} output positions of {ctx.own}[c];"
                     f"  norm {sent.norm_text()}")
        return lines
    if pos == 1:
        return [f"{target} = Σ over the {positions} output positions of {ctx.own} · input patch;"
                f"  ‖{target}‖ = {sent.norm_text()}",
                f"{target} = Σ over positions of {ctx.own} · input patch;  norm {sent.norm_text()}"]
    return [f"{target} = {ctx.own} convolved back with the flipped kernel (transposed conv);"
            f"  ‖{target}‖ = {sent.norm_text()}",
            f"{target} = transposed convolution of {ctx.own} with the kernel;  norm {sent.norm_text()}"]


def max_pool(ctx: Ctx, pos: int, sent: Tensor) -> list[str]:
    """Each output is the max of its window: its gradient goes to that one input, 0 to the rest."""
    target = ctx.target(pos)
    g, out = ctx.g, ctx.out
    window = ""
    rest = "the others"
    if len(sent.shape) >= 2 and len(g.shape) == len(sent.shape):
        ks = [a // b for a, b in zip(sent.shape[-2:], g.shape[-2:]) if b]
        if len(ks) == 2 and all(k >= 1 for k in ks) and all(a == b * k for a, b, k in
                                                            zip(sent.shape[-2:], g.shape[-2:], ks)):
            window = f" {ks[0]}×{ks[1]}"
            rest = f"the other {ks[0] * ks[1] - 1}"
    rule = f"{ctx.own} at the max of each{window} window, 0 at {rest}"
    lines = []
    e = g.biggest()
    if e is not None and out.values is not None:
        example = f"e.g. the window of {idx(e)} (max {num(out.at(e))}) gets {num(g.at(e))}"
        lines.append(f"{target} = {rule}; {example};  norm {g.norm_text()} → {sent.norm_text()}")
        lines.append(f"{target} = {rule}\n{example} at its max input, {rest} get 0;"
                     f"  norm {g.norm_text()} → {sent.norm_text()}")
        lines.append(f"{target} = {rule}\n{example};  norm {g.norm_text()} → {sent.norm_text()}")
        lines.append(f"{target}: only the max of each{window} window gets {ctx.own}; {example}")
    lines.append(f"{target} = {rule};  norm {g.norm_text()} → {sent.norm_text()}")
    lines.append(f"{target}: the gradient goes only to the max of each{window} window ({rest} get 0)")
    return lines
