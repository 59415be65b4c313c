"""6b. CPU time per judged trace, model latency excluded: ours against openevals, sync and async.

The fake model answers at once, so what is measured is each library's own work: reading the
trace, building the prompt, running the graph / evaluator, parsing the verdict.
``time.process_time`` over N traces (the bundled sample, repeated), every judge once per round,
rounds interleaved, best of ``--repeat`` rounds per judge. openevals gets its input already
converted to OpenAI messages (outside the timer); ours reads the raw records. Skipped traces cost
ours almost nothing and openevals a full call, so the table shows per trace and per model call.

Rows: ours one trace per graph run, sync (``judge``) and async (``ajudge`` awaited in turn); ours
sync batched (``judge_many`` in ``--levels`` threads, a graph run per batch of 1, then 2, 4, up to
8 traces per thread); ours async batched (``ajudge_many`` at each ``--levels`` concurrency: one
graph run per batch, batches of ``min(concurrency, 64)`` traces doubling up to
``min(8 x concurrency, 64)``), on the raw records and, like openevals, on input converted outside
the timer (the turns ours extracts, so reading the trace shape is not timed); openevals sync,
async awaited in turn, and async with the same concurrency (``asyncio.gather`` under a
semaphore). For scale, the last rows time LangGraph alone:
an empty graph of one and of three nodes invoked the same number of times.

Every timed run starts with a full garbage collection (untimed), so each judge pays for the
collections its own run causes and not for objects earlier runs left to the collector; the last
column counts the full collections a judge's runs started themselves (a judge that keeps many
objects alive while it works starts them; in a long run it pays one every so many traces, which a
short ``--n`` may leave out of its best round: compare a larger ``--n``). With
``--freeze``, the inputs and judges built before the timed rounds are moved out of the
garbage collector's reach (``gc.freeze()``) so that no judge is charged for the collector scanning
the benchmark's own data. Without it, a judge that keeps more objects alive while it works (ours:
a batch of traces and their messages per graph run) triggers more full collections, each of which
walks every record, message list and turn list this script holds.

    .venv/bin/python benchmarks/perf_cpu.py [--n 600] [--repeat 3] [--levels 8 64] [--profile]
        [--freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import _common as c
from langgraph.graph import START, StateGraph

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript
from langchain_perceived_error.judge.batching import batch_plan

FULL_COLLECTIONS = [0]
"""Full (generation 2) collections started so far in this process."""


def _count_full_collections(phase: str, info: dict[str, Any]) -> None:
    if phase == "start" and info["generation"] == 2:
        FULL_COLLECTIONS[0] += 1


def cpu_seconds(run: Callable[[], Any], repeat: int) -> tuple[float, int]:
    """The least CPU time of ``repeat`` runs, each started with a clean garbage collector, and
    the full collections those runs started (all of them, not only the fastest's).

    The full collection before each run (untimed, not counted) charges every judge only for the
    collections its own run causes: CPython starts a full collection once enough objects have
    survived two younger ones, whoever allocated them, so without it a run could pay for the
    objects that the runs before it kept alive (or ride on a collection they paid for).
    """
    best, full = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        before = FULL_COLLECTIONS[0]
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
        full += FULL_COLLECTIONS[0] - before
    return best, full


class _EmptyState(TypedDict, total=False):
    record: Any
    out: Any


def graph_floor(nodes: int, n: int, repeat: int) -> float:
    """CPU seconds for ``n`` invocations of a graph of ``nodes`` nodes that do nothing."""
    builder = StateGraph(_EmptyState)
    previous = START
    for index in range(nodes):
        builder.add_node(f"n{index}", lambda _state: {"out": 1})
        builder.add_edge(previous, f"n{index}")
        previous = f"n{index}"
    graph = builder.compile()

    def run() -> None:
        for _ in range(n):
            graph.invoke({"record": 1})

    return cpu_seconds(run, repeat)[0]


def _turns_or_record(record: Any) -> Any:
    """The turns ours reads from ``record``, or the record itself when it cannot be read."""
    try:
        return extract_transcript(record) or record
    except TranscriptError:
        return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="traces per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best one counts")
    parser.add_argument("--levels", type=int, nargs="+", default=[8, 64], help="concurrency")
    parser.add_argument("--data", type=Path, default=c.SAMPLE)
    parser.add_argument("--profile", action="store_true", help="print our top functions")
    parser.add_argument(
        "--freeze", action="store_true", help="gc.freeze() the setup before the timed rounds"
    )
    args = parser.parse_args()

    records = c.cycle(c.load_jsonl(args.data), args.n)
    openevals_inputs = [c.openevals_input(r) for r in records]  # outside the timer
    # ours given turns, as openevals is given messages: the trace is read outside the timer
    turns = [_turns_or_record(r) for r in records]

    ours = PerceivedErrorJudge(c.FakeJudgeModel())
    ours_no_limiter = PerceivedErrorJudge(c.FakeJudgeModel(), rate_limiter=None)
    evaluator = c.openevals_judge(c.FakeJudgeModel())
    aevaluator = c.openevals_judge(c.FakeJudgeModel(), use_async=True)

    # warm up both (imports, compiled graph, pydantic schemas)
    for record, oe_input in zip(records[:20], openevals_inputs[:20], strict=True):
        ours.judge(record)
        evaluator(outputs=oe_input)

    judged = sum(ours.judge(r).status is JudgeStatus.JUDGED for r in records)
    if args.freeze:
        gc.collect()
        gc.freeze()

    async def ours_async() -> None:
        for record in records:
            await ours.ajudge(record)

    async def ours_many(concurrency: int, inputs: list[Any]) -> None:
        async for _ in ours.ajudge_many(inputs, concurrency=concurrency):
            pass

    async def openevals_async() -> None:
        for oe_input in openevals_inputs:
            await aevaluator(outputs=oe_input)

    async def openevals_gathered(concurrency: int) -> None:
        slots = asyncio.Semaphore(concurrency)

        async def one(oe_input: Any) -> Any:
            async with slots:
                return await aevaluator(outputs=oe_input)

        await asyncio.gather(*(one(x) for x in openevals_inputs))

    runs: dict[str, Callable[[], Any]] = {
        "ours sync, a graph run per trace (`judge`, adaptive limiter on)": lambda: [
            ours.judge(r) for r in records
        ],
        "ours sync, a graph run per trace (`rate_limiter=None`)": lambda: [
            ours_no_limiter.judge(r) for r in records
        ],
        "ours async, a graph run per trace (`ajudge` awaited in turn)": lambda: asyncio.run(
            ours_async()
        ),
    }
    for level in args.levels:
        runs[f"ours sync batched (`judge_many`, c = {level} threads: 1 -> 8 traces a run)"] = (
            lambda level=level: list(ours.judge_many(records, concurrency=level))
        )
    for level in args.levels:
        plan = batch_plan(level)
        sizes = f"{plan.first}" if plan.first == plan.largest else f"{plan.first} -> {plan.largest}"
        runs[f"ours async batched (`ajudge_many`, c = {level}: {sizes} traces a run)"] = (
            lambda level=level: asyncio.run(ours_many(level, records))
        )
    for level in args.levels:
        runs[f"ours async batched, c = {level}, given turns (as openevals is given messages)"] = (
            lambda level=level: asyncio.run(ours_many(level, turns))
        )
    runs["openevals sync (`create_llm_as_judge`)"] = lambda: [
        evaluator(outputs=x) for x in openevals_inputs
    ]
    runs["openevals async, awaited in turn"] = lambda: asyncio.run(openevals_async())
    for level in args.levels:
        runs[f"openevals async, c = {level} (gather + semaphore)"] = lambda level=level: (
            asyncio.run(openevals_gathered(level))
        )

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(runs[next(iter(runs))])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

    best = dict.fromkeys(runs, float("inf"))
    full = dict.fromkeys(runs, 0)  # full collections a judge's own runs started, all rounds
    gc.callbacks.append(_count_full_collections)
    for _ in range(args.repeat):  # interleaved: every judge once per round
        for name, run in runs.items():
            seconds, collections = cpu_seconds(run, 1)
            best[name] = min(best[name], seconds)
            full[name] += collections
    floor = {nodes: graph_floor(nodes, len(records), args.repeat) for nodes in (1, 3)}
    gc.callbacks.remove(_count_full_collections)
    n = len(records)
    t_oe = best["openevals sync (`create_llm_as_judge`)"]
    rows = []
    for name, t in best.items():
        calls = n if name.startswith("openevals") else judged
        rows.append(
            [name, n, calls, t, t / n * 1e3, t / calls * 1e3, f"{t / t_oe:.2f}x", full[name]]
        )
    rows += [
        [f"for scale: an empty {k}-node LangGraph graph", n, 0, t, t / n * 1e3, "-",
         f"{t / t_oe:.2f}x", "-"]
        for k, t in floor.items()
    ]  # fmt: skip
    c.print_table(
        f"CPU time, fake model answering instantly ({args.data.name} cycled to {n} traces, "
        f"best of {args.repeat} interleaved rounds)",
        ["judge", "traces", "model calls", "CPU s", "ms / trace", "ms / model call",
         "vs openevals sync", f"full GCs in {args.repeat} rounds"],
        rows,
    )  # fmt: skip
    print(f"\nmachine: {c.machine()}; setup frozen out of the GC: {args.freeze}")


if __name__ == "__main__":
    main()
