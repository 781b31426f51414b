"""The set-up promises: one dependency list in two files, CI runs the README's test command,
and a built wheel carries the fonts and the built-in presets."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(d for d in pip if not d.startswith("-e")) == sorted(project["dependencies"])


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    render, test = readme_commands()[:2]
    assert "bprender video" in render
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text()
    assert test.strip() in ci
    assert "torch==2.13.0" in ci  # the CPU wheel first (DESIGN.md)


def test_wheel_carries_fonts_and_builtin_presets(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("bprender-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bprender/assets/fonts/bprender-sans.ttf" in names
    assert "bprender/assets/fonts/bprender-sans-bold.ttf" in names
    for preset in (ROOT / "presets").glob("*.yaml"):
        assert f"bprender/presets/{preset.name}" in names


def test_ci_runs_the_tests_in_a_fresh_venv():
    ci = (ROOT / ".ci" / "run").read_text()
    venv, activate, torch = ci.index("python -m venv"), ci.index("/bin/activate"), ci.index("torch==2.13.0")
    assert venv < activate < torch < ci.index(readme_commands()[1].strip())
    assert "poppler-utils" in ci


def test_gitignore_covers_what_the_readme_commands_write():
    outputs = sorted({m for cmd in readme_commands() for m in re.findall(r"-o (\S+)", cmd)} - {"-"})  # - is stdout
    assert "backprop.mp4" in outputs and len(outputs) > 10
    if not (ROOT / ".git").exists():
        return
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", *outputs],
                          capture_output=True, text=True)
    assert sorted(done.stdout.split()) == outputs, done.stdout
