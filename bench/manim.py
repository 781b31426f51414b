"""bprender against Manim, side by side in one run: whole-process time, MP4 size, and quality.

    python bench/manim.py [--runs N] [--presets linear deep_sigmoid] [--manim DIR] [--no-manim]

The peer is Manim Community Edition through ../shared/bench/manim (its README): `spec_of` here
turns a bprender Scene into that folder's renderer-neutral spec (spec.md: the same nodes, edge
routes, particles and the moments each gradient appears; Manim draws less: no header, captions,
chart, edge labels or camera), as its `from_scene.py` does for the Scene format before colour
roles and particle tracks, and `run.sh --spec` renders it with Manim's cairo renderer, one
warm-up and then N timed whole processes (`run.sh --setup`, once, installs Manim into
~/.cache/bprender-manim-venv).

For each preset, at bprender's defaults (1280x720, 30 fps, quality final):
- bprender: `python -m bprender video PRESET` as a whole process, cold: a fresh, empty trace
  cache every run (so torch is imported and the model traced, as on a first render); one
  untimed warm-up (the OS file cache), then N timed runs, median;
- Manim: run.sh's median of N whole processes (`manim_spec_s`, and its CPU time);
- time ratio Manim / bprender (above 1: bprender is faster) of the wall-clock times, and of the
  CPU times (user + system of the whole process tree: steadier than wall clock on a busy
  machine; bprender draws and encodes on two threads, so its CPU time can exceed its wall time);
  MP4 size ratio bprender / Manim;
- quality: ffmpeg's ssim filter between every frame of bprender's MP4 and the same frame drawn
  uncompressed (bprender.render.raster_frames, streamed to ffmpeg as raw BGRA): the smallest
  per-frame SSIM (All) with both sides in yuv420p, the one held to the target: that is what
  ffmpeg's ssim filter measures when given the MP4 and the uncompressed frame (it auto-inserts a
  scaler taking the BGRA frame to the MP4's yuv420p; `ffmpeg -v verbose` shows it), so it counts
  the encoder's loss; and, stricter, with both in yuv444p (the decoded chroma upsampled: the loss
  of yuv420p's halved chroma is counted too, which thin red and blue curves feel; and the luma Y
  alone). Every player shows the yuv420p picture; yuv444p H.264 would need the High 4:4:4 profile,
  which QuickTime, PowerPoint and most phones do not play.
Targets (issue 14): time ratio >= 2 on linear and >= 3 on deep_sigmoid, size ratio <= 1.5,
min SSIM >= 0.98. The runs are interleaved (bprender, Manim, next preset) under the same
conditions: run.sh's wait for an idle machine is off (QUIET_WAIT_S=0) unless set in the
environment, as bprender's side has none. A machine shared with other work moves the seconds;
read the ratios. With --no-manim (or no
Manim installed) only bprender's half runs and the ratios are not printed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MANIM_DIR = ROOT.parent / "shared" / "bench" / "manim"
TARGETS = {"linear": 2.0, "deep_sigmoid": 3.0}
TARGET_SIZE = 1.5
TARGET_SSIM = 0.98


def bprender_env(cache: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "BPRENDER_CACHE_DIR": str(cache)}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_bprender(preset: str, runs: int, work: Path) -> tuple[float, float, Path]:
    """The median whole-process wall and CPU time of `bprender video PRESET`, cold, and the MP4."""
    out = work / f"{preset}.bprender.mp4"
    walls, cpus = [], []
    for i in range(runs + 1):             # the first run warms the OS file cache: not timed
        cache = Path(tempfile.mkdtemp(prefix="cold-cache-", dir=work))
        cpu, started = children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "bprender", "video", preset, "-q", "-o", str(out)],
                       cwd=ROOT, env=bprender_env(cache), check=True)
        if i:
            walls.append(time.perf_counter() - started)
            cpus.append(children_cpu() - cpu)
        shutil.rmtree(cache)
    return statistics.median(walls), statistics.median(cpus), out


def manim_installed(manim_dir: Path) -> bool:
    venv = Path(os.environ.get("MANIM_VENV") or
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bprender-manim-venv")
    return (manim_dir / "run.sh").is_file() and (venv / "bin" / "manim").is_file()


def time_manim(preset: str, runs: int, work: Path, manim_dir: Path) -> tuple[float, float, int]:
    """run.sh's median whole-process wall and CPU time for the preset's scene, and its MP4's
    size in bytes."""
    scene = work / f"{preset}.scene.json"
    spec = work / f"{preset}.spec.json"
    subprocess.run([sys.executable, "-m", "bprender", "scene", preset, "-o", str(scene)], cwd=ROOT,
                   env=bprender_env(work / "scene-cache"), check=True, capture_output=True)
    spec.write_text(json.dumps(spec_of(json.loads(scene.read_text(encoding="utf-8")))), encoding="utf-8")
    results = work / f"manim-{preset}"
    reply = subprocess.run(["bash", str(manim_dir / "run.sh"), "--spec", str(spec)], check=True,
                           capture_output=True, text=True,
                           env={"QUIET_WAIT_S": "0", **os.environ, "RUNS": str(runs), "RESULTS_DIR": str(results)})
    seconds = float(re.search(r"manim_spec_s=([\d.]+)", reply.stdout).group(1))
    details = json.loads((results / f"spec_{spec.stem}.json").read_text())["scenes"][f"spec_{spec.stem}"]
    sizes = [run["mp4_bytes"] for run in details["runs"]]
    return seconds, details["median_cpu_s"], int(statistics.median(sizes))


def spec_of(scene: dict) -> dict:
    """The Scene as ../shared/bench/manim/spec.md's spec: nodes as circles (radius half the
    node's larger side) with their first two text lines, edges as their cubic routes, particles
    from their tracks' first to last time, each node's gradient text appearing when its grad
    track starts; colour roles resolved through the scene's own theme."""
    colors = scene["palettes"][scene["theme"]]

    def color(role: str) -> str:
        return colors.get(role, role)

    nodes, changes = [], []
    for n in scene["nodes"]:
        lines = n.get("lines", [])
        size = lines[0]["px"] if lines else 12.0
        nodes.append({"id": n["id"], "x": n["x"], "y": n["y"], "r": round(max(n["w"], n["h"]) / 2, 2),
                      "fill": color(n["fill"]), "stroke": color(n["stroke"]),
                      "stroke_width": n.get("stroke_width", 2),
                      "label": lines[0]["text"] if lines else "",
                      "value_text": lines[1]["text"] if len(lines) > 1 else "",
                      "label_size": size, "value_size": size * 0.9,
                      "label_color": color("text"), "value_color": color("text")})
        grad = next((line for line in lines if line.get("track") == "grad"), None)
        track = n.get("tracks", {}).get("grad")
        if grad and track:
            changes.append({"node": n["id"], "t": track[0][0], "value_text": grad["text"],
                            "color": color(grad["color"]), "dur": 0})
    edges = []
    for i, e in enumerate(scene["edges"]):
        points = [[e["route"][0][0], e["route"][0][1]]]
        for seg in e["route"]:
            points += [[seg[2], seg[3]], [seg[4], seg[5]], [seg[6], seg[7]]]
        edges.append({"id": i, "src": e["from"], "dst": e["to"], "points": points, "curve": "cubic",
                      "width": e.get("forward_width", 2), "color": color(e.get("forward_color", "forward"))})
    particles = [{"edge": p["edge"], "t0": p["track"][0][0], "t1": p["track"][-1][0], "radius": p["radius"],
                  "color": color(p["color"]), "reverse": p["reverse"]} for p in scene["particles"]]
    return {"canvas": {"width": scene["width"], "height": scene["height"], "fps": scene["fps"],
                       "duration": scene["duration"], "background": color("background"), "intro": 0},
            "nodes": nodes, "edges": edges, "particles": particles, "label_changes": changes,
            "meta": {"from": "bprender bench/manim.py", "title": scene.get("title", "")}}


