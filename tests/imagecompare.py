"""Golden-image comparison in the spirit of matplotlib's image_comparison: baselines in
tests/baseline/, actual/expected/diff written to tests/output/ on failure, regeneration only
with the explicit --regen-golden flag, and named tolerances."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

BASELINE = Path(__file__).parent / "baseline"
OUTPUT = Path(__file__).parent / "output"


@dataclass(frozen=True)
class Tolerance:
    level: int        # a pixel "differs" when a channel is off by more than this
    fraction: float   # at most this fraction of pixels may differ


# Same skia-python version, same font file, same machine kind: frames should match exactly;
# the small allowance absorbs anti-aliasing noise from a different CPU's SIMD path.
SAME_RENDERER = Tolerance(level=8, fraction=0.001)


def bgra_to_rgb(frame: np.ndarray) -> np.ndarray:
    return frame[..., [2, 1, 0]].copy()


def differing_fraction(a: np.ndarray, b: np.ndarray, level: int) -> float:
    if a.shape != b.shape:
        return 1.0
    delta = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
    return float((delta > level).mean())


def check_golden(name: str, rgb: np.ndarray, regen: bool, tol: Tolerance = SAME_RENDERER) -> None:
    """Compare rgb (H, W, 3 uint8) with tests/baseline/NAME.png; raise AssertionError with the
    paths of the written actual/expected/diff images when it differs beyond tol."""
    baseline = BASELINE / f"{name}.png"
    if regen:
        BASELINE.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(baseline)
        return
    assert baseline.exists(), f"no baseline {baseline}: run pytest with --regen-golden, then look at it"
    expected = np.asarray(Image.open(baseline).convert("RGB"))
    fraction = differing_fraction(rgb, expected, tol.level)
    if fraction <= tol.fraction:
        return
    OUTPUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(OUTPUT / f"{name}-actual.png")
    Image.fromarray(expected).save(OUTPUT / f"{name}-expected.png")
    if rgb.shape == expected.shape:
        diff = np.abs(rgb.astype(np.int16) - expected.astype(np.int16)).max(axis=-1)
        Image.fromarray(np.clip(diff * 4, 0, 255).astype(np.uint8)).save(OUTPUT / f"{name}-diff.png")
    raise AssertionError(f"{name}: {fraction:.3%} of pixels differ by more than {tol.level} "
                         f"(allowed {tol.fraction:.3%}); see {OUTPUT}/{name}-{{actual,expected,diff}}.png")
