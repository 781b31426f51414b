"""Helpers shared by several test files: running the CLI, reading an MP4's boxes, checking a
scene's layout."""
from __future__ import annotations

import itertools
import struct

from click.testing import CliRunner

from bprender.cli import cli


def invoke(runner: CliRunner, *args):
    """Run `bprender ARGS...` through CliRunner (paths may be Path objects)."""
    return runner.invoke(cli, [str(a) for a in args], prog_name="bprender")


def ok(result):
    """Assert a command succeeded, showing its output (and any exception) if not."""
    assert result.exit_code == 0 and result.exception is None, (result.output, result.exception)
    return result


def top_level_boxes(data: bytes) -> list[str]:
    """An MP4's top-level box types in file order (faststart: moov before mdat)."""
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        assert size >= 8, f"bad box size at {pos}"
        boxes.append(kind.decode("latin-1"))
        pos += size
    assert pos == len(data)
    return boxes


def frames_by_time(source, fps: float, *, rgb: bool = False) -> list:
    """What an MP4 (a path or a file object) shows at each frame time i / fps, as a player shows
    it: bprender's MP4s hold a picture for as long as it does not change (variable frame
    durations), so frame i is the last decoded picture whose time is <= i / fps. The list runs
    to the video stream's end (its duration, else the last picture's time + 1 / fps); each item
    is the decoded picture's number, or its RGB array with rgb=True."""
    import av
    with av.open(source if not hasattr(source, "__fspath__") else str(source)) as container:
        stream = container.streams.video[0]
        shown = [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24") if rgb else n)
                 for n, f in enumerate(container.decode(video=0))]
        end = float(stream.duration * stream.time_base) if stream.duration else shown[-1][0] + 1 / fps
    out, j = [], 0
    for i in range(round(end * fps)):
        while j + 1 < len(shown) and shown[j + 1][0] <= i / fps + 1e-6:
            j += 1
        out.append(shown[j][1])
    return out


def assert_boxes_fit(scene: dict) -> None:
    """Every node box lies inside the frame (with a camera: inside its view in the overview it
    starts with) and no two overlap."""
    boxes = [(n["x"] - n["w"] / 2, n["y"] - n["h"] / 2, n["x"] + n["w"] / 2, n["y"] + n["h"] / 2)
             for n in scene["nodes"]]
    camera = scene.get("camera")
    for x0, y0, x1, y1 in boxes:
        if camera is None:
            assert 0 <= x0 < x1 <= scene["width"] and 0 <= y0 < y1 <= scene["height"]
        else:
            cx, cy, zoom = (camera["track"][k][0][1] for k in ("x", "y", "zoom"))
            sx0, sx1 = (camera["x"] + camera["w"] / 2 + (v - cx) * zoom for v in (x0, x1))
            sy0, sy1 = (camera["y"] + camera["h"] / 2 + (v - cy) * zoom for v in (y0, y1))
            assert camera["x"] - 0.5 <= sx0 < sx1 <= camera["x"] + camera["w"] + 0.5
            assert camera["y"] - 0.5 <= sy0 < sy1 <= camera["y"] + camera["h"] + 0.5
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def run_fresh_python(code: str, env: dict | None = None) -> str:
    """code run by a fresh interpreter with only bprender's checkout on its path (no inherited
    environment, so nothing imported here leaks in, but for the variables in `env`); its stdout,
    after asserting it exited 0."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", **(env or {})})
    assert out.returncode == 0, out.stderr
    return out.stdout
