"""Benchmark judges against labels, report accuracy per dollar, and project costs.

- :mod:`~langchain_perceived_error.bench.data`: read a labelled JSONL through a field mapping
  (the core's one loader, :mod:`~langchain_perceived_error.core.labelled`), sliced and cut.
- :mod:`~langchain_perceived_error.bench.runner`: judge the labelled items with each model.
- :mod:`~langchain_perceived_error.bench.scoring`: score each model's run against the labels
  (the core's one confusion matrix and bootstrap intervals,
  :mod:`~langchain_perceived_error.core.metrics`).
- :mod:`~langchain_perceived_error.bench.calibration`: ECE, Brier score, reliability bins and
  the precision-recall curve of each judge's confidence, and the isotonic fit.
- :mod:`~langchain_perceived_error.bench.report`: the table, ``report.json``, ``report.md``,
  ``predictions.jsonl`` and PNG charts.
- :mod:`~langchain_perceived_error.bench.cost`: daily and monthly cost of each judging option.
- :mod:`~langchain_perceived_error.bench.cascade`: a cascade of two judges against each alone.
- :mod:`~langchain_perceived_error.bench.cache` (model calls kept on disk) and
  :mod:`~langchain_perceived_error.bench.pricing` (USD per 1M tokens, overridable).

The command line is ``perceived-error bench`` and ``perceived-error cost``.

May import: :mod:`..fireworks`, :mod:`..datasets`, :mod:`..judge`, :mod:`..rules`, :mod:`..core`,
:mod:`..redaction`, :mod:`..transport`.
"""

from langchain_perceived_error.bench.cascade import CascadeComparison, compare_cascade
from langchain_perceived_error.bench.cost import (
    CostProjection,
    CostRow,
    Deployment,
    TokenProfile,
    measure_sample,
    project_costs,
)
from langchain_perceived_error.bench.data import (
    BenchDataError,
    FieldMapping,
    LabelledItem,
    load_labelled,
    parse_slices,
)
from langchain_perceived_error.bench.report import BenchReport, bench_table, write_report
from langchain_perceived_error.bench.runner import (
    BenchSettings,
    ItemOutcome,
    ModelRun,
    arun_benchmark,
    build_judges,
    run_benchmark,
)
from langchain_perceived_error.bench.scoring import ModelScore, score_run
from langchain_perceived_error.core.metrics import ConfusionMatrix, Estimate

__all__ = [
    "BenchDataError",
    "BenchReport",
    "BenchSettings",
    "CascadeComparison",
    "ConfusionMatrix",
    "CostProjection",
    "CostRow",
    "Deployment",
    "Estimate",
    "FieldMapping",
    "ItemOutcome",
    "LabelledItem",
    "ModelRun",
    "ModelScore",
    "TokenProfile",
    "arun_benchmark",
    "bench_table",
    "build_judges",
    "compare_cascade",
    "load_labelled",
    "measure_sample",
    "parse_slices",
    "project_costs",
    "run_benchmark",
    "score_run",
    "write_report",
]
