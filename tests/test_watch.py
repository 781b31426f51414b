"""`bprender watch`: the live preview's server and watcher, in process (the HTTP answers, a
save making a new scene or an error, the model traced again only when it changed) and as a
command (the start lines, Ctrl-C, --open, a port in use). The page in Chromium:
tests/test_watch_browser.py."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bprender.jsonio import dumps
from bprender.preset import builtin_presets_dir
from bprender.watch import Watch
from watchkit import edit, get, get_json, next_state

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def linear(tmp_path) -> Path:
    path = tmp_path / "linear.yaml"
    shutil.copy(builtin_presets_dir() / "linear.yaml", path)
    return path


@pytest.fixture
def watching(linear):
    with Watch(str(linear), poll=0.05) as watch:
        yield watch


def fresh_scene(arg) -> dict:
    from bprender.pipeline import open_source, scene_for
    return scene_for([open_source(str(arg))], cache=False)


def test_it_binds_the_loopback_only_and_serves_the_page_and_the_scene(watching, linear):
    assert watching.server.server_address[0] == "127.0.0.1"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", watching.url) and watching.server.port > 0
    page = get(watching.url).decode("utf-8")
    assert "connect-src &#x27;self&#x27;" in page and "bprender_live" in page   # live.js is in
    reply = get_json(watching.url + "scene.json")
    assert reply["scene_version"] == 1
    assert dumps(reply["scene"]) == dumps(fresh_scene(linear))
    state = get_json(watching.url + "events?after=0")
    assert state == {"version": 1, "scene_version": 1, "error": None, "building": False}


def test_a_request_for_another_host_name_is_refused(watching):
    """A page elsewhere pointing a name it controls at 127.0.0.1 (DNS rebinding) gets nothing."""
    request = urllib.request.Request(watching.url + "scene.json", headers={"Host": "evil.example:80"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 403
    assert get(f"http://localhost:{watching.server.port}/scene.json")   # localhost is fine


def test_a_save_makes_a_new_scene_without_tracing_again(traced, linear):
    with Watch(str(linear), poll=0.05) as watch:
        assert traced == ["linear"]
        state = get_json(watch.url + "events?after=0")
        edit(linear, r'^title: .*$', 'title: "Edited live"')
        state = next_state(watch.url, state)
        assert state["scene_version"] == 2 and state["error"] is None
        scene = get_json(watch.url + "scene.json")["scene"]
        assert scene["title"] == "Edited live"
        assert traced == ["linear"]                          # only the title changed: no new trace
        assert dumps(scene) == dumps(fresh_scene(linear))   # the same scene a fresh run makes
        edit(linear, r"params: \{w: 2\.0", "params: {w: 3.0")
        state = next_state(watch.url, state, until=lambda s: s["scene_version"] == 3)
        assert not state["building"] and state["error"] is None
        assert traced == ["linear", "linear", "linear"]      # the model changed: traced again
        assert dumps(get_json(watch.url + "scene.json")["scene"]) == dumps(fresh_scene(linear))


def test_the_server_answers_while_the_model_is_traced(linear, monkeypatch):
    """Tracing runs on the watcher's thread: the page, the last scene and the state (saying it
    is tracing) are served meanwhile."""
    import threading

    import bprender.trace as trace_module
    release, entered = threading.Event(), threading.Event()
    real = trace_module.trace_preset

    def slow(preset):
        entered.set()
        assert release.wait(60)
        return real(preset)
    with Watch(str(linear), poll=0.05) as watch:
        state = get_json(watch.url + "events?after=0")
        monkeypatch.setattr(trace_module, "trace_preset", slow)
        edit(linear, r"params: \{w: 2\.0", "params: {w: 5.0")
        try:
            assert entered.wait(30)
            state = next_state(watch.url, state)
            assert state["building"] and state["scene_version"] == 1
            assert b"bp-scenes" in get(watch.url)
            assert get_json(watch.url + "scene.json")["scene_version"] == 1
        finally:
            release.set()
        state = next_state(watch.url, state)
        assert state == {"version": state["version"], "scene_version": 2, "error": None, "building": False}


def test_a_broken_edit_is_reported_and_the_last_scene_stays(watching, linear):
    state = get_json(watching.url + "events?after=0")
    good = get(watching.url + "scene.json")
    text = linear.read_text(encoding="utf-8")
    line = len(text.splitlines()) + 1
    linear.write_text(text + "render: {fps: [}\n", encoding="utf-8")
    state = next_state(watching.url, state)
    error = state["error"]
    assert error["file"] == str(linear) and error["line"] == line
    assert "not valid YAML" in error["message"]
    assert state["scene_version"] == 1 and get(watching.url + "scene.json") == good

    edit(linear, r"^render: \{fps: \[\}$", "render: {fsp: 30}")    # valid YAML, a misspelt key
    state = next_state(watching.url, state)
    assert state["error"]["line"] == line and "fsp" in state["error"]["message"]
    assert "did you mean 'fps'" in state["error"]["message"]

    linear.write_text(text, encoding="utf-8")                       # fixed: the error goes
    state = next_state(watching.url, state)
    assert state["error"] is None and state["scene_version"] == 2


MODEL = """import torch
from torch import nn


