"""Measure the offline rules judge on EURTAD (Petrak et al., EMNLP 2023).

The data is third-party and is read from ``../shared`` at run time; it is never copied into the
repository. Items with a null label (ambiguous) are dropped. Each item's ``messages`` become
record, judged by ``PerceivedErrorJudge("rules")`` through the same graph as any model. Items
without a user turn after an assistant turn are skipped by the judge and counted as predicted false.

Run from the repository root:

    .venv/bin/python benchmarks/eurtad_rules.py
    .venv/bin/python benchmarks/eurtad_rules.py --errors 20   # also print misjudged ids
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = "../shared/datasets/eurtad/items.jsonl"
SLICES = {"all": None, "SelfFeeding": "SelfFeeding"}


@dataclass
class Scored:
    id: str
    source: str
    label: bool
    predicted: bool
    eligible: bool
    reason: str


@dataclass
class Metrics:
    n: int
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_items(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def score(items: Sequence[dict[str, object]], label_field: str) -> list[Scored]:
    labelled = [item for item in items if item.get(label_field) is not None]
    records = [{"id": item["id"], "messages": item["messages"]} for item in labelled]
    results = PerceivedErrorJudge("rules").batch(records, concurrency=4)
    scored: list[Scored] = []
    for item, result in zip(labelled, results, strict=True):
        if result.status is JudgeStatus.FAILED:
            msg = f"{item['id']}: the rules judge failed: {result.error}"
            raise RuntimeError(msg)
        scored.append(
            Scored(
                id=str(item["id"]),
                source=str(item.get("source_dataset")),
                label=bool(item[label_field]),
                predicted=bool(result.perceived_error),  # skipped = predicted false
                eligible=result.status is JudgeStatus.JUDGED,
                reason=result.reason or "",
            )
        )
    return scored


def metrics(rows: Sequence[Scored]) -> Metrics:
    return Metrics(
        n=len(rows),
        tp=sum(r.label and r.predicted for r in rows),
        fp=sum(not r.label and r.predicted for r in rows),
        fn=sum(r.label and not r.predicted for r in rows),
        tn=sum(not r.label and not r.predicted for r in rows),
    )


def print_table(title: str, scored: Sequence[Scored]) -> None:
    print(f"\n{title}")
    header = (
        f"{'slice':<12} {'n':>5} {'acc':>6} {'prec':>6} {'rec':>6} {'f1':>6} "
        f"{'pos':>5} {'pred+':>6} {'tp':>4} {'fp':>4} {'fn':>4} {'inelig':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, source in SLICES.items():
        rows = [r for r in scored if source is None or r.source == source]
        m = metrics(rows)
        baseline = (m.tn + m.fp) / m.n if m.n else 0.0
        ineligible = sum(not r.eligible for r in rows)
        print(
            f"{name:<12} {m.n:>5} {m.accuracy:>6.3f} {m.precision:>6.3f} {m.recall:>6.3f} "
            f"{m.f1:>6.3f} {m.tp + m.fn:>5} {m.tp + m.fp:>6} {m.tp:>4} {m.fp:>4} {m.fn:>4} "
            f"{ineligible:>6}   (always-false accuracy {baseline:.3f})"
        )


def print_errors(scored: Sequence[Scored], limit: int) -> None:
    for kind, wanted in (("false positives", (False, True)), ("false negatives", (True, False))):
        rows = [r for r in scored if (r.label, r.predicted) == wanted]
        print(f"\n{kind} ({len(rows)}):")
        for r in rows[:limit]:
            print(f"  {r.id}  {r.reason}")


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help="items.jsonl; a relative path is resolved against the repository root "
        f"(default: {DEFAULT_DATA})",
    )
    parser.add_argument("--label-field", default="perceived_error_strict")
    parser.add_argument(
        "--second-label-field",
        default="perceived_error_lenient",
        help="also report this label ('' to skip)",
    )
    parser.add_argument(
        "--errors", type=int, default=0, help="print up to N misjudged ids per kind"
    )
    args = parser.parse_args(argv)

    print("$ " + shlex.join([_display_path(Path(sys.executable)), *sys.argv]))
    data = Path(args.data)
    if not data.is_absolute():
        data = (REPO_ROOT / data).resolve()
    items = load_items(data)
    print(f"data: {data} ({len(items)} items); judge: RulesJudge (offline rules)")
    print(
        "Null labels are dropped. Items without a user turn after an assistant turn are "
        "counted as predicted false (column 'inelig')."
    )

    fields = [args.label_field]
    if args.second_label_field and args.second_label_field != args.label_field:
        fields.append(args.second_label_field)
    for field in fields:
        scored = score(items, field)
        dropped = len(items) - len(scored)
        print(f"\n{dropped} items with a null {field} dropped.", end="")
        print_table(f"label: {field}", scored)
        if args.errors:
            print_errors(scored, args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
