"""Benchmark output: a rich table, ``report.json``, ``report.md``, predictions and PNG charts.

Files written by :func:`write_report` into the report directory:

- ``report.json``: data, settings, the prompt and its version, definitions and one entry per model
  (every number of the table with its interval, the confusion matrix, tokens, price and its
  source, cost, latency, cache, the prompt it sent).
- ``report.md``: the same table in Markdown, under a header naming the data and the prompt, with
  the definitions.
- ``predictions.jsonl``: one line per model and item (id, label, status, verdict, reason, tokens,
  calls, cache hits, latency), for error analysis. It holds reasons that may quote the data, so
  keep third-party data's report directories out of version control.
- ``cost_vs_accuracy.png`` and ``confusion_<model>.png``, and for judges that give a confidence
  ``reliability.png`` (the reliability diagram) and ``precision_recall.png`` (the curve, with the
  ``--target-precision`` threshold marked), when matplotlib is installed
  (``pip install 'langchain-perceived-error[bench]'``); otherwise they are skipped and said so.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import JustifyMethod
from rich.table import Table

from langchain_perceived_error import __version__
from langchain_perceived_error.bench.calibration import CalibrationReport
from langchain_perceived_error.bench.data import DataSummary
from langchain_perceived_error.bench.runner import BenchSettings, ModelRun
from langchain_perceived_error.bench.scoring import ModelScore
from langchain_perceived_error.core.metrics import METRIC_NAMES, Estimate
from langchain_perceived_error.core.prompts import PROMPT_VERSIONS, PromptStyle

__all__ = [
    "CHARTS_INSTALL_HINT",
    "DEFINITIONS",
    "REPORT_SCHEMA_VERSION",
    "BenchReport",
    "ChartsUnavailableError",
    "bench_table",
    "prompt_summary",
    "render_markdown",
    "report_dict",
    "write_charts",
    "write_report",
]

REPORT_SCHEMA_VERSION = 1
CHARTS_INSTALL_HINT = "pip install 'langchain-perceived-error[bench]'  (matplotlib)"

DEFINITIONS = {
    "metrics": "accuracy, precision, recall, F1 and Cohen's kappa are over judged records "
    "(a verdict and a label); skipped and failed records are counted beside them",
    "e2e_accuracy": "over all labelled records: skipped = predicted false (no user turn after an "
    "assistant turn, no model call), failed = wrong",
    "intervals": "95% percentile bootstrap over records, seeded (see settings)",
    "positive_rate": "share of judged records the judge flagged",
    "tokens": "mean per record that reached the model, format retries included; n/a when the "
    "model reports no usage",
    "usd_per_1k": "price-table cost of all calls / all labelled records x 1000 (skipped = $0); "
    "n/a when the model has no price",
    "prompt": "the system prompt every model judge was sent (--prompt full|compact) and its "
    "version; compare runs of the same version only; rules reads only the transcript, whatever "
    "the prompt",
    "compact": "compact in tok and compact $/1k: the same calls with the compact prompt of a "
    "judge fine-tuned on it. With --prompt full (the default) they are estimated: reported input "
    "tokens less the difference between the two system prompts per call. With --prompt compact "
    "the compact prompt was sent, so they are the measured figures, equal to in tok and $/1k "
    "(nothing subtracted)",
    "latency": "per record, summed model-call wall time (format retries included), over "
    "records that reached the model; a cache hit counts with its original call's latency",
    "cached_calls": "calls served from --cache / all model calls (live + cached)",
    "confidence": "the judge's probability of a perceived error: token log-probabilities of the "
    "verdict's boolean (Fireworks, OpenAI-compatible), the rules' calibrated signal strength; "
    "n/a when the judge gives none",
    "ECE": "expected calibration error over judged records with a confidence: 10 equal-width "
    "bins, share-weighted mean |mean confidence - positive rate| (0 = calibrated)",
    "Brier": "mean (confidence - label)^2 over the same records (0 = perfect; always saying the "
    "base rate b scores b(1-b))",
    "threshold": "the lowest confidence from which flagging reaches --target-precision on these "
    "records, with the precision and recall there; n/a when no threshold reaches it",
}
"""How every column is computed; printed under the table and written into the reports."""

_MODEL_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("model", "left"),
    ("judged", "right"),
    ("accuracy", "right"),
    ("precision", "right"),
    ("recall", "right"),
    ("F1", "right"),
    ("kappa", "right"),
    ("e2e acc", "right"),
    ("pos rate", "right"),
    ("skipped", "right"),
    ("failed", "right"),
    ("in tok", "right"),
    ("out tok", "right"),
    ("$/1k", "right"),
    ("compact in tok", "right"),
    ("compact $/1k", "right"),
    ("p50", "right"),
    ("p95", "right"),
    ("cached calls", "right"),
    ("ECE", "right"),
    ("Brier", "right"),
    ("threshold", "right"),
)


class ChartsUnavailableError(ImportError):
    """matplotlib is not installed; the message says how to install it."""


@dataclass
class BenchReport:
    """Everything one ``perceived-error bench`` run produced."""

    data: DataSummary
    settings: BenchSettings
    runs: list[ModelRun]
    scores: list[ModelScore]
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


# -- formatting ------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _interval(estimate: Estimate) -> str:
    if estimate.low is None or estimate.high is None:
        return ""
    return f"[{estimate.low:.3f}, {estimate.high:.3f}]"


def _money(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:.4f}" if 0 < value < 0.01 else f"${value:,.2f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:,.0f} ms"


def _tokens(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _cells(score: ModelScore, separator: str) -> list[str]:
    def stacked(estimate: Estimate) -> str:
        interval = _interval(estimate)
        return _num(estimate.value) + (f"{separator}{interval}" if interval else "")

    return [
        score.spec,
        str(score.judged),
        *(stacked(score.metrics[name]) for name in METRIC_NAMES),
        stacked(score.e2e_accuracy),
        _rate(score.positive_rate),
        str(score.skipped),
        str(score.failed),
        _tokens(score.mean_input_tokens),
        _tokens(score.mean_output_tokens),
        _money(score.usd_per_1k),
        _tokens(score.compact_mean_input_tokens),
        _money(score.compact_usd_per_1k),
        _ms(score.latency_p50_s),
        _ms(score.latency_p95_s),
        f"{score.cache_hits}/{score.cache_hits + score.model_calls}",
        *_calibration_cells(score.calibration, stacked),
    ]


def _calibration_cells(calibration: CalibrationReport | None, stacked: Any) -> tuple[str, str, str]:
    if calibration is None:
        return "n/a", "n/a", "n/a"
    point = calibration.threshold
    if calibration.target_precision is None:
        threshold = "not asked"
    elif point is None:
        threshold = f"n/a (P>={calibration.target_precision:g} not reached)"
    else:
        threshold = (
            f"{point.threshold:.3f} (P {_num(point.precision, 2)}, R {_num(point.recall, 2)})"
        )
    return stacked(calibration.ece), stacked(calibration.brier), threshold


def bench_table(scores: Sequence[ModelScore], *, title: str | None = None) -> Table:
    """One column per model, one row per figure, intervals under their values.

    Transposed so that it stays legible on an ordinary terminal: three models fit in 80 columns.
    """
    table = Table(title=title, header_style="bold")
    table.add_column("", style="bold", no_wrap=True)
    cells = [_cells(score, "\n") for score in scores]
    for score in scores:
        table.add_column(score.spec, justify="right", overflow="fold")
    for index, (name, _) in enumerate(_MODEL_COLUMNS[1:], start=1):
        table.add_row(name, *(column[index] for column in cells))
    return table


def _markdown_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def render_markdown(report: BenchReport) -> str:
    """``report.md``: the data, the table, prices and the definitions."""
    data = report.data
    slices = ", ".join(f"{k}={'|'.join(v)}" for k, v in data.slices.items()) or "none"
    header = [name for name, _ in _MODEL_COLUMNS]
    lines = [
        "# perceived-error bench",
        "",
        f"- data: `{data.path}`; label `{data.mapping.label_field}`, conversation "
        f"`{data.mapping.messages_field}`, id `{data.mapping.id_field}`; slice: {slices}",
        f"- records: {data.records} read, {data.outside_slice} outside the slice, "
        f"{data.null_label} null labels dropped, {data.over_limit} over the limit, "
        f"**{data.used} used**",
        f"- {prompt_summary(report.settings.prompt)}",
        f"- package {__version__}, {report.created_at}",
        f"- bootstrap: {report.settings.resamples} resamples, seed {report.settings.seed}, "
        f"{report.settings.confidence:.0%} intervals",
        "",
        _markdown_row(header),
        _markdown_row(["---"] * len(header)),
        *(_markdown_row(_cells(score, " ")) for score in report.scores),
        "",
        "## Confusion matrices (judged records)",
        "",
        _markdown_row(["model", "tp", "fp", "fn", "tn", "label positive rate"]),
        _markdown_row(["---"] * 6),
        *(
            _markdown_row(
                [
                    s.spec,
                    *(str(v) for v in s.matrix.to_dict().values()),
                    _rate(s.label_positive_rate),
                ]
            )
            for s in report.scores
        ),
        "",
        "## Calibration (judged records with a confidence)",
        "",
        *(_calibration_line(s) for s in report.scores),
        "",
        "## Prices",
        "",
        *(_price_line(s) for s in report.scores),
        "",
        "## Definitions",
        "",
        *(f"- **{name}**: {text}" for name, text in DEFINITIONS.items()),
        "",
    ]
    return "\n".join(lines)


def prompt_summary(prompt: PromptStyle) -> str:
    """One line naming the prompt the judges were sent, its version and what the compact columns
    then hold (the report.md header; printed above the table)."""
    columns = (
        "the measured tokens and cost are the compact prompt's; the compact columns repeat them"
        if prompt == "compact"
        else "the compact columns are estimated from them"
    )
    return (
        f"prompt: {prompt} ({PROMPT_VERSIONS[prompt]}), sent by every model judge (rules reads "
        f"only the transcript); {columns}"
    )


def _calibration_line(score: ModelScore) -> str:
    c = score.calibration
    if c is None:
        return f"- {score.spec}: no confidence given"
    bins = ", ".join(
        f"[{b.low:.1f},{b.high:.1f}) n={b.count} conf {_num(b.mean_confidence, 2)} "
        f"pos {_num(b.positive_rate, 2)}"
        for b in c.bins
        if b.count
    )
    return (
        f"- {score.spec}: {c.items} records with a confidence ({c.without_confidence} without); "
        f"ECE {_num(c.ece.value)} {_interval(c.ece)}, Brier {_num(c.brier.value)} "
        f"{_interval(c.brier)}; bins: {bins}"
    )


def _price_line(score: ModelScore) -> str:
    price = score.price
    if price is None:
        return f"- {score.spec}: no known price (n/a); supply one with --prices FILE"
    batch = f", batch {_money(score.batch_usd_per_1k)}/1k" if price.batch_discount else ""
    return (
        f"- {score.spec}: ${price.input}/1M in, ${price.output}/1M out "
        f"({price.source}, {price.as_of}){batch}"
    )


# -- report.json -----------------------------------------------------------------------------------


def _score_dict(score: ModelScore) -> dict[str, Any]:
    return {
        "spec": score.spec,
        "model": score.model,
        "prompt": score.prompt,
        "prompt_version": None if score.prompt is None else PROMPT_VERSIONS[score.prompt],
        "counts": {
            "labelled": score.n,
            "judged": score.judged,
            "skipped": score.skipped,
            "failed": score.failed,
        },
        "confusion": score.matrix.to_dict(),
        "metrics": {name: score.metrics[name].to_dict() for name in METRIC_NAMES},
        "e2e_accuracy": score.e2e_accuracy.to_dict(),
        "positive_rate": score.positive_rate,
        "label_positive_rate": score.label_positive_rate,
        "tokens": {
            "mean_input": score.mean_input_tokens,
            "mean_output": score.mean_output_tokens,
            "total_input": score.total_input_tokens,
            "total_output": score.total_output_tokens,
            "total_cached_input": score.total_cached_input_tokens,
            "compact_mean_input": score.compact_mean_input_tokens,
            "compact_measured": score.compact_measured,
        },
        "price": None if score.price is None else score.price.model_dump(),
        "cost": {
            "usd_total": score.usd_total,
            "usd_per_1k": score.usd_per_1k,
            "batch_usd_per_1k": score.batch_usd_per_1k,
            "compact_usd_per_1k": score.compact_usd_per_1k,
        },
        "latency": {"p50_s": score.latency_p50_s, "p95_s": score.latency_p95_s},
        "calls": {"model_calls": score.model_calls, "cache_hits": score.cache_hits},
        "wall_s": score.wall_s,
        "calibration": None if score.calibration is None else score.calibration.to_dict(),
    }


def report_dict(report: BenchReport) -> dict[str, Any]:
    """``report.json`` as a dict."""
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "package_version": __version__,
        "prompt": report.settings.prompt,
        "prompt_version": PROMPT_VERSIONS[report.settings.prompt],
        "created_at": report.created_at,
        "data": report.data.to_dict(),
        "settings": report.settings.to_dict(),
        "definitions": DEFINITIONS,
        "models": [_score_dict(score) for score in report.scores],
    }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def write_report(report: BenchReport, directory: str | Path) -> tuple[list[Path], str | None]:
    """Write every report file into ``directory`` (created if missing).

    Returns the paths written and, when the charts were skipped, why.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "report.md", out / "predictions.jsonl"]
    written[0].write_text(json.dumps(report_dict(report), indent=2) + "\n", encoding="utf-8")
    written[1].write_text(render_markdown(report), encoding="utf-8")
    with written[2].open("w", encoding="utf-8") as stream:
        for run in report.runs:
            for outcome in run.outcomes:
                line = {"model": run.spec, **outcome.to_dict()}
                stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    try:
        written.extend(write_charts(report.scores, out))
    except ChartsUnavailableError as e:
        return written, str(e)
    return written, None


