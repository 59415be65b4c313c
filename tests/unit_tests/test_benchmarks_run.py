"""The performance benchmarks run on a fresh checkout and print every row they promise.

Tiny sizes: this checks that the scripts work and report what their docstrings say, not the
figures (those are measured by running the scripts themselves, see the README's Performance).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("args", "rows"),
    [
        (
            ["perf_cpu.py", "--n", "24", "--repeat", "1", "--levels", "4"],
            [
                "ours sync, a graph run per trace (`judge`, adaptive limiter on)",
                "ours sync batched (`judge_many`, c = 4 threads",
                "ours async batched (`ajudge_many`, c = 4:",
                "ours async batched, c = 4, given turns",
                "openevals sync (`create_llm_as_judge`) | 24 | 24 |",
                "for scale: an empty 3-node LangGraph graph | 24 | 0 |",
            ],
        ),
        (
            ["perf_throughput.py", "--scale", "0.01", "--rounds", "1", "--levels", "4"],
            ["| fixed | 4 |", "| lognormal | 4 |", "| tail | 4 |", "rows where every path of ours"],
        ),
        (
            ["perf_tokens.py"],
            [
                "| bundled sample | ours | 59 | 52 |",
                "| agent traces (tool calls) | openevals | 60 | 60 |",
            ],
        ),
        (["perf_memory.py", "--sizes", "50", "100"], ["| 50 |", "| 100 |", "target: growth < 10%"]),
    ],
    ids=["cpu", "throughput", "tokens", "memory"],
)
def test_a_benchmark_runs_and_prints_its_rows(args: list[str], rows: list[str]):
    out = run(*args)
    missing = [row for row in rows if row not in out]
    assert not missing, out
    assert "machine:" in out
