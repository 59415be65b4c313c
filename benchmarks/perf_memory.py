"""6d. Peak RSS of ``perceived-error judge --model rules`` on generated inputs of growing size.

Each size runs in its own subprocess (``/usr/bin/time``-free: a small Python wrapper reads the
child's ``ru_maxrss``), writing results to a file, so only the judge's own memory is measured.
The streaming reader and the bounded ``ajudge_many`` window should keep memory flat: the target
is growth under 10% from the smallest to the largest input. openevals has no command line or
batch runner, so there is no openevals column here.

    .venv/bin/python benchmarks/perf_memory.py [--sizes 10000 100000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

TARGET = 0.10

_WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mb(data: Path, out: Path, concurrency: int) -> tuple[int, float, float]:
    """(exit code, peak RSS in MB, seconds) of one ``perceived-error judge`` run."""
    command = [
        sys.executable, "-c", _WRAPPER,
        sys.executable, "-m", "langchain_perceived_error", "judge", str(data),
        "--model", "rules", "--concurrency", str(concurrency), "--output", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=c.REPO_ROOT)
    code, kilobytes = done.stdout.split()
    return int(code), int(kilobytes) / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rows = []
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            data = Path(tmp) / f"records-{size}.jsonl"
            with data.open("w", encoding="utf-8") as f:
                for record in c.generated_records(size):
                    f.write(json.dumps(record) + "\n")
            out = Path(tmp) / f"results-{size}.jsonl"
            code, peak, seconds = peak_rss_mb(data, out, args.concurrency)
            lines = sum(1 for _ in out.open(encoding="utf-8"))
            peaks.append(peak)
            rows.append(
                [size, f"{data.stat().st_size / 1e6:.1f} MB", code, lines, peak,
                 f"{peak / peaks[0] - 1:+.1%}", seconds, size / seconds]
            )  # fmt: skip
    c.print_table(
        "Peak RSS of `perceived-error judge FILE --model rules` (one subprocess per size)",
        ["records", "input", "exit", "result lines", "peak RSS MB", "vs smallest", "seconds",
         "records / s"],
        rows,
    )  # fmt: skip
    growth = peaks[-1] / peaks[0] - 1
    print(
        f"\ntarget: growth < {TARGET:.0%} -> {growth:+.1%} "
        f"({'met' if growth < TARGET else 'MISSED'})"
    )
    print(f"machine: {c.machine()}")


if __name__ == "__main__":
    main()
