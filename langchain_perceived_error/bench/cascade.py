"""Compare a cascade of two judges with each judge alone, on the same labelled records.

Both judges judge every record once (:func:`~langchain_perceived_error.bench.runner.
run_benchmark`); the cascade is then composed from their outcomes, record by record, exactly as
:class:`~langchain_perceived_error.judge.cascade.CascadeJudge` routes (a test checks the two
agree): the cheap judge's outcome when its thresholds settle it, else the expensive judge's.

Thresholds are chosen on labelled data that the comparison does NOT score: the records are split
by a SHA-256 of their id (:func:`split_records`; ``calibration_share`` of them choose the
thresholds with :func:`~langchain_perceived_error.judge.cascade.choose_thresholds`), and the
three rows are scored on the rest. Given thresholds (a file from an earlier run) are used as they
are, on every record.

Each row (:class:`CascadeRow`) carries the :class:`~langchain_perceived_error.bench.scoring.
ModelScore` of its outcomes (accuracy and kappa over judged records with bootstrap intervals,
end-to-end accuracy over all records), ``usd_per_1k`` and ``reached_expensive``:

- ``usd_per_1k``: the cheap judge's cost on every record plus the expensive judge's cost on the
  records sent to it, per 1,000 records (the price table's cost of the calls recorded in each
  judge's own run); ``None`` when either judge used has no known price.
- ``reached_expensive``: the share of records on which the expensive model was called: 0 for the
  cheap judge alone, the records it did not skip for the expensive judge alone, the escalated
  records for the cascade.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.table import Table

from langchain_perceived_error.bench.pricing import ModelPrice
from langchain_perceived_error.bench.runner import BenchSettings, ItemOutcome, ModelRun
from langchain_perceived_error.bench.scoring import ModelScore, score_run
from langchain_perceived_error.core.sampling import id_fraction
from langchain_perceived_error.core.schemas import JudgeStatus
from langchain_perceived_error.judge.cascade import (
    DEFAULT_MIN_SETTLED,
    DEFAULT_TARGET_ACCURACY,
    CascadeThresholds,
    choose_thresholds,
    settles,
)

__all__ = [
    "CASCADE_DEFINITIONS",
    "DEFAULT_CALIBRATION_SHARE",
    "CascadeComparison",
    "CascadeRow",
    "cascade_markdown",
    "cascade_outcomes",
    "cascade_table",
    "compare_cascade",
    "split_records",
    "thresholds_text",
    "write_cascade_files",
]

DEFAULT_CALIBRATION_SHARE = 0.5
"""Share of the labelled records that choose the thresholds (the rest are scored)."""

CASCADE_DEFINITIONS = {
    "cascade rows": "scored on the records the thresholds were NOT chosen on (all records when "
    "a thresholds file is given); the same records for the three rows",
    "cascade accuracy, kappa": "over judged records, as in the table above; e2e acc over all",
    "cascade $/1k": "the cheap judge's cost on every record + the expensive judge's on the "
    "records sent to it, per 1,000 records; n/a when a judge used has no price",
    "reached expensive": "share of records on which the expensive model was called",
}
"""How the cascade table's columns are computed; printed under it."""


@dataclass(frozen=True)
class CascadeRow:
    """One way of judging the scored records: a judge alone, or the cascade."""

    name: str
    score: ModelScore
    usd_per_1k: float | None
    reached_expensive: float | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the figures the comparison table shows."""
        m = self.score.metrics
        return {
            "name": self.name,
            "records": self.score.n,
            "judged": self.score.judged,
            "skipped": self.score.skipped,
            "failed": self.score.failed,
            "accuracy": m["accuracy"].to_dict(),
            "kappa": m["kappa"].to_dict(),
            "e2e_accuracy": self.score.e2e_accuracy.to_dict(),
            "usd_per_1k": self.usd_per_1k,
            "reached_expensive": self.reached_expensive,
        }


@dataclass(frozen=True)
class CascadeComparison:
    """The thresholds, how the records were split, and the three rows."""

    thresholds: CascadeThresholds
    calibration_records: int
    scored_records: int
    rows: list[CascadeRow]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``cascade_comparison.json``)."""
        return {
            "thresholds": self.thresholds.model_dump(mode="json"),
            "calibration_records": self.calibration_records,
            "scored_records": self.scored_records,
            "rows": [row.to_dict() for row in self.rows],
        }


