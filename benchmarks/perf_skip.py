"""6e. Model calls avoided by the eligibility skip (no user turn after an assistant turn).

A perceived error needs the user's reply to an assistant turn; traces without one are skipped
before any model call. openevals has no such skip: it calls the model for every trace. Counted
with the same fake model for both, on the bundled sample, the agent traces, and EURTAD (read at
run time from ../shared; never copied).

    .venv/bin/python benchmarks/perf_skip.py [--eurtad PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _common as c

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eurtad", type=Path, default=c.EURTAD)
    args = parser.parse_args()
    sets = {"bundled sample": c.SAMPLE, "agent traces": c.AGENT_TRACES}
    if args.eurtad.exists():
        sets["EURTAD (all items)"] = args.eurtad
    else:
        print(f"EURTAD not found at {args.eurtad}; skipping it")
    rows = []
    for name, path in sets.items():
        records = c.load_jsonl(path)
        ours_model = c.FakeJudgeModel()
        results = PerceivedErrorJudge(ours_model, rate_limiter=None).batch(records)
        skipped = sum(r.status is JudgeStatus.SKIPPED for r in results)
        failed = sum(r.status is JudgeStatus.FAILED for r in results)
        ours_calls = sum(r.attempts for r in results)
        theirs_model = c.FakeJudgeModel(record=True)
        evaluator = c.openevals_judge(theirs_model)
        for record in records:
            evaluator(outputs=c.openevals_input(record))
        theirs_calls = len(theirs_model.requests)
        rows.append(
            [name, len(records), skipped, failed, ours_calls, theirs_calls,
             theirs_calls - ours_calls, f"{1 - ours_calls / theirs_calls:.1%}"]
        )  # fmt: skip
    c.print_table(
        "Model calls avoided by the eligibility skip (same fake model for both judges)",
        ["data", "traces", "skipped (ours)", "failed (ours)", "model calls ours",
         "model calls openevals", "calls avoided", "% avoided"],
        rows,
    )  # fmt: skip
    print(f"\nmachine: {c.machine()}")


if __name__ == "__main__":
    main()
