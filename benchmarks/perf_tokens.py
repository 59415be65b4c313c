"""6a. Input tokens per judged trace: ours against openevals' perceived-error judge.

Both judges run in this process on the same traces with the same fake model, which counts what
each request would bill: the messages (content and role, +3 tokens a message) and, for openevals,
the JSON schema of the ``score`` tool its structured output binds. One counter for both, the
package's estimator (``core.tokens.estimate_tokens``: LangChain's ``count_tokens_approximately``,
about 4 characters a token), and characters as a tokenizer-free check. openevals judges every
trace (it has no eligibility skip); ours skips traces with no user turn after an assistant turn
(zero tokens). The compact-prompt row
is what a judge fine-tuned with ``sft build --prompt compact`` is sent (not for base models).

    .venv/bin/python benchmarks/perf_tokens.py
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import _common as c

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.core.prompts import PromptStyle

TARGET = 0.7
VARIANTS: list[tuple[str, bool, PromptStyle]] = [
    ("ours", False, "full"),
    ("ours --include-tools", True, "full"),
    ("ours, compact prompt (fine-tuned judge)", False, "compact"),
]


def measure(records: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    """{judge: (model calls, input tokens, characters)} over ``records``."""
    out = {}
    for label, include_tools, prompt in VARIANTS:
        model = c.FakeJudgeModel(record=True)
        judge = PerceivedErrorJudge(
            model, include_tools=include_tools, rate_limiter=None, prompt=prompt
        )
        results = judge.batch(records, concurrency=1)
        failed = [r for r in results if r.status is JudgeStatus.FAILED]
        if failed:
            msg = f"{label}: {len(failed)} records failed, first: {failed[0].error}"
            raise RuntimeError(msg)
        out[label] = _totals(model)
    model = c.FakeJudgeModel(record=True)
    evaluator = c.openevals_judge(model)
    for record in records:
        evaluator(outputs=c.openevals_input(record))
    out["openevals"] = _totals(model)
    return out


def _totals(model: c.FakeJudgeModel) -> tuple[int, int, int]:
    return (
        len(model.requests),
        sum(t for t, _ in model.requests),
        sum(ch for _, ch in model.requests),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", help="extra .jsonl sets")
    args = parser.parse_args()
    sets = {"bundled sample": c.SAMPLE, "agent traces (tool calls)": c.AGENT_TRACES}
    for path in args.data or []:
        sets[path.name] = path
    rows = []
    verdicts = []
    for name, path in sets.items():
        records = c.load_jsonl(path)
        totals = measure(records)
        _, tokens_oe, chars_oe = totals["openevals"]
        for label in [*(v[0] for v in VARIANTS), "openevals"]:
            calls, tokens, chars = totals[label]
            rows.append(
                [
                    name,
                    label,
                    len(records),
                    calls,
                    tokens,
                    round(tokens / calls) if calls else 0,
                    f"{tokens / tokens_oe:.2f}x",
                    f"{chars / chars_oe:.2f}x",
                ]
            )
        ratio = totals["ours"][1] / tokens_oe
        verdicts.append(f"{name}: {ratio:.2f}x ({'met' if ratio <= TARGET else 'MISSED'})")
    c.print_table(
        "Input tokens sent to the judge model (same traces, same fake model, same counter)",
        [
            "data",
            "judge",
            "traces",
            "model calls",
            "input tokens",
            "per call",
            "tokens vs openevals",
            "chars vs openevals",
        ],
        rows,
    )
    print(f"\ncounter: {c.TOKENIZER}")
    print(f"target: ours total <= {TARGET}x openevals' -> " + "; ".join(verdicts))
    print(f"machine: {c.machine()}")


if __name__ == "__main__":
    main()