# the MP4 holds a picture while it does not change (variable frame durations): fps= turns it
# back into one picture per frame time, to compare with every uncompressed frame
SSIM_GRAPH = ("[0:v]fps={fps},split[m1][m2];[1:v]split[r1][r2];"
              "[m1]format=yuv444p[a];[r1]format=yuv444p[b];[a][b]ssim=stats_file=ssim444.log;"
              "[m2]format=yuv420p[c];[r2]format=yuv420p[d];[c][d]ssim=stats_file=ssim420.log")


def min_ssim(preset: str, mp4: Path) -> dict:
    """The smallest per-frame SSIM (ffmpeg's ssim filter) between the MP4 and the uncompressed
    frames, both compared in yuv444p (all_444, y_444: the whole loss, yuv420p's halved chroma
    included) and both in yuv420p (all_420: the encoder's loss alone); and the frame count."""
    from bprender.encode.ffmpeg import ffmpeg_exe, raw_input_args
    from bprender.pipeline import open_source, scene_for
    from bprender.render import frame_count, raster_frames
    source = open_source(preset)
    scene = scene_for([source], cache=True)
    fps = source.preset.data["render"]["fps"]
    with tempfile.TemporaryDirectory() as tmp:
        # the stats files' names go into a filter graph: plain names in ffmpeg's cwd need no escaping
        cmd = [ffmpeg_exe(), "-v", "error", "-i", str(mp4), *raw_input_args(scene["width"], scene["height"], fps),
               "-lavfi", SSIM_GRAPH.format(fps=fps), "-f", "null", "-"]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, cwd=tmp)
        try:
            for frame in raster_frames(scene, fps):
                proc.stdin.write(memoryview(frame).cast("B"))
        finally:
            proc.stdin.close()
        if proc.wait() != 0:
            raise SystemExit(f"ffmpeg ssim failed for {preset}")
        full = [dict(re.findall(r"(\w+):([\d.]+)", row)) for row in (Path(tmp) / "ssim444.log").read_text().splitlines()]
        sub = [dict(re.findall(r"(\w+):([\d.]+)", row)) for row in (Path(tmp) / "ssim420.log").read_text().splitlines()]
    frames = frame_count(scene, fps)
    if len(full) != frames or len(sub) != frames:
        raise SystemExit(f"{preset}: ssim compared {len(full)} and {len(sub)} frames, the animation has {frames}")
    return {"all_444": min(float(v["All"]) for v in full), "y_444": min(float(v["Y"]) for v in full),
            "all_420": min(float(v["All"]) for v in sub), "frames": frames}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side and preset (median)")
    parser.add_argument("--presets", nargs="+", default=list(TARGETS))
    parser.add_argument("--manim", type=Path, default=MANIM_DIR, help="the Manim benchmark folder (run.sh)")
    parser.add_argument("--no-manim", action="store_true", help="time bprender's half only")
    args = parser.parse_args()
    with_manim = not args.no_manim and manim_installed(args.manim)
    if not with_manim and not args.no_manim:
        print(f"no Manim found (run {args.manim / 'run.sh'} --setup): timing bprender's half only")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-manim-") as tmp:
        work = Path(tmp)
        for preset in args.presets:
            seconds, cpu, mp4 = time_bprender(preset, args.runs, work)
            size = mp4.stat().st_size
            row = {"preset": preset, "bprender_s": seconds, "bprender_cpu": cpu, "bprender_bytes": size,
                   **min_ssim(preset, mp4)}
            if with_manim:
                row["manim_s"], row["manim_cpu"], row["manim_bytes"] = time_manim(preset, args.runs, work, args.manim)
            rows.append(row)
            print(line_of(row), flush=True)
    print()
    for row in rows:
        print(verdict(row))