# -- charts ----------------------------------------------------------------------------------------


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError as e:
        msg = f"PNG charts need matplotlib: {CHARTS_INSTALL_HINT}"
        raise ChartsUnavailableError(msg) from e
    matplotlib.use("Agg")  # files only, never a window
    return importlib.import_module("matplotlib.pyplot")


def write_charts(scores: Sequence[ModelScore], directory: str | Path) -> list[Path]:
    """``cost_vs_accuracy.png`` and one ``confusion_<model>.png`` per model.

    Raises:
        ChartsUnavailableError: when matplotlib is not installed.

    """
    plt = _pyplot()
    out = Path(directory)
    paths = [_cost_chart(plt, scores, out / "cost_vs_accuracy.png")]
    paths.extend(
        _confusion_chart(plt, score, out / f"confusion_{_slug(score.spec)}.png") for score in scores
    )
    calibrated = [s for s in scores if s.calibration is not None]
    if calibrated:
        paths.append(_reliability_chart(plt, calibrated, out / "reliability.png"))
        paths.append(_precision_recall_chart(plt, calibrated, out / "precision_recall.png"))
    return paths


def _cost_chart(plt: Any, scores: Sequence[ModelScore], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    unpriced = []
    costs = [0.0]
    for score in scores:
        accuracy = score.metrics["accuracy"]
        if score.usd_per_1k is None or accuracy.value is None:
            unpriced.append(score.spec)
            continue
        costs.append(score.usd_per_1k)
        low = accuracy.value - (accuracy.low if accuracy.low is not None else accuracy.value)
        high = (accuracy.high if accuracy.high is not None else accuracy.value) - accuracy.value
        axes.errorbar(
            [score.usd_per_1k], [accuracy.value], yerr=[[low], [high]], fmt="o", capsize=4
        )
        axes.annotate(
            score.spec, (score.usd_per_1k, accuracy.value), textcoords="offset points",
            xytext=(6, 4), fontsize=8,
        )  # fmt: skip
    axes.set_xscale("symlog", linthresh=0.01)
    axes.set_xlim(-0.003, max(0.1, max(costs) * 3))  # $0 (rules) stays visible at the left
    axes.set_xlabel("USD per 1,000 traces (symlog)")
    axes.set_ylabel("accuracy (judged records), 95% interval")
    title = "perceived-error judges: cost against accuracy"
    if unpriced:
        title += f"\nnot plotted (no price or no verdicts): {', '.join(unpriced)}"
    axes.set_title(title, fontsize=9)
    axes.grid(True, alpha=0.3)
    return _save(plt, figure, path)


def _confusion_chart(plt: Any, score: ModelScore, path: Path) -> Path:
    m = score.matrix
    grid = [[m.tn, m.fp], [m.fn, m.tp]]
    figure, axes = plt.subplots(figsize=(3.8, 3.4))
    axes.imshow(grid, cmap="Blues")
    peak = max(max(row) for row in grid) or 1
    for row in range(2):
        for col in range(2):
            value = grid[row][col]
            color = "white" if value > peak / 2 else "black"
            axes.text(col, row, str(value), ha="center", va="center", color=color)
    axes.set_xticks([0, 1], labels=["false", "true"])
    axes.set_yticks([0, 1], labels=["false", "true"])
    axes.set_xlabel("judge")
    axes.set_ylabel("label")
    axes.set_title(f"{score.spec}\n(judged records: {m.n})", fontsize=9)
    return _save(plt, figure, path)


def _save(plt: Any, figure: Any, path: Path) -> Path:
    """Lay ``figure`` out, write it to ``path`` as a 120-dpi PNG and free it."""
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _reliability_chart(plt: Any, scores: Sequence[ModelScore], path: Path) -> Path:
    """Mean confidence against the share of positives per bin, one line per model; the
    diagonal is perfect calibration; marker area grows with the bin's count."""
    figure, axes = plt.subplots(figsize=(5.5, 5))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="calibrated")
    for score in scores:
        assert score.calibration is not None
        c = score.calibration
        bins = [b for b in c.bins if b.count]
        xs = [b.mean_confidence for b in bins]
        ys = [b.positive_rate for b in bins]
        line = axes.plot(xs, ys, marker="", linewidth=1.2)[0]
        axes.scatter(xs, ys, s=[20 + 200 * b.count / c.items for b in bins], color=line.get_color())
        line.set_label(f"{score.spec}: ECE {_num(c.ece.value)}, Brier {_num(c.brier.value)}")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("mean confidence in the bin (10 equal-width bins)")
    axes.set_ylabel("share labelled perceived error")
    axes.set_title("reliability diagram (judged records with a confidence)", fontsize=9)
    axes.legend(fontsize=7, loc="upper left")
    axes.grid(True, alpha=0.3)
    return _save(plt, figure, path)


