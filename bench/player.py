"""HTML player speed in headless Chromium: draw time per frame and allocation growth.

    python bench/player.py [--frames N] [--no-extra]

For every built-in preset (and, unless --no-extra, the 40-node stress scene of bench/render.py)
the exported player page is opened in headless Chromium (Debian's, through Playwright) and,
inside the page, the same calls the player makes per animation frame are timed with
performance.now() over N times spread across the timeline, on a canvas of the scene's size at
scale 1:

- paint ms: paintFrame(ctx, scene, t, view) + paintChart(chartCtx, chart, t, palette), the JavaScript
  side (Chromium records canvas commands and rasterises later);
- frame ms: the same followed by a 1-pixel getImageData on each canvas, which forces the
  recorded commands to be rasterised: the whole cost of a frame (software raster, no GPU).

Median and p95 of each (performance.now() ticks in 0.1 ms steps here; the mean is finer). Allocation: with --expose-gc and precise memory info, the JS heap is
measured after a forced gc before and after N more frames, in a second round so one-time
caches are settled (retained growth: should be ~0), and
without a gc over a short batch (garbage made per frame, an upper bound: a minor gc may run).
Target: frame ms <= 3 for the largest preset; no retained growth.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bprender.html import export_html  # noqa: E402
from bprender.pipeline import open_preset, scene_of, scene_settings, trace_of  # noqa: E402
from bprender.preset import list_builtin_presets  # noqa: E402
from browser import CHROMIUM_FLAGS, chromium_path  # noqa: E402

MEASURE = """
async ([frames]) => {
  await window.bprender.ready;
  window.bprender.pause();
  const lib = window.bprender_lib;
  const data = JSON.parse(document.getElementById("bp-scenes").textContent);
  const scene = data.scene;
  const view = {highlight: null, hidden: []};
  const canvas = document.createElement("canvas");
  canvas.width = scene.width; canvas.height = scene.height;
  const ctx = canvas.getContext("2d");
  const chartCanvas = document.createElement("canvas");
  chartCanvas.width = scene.chart.width; chartCanvas.height = scene.chart.height;
  const cctx = chartCanvas.getContext("2d");
  const d = scene.duration;
  const timeAt = (i) => d * ((i * 0.6180339887) % 1);    // spread over the whole timeline
  const draw = (t) => { lib.paintFrame(ctx, scene, t, view); lib.paintChart(cctx, scene.chart, t, scene.palettes[scene.theme]); };
  const flush = () => { ctx.getImageData(0, 0, 1, 1); cctx.getImageData(0, 0, 1, 1); };
  for (let i = 0; i < 60; i++) { draw(timeAt(i)); flush(); }          // warm up the JIT
  const paint = [], frame = [];
  for (let i = 0; i < frames; i++) {
    const t = timeAt(i);
    flush();
    const a = performance.now();
    draw(t);
    const b = performance.now();
    flush();
    const c = performance.now();
    paint.push(b - a);
    frame.push(c - a);
  }
  const heap = () => performance.memory ? performance.memory.usedJSHeapSize : null;
  const gc = typeof window.gc === "function" ? window.gc : null;
  let retained = null, perFrame = null;
  if (gc && heap() !== null) {
    const round = () => {
      gc(); gc();
      const before = heap();
      for (let i = 0; i < frames; i++) { draw(timeAt(i)); if (i % 50 === 49) flush(); }
      flush();
      gc(); gc();
      return heap() - before;
    };
    round();              // the first round settles one-time caches (fonts, inline caches)
    retained = round();
    gc(); gc();
    const start = heap();
    const batch = 40;
    for (let i = 0; i < batch; i++) draw(timeAt(i));
    perFrame = (heap() - start) / batch;
    flush();
  }
  return {paint, frame, retained, perFrame, nodes: scene.nodes.length, edges: scene.edges.length,
          particles: scene.particles.length, width: scene.width, height: scene.height};
}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def preset_scenes() -> list[tuple[str, dict]]:
    out = []
    for name, *_ in list_builtin_presets():
        try:
            preset = open_preset(name)
            out.append((name, scene_of(trace_of(preset), preset)))
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            print(f"({name} skipped: {type(exc).__name__}: {exc})", file=sys.stderr)
    return out


def forty_node() -> tuple[str, dict] | None:
    """The 40-node stress scene from bench/render.py (skipped if that script changed)."""
    try:
        spec = importlib.util.spec_from_file_location("bench_render", ROOT / "bench" / "render.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        settings = scene_settings(open_preset("linear"))
        return "40 nodes (bench/render.py)", module.forty_node_scene(settings)
    except Exception as exc:  # noqa: BLE001 - an optional extra
        print(f"(40-node scene skipped: {exc})", file=sys.stderr)
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=600, help="timed frames per scene (default 600)")
    parser.add_argument("--no-extra", action="store_true", help="only the built-in presets")
    args = parser.parse_args()

    exe = chromium_path()
    if exe is None:
        sys.exit("no Chromium found (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    scenes = preset_scenes()
    if not args.no_extra:
        extra = forty_node()
        if extra:
            scenes.append(extra)

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True,
                                     args=CHROMIUM_FLAGS + ["--js-flags=--expose-gc",
                                                            "--enable-precise-memory-info"])
        try:
            for name, scene in scenes:
                path = Path(tmp) / "page.html"
                path.write_text(export_html(scene), encoding="utf-8")
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(path.as_uri())
                result = page.evaluate(MEASURE, [args.frames])
                page.close()
                if errors:
                    sys.exit(f"{name}: page error: {errors[0]}")
                rows.append((name, result))
        finally:
            browser.close()

    print(f"HTML player draw time in headless Chromium ({args.frames} frames per scene, scale 1, "
          "software raster)")
    print(f"{'scene':<28} {'size':>9} {'nodes':>5} {'edges':>5} {'parts':>5}  "
          f"{'paint med':>9} {'p95':>6}  {'frame med':>9} {'p95':>6} {'mean':>6}  {'retained':>9} {'alloc/frame':>11}")
    for name, r in rows:
        retained = "n/a" if r["retained"] is None else f"{r['retained'] / 1024:+.1f} KB"
        per_frame = "n/a" if r["perFrame"] is None else f"{r['perFrame'] / 1024:.1f} KB"
        print(f"{name:<28} {r['width']:>4}x{r['height']:<4} {r['nodes']:>5} {r['edges']:>5} {r['particles']:>5}  "
              f"{statistics.median(r['paint']):>6.3f} ms {percentile(r['paint'], 0.95):>6.3f}  "
              f"{statistics.median(r['frame']):>6.3f} ms {percentile(r['frame'], 0.95):>6.3f} "
              f"{statistics.fmean(r['frame']):>6.3f}  "
              f"{retained:>9} {per_frame:>11}")
    builtin = [r for name, r in rows if not name.startswith("40 nodes")]
    largest = max(builtin, key=lambda r: r["nodes"] + r["edges"] + r["particles"])
    med = statistics.median(largest["frame"])
    print(f"target: <= 3 ms per frame for the largest preset: {med:.3f} ms -> "
          f"{'ok' if med <= 3.0 else 'OVER'}")


if __name__ == "__main__":
    main()
