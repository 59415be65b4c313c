"""Put the cheap judge in front of an expensive one: the cheap judge settles what it is sure of.

1. The cheap judge (`rules`) judges the labelled sample, and thresholds are chosen on those labels
   with `choose_thresholds`: the confidence at or above which its flag stands, and at or below
   which its "no error" stands (each side only where the settled records reach the target
   accuracy).
2. A `CascadeJudge` judges the traces: what the thresholds settle costs no model call; the rest
   goes to the expensive judge.

For brevity the thresholds are chosen and used on the same sample here, so no accuracy is printed;
`perceived-error bench DATA --cascade CHEAP,EXPENSIVE --report DIR` chooses them on one part of the
labelled records, scores the cascade on the others and writes `DIR/cascade.json` for
`perceived-error judge --cascade CHEAP,EXPENSIVE --cascade-thresholds DIR/cascade.json`.

Offline (no argument) the expensive judge is a stand-in chat model that always answers "no
error"; pass a model spec to use a real one:

    python cookbook/07_cascade.py
    python cookbook/07_cascade.py fireworks:accounts/fireworks/models/qwen3p5-35b-a3b
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.judge import ModelSpecError
from langchain_perceived_error.judge.cascade import CascadeJudge, choose_thresholds

SAMPLE = Path(__file__).parent / "data" / "sample_traces.jsonl"
STAND_IN_ANSWER = '{"perceived_error": false, "reason": "A stand-in model: no error seen."}'


def load_labelled(path: Path = SAMPLE) -> list[dict[str, Any]]:
    """The sample's records that carry a label (``expected_perceived_error`` true or false)."""
    with path.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if isinstance(r.get("expected_perceived_error"), bool)]


def main(expensive_spec: str | None = None, min_settled: int = 25) -> Counter[str]:
    """Choose thresholds for ``rules`` -> ``expensive_spec`` and judge the sample with them.

    The sample is small (52 labelled records), so a side's threshold is trusted here only with at
    least ``min_settled`` = 25 labelled records behind it (the library's default is 10): the
    flagged side (21 records) then settles nothing and every trace the rules flag is sent on.
    """
    records = load_labelled()
    cheap = PerceivedErrorJudge("rules")
    if expensive_spec is None:
        expensive = PerceivedErrorJudge(FakeListChatModel(responses=[STAND_IN_ANSWER]))
        expensive_name = "stand-in"
    else:
        expensive = PerceivedErrorJudge(expensive_spec)
        expensive_name = expensive_spec

    # 1. the cheap judge's outcomes on the labelled records choose the thresholds
    outcomes = [
        (
            result.status,
            result.perceived_error,
            result.confidence,
            record["expected_perceived_error"],
        )
        for record, result in zip(records, cheap.judge_many(records), strict=True)
    ]
    thresholds = choose_thresholds(
        outcomes, cheap="rules", expensive=expensive_name, min_settled=min_settled
    )
    print(
        f"thresholds on {len(records)} labelled records: flagged stands at confidence >= "
        f"{thresholds.settle_above}, not flagged at <= {thresholds.settle_below} (None: never)"
    )

    # 2. the cascade: the cheap judge's settled results stand, the rest go to the expensive one
    cascade = CascadeJudge(cheap, expensive, thresholds)
    counts: Counter[str] = Counter({"settled by rules": 0, f"sent to {expensive_name}": 0})
    for result in cascade.judge_many(records, concurrency=8):
        if result.status is JudgeStatus.SKIPPED:
            counts["skipped"] += 1
        elif result.model == cheap.model_name:
            counts["settled by rules"] += 1
        else:
            counts[f"sent to {expensive_name}"] += 1
        counts["flagged"] += bool(result.perceived_error)
    print(", ".join(f"{name}: {count}" for name, count in counts.items()))
    return counts


if __name__ == "__main__":
    try:
        main(sys.argv[1] if len(sys.argv) > 1 else None)
    except ModelSpecError as e:  # a mistyped model spec, or its provider's package missing
        sys.exit("error: " + " ".join(str(e).split()))
