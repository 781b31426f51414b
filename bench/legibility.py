"""The smallest text each gallery preset draws, on the frame, over its whole timeline: what the
type floor (README, "Legible from the back row") promises, measured as tests/test_legibility.py
measures it (every fillText through the recording canvas, font px times the current scale).

    python bench/legibility.py [--presets linear cnn ...]

Per preset, at 1280x720 and at the GIF's size: the smallest drawn text in px, the floor (1/40
of the frame height), the smallest caption / node-title size (primary labels, 1/30) and the text
it was. Texts faded to nothing are not counted (they are not seen).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))   # the measurement the legibility test makes

from legibility import drawn_texts  # noqa: E402

from bprender.canvas import FontBook  # noqa: E402
from bprender.pipeline import open_preset, scene_of, trace_of  # noqa: E402
from bprender.preset import list_builtin_presets  # noqa: E402


def sample_times(scene: dict) -> list[float]:
    times = {e["t"] for e in scene["events"]} | {e["t"] + 0.5 for e in scene["events"]}
    times |= {scene["duration"] * i / 24 for i in range(25)}
    return sorted(t for t in times if 0 <= t <= scene["duration"])


def smallest(scene: dict, fonts: FontBook) -> tuple[float, str]:
    best = (float("inf"), "")
    for t in sample_times(scene):
        for text in drawn_texts(scene, t, fonts=fonts):
            if text.alpha > 0.002 and text.text.strip() and text.size < best[0]:
                best = (text.size, text.text)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=[name for name, *_ in list_builtin_presets()])
    args = parser.parse_args()
    fonts = FontBook()
    print(f"{'preset':<15} {'1280x720 smallest':>18} {'floor':>6} {'primary':>8}   {'GIF smallest':>13} {'floor':>6}")
    for name in args.presets:
        preset = open_preset(name)
        trace = trace_of(preset, cache=True)
        row = []
        for target in ("video", "gif"):
            scene = scene_of(trace, preset, target)
            px, text = smallest(scene, fonts)
            primary = min([n["lines"][0]["px"] for n in scene["nodes"]] +
                          [float(scene["captions"]["font"].split("px")[0].split()[-1])])
            row.append((px, text, scene["height"] / 40, primary))
        (v, vt, vf, vp), (g, gt, gf, _) = row
        print(f"{name:<15} {v:>10.1f} px {vt[:5]!r:<6} {vf:>5.1f} {vp:>8.1f}   {g:>10.1f} px {gf:>6.1f}")


if __name__ == "__main__":
    main()
