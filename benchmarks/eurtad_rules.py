"""Measure the offline rules judge per source, out of domain, and against a naive keyword baseline.

Sets (read at run time, never copied into the repository; see ``rules_sets.py``): EURTAD
(Petrak et al., EMNLP 2023; one source per original corpus), the bundled sample, and with
``--fed PATH`` the FED dataset (Mehri & Eskenazi 2020; a proxy, see ``rules_sets.py``).

It prints:

1. Per source: the rules judge and the naive keyword baseline (:data:`NAIVE_KEYWORDS`, one regex
   over the user turns that follow an assistant turn), precision, recall and F1 with 95%
   percentile-bootstrap intervals (seeded), so a change that helps one source and hurts the
   others shows.
2. With ``--ablation``, per signal family, the F1 change per source when that family is left out.
3. Leave-one-source-out: the rules have one tuned number, the similarity from which a user turn
   repeats an earlier one. For each source, that threshold is chosen on all the OTHER sources
   (best pooled F1 over :data:`THRESHOLD_GRID`) and the held-out source is judged with it.

Each conversation is judged with :func:`langchain_perceived_error.rules.judge_turns` on the turns
:func:`~langchain_perceived_error.core.transcript.extract_transcript` reads (what ``RulesJudge``
does inside the judge graph, without the graph). Items without a user turn after an assistant turn
count as predicted false.

Run from the repository root:

    .venv/bin/python benchmarks/eurtad_rules.py --fed /tmp/fed_data.json
    .venv/bin/python benchmarks/eurtad_rules.py --errors 20   # also print misjudged ids
    .venv/bin/python benchmarks/eurtad_rules.py --ablation    # each family's effect per source
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rules_sets import Dialogue, load_eurtad, load_fed, load_sample

from langchain_perceived_error.core.metrics import ConfusionMatrix, bootstrap_matrices, estimate
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.rules import SIGNAL_KINDS, RulesConfig, judge_turns

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "eurtad" / "items.jsonl"
SAMPLE = REPO_ROOT / "cookbook" / "data" / "sample_traces.jsonl"

NAIVE_KEYWORDS = re.compile(
    r"\b(?:wrong|incorrect|mistake|not\s+what\s+i|i\s+said|i\s+meant|no\s+sense|"
    r"don'?t\s+understand|what\?|huh|stupid|useless|idiot)|^\W*no\b",
    re.IGNORECASE,
)
"""The naive baseline: any of these in a user turn that follows an assistant turn."""

THRESHOLD_GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
"""Repetition-similarity thresholds tried when tuning on the training sources."""

Judge = Callable[[Sequence[Turn]], bool]


def naive_baseline(turns: Sequence[Turn]) -> bool:
    """Whether a user turn after an assistant turn holds one of :data:`NAIVE_KEYWORDS`."""
    seen_ai = False
    for turn in turns:
        if turn.role == "ai":
            seen_ai = True
        elif seen_ai and NAIVE_KEYWORDS.search(turn.text):
            return True
    return False


def rules_judge(config: RulesConfig) -> Judge:
    """The rules judge with ``config``, as a predicate."""
    return lambda turns: judge_turns(turns, config).perceived_error


def _pairs(items: Sequence[Dialogue], judge: Judge) -> list[tuple[bool, bool]]:
    return [(item.label, judge(item.turns)) for item in items]


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def _cells(pairs: Sequence[tuple[bool, bool]], resamples: int) -> str:
    matrix = ConfusionMatrix.from_pairs(pairs)
    resampled = bootstrap_matrices(pairs, resamples=resamples)
    f1 = estimate(matrix, resampled, "f1")
    return (
        f"{_fmt(matrix.precision)} {_fmt(matrix.recall)} {_fmt(f1.value)} "
        f"[{_fmt(f1.low)}, {_fmt(f1.high)}]"
    )


def print_per_source(
    groups: dict[str, list[Dialogue]], judges: dict[str, Judge], resamples: int
) -> None:
    names = list(judges)
    head = f"{'source':<16} {'n':>4} {'pos':>4}"
    for name in names:
        head += f" | {name + ': prec rec F1 [95% CI]':<33}"
    print(head)
    print("-" * len(head))
    for source, items in groups.items():
        row = f"{source:<16} {len(items):>4} {sum(i.label for i in items):>4}"
        for name in names:
            row += f" | {_cells(_pairs(items, judges[name]), resamples):<33}"
        print(row)


def _f1(pairs: Sequence[tuple[bool, bool]]) -> float:
    return ConfusionMatrix.from_pairs(pairs).f1 or 0.0


def leave_one_source_out(
    groups: dict[str, list[Dialogue]], resamples: int
) -> list[tuple[bool, bool]]:
    """Print, per held-out source, the threshold tuned on the others and its held-out figures."""
    by_threshold = {
        t: {
            s: _pairs(items, rules_judge(RulesConfig(repeat_threshold=t)))
            for s, items in groups.items()
        }
        for t in THRESHOLD_GRID
    }
    pooled: list[tuple[bool, bool]] = []
    head = f"{'held out':<16} {'n':>4} {'pos':>4} {'tuned':>5} | prec rec F1 [95% CI]"
    print(head)
    print("-" * len(head))
    for source, items in groups.items():

        def train_f1(t: float, held: str = source) -> float:
            return _f1([p for s, pairs in by_threshold[t].items() if s != held for p in pairs])

        best = max(THRESHOLD_GRID, key=train_f1)
        held_out = by_threshold[best][source]
        pooled.extend(held_out)
        print(
            f"{source:<16} {len(items):>4} {sum(i.label for i in items):>4} {best:>5.2f} | "
            f"{_cells(held_out, resamples)}"
        )
    return pooled


def print_ablation(groups: dict[str, list[Dialogue]]) -> None:
    """Per signal family: F1 per source with the family left out, minus F1 with all families."""
    full = {s: _f1(_pairs(items, rules_judge(RulesConfig()))) for s, items in groups.items()}
    head = f"{'left out':<18}" + "".join(f" {s[:11]:>11}" for s in groups)
    print(head)
    print("-" * len(head))
    print(f"{'(none: F1)':<18}" + "".join(f" {full[s]:>11.3f}" for s in groups))
    for family in SIGNAL_KINDS:
        config = RulesConfig(families=tuple(k for k in SIGNAL_KINDS if k != family))
        deltas = [_f1(_pairs(items, rules_judge(config))) - full[s] for s, items in groups.items()]
        print(f"{family:<18}" + "".join(f" {d:>+11.3f}" for d in deltas))


def print_errors(items: Sequence[Dialogue], limit: int) -> None:
    for kind, wanted in (("false positives", (False, True)), ("false negatives", (True, False))):
        verdicts = [(item, judge_turns(item.turns)) for item in items]
        rows = [(i, v) for i, v in verdicts if (i.label, v.perceived_error) == wanted]
        print(f"\n{kind} ({len(rows)}):")
        for item, verdict in rows[:limit]:
            print(f"  {item.id}  {verdict.reason}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="EURTAD items.jsonl")
    parser.add_argument("--fed", type=Path, help="FED fed_data.json (optional)")
    parser.add_argument("--label-field", default="perceived_error_strict")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--errors", type=int, default=0, help="print up to N misjudged ids")
    parser.add_argument(
        "--ablation", action="store_true", help="also print each family's F1 effect per source"
    )
    args = parser.parse_args(argv)
    print("$ " + shlex.join(["python", *sys.argv]))

    eurtad = load_eurtad(args.data, args.label_field)
    groups: dict[str, list[Dialogue]] = {}
    for item in eurtad:
        groups.setdefault(item.source, []).append(item)
    groups["sample"] = load_sample(SAMPLE)
    fed = load_fed(args.fed) if args.fed else []
    if fed:
        groups["FED"] = fed
    judges = {"rules": rules_judge(RulesConfig()), "naive": naive_baseline}

    print(f"\nEURTAD ({args.label_field}; {len(eurtad)} items with a label), per source:")
    print_per_source(
        {"EURTAD (all)": eurtad} | {s: g for s, g in groups.items() if s not in {"sample", "FED"}},
        judges,
        args.resamples,
    )
    out_of_domain = {"sample": groups["sample"]}
    if fed:
        out_of_domain["FED (all)"] = fed
        for item in fed:
            out_of_domain.setdefault(item.source, []).append(item)
    print("\nOther sets:")
    print_per_source(out_of_domain, judges, args.resamples)

    print("\nLeave-one-source-out (repetition threshold tuned on the other sources):")
    pooled = leave_one_source_out(groups, args.resamples)
    print(
        f"{'pooled held-out':<16} {len(pooled):>4} {sum(p[0] for p in pooled):>4} {'':>5} | "
        f"{_cells(pooled, args.resamples)}"
    )
    if args.ablation:
        print("\nAblation (F1 change per source when one family is left out):")
        print_ablation(groups)
    if args.errors:
        for source, items in groups.items():
            print(f"\n== {source}")
            print_errors(items, args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
