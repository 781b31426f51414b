"""The long fuzz run: thousands of hostile presets through the CLI, counted by outcome.

    python bench/fuzz.py [--cases 3000] [--seed 1] [--show 5]

Cases come from tests/fuzzkit.py (the strategies tests/test_fuzz.py runs a seeded few hundred of):
presets mutated by structure (types, missing and unknown keys, extreme numbers, deep nesting,
aliases, tags, long and hostile names, raw bytes) and Python models with hostile module names and
shapes (a newline or ESC in a name, 0-row inputs, non-finite values), each run in-process through click's CliRunner
as `check`, `trace`, `scene` or a small `frame`. Prints the counts (successes, refusals,
tracebacks, hangs, stray files) and the first few failures of each kind; exits 1 if any case was
a traceback, a hang or left a stray file.
"""
from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzzkit import python_cases, run_case, texts  # noqa: E402


def signature(detail: str) -> str:
    """Where a failure ended: the last bprender frame and the exception's line."""
    frames = re.findall(r'File "([^"]*bprender/[^"]+)", line (\d+), in (\S+)', detail)
    last = [line for line in detail.strip().splitlines() if line.strip()]
    where = f"{Path(frames[-1][0]).relative_to(ROOT) if ROOT in Path(frames[-1][0]).parents else frames[-1][0]}" \
            f":{frames[-1][1]} {frames[-1][2]}" if frames else "?"
    return f"{where}: {last[-1][:120] if last else ''}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=5, help="failures of each kind to print")
    args = ap.parse_args()
    counts = collections.Counter()
    by_command = collections.Counter()
    failures = collections.defaultdict(list)
    slowest = [0.0]
    start = time.monotonic()

    @settings(max_examples=args.cases, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=["generate"])
    @given(case=st.one_of(texts().map(lambda raw: (raw, None)), python_cases()),
           command=st.sampled_from(["check", "check", "trace", "scene", "frame"]))
    def one(case, command):
        raw, files = case
        outcome = run_case(raw, command, files=files)
        counts[outcome.kind] += 1
        by_command[(command, outcome.kind)] += 1
        slowest[0] = max(slowest[0], outcome.seconds)
        if outcome.kind not in ("success", "refusal"):
            failures[outcome.kind].append((command, files["net.py"] if files else raw[:300], outcome.detail))

    random.seed(args.seed)
    from hypothesis import seed as hseed
    hseed(args.seed)(one)()
    total = sum(counts.values())
    print(f"{total} cases in {time.monotonic() - start:.0f} s (slowest {slowest[0]:.2f} s)")
    for kind in ("success", "refusal", "traceback", "hang", "stray"):
        print(f"  {kind:<10} {counts[kind]}")
    print("  by command: " + ", ".join(f"{c} {k} {n}" for (c, k), n in sorted(by_command.items())))
    for kind, items in failures.items():
        groups = collections.Counter(signature(detail) for _, _, detail in items)
        print(f"\n{kind}: {len(items)} cases, by where they ended:")
        for sig, n in groups.most_common():
            print(f"  {n:5d}  {sig}")
        print(f"first {min(args.show, len(items))}:")
        for command, raw, detail in items[:args.show]:
            print(f"--- {command}: {raw!r}\n{detail}")
    return 1 if any(counts[k] for k in ("traceback", "hang", "stray")) else 0


if __name__ == "__main__":
    sys.exit(main())
