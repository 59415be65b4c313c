"""6c. Throughput with a fake model of fixed latency (200 ms, ``asyncio.sleep``).

Ours: ``PerceivedErrorJudge.ajudge_many(records, concurrency=c)`` (ordered output, bounded
memory, adaptive rate limiter on, as by default), once as shipped and once with its CPU gate
switched off (see ``langchain_perceived_error/cpu_gate.py``), to show what the gate does.
openevals has no batch or concurrency API of its own; its async evaluator
(``create_async_llm_as_judge``) is driven by an ``asyncio.Semaphore(c)`` + ``gather``, the usual
way to run it concurrently. All three on the same eligible traces of the bundled sample
(repeated), one after the other in this process.

The ideal is ``c / latency`` traces per second. Two figures per run, from the time each result
reached the caller: **whole run** (all traces / time to the last one: includes the ramp-up of
the first ``c`` traces and the drain of the last ``c``) and **steady state** (the results
between the ``c``-th and the ``n - c``-th, over the time between them). Each judge runs
``--repeat`` times per level (interleaved, so they share the machine's noise) and the table shows
medians, with the range of ours; the target (>= 90% of ideal up to c = 64) is checked on the
median of the lower of the two figures.

    .venv/bin/python benchmarks/perf_throughput.py [--levels 1 16 64 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from statistics import median
from typing import Any

import _common as c

from langchain_perceived_error import (
    JudgeStatus,
    PerceivedErrorJudge,
    extract_transcript,
    skip_reason,
)
from langchain_perceived_error.cpu_gate import CpuGate

TARGET = 0.9
TARGET_UP_TO = 64


def rates(done_at: list[float], concurrency: int) -> tuple[float, float]:
    """(whole run, steady state) results per second from sorted completion times."""
    n = len(done_at)
    whole = n / done_at[-1]
    first, last = concurrency - 1, n - concurrency - 1
    if last - first < concurrency:  # too short to have a steady state
        return whole, whole
    return whole, (last - first) / (done_at[last] - done_at[first])


async def timed(results: AsyncIterator[Any]) -> list[float]:
    started = time.perf_counter()
    return [time.perf_counter() - started async for _ in results]


async def run_ours(
    records: list[Any], concurrency: int, latency: float, *, gate: bool
) -> list[float]:
    judge = PerceivedErrorJudge(c.FakeJudgeModel(latency_s=latency))
    judge._cpu_gate = CpuGate(enabled=gate)  # off: the side-by-side comparison

    async def checked() -> AsyncIterator[Any]:
        async for result in judge.ajudge_many(records, concurrency=concurrency):
            if result.status is not JudgeStatus.JUDGED:
                msg = f"a record was not judged: {result.status} {result.error}"
                raise RuntimeError(msg)
            yield result

    return await timed(checked())


async def run_openevals(inputs: list[Any], concurrency: int, latency: float) -> list[float]:
    evaluator = c.openevals_judge(c.FakeJudgeModel(latency_s=latency), use_async=True)
    limit = asyncio.Semaphore(concurrency)

    async def one(messages: Any) -> Any:
        async with limit:
            return await evaluator(outputs=messages)

    async def as_completed() -> AsyncIterator[Any]:
        for done in asyncio.as_completed([one(m) for m in inputs]):
            yield await done

    return await timed(as_completed())


def level_row(
    records: list[Any], level: int, latency: float, openevals: bool, repeat: int
) -> tuple[list[Any], float]:
    """One table row of medians over ``repeat`` runs of each judge, interleaved; and the median
    over runs of the lower of our whole-run and steady-state fractions of the ideal."""
    ideal = level / latency
    inputs = [c.openevals_input(r) for r in records] if openevals else []
    ours, off, theirs, lower = [], [], [], []
    for _ in range(repeat):
        whole, steady = rates(asyncio.run(run_ours(records, level, latency, gate=True)), level)
        ours.append((whole / ideal, steady / ideal))
        lower.append(min(whole, steady) / ideal)
        off.append(rates(asyncio.run(run_ours(records, level, latency, gate=False)), level))
        if openevals:
            oe = rates(asyncio.run(run_openevals(inputs, level, latency)), level)
            theirs.append((oe[0] / ideal, oe[1] / ideal))
    steady = median(s for _, s in ours)
    low, high = min(s for _, s in ours), max(s for _, s in ours)
    row: list[Any] = [level, len(records), ideal, steady * ideal]
    row += [f"{median(w for w, _ in ours):.0%}", f"{steady:.0%}", f"{low:.0%}-{high:.0%}"]
    row.append(f"{median(s for _, s in off) / ideal:.0%}")
    if openevals:
        oe_steady = median(s for _, s in theirs)
        row += [f"{median(w for w, _ in theirs):.0%}", f"{oe_steady:.0%}"]
        row.append(f"{steady / oe_steady:.2f}x")
    return row, median(lower)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="fake model latency, seconds")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument(
        "--rounds", type=int, default=20, help="records per level = rounds x concurrency (>= 20)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per judge and level; medians are reported"
    )
    parser.add_argument("--no-openevals", action="store_true")
    args = parser.parse_args()

    eligible = [r for r in c.load_jsonl(c.SAMPLE) if skip_reason(extract_transcript(r)) is None]
    rows = []
    verdicts = []
    for level in args.levels:
        records = c.cycle(eligible, max(20, args.rounds * level))
        row, lower = level_row(records, level, args.latency, not args.no_openevals, args.repeat)
        rows.append(row)
        if level <= TARGET_UP_TO:
            verdict = "met" if lower >= TARGET else "MISSED"
            verdicts.append(
                f"c={level}: {row[4]} whole, {row[5]} steady, median of {args.repeat} ({verdict})"
            )
    headers = [
        "concurrency",
        "traces",
        "ideal / s",
        "ours / s (steady)",
        "ours % of ideal, whole run",
        "ours % of ideal, steady",
        "ours steady, range",
        "ours without CPU gate, steady",
    ]
    if not args.no_openevals:
        headers += ["openevals %, whole run", "openevals %, steady", "ours vs openevals (steady)"]
    c.print_table(
        f"Throughput, fake model with {args.latency * 1000:.0f} ms latency (traces per second)",
        headers,
        rows,
    )
    print(f"\ntarget: >= {TARGET:.0%} of ideal up to c={TARGET_UP_TO} -> " + "; ".join(verdicts))
    print(f"machine: {c.machine()}")


if __name__ == "__main__":
    main()