def build():
    import helper
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    return {"model": model, "inputs": torch.ones(3, 2) * helper.SCALE, "target": torch.zeros(3, 1), "loss": "mse"}
"""


def test_a_python_model_is_watched_with_the_files_beside_it(traced, tmp_path):
    (tmp_path / "helper.py").write_text("SCALE = 1.0\n", encoding="utf-8")
    (tmp_path / "net.py").write_text(MODEL, encoding="utf-8")
    preset = tmp_path / "net.yaml"
    preset.write_text("title: Net\nmodel: {python: net.py:build}\n", encoding="utf-8")
    try:
        watch_a_python_model(traced, tmp_path, preset)
    finally:
        sys.modules.pop("helper", None)   # the model's own module: no other test must import it


def watch_a_python_model(traced, tmp_path, preset):
    with Watch(str(preset), poll=0.05) as watch:
        assert set(watch.files) == {preset, tmp_path / "net.py", tmp_path / "helper.py"}
        state = get_json(watch.url + "events?after=0")
        first = get_json(watch.url + "scene.json")["scene"]

        (tmp_path / "helper.py").write_text("SCALE = 2.0\n", encoding="utf-8")   # what the model imports
        state = next_state(watch.url, state, until=lambda s: s["scene_version"] == 2)
        assert len(traced) == 2
        second = get_json(watch.url + "scene.json")["scene"]
        assert dumps(second) != dumps(first) and dumps(second) == dumps(fresh_scene(preset))

        broken = MODEL.replace("    model = nn.Linear(2, 1)\n", "    model = nn.Linear(2, 1)\n    1 / 0\n")
        (tmp_path / "net.py").write_text(broken, encoding="utf-8")
        state = next_state(watch.url, state, until=lambda s: s["error"] is not None)
        error = state["error"]
        line = broken.splitlines().index("    1 / 0") + 1
        assert (error["file"], error["line"]) == (str(tmp_path / "net.py"), line)   # the user's own line
        assert "ZeroDivisionError" in error["message"] and str(preset) in error["message"]
        assert state["scene_version"] == 2

        preset.write_text("title: Net\nmodel: {expression: (w - 1) ** 2, params: {w: 3.0}}\n", encoding="utf-8")
        state = next_state(watch.url, state, until=lambda s: s["scene_version"] == 3)
        assert watch.files == [preset]                 # the model's files are no longer watched
        time.sleep(0.5)                                # ten looks at the files: nothing changed
        assert get_json(watch.url + "events?after=0")["version"] == state["version"]


def test_stop_answers_waiting_pages_and_frees_the_port(linear):
    watch = Watch(str(linear), poll=0.05).start()
    port = watch.server.port
    started = time.monotonic()
    answers = []

    def wait_for_a_change():
        try:
            get(watch.url + "events?after=1")
        except urllib.error.HTTPError as err:
            answers.append((err.code, err.headers["Connection"]))
    waiter = threading.Thread(target=wait_for_a_change)
    waiter.start()
    time.sleep(0.3)
    watch.stop()
    waiter.join(timeout=10)
    assert answers == [(503, "close")] and time.monotonic() - started < 5   # answered: stopped
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with socket.socket() as s:        # the port is free again, for the next `watch --port`
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
    assert not [t for t in threading.enumerate() if t.name.startswith("bprender-watch")]


# ---- the command -------------------------------------------------------------------------

def start_command(*args, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "bprender", "watch", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    hung = threading.Timer(120, proc.kill)   # a command that never says it started is not left running
    hung.start()
    try:
        for line in proc.stderr:
            lines.append(line)
            if "Ctrl-C stops" in line:
                break
    finally:
        hung.cancel()
    if not lines or "Ctrl-C stops" not in lines[-1]:
        proc.kill()
        proc.communicate(timeout=30)
        raise AssertionError(f"bprender watch did not start: {''.join(lines)}")
    return proc, lines


def test_the_command_says_where_it_listens_and_stops_on_ctrl_c(linear, tmp_path):
    opened = tmp_path / "opened.txt"
    browser = f"{sys.executable} -c \"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\" %s"
    proc, lines = start_command(linear, "--open", env={"BROWSER": browser})
    try:
        assert len(lines) == 2, lines
        assert lines[0].startswith(f"Watching {linear}")
        url = re.search(r"http://127\.0\.0\.1:\d+/", lines[1]).group(0)
        assert "loopback interface only" in lines[1]
        assert b"bp-scenes" in get(url)
        for _ in range(100):
            if opened.exists() and opened.read_text():
                break
            time.sleep(0.1)
        assert opened.read_text() == url          # --open opened the page (webbrowser, $BROWSER)
        edit(linear, r'^title: .*$', 'title: "From the command"')
        state = next_state(url, get_json(url + "events?after=0"))
        assert state["scene_version"] == 2
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    rest = [line for line in err.splitlines() if line.strip()]
    assert rest[-1] == "Stopped watching." and "updated" in rest[0]
    assert "Traceback" not in err and out == ""


def test_sigterm_stops_it_with_its_status(linear):
    proc, lines = start_command(linear)
    try:
        assert "Ctrl-C stops" in lines[-1]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err


def test_a_port_in_use_or_a_broken_preset_is_one_line(linear, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "bprender", "watch", str(linear), "--port", str(port)],
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                                text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: --port {port}: the port is in use on 127.0.0.1; give another "
                                     "or leave --port out for a free one")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {expression: w * }\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bprender", "watch", str(bad)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"Error: {bad}:1: model.expression")


def test_help_has_an_example(runner):
    from bprender.cli import cli
    result = runner.invoke(cli, ["watch", "--help"])
    assert result.exit_code == 0 and "bprender watch presets/linear.yaml --open" in result.output


def test_the_command_takes_the_pace(linear):
    """`watch --pace fast` serves the fast scene (the option reaches the request it builds)."""
    proc, lines = start_command(linear, "--pace", "fast")
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", lines[-1]).group(0)
        served = get_json(url + "scene.json")["scene"]["duration"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    normal = fresh_scene(linear)["duration"]
    assert served == pytest.approx(0.7 * normal, abs=1e-3)
