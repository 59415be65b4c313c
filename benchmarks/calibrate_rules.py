"""Fit the offline rules judge's confidence table and measure it on held-out data.

The rules' confidence is a step table from signal strength to probability
(:data:`langchain_perceived_error.rules.confidence.RULES_CALIBRATION`). This script:

1. reads EURTAD (Petrak et al., EMNLP 2023; ``../shared/datasets/eurtad/items.jsonl``, read at
   run time, never copied here) with strict labels, null labels dropped, items with no user turn
   after an assistant turn left out (the judge skips them: no confidence);
2. splits it in two halves, stratified by source and label: within each (source, label) group
   the items are ordered by a SHA-256 of their id and alternate between FIT and HELD-OUT;
3. fits an isotonic table on FIT (:func:`langchain_perceived_error.bench.calibration.fit_isotonic`)
   and prints it as the Python literal to paste into ``rules/confidence.py``;
4. prints, on HELD-OUT only, ECE and Brier (95% seeded bootstrap intervals) of: the fitted table,
   the table shipped in the package, the bare verdict as a 0/1 probability, and the FIT base
   rate for every item (the no-skill reference), overall and for the human-bot source.

``--check`` exits 1 when the shipped table differs from a fresh fit (after changing the rules).

    .venv/bin/python benchmarks/calibrate_rules.py
    .venv/bin/python benchmarks/calibrate_rules.py --data PATH/items.jsonl --check
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from rules_sets import Dialogue, load_eurtad

from langchain_perceived_error.bench.calibration import calibration_estimates, fit_isotonic
from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.rules.analysis import detect_signals
from langchain_perceived_error.rules.confidence import (
    RULES_CALIBRATION,
    calibrated_confidence,
    signal_strength,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "eurtad" / "items.jsonl"
HUMAN_BOT_SOURCE = "SelfFeeding"


def split(items: Sequence[Dialogue]) -> tuple[list[Dialogue], list[Dialogue]]:
    """``(fit, held_out)``: alternate within each (source, label) group, ordered by id hash."""
    groups: dict[tuple[str, bool], list[Dialogue]] = {}
    for item in items:
        groups.setdefault((item.source, item.label), []).append(item)
    fit: list[Dialogue] = []
    held: list[Dialogue] = []
    for key in sorted(groups):
        ordered = sorted(groups[key], key=lambda d: hashlib.sha256(d.id.encode()).hexdigest())
        fit.extend(ordered[0::2])
        held.extend(ordered[1::2])
    return fit, held


def _row(name: str, pairs: list[tuple[float, bool]], resamples: int) -> str:
    ece, brier = calibration_estimates(pairs, resamples=resamples)
    return (
        f"| {name} | {len(pairs)} | {sum(y for _, y in pairs)} | "
        f"{ece.value:.3f} [{ece.low:.3f}, {ece.high:.3f}] | "
        f"{brier.value:.3f} [{brier.low:.3f}, {brier.high:.3f}] |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="EURTAD items.jsonl")
    parser.add_argument("--label-field", default="perceived_error_strict")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--prior-weight", type=float, default=1.0)
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped table is stale")
    args = parser.parse_args(argv)
    print("$ " + shlex.join(["python", *sys.argv]))

    items = [d for d in load_eurtad(args.data, args.label_field) if skip_reason(d.turns) is None]
    fit, held = split(items)
    strength = {d.id: signal_strength(detect_signals(d.turns)) for d in items}
    table = fit_isotonic(
        [strength[d.id] for d in fit], [d.label for d in fit], prior_weight=args.prior_weight
    )
    base = sum(d.label for d in fit) / len(fit)

    print(f"\n{len(items)} eligible labelled items: {len(fit)} fit, {len(held)} held out")
    print("\nfit half, per strength: n, positives, fitted probability")
    for level, probability in table:
        rows = [d for d in fit if strength[d.id] == level]
        print(f"  {level:>4}: {len(rows):>4} {sum(d.label for d in rows):>4}  {probability:.4f}")
    print("\nRULES_CALIBRATION: tuple[tuple[float, float], ...] = (")
    for level, probability in table:
        print(f"    ({level}, {probability}),")
    print(")")

    for title, subset in (
        ("held-out half, all sources", held),
        (
            f"held-out half, {HUMAN_BOT_SOURCE} (human-bot)",
            [d for d in held if d.source == HUMAN_BOT_SOURCE],
        ),
    ):
        print(f"\n{title} (95% bootstrap intervals, {args.resamples} resamples)\n")
        print("| confidence | n | positives | ECE | Brier |")
        print("|---|---|---|---|---|")
        by = {
            "fitted table": [
                (calibrated_confidence(strength[d.id], table), d.label) for d in subset
            ],
            "shipped table": [(calibrated_confidence(strength[d.id]), d.label) for d in subset],
            "verdict as 0/1": [(1.0 if strength[d.id] > 0 else 0.0, d.label) for d in subset],
            "fit base rate": [(base, d.label) for d in subset],
        }
        for name, pairs in by.items():
            print(_row(name, pairs, args.resamples))

    if args.check and tuple(RULES_CALIBRATION) != table:
        print("\nthe shipped RULES_CALIBRATION differs from this fit: paste the table above")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
