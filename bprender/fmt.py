"""Number and tensor formatting. Every string a viewer reads is made here, in Python only,
so the video and the HTML player show the same characters."""
from __future__ import annotations

import math

from .jsonio import to_float

MINUS = "\u2212"  # a real minus sign, not a hyphen


def num(x, digits: int = 4) -> str:
    """A short, exact-looking number: 4 significant digits, no trailing zeros, a real minus."""
    x = to_float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return ("" if x > 0 else MINUS) + "\u221e"
    if x == 0:
        return "0"
    ax = abs(x)
    if 1e-3 <= ax < 1e5:
        text = f"{x:.{digits}g}"
        if "e" in text:  # :g switches to exponent at 1e4 with 4 digits; keep plain digits
            text = f"{x:.0f}"
    else:
        mantissa, exp = f"{x:.{max(digits - 2, 1)}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}e{int(exp)}"
    return text.replace("-", MINUS)


def shape_text(shape) -> str:
    return "\u00d7".join(str(int(d)) for d in shape) if shape else "scalar"


def summary_text(summary: dict | None) -> str:
    """One line for a tensor summary: the number for a scalar, the numbers themselves for a
    tensor of up to SHOWN_VALUES elements, else shape and norm."""
    if summary is None:
        return ""
    shape = summary.get("shape") or []
    values = summary.get("values")
    if not shape and values:
        return num(values[0])
    if values is not None and len(values) == 1:
        return num(values[0])
    if values and len(values) <= SHOWN_VALUES and len(shape) == 1:
        return "[" + ", ".join(num(v, 3) for v in values) + "]"
    return f"{size_text(shape)}, norm {num(summary['stats']['norm'], 3)}"


def size_text(shape) -> str:
    """A tensor's shape where it could be misread as a value: a vector's length as "4 values"
    (a bare 4 reads as the number 4), a matrix's as 4×4."""
    if len(shape) == 1:
        return f"{int(shape[0])} value" + ("" if int(shape[0]) == 1 else "s")
    return shape_text(shape)


def grad_text(name: str, summary: dict | None) -> str:
    """∂L/∂name with its value: "∂L/∂w = −6", "∂L/∂b = [−1.24, −0.179]", or for a bigger tensor
    its size and norm, "∂L/∂b¹ (4 values), ‖·‖ = 1.1e−7" (the norm is not the gradient)."""
    text = summary_text(summary)
    shape = (summary or {}).get("shape") or []
    values = (summary or {}).get("values")
    if summary is None or summary_scalar(summary) is not None or \
            (values and len(values) <= SHOWN_VALUES and len(shape) == 1):
        return f"∂L/∂{name} = {text}"
    return f"∂L/∂{name} ({size_text(shape)}), ‖·‖ = {num(summary['stats']['norm'], 3)}"


SHOWN_VALUES = 3  # a vector this short reads better as its numbers than as a norm


def summary_scalar(summary: dict | None) -> float | None:
    """The value of a one-element tensor summary, else None."""
    if not summary:
        return None
    values = summary.get("values")
    if values is not None and len(values) == 1:
        return to_float(values[0])
    return None


def summary_sign_value(summary: dict | None) -> float:
    """A single number standing for a gradient's sign and size: the value of a scalar, else
    the mean's sign times the norm. NaN/Inf pass through so they get their own style."""
    if not summary:
        return 0.0
    scalar = summary_scalar(summary)
    if scalar is not None:
        return scalar
    stats = summary["stats"]
    norm = to_float(stats["norm"])
    mean = to_float(stats["mean"])
    if math.isnan(norm) or math.isnan(mean):
        return math.nan
    if math.isinf(norm):
        return norm if mean >= 0 else -norm
    # A mean that is rounding noise next to the elements' size has no sign: a gradient through
    # LayerNorm or softmax sums to zero exactly in real arithmetic, and its float32 mean's sign
    # then depends on the CPU's summation order (one machine drew it red, another blue).
    count = math.prod(summary.get("shape") or [1]) or 1
    if abs(mean) <= SIGN_NOISE * norm / math.sqrt(count):
        mean = 0.0
    return math.copysign(norm, mean) if mean != 0 else norm


SIGN_NOISE = 1e-6  # |mean| below this fraction of the RMS element is float32 rounding, not a sign
