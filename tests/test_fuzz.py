"""Property-based fuzzing of presets through the CLI (tests/fuzzkit.py): whatever the preset holds,
every run ends in an output or a one-line refusal, within the time budget, leaving no stray file.

A seeded (derandomized) subset runs here; `python bench/fuzz.py --cases 5000` runs thousands.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzkit import BASE, COMMANDS, KNOWN_ELSEWHERE, MODULE_NAMES, python_cases, run_case, texts

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(raw=texts(), command=st.sampled_from(["check", "check", "check", "trace", "frame"]))
def test_any_preset_ends_in_an_output_or_a_one_line_refusal(raw, command):
    outcome = run_case(raw, command)
    assert outcome.kind in ("success", "refusal"), (outcome.kind, outcome.detail, raw[:400])


@settings(FUZZ, max_examples=60)
@given(case=python_cases([n for n in MODULE_NAMES if n not in KNOWN_ELSEWHERE]),
       command=st.sampled_from(["check", "frame"]))
def test_python_models_with_hostile_names_and_shapes(case, command):
    raw, files = case
    outcome = run_case(raw, command, files=files)
    assert outcome.kind in ("success", "refusal"), (outcome.kind, outcome.detail, files["net.py"])


def test_the_fuzz_harness_sees_each_kind():
    """The classifier itself: a good preset succeeds, a broken one is refused, a bug is caught."""
    import yaml
    good = yaml.safe_dump(BASE).encode()
    assert run_case(good, "check").kind == "success"
    assert run_case(good, "frame").kind == "success"
    assert run_case(b"model: [", "check").kind == "refusal"
    COMMANDS["broken"] = lambda p, out: ["frame", p, "--at", "0.1", "-o", out / "f.png", "--size", object()]
    try:
        assert run_case(good, "broken").kind in ("traceback", "refusal")
    finally:
        del COMMANDS["broken"]
