"""Judge the bundled sample traces with the Python API and print what the judge found.

Runs offline with the built-in `rules` judge; pass a model spec to use a real model:

    python cookbook/01_judge_traces.py                       # rules, no keys
    python cookbook/01_judge_traces.py fireworks:accounts/fireworks/models/qwen3p5-35b-a3b
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.judge import ModelSpecError

SAMPLE = Path(__file__).parent / "data" / "sample_traces.jsonl"


def load_sample(path: Path = SAMPLE) -> list[dict]:
    """The sample's records: conversations, LangSmith runs and threads, one per line."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(model: str = "rules") -> Counter[str]:
    judge = PerceivedErrorJudge(model)
    records = load_sample()
    counts: Counter[str] = Counter()
    for record, result in zip(records, judge.judge_many(records, concurrency=8), strict=True):
        counts[result.status.value] += 1
        if result.status is JudgeStatus.JUDGED and result.perceived_error:
            counts["flagged"] += 1
            print(f"FLAGGED {result.id}: {result.reason}")
        elif result.status is JudgeStatus.FAILED:
            print(f"FAILED  {result.id}: {result.error}")
        expected = record.get("expected_perceived_error")
        if result.status is JudgeStatus.JUDGED and expected is not None:
            counts["agrees_with_expected"] += result.perceived_error == expected
    print(
        f"\n{len(records)} records with {judge.model_name}: {counts['judged']} judged "
        f"({counts['flagged']} flagged), {counts['skipped']} skipped, {counts['failed']} failed; "
        f"{counts['agrees_with_expected']} of {counts['judged']} judged agree with the sample's "
        "expected label"
    )
    return counts


if __name__ == "__main__":
    try:
        main(*sys.argv[1:2])
    except ModelSpecError as e:  # a mistyped model spec, or its provider's package missing
        sys.exit("error: " + " ".join(str(e).split()))
