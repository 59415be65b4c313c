"""6b. CPU time per judged trace, model latency excluded: ours against openevals.

The fake model answers at once, so what is measured is each library's own work: reading the
trace, building the prompt, running the graph / evaluator, parsing the verdict.
``time.process_time`` over N traces (the bundled sample, repeated), one judge after the other in
this process, best of ``--repeat`` rounds. openevals gets its input already converted to OpenAI
messages (outside the timer); ours reads the raw records. Skipped traces cost ours almost nothing
and openevals a full call, so the table shows per trace and per model call. For scale, the last
rows time LangGraph alone: an empty graph of one and of three nodes invoked the same number of
times.

    .venv/bin/python benchmarks/perf_cpu.py [--n 600] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import _common as c
from langgraph.graph import START, StateGraph

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge


def cpu_seconds(run: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


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

    return cpu_seconds(run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="traces per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best one counts")
    parser.add_argument("--data", type=Path, default=c.SAMPLE)
    parser.add_argument("--profile", action="store_true", help="print our top functions")
    args = parser.parse_args()

    records = c.cycle(c.load_jsonl(args.data), args.n)
    openevals_inputs = [c.openevals_input(r) for r in records]  # outside the timer

    ours = PerceivedErrorJudge(c.FakeJudgeModel())
    ours_no_limiter = PerceivedErrorJudge(c.FakeJudgeModel(), rate_limiter=None)
    evaluator = c.openevals_judge(c.FakeJudgeModel())

    # warm up both (imports, compiled graph, pydantic schemas)
    for record, oe_input in zip(records[:20], openevals_inputs[:20], strict=True):
        ours.judge(record)
        evaluator(outputs=oe_input)

    judged = sum(ours.judge(r).status is JudgeStatus.JUDGED for r in records)

    def run_ours() -> None:
        for record in records:
            ours.judge(record)

    def run_ours_no_limiter() -> None:
        for record in records:
            ours_no_limiter.judge(record)

    def run_openevals() -> None:
        for oe_input in openevals_inputs:
            evaluator(outputs=oe_input)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run_ours)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

    t_ours = cpu_seconds(run_ours, args.repeat)
    t_plain = cpu_seconds(run_ours_no_limiter, args.repeat)
    t_oe = cpu_seconds(run_openevals, args.repeat)
    floor = {nodes: graph_floor(nodes, len(records), args.repeat) for nodes in (1, 3)}
    n = len(records)
    rows = [
        ["ours (default: adaptive limiter on)", n, judged, t_ours, t_ours / n * 1e3,
         t_ours / judged * 1e3, f"{t_ours / t_oe:.2f}x"],
        ["ours (rate_limiter=None)", n, judged, t_plain, t_plain / n * 1e3,
         t_plain / judged * 1e3, f"{t_plain / t_oe:.2f}x"],
        ["openevals create_llm_as_judge", n, n, t_oe, t_oe / n * 1e3, t_oe / n * 1e3, "1.00x"],
    ] + [
        [f"for scale: an empty {k}-node LangGraph graph", n, 0, t, t / n * 1e3, "-",
         f"{t / t_oe:.2f}x"]
        for k, t in floor.items()
    ]  # fmt: skip
    c.print_table(
        f"CPU time, fake model answering instantly ({args.data.name} cycled to {n} traces, "
        f"best of {args.repeat})",
        ["judge", "traces", "model calls", "CPU s", "ms / trace", "ms / model call",
         "vs openevals"],
        rows,
    )  # fmt: skip
    print(f"\nmachine: {c.machine()}")


if __name__ == "__main__":
    main()
