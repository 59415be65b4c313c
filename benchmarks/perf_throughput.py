"""6c. Throughput under model latency: fixed, lognormal and a slow tail, ours against openevals.

Every judge gets the same fake model (``_common.FakeJudgeModel``) whose k-th request sleeps the
k-th of one seeded list of latency draws, so every judge waits the same sequence:

- **fixed**: every request takes the median (400 ms);
- **lognormal**: median 400 ms, p95 1.5 s, p99 2.6 s (sigma 0.80), as a hosted model answers;
- **tail**: fixed 400 ms, but 1% of the requests (seeded positions) take 10x as long (4 s).

``--scale`` multiplies every latency (default 0.5, to keep the run near 15 minutes: the fixed
mode then waits 200 ms, the lognormal a median of 200 ms). Scaling down makes the CPU count for
more, not less: the ideal doubles while the CPU per trace stays the same.

Judges, each on the same eligible traces of the bundled sample (repeated ``--rounds`` x ``c``):

- ``ajudge_many``: ``PerceivedErrorJudge.ajudge_many(records, concurrency=c)``, input order;
- ``CLI, --order input`` / ``--order completion``: the ``perceived-error judge`` runner
  (``cli.judge._run_judge``) on a JSON-lines file, writing its JSON result lines;
- ``openevals``: ``create_async_llm_as_judge(prompt=PERCEIVED_ERROR_PROMPT)`` under an
  ``asyncio.Semaphore(c)``, results as they complete (openevals has no batch API).

Each figure is the **ideal time over the actual time** until the last result reached the caller
(whole run: ramp-up, drain and the slowest request included). The ideal is that of a judge with no
CPU cost: ``c`` slots, requests started in input order, the k-th one waiting the k-th draw; its
traces per second are in the ``ideal / s`` column. (A steady-state rate is not used: in input
order, the results behind a slow request arrive in one burst.) The judges run interleaved,
``--repeat`` times per level and mode; the table shows medians, with the range of
``ajudge_many``, and the slowest of our three paths against openevals (the issue 14 target: at
or above 1.00x in every row).

    .venv/bin/python benchmarks/perf_throughput.py [--levels 16 64 256] [--modes fixed tail]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import math
import os
import random
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from statistics import median
from typing import Any

import _common as c

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.cli.judge import _run_judge
from langchain_perceived_error.cli.summary import RunSummary
from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.records import ReadReport, read_records
from langchain_perceived_error.core.transcript import extract_transcript

MEDIAN_S = 0.4
SIGMA = math.log(1.5 / MEDIAN_S) / 1.6449  # p95 = 1.5 s; then p99 = 2.6 s
TAIL_SHARE, TAIL_FACTOR = 0.01, 10
SEED = 2026


def latency_draws(mode: str, n: int, scale: float) -> list[float]:
    """``n`` request latencies for ``mode``, seeded: the same list for every judge."""
    rng = random.Random(SEED)
    if mode == "fixed":
        draws = [MEDIAN_S] * n
    elif mode == "lognormal":
        draws = [rng.lognormvariate(math.log(MEDIAN_S), SIGMA) for _ in range(n)]
    else:
        slow = set(rng.sample(range(n), max(1, round(n * TAIL_SHARE))))
        draws = [MEDIAN_S * (TAIL_FACTOR if i in slow else 1) for i in range(n)]
    return [d * scale for d in draws]


def ideal_makespan(draws: list[float], concurrency: int) -> float:
    """When the last result would arrive with no CPU cost: ``concurrency`` slots, requests taken
    in input order, the k-th waiting ``draws[k]`` (ramp-up, drain and slowest request included)."""
    free_at = [0.0] * concurrency
    for draw in draws:
        heapq.heappush(free_at, heapq.heappop(free_at) + draw)
    return max(free_at)


def _checked(result: Any) -> None:
    if result.status is not JudgeStatus.JUDGED:
        msg = f"a record was not judged: {result.status} {result.error}"
        raise RuntimeError(msg)


async def _times(results: AsyncIterator[Any], started: float) -> list[float]:
    return [time.perf_counter() - started async for _ in results]


def _judge(draws: list[float]) -> PerceivedErrorJudge:
    return PerceivedErrorJudge(c.FakeJudgeModel(latency_draws=draws))


async def run_ajudge_many(records: list[Any], level: int, draws: list[float]) -> list[float]:
    judge, started = _judge(draws), time.perf_counter()

    async def results() -> AsyncIterator[Any]:
        async for result in judge.ajudge_many(records, concurrency=level):
            _checked(result)
            yield result

    return await _times(results(), started)


class _TimedLines:
    """A text sink for the CLI runner that notes when each result line was written."""

    def __init__(self, started: float) -> None:
        self.started, self.at, self.judged = started, list[float](), 0

    def write(self, text: str) -> int:
        self.at.append(time.perf_counter() - self.started)
        self.judged += json.loads(text)["status"] == "judged"
        return len(text)

    def flush(self) -> None:
        pass


def cli_runner(path: Path, order: str) -> Callable[[list[Any], int, list[float]], Any]:
    async def run(records: list[Any], level: int, draws: list[float]) -> list[float]:
        judge, sink = _judge(draws), _TimedLines(time.perf_counter())
        sourced = read_records([str(path)], ReadReport())
        summary = RunSummary(model=judge.model_name)
        await _run_judge(judge, sourced, None, sink, level, summary, order)  # type: ignore[arg-type]
        if sink.judged != len(records):
            msg = f"the CLI judged {sink.judged} of {len(records)} records"
            raise RuntimeError(msg)
        return sink.at

    return run


async def run_openevals(records: list[Any], level: int, draws: list[float]) -> list[float]:
    inputs = [c.openevals_input(r) for r in records]  # before the clock: our work, given free
    evaluator = c.openevals_judge(c.FakeJudgeModel(latency_draws=draws), use_async=True)
    limit, started = asyncio.Semaphore(level), time.perf_counter()

    async def one(messages: Any) -> Any:
        async with limit:
            return await evaluator(outputs=messages)

    async def as_completed() -> AsyncIterator[Any]:
        for done in asyncio.as_completed([one(m) for m in inputs]):
            yield await done

    return await _times(as_completed(), started)


Runner = Callable[[list[Any], int, list[float]], Coroutine[Any, Any, list[float]]]


def level_row(
    mode: str, level: int, records: list[Any], runners: dict[str, Runner], args: Any
) -> tuple[list[Any], float]:
    """One table row: each judge's median over ``repeat`` interleaved runs, as % of the ideal;
    and the slowest of ours over openevals, unrounded."""
    draws = latency_draws(mode, len(records), args.scale)
    ideal = ideal_makespan(draws, level)
    runs: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.repeat):
        for name, run in runners.items():
            runs[name].append(ideal / max(asyncio.run(run(records, level, draws))))
    share = {name: median(values) for name, values in runs.items()}
    row: list[Any] = [mode, level, len(records), len(records) / ideal]
    row += [f"{share[name]:.0%}" for name in runners]
    row += [f"{min(runs['ajudge_many']):.0%}-{max(runs['ajudge_many']):.0%}"]
    row.append(f"{share['ajudge_many'] / share['openevals']:.2f}x")
    ours = min(value for name, value in share.items() if name != "openevals")
    row.append(f"{ours / share['openevals']:.2f}x")
    return row, ours / share["openevals"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["fixed", "lognormal", "tail"])
    parser.add_argument("--levels", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--scale", type=float, default=0.5, help="latency multiplier")
    parser.add_argument("--rounds", type=int, default=12, help="traces per level = rounds x c")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs; medians shown")
    args = parser.parse_args()

    eligible = [r for r in c.load_jsonl(c.SAMPLE) if skip_reason(extract_transcript(r)) is None]
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    started = time.perf_counter()
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for level in args.levels:
            records = c.cycle(eligible, args.rounds * level)
            path = Path(tmp) / f"traces-{level}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
            runners: dict[str, Runner] = {
                "ajudge_many": run_ajudge_many,
                "CLI input": cli_runner(path, "input"),
                "CLI completion": cli_runner(path, "completion"),
                "openevals": run_openevals,
            }
            for mode in args.modes:
                row, ratio = level_row(mode, level, records, runners, args)
                rows.append(row)
                ratios.append(ratio)
                print("  " + " | ".join(str(cell) for cell in rows[-1]), flush=True)
    headers = ["latency", "concurrency", "traces", "ideal / s"]
    headers += list(runners)
    headers += ["ajudge_many, range", "ajudge_many vs openevals", "slowest of ours vs openevals"]
    rows.sort(key=lambda row: (args.modes.index(row[0]), row[1]))
    c.print_table(
        f"Throughput as % of the ideal (no CPU cost); latency scale {args.scale} "
        f"(fixed {MEDIAN_S * args.scale * 1000:.0f} ms; lognormal median "
        f"{MEDIAN_S * args.scale * 1000:.0f} ms; tail 1% x{TAIL_FACTOR}); "
        f"medians of {args.repeat} interleaved runs",
        headers,
        rows,
    )
    level = sum(float(row[-1].rstrip("x")) >= 1.0 for row in rows)
    strict = sum(ratio >= 1.0 for ratio in ratios)
    print(
        f"\nrows where every path of ours is at or above openevals: {level} of {len(rows)} "
        f"(two-decimal ratio, i.e. within 0.5%); {strict} of {len(rows)} strictly; "
        f"slowest of ours / openevals {min(ratios):.3f}-{max(ratios):.3f}"
    )
    print(f"run time: {time.perf_counter() - started:.0f} s")
    print(f"load after (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"machine: {c.machine()}")


if __name__ == "__main__":
    main()
