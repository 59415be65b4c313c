"""6c. Throughput with a fake model of fixed latency (200 ms, ``asyncio.sleep``).

Ours: ``PerceivedErrorJudge.ajudge_many(records, concurrency=c)`` (ordered output, bounded
memory, adaptive rate limiter on as by default). openevals has no batch or concurrency API of its
own; its async evaluator (``create_async_llm_as_judge``) is driven here by an
``asyncio.Semaphore(c)`` + ``gather``, the usual way to run it concurrently. Both on the same
eligible traces of the bundled sample (repeated), one after the other in this process. The ideal
is ``c / latency`` traces per second; the target is >= 90% of it up to c = 64.

    .venv/bin/python benchmarks/perf_throughput.py [--latency 0.2] [--levels 1 16 64 256]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import _common as c

from langchain_perceived_error import (
    JudgeStatus,
    PerceivedErrorJudge,
    extract_transcript,
    skip_reason,
)

TARGET = 0.9
TARGET_UP_TO = 64


async def run_ours(records: list[Any], concurrency: int, latency: float) -> float:
    judge = PerceivedErrorJudge(c.FakeJudgeModel(latency_s=latency))
    started = time.perf_counter()
    statuses = [r.status async for r in judge.ajudge_many(records, concurrency=concurrency)]
    elapsed = time.perf_counter() - started
    if set(statuses) != {JudgeStatus.JUDGED}:
        msg = f"not every record was judged: {sorted(set(statuses))}"
        raise RuntimeError(msg)
    return len(records) / elapsed


async def run_openevals(inputs: list[Any], concurrency: int, latency: float) -> float:
    evaluator = c.openevals_judge(c.FakeJudgeModel(latency_s=latency), use_async=True)
    limit = asyncio.Semaphore(concurrency)

    async def one(messages: Any) -> Any:
        async with limit:
            return await evaluator(outputs=messages)

    started = time.perf_counter()
    await asyncio.gather(*(one(m) for m in inputs))
    return len(inputs) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="fake model latency, seconds")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument(
        "--rounds", type=int, default=8, help="records per level = rounds x concurrency (>= 20)"
    )
    parser.add_argument("--no-openevals", action="store_true")
    args = parser.parse_args()

    eligible = [r for r in c.load_jsonl(c.SAMPLE) if skip_reason(extract_transcript(r)) is None]
    rows = []
    verdicts = []
    for level in args.levels:
        records = c.cycle(eligible, max(20, args.rounds * level))
        ideal = level / args.latency
        ours = asyncio.run(run_ours(records, level, args.latency))
        row: list[Any] = [level, len(records), ideal, ours, f"{ours / ideal:.0%}"]
        if not args.no_openevals:
            inputs = [c.openevals_input(r) for r in records]
            theirs = asyncio.run(run_openevals(inputs, level, args.latency))
            row += [theirs, f"{theirs / ideal:.0%}", f"{ours / theirs:.2f}x"]
        rows.append(row)
        if level <= TARGET_UP_TO:
            met = ours / ideal >= TARGET
            verdicts.append(f"c={level}: {ours / ideal:.0%} ({'met' if met else 'MISSED'})")
    headers = ["concurrency", "traces", "ideal / s", "ours / s", "ours % of ideal"]
    if not args.no_openevals:
        headers += ["openevals / s", "openevals % of ideal", "ours vs openevals"]
    c.print_table(
        f"Throughput, fake model with {args.latency * 1000:.0f} ms latency (traces per second)",
        headers,
        rows,
    )
    print(f"\ntarget: >= {TARGET:.0%} of ideal up to c={TARGET_UP_TO} -> " + "; ".join(verdicts))
    print(f"machine: {c.machine()}")


if __name__ == "__main__":
    main()