def line_of(row: dict) -> str:
    text = (f"{row['preset']:<13} {row['frames']} frames  bprender {row['bprender_s']:.2f} s "
            f"(CPU {row['bprender_cpu']:.2f} s), {row['bprender_bytes'] / 1024:.0f} KB, "
            f"min SSIM {row['all_420']:.4f} (in yuv444p {row['all_444']:.4f}, Y {row['y_444']:.4f})")
    if "manim_s" in row:
        text += (f"  |  Manim {row['manim_s']:.2f} s (CPU {row['manim_cpu']:.2f} s), "
                 f"{row['manim_bytes'] / 1024:.0f} KB")
    return text


def verdict(row: dict) -> str:
    """One line per preset: the ratios against their targets."""
    ssim = (f"min SSIM {row['all_420']:.4f} (ffmpeg's ssim filter, in the MP4's yuv420p; target >= {TARGET_SSIM}: "
            f"{'met' if row['all_420'] >= TARGET_SSIM else 'NOT met'}; stricter, in yuv444p with the halved chroma "
            f"counted: {row['all_444']:.4f}, luma {row['y_444']:.4f})")
    if "manim_s" not in row:
        return f"{row['preset']}: {ssim}; no Manim: no ratios"
    speed = row["manim_s"] / row["bprender_s"]
    work = row["manim_cpu"] / row["bprender_cpu"]
    size = row["bprender_bytes"] / row["manim_bytes"]
    want = TARGETS.get(row["preset"], 2.0)
    return (f"{row['preset']}: Manim / bprender time {speed:.2f}x (target >= {want:g}x: "
            f"{'met' if speed >= want else 'NOT met'}; CPU time {work:.2f}x); bprender / Manim MP4 size {size:.2f}x (target <= "
            f"{TARGET_SIZE:g}x: {'met' if size <= TARGET_SIZE else 'NOT met'}); {ssim}")


if __name__ == "__main__":
    main()
