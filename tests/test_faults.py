"""Faults and special outputs (issue 13): exit statuses, signals, stray files, FIFOs, `-o -`,
full disks, hostile names. The signal tests run `python -m bprender` as a real subprocess; the
rest go through bprender.cli.entry, which is what `bprender` runs (main = sys.exit(entry())).
"""
from __future__ import annotations

import errno
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bprender.cli import BUG_STATUS, entry, quote_controls
from bprender.encode.atomic import is_stream, sweep_stale, temp_name

REPO = Path(__file__).resolve().parent.parent
MODEL = "model:\n  expression: (w * x - y) ** 2\n  params: {w: 1.0}\n  inputs: {x: 2.0, y: 3.0}\n"


def run_cli(capsys, *args) -> tuple[int, str, str]:
    status = entry([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def strays(*folders: Path) -> list[str]:
    """What a bprender run may leave behind: hidden temporary outputs, GIF work folders."""
    return sorted(p.name for folder in folders for p in folder.iterdir()
                  if "bprender-tmp" in p.name or p.name.startswith("bprender-gif") or ".tmp" in p.name)


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


# ---- exit statuses and messages --------------------------------------------------------------

@pytest.mark.parametrize("args", [["chek", "linear"], ["check"], ["check", "--bogus", "linear"],
                                  ["frame", "linear"], ["video", "linear", "--fps", "abc"]])
def test_usage_errors_are_one_line_with_status_2(capsys, args):
    status, out, err = run_cli(capsys, *args)
    assert status == 2
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--help" in lines[0], err


def test_user_error_is_one_line_with_status_1(capsys, tmp_path):
    status, _, err = run_cli(capsys, "check", tmp_path / "missing.yaml")
    assert status == 1 and len(error_lines(err)) == 1 and "no such preset file" in err


def test_a_bug_exits_70_and_names_a_log_with_the_traceback(capsys, monkeypatch):
    import bprender.fmt

    def broken(value):
        raise ZeroDivisionError("deliberate")
    monkeypatch.setattr(bprender.fmt, "summary_text", broken)
    status, _, err = run_cli(capsys, "check", "linear")
    assert status == BUG_STATUS == 70
    lines = error_lines(err)
    assert len(lines) == 1 and "a bug in bprender" in lines[0] and "Traceback" not in err, err
    log = Path(re.search(r"the traceback is in (\S+\.log)", lines[0]).group(1))
    try:
        text = log.read_text()
        assert "Traceback" in text and "ZeroDivisionError: deliberate" in text
    finally:
        log.unlink()


def test_ffmpeg_failure_is_one_line(capsys, tmp_path, monkeypatch):
    from bprender.encode import video
    monkeypatch.setitem(video.QUALITY, "draft", {"preset": "no-such-preset", "crf": 23})
    out = tmp_path / "v.mp4"
    status, _, err = run_cli(capsys, "video", "linear", "--only", "intro", "--quality", "draft", "-q", "-o", out)
    assert status == 1 and len(error_lines(err)) == 1 and "ffmpeg failed" in err, err
    assert not out.exists() and strays(tmp_path) == []


def test_warnings_are_not_printed_before_the_error(capsys, tmp_path):
    (tmp_path / "net.py").write_text(
        "import warnings, torch\nfrom torch import nn\n"
        "def build():\n    warnings.warn('a torch-like warning')\n    torch.manual_seed(0)\n"
        "    return {'model': nn.Linear(2, 1), 'inputs': torch.ones(1, 2), 'target': torch.ones(1, 1),"
        " 'loss': 'mse'}\n")
    (tmp_path / "p.yaml").write_text("model: {python: net.py:build}\n")
    status, _, err = run_cli(capsys, "frame", tmp_path / "p.yaml", "--at", "999", "-o", tmp_path / "f.png")
    assert status == 1 and error_lines(err) == [l for l in error_lines(err) if l.startswith("Error: ")], err
    assert "warning" not in err.lower() and len(error_lines(err)) == 1


def test_control_characters_are_quoted_on_the_terminal(capsys, tmp_path):
    (tmp_path / "p.yaml").write_text('title: "bell\\a and \\u202e flip"\n' + MODEL)
    status, out, err = run_cli(capsys, "check", tmp_path / "p.yaml")
    assert status == 0, err
    assert "bell\\x07 and \\u202e flip" in out and "\x07" not in out and "\u202e" not in out
    assert quote_controls("a\x1b[31mb\nc", keep="\n") == "a\\x1b[31mb\nc"


def test_an_error_naming_a_control_character_is_quoted(capsys, tmp_path):
    (tmp_path / "p.yaml").write_text(MODEL + 'view: "ops\\e[2J"\n')
    status, _, err = run_cli(capsys, "check", tmp_path / "p.yaml")
    assert status == 1 and "\x1b" not in err and "\\x1b[2J" in err, err


def test_a_300_character_output_name_is_one_line(capsys, tmp_path):
    status, _, err = run_cli(capsys, "frame", "linear", "--at", "1", "-o", tmp_path / ("x" * 300 + ".png"))
    assert status == 1 and len(error_lines(err)) == 1 and "file name is 304 bytes long" in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_long_but_legal_name_works(capsys, tmp_path):
    out = tmp_path / ("y" * 250 + ".png")
    status, _, err = run_cli(capsys, "frame", "linear", "--at", "1", "-o", out)
    assert status == 0 and out.is_file() and strays(tmp_path) == [], err


# ---- special outputs ----------------------------------------------------------------------

def test_dash_streams_to_stdout(tmp_path, capfdbinary):
    for args, magic in ((["trace", "linear"], b"{"), (["frame", "linear", "--at", "1"], b"\x89PNG"),
                        (["gif", "linear", "--only", "intro", "-q"], b"GIF89a")):
        status = entry(args + ["-o", "-"])
        out, err = capfdbinary.readouterr()
        assert status == 0 and out.startswith(magic), (args, err)
    assert not Path("-").exists()


def test_dash_to_stdout_in_a_subprocess(tmp_path):
    for args, magic in ((["video", "linear", "--only", "intro", "--quality", "draft", "-q"], b"ftyp"),
                        (["html", "linear"], b"<!DOCTYPE html>"), (["frame", "linear", "--at", "1"], b"\x89PNG")):
        done = subprocess.run([sys.executable, "-m", "bprender", *args, "-o", "-"], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert magic in done.stdout[:64], (args, done.stdout[:64])
        assert list(tmp_path.iterdir()) == []
        if args[0] == "video":  # streamed as it is encoded: a fragmented MP4
            from testkit import top_level_boxes
            boxes = top_level_boxes(done.stdout)
            assert boxes[:2] == ["ftyp", "moov"] and "moof" in boxes, boxes
            import av
            from bprender.lecture import part_span
            from bprender.pipeline import open_preset, scene_of, trace_of
            from testkit import frames_by_time
            preset = open_preset("linear")
            t0, t1 = part_span(scene_of(trace_of(preset), preset), "intro")
            shown = frames_by_time(__import__("io").BytesIO(done.stdout), 30)
            assert len(shown) == round((t1 - t0) * 30) > 30


def test_video_into_a_fifo_streams(capsys, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    status, _, err = run_cli(capsys, "video", "linear", "--only", "intro", "--quality", "draft", "-q", "-o", fifo)
    reader.join(60)
    assert status == 0, err
    assert got and got[0][4:8] == b"ftyp" and fifo.is_fifo()


@pytest.mark.parametrize("suffix, fragment", [(".png", "million pixels"), (".pdf", "larger than PDF viewers show")])
def test_a_huge_contact_sheet_is_one_line(capsys, tmp_path, suffix, fragment):
    out = tmp_path / f"sheet{suffix}"
    status, _, err = run_cli(capsys, "sheet", "linear", "--size", "8192x4608", "--cols", "10", "-o", out)
    assert status == 1 and len(error_lines(err)) == 1 and fragment in err, err
    assert list(tmp_path.iterdir()) == []


def test_fifo_is_written_into_not_replaced(capsys, tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    status, _, err = run_cli(capsys, "frame", "linear", "--at", "1", "-o", fifo)
    reader.join(30)
    assert status == 0, err
    assert got and got[0].startswith(b"\x89PNG")
    assert fifo.is_fifo() and strays(tmp_path) == []


def test_symlink_to_a_device_is_kept(capsys, tmp_path):
    link = tmp_path / "sink"
    link.symlink_to("/dev/null")
    status, _, err = run_cli(capsys, "trace", "linear", "-o", link)
    assert status == 0, err
    assert link.is_symlink() and os.readlink(link) == "/dev/null" and is_stream(link)


def test_symlink_to_a_file_keeps_the_link(capsys, tmp_path):
    (tmp_path / "real.json").write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    status, _, err = run_cli(capsys, "trace", "linear", "-o", link)
    assert status == 0, err
    assert link.is_symlink() and (tmp_path / "real.json").read_text().startswith("{")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_dev_full_is_one_line(capsys):
    status, _, err = run_cli(capsys, "trace", "linear", "-o", "/dev/full")
    assert status == 1 and len(error_lines(err)) == 1 and "no space left" in err, err


@pytest.mark.parametrize("command, args, suffix", [
    ("frame", ["--at", "1"], ".png"), ("frame", ["--at", "1"], ".svg"), ("frame", ["--at", "1"], ".pdf"),
    ("trace", [], ".json"), ("html", [], ".html")])
def test_full_disk_leaves_nothing(capsys, tmp_path, monkeypatch, command, args, suffix):
    """The disk fills up while the temporary file is written: one line, nothing left."""
    def filling(original):
        def write(self, *a, **k):
            if "bprender-tmp" not in self.name:
                return original(self, *a, **k)
            with open(self, "wb") as f:
                f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return write
    for name in ("write_bytes", "write_text"):
        monkeypatch.setattr(pathlib.Path, name, filling(getattr(pathlib.Path, name)))
    out = tmp_path / f"out{suffix}"
    status, _, err = run_cli(capsys, command, "linear", *args, "-o", out)
    assert status == 1 and len(error_lines(err)) == 1 and "no space left on the device" in err, err
    assert list(tmp_path.iterdir()) == []


# ---- signals and stray files -------------------------------------------------------------

def _start(args, tmp_path, tmpdir):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmpdir)}
    return subprocess.Popen([sys.executable, "-m", "bprender", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_stray(proc, *folders, timeout=120.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = strays(*folders)
        if found:
            return found
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no temporary file appeared")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_render_leaves_no_partial_file(tmp_path, signum):
    work = tmp_path / "tmp"
    work.mkdir()
    out = tmp_path / "v.mp4"
    proc = _start(["video", "deep_sigmoid", "--quality", "draft", "-q", "-o", out], tmp_path, work)
    try:
        _wait_for_stray(proc, tmp_path)
        time.sleep(0.3)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert error_lines(err.decode()) == [f"Stopped by {signal.Signals(signum).name}: no output file was written."]
    assert not out.exists() and strays(tmp_path, work) == []


def test_sigkill_then_a_second_run_leaves_nothing(tmp_path):
    work = tmp_path / "tmp"
    work.mkdir()
    proc = _start(["gif", "deep_sigmoid", "--width", "1280", "-q", "-o", tmp_path / "a.gif"], tmp_path, work)
    try:
        _wait_for_stray(proc, work)
        _wait_for_stray(proc, tmp_path)           # the palette pass is done, the GIF is being written
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert strays(tmp_path) and strays(work)     # SIGKILL leaves them ...
    second = _start(["gif", "linear", "--only", "intro", "-q", "-o", tmp_path / "b.gif"], tmp_path, work)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert strays(tmp_path, work) == []          # ... and the next run sweeps them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.gif", "tmp"]


def test_sweep_leaves_live_processes_alone(tmp_path):
    mine = tmp_path / temp_name(tmp_path / "x.mp4")
    mine.write_text("in progress")
    dead = tmp_path / f".x.bprender-tmp-{2 ** 22 + 12345}-0123abcd.mp4"  # above pid_max: never alive
    dead.write_text("left by SIGKILL")
    other = tmp_path / ".x.notours.mp4"
    other.write_text("someone else's")
    assert sweep_stale(tmp_path) == [dead.name]
    assert mine.exists() and other.exists()


def test_a_device_as_preset_is_refused_without_reading_it(capsys):
    status, _, err = run_cli(capsys, "check", "/dev/zero")
    assert status == 1 and error_lines(err) == ["Error: /dev/zero is a device, not a preset file"]


def test_a_preset_through_a_pipe_works(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bprender", "check", "/dev/stdin"], input=MODEL.encode(),
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith(b"/dev/stdin: ok"), done.stderr


def test_an_endless_preset_is_cut_at_the_size_limit(tmp_path):
    """Reading stops at 4 MB (what a FIFO fed from /dev/zero would otherwise never end)."""
    from bprender.preset import load_preset
    from bprender.errors import PresetError
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (5 * 2 ** 20))
    with pytest.raises(PresetError, match="at most 4 MB"):
        load_preset(big)


@pytest.mark.parametrize("args, magic", [
    (["frame", "linear", "--at", "end", "--format", "svg", "-o", "-"], b"<?xml"),
    (["frame", "linear", "--at", "end", "--format", "pdf", "-o", "-"], b"%PDF"),
    (["frame", "linear", "--at", "end", "-o", "-"], b"\x89PNG"),
    (["sheet", "linear", "--backward", "1", "--format", "pdf", "-o", "-"], b"%PDF"),
])
def test_stills_stream_to_standard_output_in_the_format_asked(args, magic, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bprender", *args], capture_output=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(magic)
    assert list(tmp_path.iterdir()) == []   # nothing written beside it


def test_a_format_that_contradicts_the_name_is_refused(tmp_path, capsys):
    code = entry(["frame", "linear", "--at", "end", "--format", "svg", "-o", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 1 and "--format svg asks for a .svg, but the name says .png" in err
    assert list(tmp_path.iterdir()) == []
