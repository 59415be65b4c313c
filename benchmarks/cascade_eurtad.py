"""Measure a cascade (``rules`` first, an expensive judge for the rest) on EURTAD, with no key.

The expensive judge is :class:`cascade_standin.ScriptedStandIn`, a SCRIPTED stand-in whose errors
are known (it answers the label on a seeded ``--standin-accuracy`` share of conversations, the
opposite on the rest, independently of difficulty) and which is priced like ``--price-as``. It is
not a model; the figures say what the cascade's routing does, not how a real model performs.

Steps (the same code as ``perceived-error bench --cascade``):

1. read EURTAD (Petrak et al., EMNLP 2023; ``../shared/datasets/eurtad/items.jsonl``, read at
   run time, never copied here) with ``--label-field`` (strict by default), null labels dropped;
2. judge every record with ``rules`` and with the stand-in, through the package's judge graph
   (:func:`langchain_perceived_error.bench.runner.run_benchmark`);
3. split the records by a SHA-256 of their id: ``--calibration-share`` of them choose the
   cascade's thresholds (:func:`langchain_perceived_error.judge.cascade.choose_thresholds`, at
   ``--target-accuracy``), the rest are scored;
4. print, on the scored records, ``rules`` alone, the stand-in alone and the cascade: accuracy and
   kappa with 95% bootstrap intervals, end-to-end accuracy, $ per 1,000 traces and the share of
   traces that reached the expensive model; with ``--report DIR``, write ``cascade.json`` (the
   thresholds, loadable by ``perceived-error judge --cascade-thresholds``) and
   ``cascade_comparison.json``.

Run from the repository root:

    .venv/bin/python benchmarks/cascade_eurtad.py
    .venv/bin/python benchmarks/cascade_eurtad.py --standin-accuracy 0.9 --format md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from cascade_standin import STANDIN_NAME, ScriptedStandIn
from rich.console import Console

from langchain_perceived_error.bench.cascade import (
    DEFAULT_CALIBRATION_SHARE,
    cascade_markdown,
    cascade_table,
    compare_cascade,
    thresholds_text,
    write_cascade_files,
)
from langchain_perceived_error.bench.data import FieldMapping, load_labelled, parse_slices
from langchain_perceived_error.bench.pricing import price_for, price_table
from langchain_perceived_error.bench.runner import BenchSettings, build_judges, run_benchmark
from langchain_perceived_error.judge.cascade import DEFAULT_MIN_SETTLED, DEFAULT_TARGET_ACCURACY

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "eurtad" / "items.jsonl"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--label-field", default="perceived_error_strict")
    parser.add_argument("--slice", action="append", default=[], help="FIELD=VALUE (repeatable)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--standin-accuracy", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0, help="the stand-in's seed")
    parser.add_argument("--price-as", default="gpt-5", help="price the stand-in like this model")
    parser.add_argument("--target-accuracy", type=float, default=DEFAULT_TARGET_ACCURACY)
    parser.add_argument("--min-settled", type=int, default=DEFAULT_MIN_SETTLED)
    parser.add_argument("--calibration-share", type=float, default=DEFAULT_CALIBRATION_SHARE)
    parser.add_argument("--format", choices=("table", "md"), default="table")
    parser.add_argument("--report", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print it; 1 when the data cannot be read."""
    args = _arguments(argv)
    if not args.data.is_file():
        print(f"error: no data at {args.data} (pass --data)", file=sys.stderr)
        return 1
    mapping = FieldMapping(label_field=args.label_field)
    items, summary = load_labelled(
        args.data, mapping, slices=parse_slices(args.slice), limit=args.limit
    )
    standin = ScriptedStandIn.for_records(
        ((item.payload, item.label) for item in items),
        accuracy=args.standin_accuracy,
        seed=args.seed,
    )
    reference = price_for(args.price_as)
    if reference is None:
        print(f"error: no price for {args.price_as!r}", file=sys.stderr)
        return 1
    prices = {**price_table(None), STANDIN_NAME: reference}
    settings = BenchSettings()
    judges = build_judges(["rules", standin], settings=settings)
    runs = run_benchmark(items, judges, settings=settings)
    comparison = compare_cascade(
        runs[0],
        runs[1],
        target_accuracy=args.target_accuracy,
        min_settled=args.min_settled,
        calibration_share=args.calibration_share,
        prices=prices,
        settings=settings,
        chosen_on={"data": str(args.data), "label_field": args.label_field, "records": len(items)},
    )
    out = Console(width=200)
    print("$ " + shlex.join(["python", *sys.argv]))
    print(
        f"{summary.used} labelled records ({summary.null_label} null labels dropped); stand-in: "
        f"scripted, right on a seeded {args.standin_accuracy:.0%} (seed {args.seed}), priced as "
        f"{args.price_as} (${reference.input}/M in, ${reference.output}/M out)"
    )
    t = comparison.thresholds
    print(
        f"thresholds chosen on {comparison.calibration_records} records at target accuracy "
        f"{t.target_accuracy}: {thresholds_text(t)} (positive side: {t.positive}; "
        f"negative side: {t.negative})"
    )
    if args.format == "md":
        print(cascade_markdown(comparison))
    else:
        out.print(cascade_table(comparison))
    if args.report is not None:
        args.report.mkdir(parents=True, exist_ok=True)
        written = write_cascade_files(comparison, args.report)
        print("report: " + ", ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