def _precision_recall_chart(plt: Any, scores: Sequence[ModelScore], path: Path) -> Path:
    """Precision against recall as the confidence threshold falls; the target-precision
    threshold marked when reached."""
    figure, axes = plt.subplots(figsize=(5.5, 4.5))
    target = None
    for score in scores:
        assert score.calibration is not None
        c = score.calibration
        points = [p for p in c.curve if p.recall is not None and p.precision is not None]
        line = axes.plot(
            [p.recall for p in points], [p.precision for p in points], marker=".", label=score.spec
        )[0]
        target = c.target_precision
        if c.threshold is not None and c.threshold.recall is not None:
            axes.annotate(
                f"t={c.threshold.threshold:.2f}",
                (c.threshold.recall, c.threshold.precision),
                textcoords="offset points", xytext=(6, -10), fontsize=8,
                color=line.get_color(),
            )  # fmt: skip
    if target is not None:
        axes.axhline(target, linestyle="--", color="grey", linewidth=1)
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("recall (flag when confidence >= threshold)")
    axes.set_ylabel("precision")
    title = "precision-recall over the confidence threshold"
    if target is not None:
        title += f" (dashed: target precision {target:g})"
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7, loc="lower left")
    axes.grid(True, alpha=0.3)
    return _save(plt, figure, path)