def split_records(ids: Sequence[str], calibration_share: float) -> tuple[set[str], set[str]]:
    """``(calibration ids, scored ids)``: an id calibrates when a hash of it falls under the share.

    Raises:
        ValueError: for a share outside (0, 1).

    """
    if not 0.0 < calibration_share < 1.0:
        msg = f"calibration_share must be between 0 and 1 (exclusive), got {calibration_share}"
        raise ValueError(msg)
    calibration = {i for i in ids if id_fraction(i) < calibration_share}
    return calibration, set(ids) - calibration


def cascade_outcomes(
    cheap: Sequence[ItemOutcome], expensive: Sequence[ItemOutcome], thresholds: CascadeThresholds
) -> tuple[list[ItemOutcome], list[bool]]:
    """Per record, the outcome the cascade keeps, and whether it went to the expensive judge.

    Raises:
        ValueError: when the two runs do not hold the same records in the same order.

    """
    if [o.id for o in cheap] != [o.id for o in expensive]:
        msg = "the cheap and the expensive runs must hold the same records in the same order"
        raise ValueError(msg)
    kept, escalated = [], []
    for first, second in zip(cheap, expensive, strict=True):
        up = not settles(thresholds, first.status, first.predicted, first.confidence)
        kept.append(second if up else first)
        escalated.append(up)
    return kept, escalated


def _subset(run: ModelRun, ids: set[str]) -> ModelRun:
    return dataclasses.replace(run, outcomes=[o for o in run.outcomes if o.id in ids])


def _usd(
    run: ModelRun, prices: Mapping[str, ModelPrice] | None, settings: BenchSettings
) -> float | None:
    if not run.outcomes:
        return 0.0
    return score_run(run, prices=prices, settings=settings).usd_total


def _row(
    name: str,
    run: ModelRun,
    cost_runs: Sequence[ModelRun],
    reached: float | None,
    prices: Mapping[str, ModelPrice] | None,
    settings: BenchSettings,
) -> CascadeRow:
    score = score_run(run, prices=prices, settings=settings)
    costs = [_usd(part, prices, settings) for part in cost_runs]
    total = None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
    per_1k = None if total is None or not score.n else total / score.n * 1000
    score = dataclasses.replace(score, usd_total=total, usd_per_1k=per_1k)
    return CascadeRow(name, score, per_1k, reached)


def compare_cascade(
    cheap: ModelRun,
    expensive: ModelRun,
    *,
    thresholds: CascadeThresholds | None = None,
    target_accuracy: float = DEFAULT_TARGET_ACCURACY,
    min_settled: int = DEFAULT_MIN_SETTLED,
    calibration_share: float = DEFAULT_CALIBRATION_SHARE,
    prices: Mapping[str, ModelPrice] | None = None,
    settings: BenchSettings | None = None,
    chosen_on: dict[str, Any] | None = None,
) -> CascadeComparison:
    """The cheap judge alone, the expensive judge alone and the cascade, on the same records.

    Without ``thresholds``, they are chosen on the calibration share of the records and the rows
    are scored on the rest; with them, every record is scored.
    """
    settings = settings or BenchSettings()
    ids = [o.id for o in cheap.outcomes]
    if thresholds is None:
        calibration, scored = split_records(ids, calibration_share)
        fit = [
            (o.status, o.predicted, o.confidence, o.label)
            for o in cheap.outcomes
            if o.id in calibration
        ]
        thresholds = choose_thresholds(
            fit,
            cheap=cheap.spec,
            expensive=expensive.spec,
            target_accuracy=target_accuracy,
            min_settled=min_settled,
            chosen_on={
                **(chosen_on or {}),
                "calibration_share": calibration_share,
                "calibration_records": len(calibration),
                "split": "sha256(id) < share",
            },
        )
    else:
        calibration, scored = set(), set(ids)
    cheap_part, expensive_part = _subset(cheap, scored), _subset(expensive, scored)
    kept, escalated = cascade_outcomes(cheap_part.outcomes, expensive_part.outcomes, thresholds)
    n = len(kept)
    up_ids = {o.id for o, up in zip(cheap_part.outcomes, escalated, strict=True) if up}
    called = sum(o.status is not JudgeStatus.SKIPPED for o in expensive_part.outcomes)
    same_prompt = cheap.prompt if cheap.prompt == expensive.prompt else None
    cascade_run = ModelRun(
        "cascade", f"{cheap.model} -> {expensive.model}", kept, prompt=same_prompt
    )
    rows = [
        _row(f"{cheap.spec} alone", cheap_part, [cheap_part], 0.0 if n else None, prices, settings),
        _row(
            f"{expensive.spec} alone",
            expensive_part,
            [expensive_part],
            called / n if n else None,
            prices,
            settings,
        ),
        _row(
            f"cascade {cheap.spec} -> {expensive.spec}",
            cascade_run,
            [cheap_part, _subset(expensive_part, up_ids)],
            len(up_ids) / n if n else None,
            prices,
            settings,
        ),
    ]
    return CascadeComparison(thresholds, len(calibration), len(scored), rows)


class _Interval(Protocol):
    @property
    def value(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...


def _estimate(estimate: _Interval) -> str:
    if estimate.value is None:
        return "n/a"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:.3f}"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _usd_text(value: float | None) -> str:
    return "n/a" if value is None else f"${value:.4f}"


def thresholds_text(thresholds: CascadeThresholds) -> str:
    """The two thresholds in words; a side that settles nothing reads ``never``."""

    def bound(value: float | None) -> str:
        return "never" if value is None else f"{value:g}"

    return (
        f"settle flagged at confidence >= {bound(thresholds.settle_above)}, "
        f"unflagged at <= {bound(thresholds.settle_below)}"
    )


def cascade_table(comparison: CascadeComparison) -> Table:
    """The comparison as a table: one row per way of judging."""
    title = (
        f"cascade on {comparison.scored_records} scored records (thresholds "
        + (
            f"chosen on {comparison.calibration_records} other records"
            if comparison.calibration_records
            else "from the given file"
        )
        + "): "
        + thresholds_text(comparison.thresholds)
    )
    table = Table(title=title, header_style="bold")
    for name in ("judge", "judged", "accuracy", "kappa", "e2e acc", "$/1k", "reached expensive"):
        table.add_column(name, justify="left" if name == "judge" else "right")
    for row in comparison.rows:
        m = row.score.metrics
        table.add_row(
            row.name,
            str(row.score.judged),
            _estimate(m["accuracy"]),
            _estimate(m["kappa"]),
            _estimate(row.score.e2e_accuracy),
            _usd_text(row.usd_per_1k),
            _share(row.reached_expensive),
        )
    return table


def cascade_markdown(comparison: CascadeComparison) -> str:
    """The comparison as a Markdown section (appended to ``bench --format md``)."""
    t = comparison.thresholds
    lines = [
        "## Cascade",
        "",
        f"- thresholds: {thresholds_text(t)} (target accuracy {t.target_accuracy}, at least "
        f"{t.min_settled} records); chosen on {comparison.calibration_records or 'a given file'}, "
        f"scored on {comparison.scored_records}",
        "",
        "| judge | judged | accuracy | kappa | e2e acc | $/1k | reached expensive |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in comparison.rows:
        m = row.score.metrics
        cells = [
            row.name,
            str(row.score.judged),
            _estimate(m["accuracy"]),
            _estimate(m["kappa"]),
            _estimate(row.score.e2e_accuracy),
            "n/a" if row.usd_per_1k is None else f"${row.usd_per_1k:.2f}",
            _share(row.reached_expensive),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *(f"- {name}: {text}" for name, text in CASCADE_DEFINITIONS.items())]
    return "\n".join(lines)


def write_cascade_files(comparison: CascadeComparison, directory: Path) -> list[Path]:
    """Write ``cascade.json`` (the thresholds, for ``judge --cascade-thresholds``) and
    ``cascade_comparison.json`` into ``directory``; the paths written."""
    thresholds = directory / "cascade.json"
    comparison.thresholds.save(thresholds)
    rows = directory / "cascade_comparison.json"
    rows.write_text(json.dumps(comparison.to_dict(), indent=2) + "\n", encoding="utf-8")
    return [thresholds, rows]
