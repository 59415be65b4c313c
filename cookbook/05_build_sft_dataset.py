"""Build Fireworks SFT files (train / holdout) from labelled conversations, offline.

    python cookbook/05_build_sft_dataset.py                      # the bundled sample
    python cookbook/05_build_sft_dataset.py --eurtad ../shared/datasets/eurtad/items.jsonl
    python cookbook/05_build_sft_dataset.py --out out/sft --holdout 0.2 --seed 7 --balance

The bundled sample (``cookbook/data/sample_traces.jsonl``, every trace shape the judge reads) is
labelled by its ``expected_perceived_error`` (records with a null label are left out) and a short
reason taken from its note. With ``--eurtad PATH`` the records come from EURTAD instead (Petrak et
al., EMNLP 2023; third-party data read where it lies, never copied), labelled by
``perceived_error_strict`` (or ``--label lenient``), null labels dropped.

The SFT example of a record is exactly what the judge sends at inference (its system prompt and
rendered transcript) followed by the verdict JSON it must answer; the script validates both files
the way ``perceived-error sft validate`` does and prints the build's stats. Next step:
``cookbook/06_finetune_on_fireworks.py``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from langchain_perceived_error.core.schemas import LabelledRecord, Provenance, SourceIds, Verdict
from langchain_perceived_error.core.transcript import extract_transcript
from langchain_perceived_error.datasets.labels import load_labelled_jsonl
from langchain_perceived_error.datasets.sft import (
    HOLDOUT_FILE,
    TRAIN_FILE,
    SftBuildStats,
    build_sft_files,
    validate_sft_file,
)

SAMPLE = Path(__file__).parent / "data" / "sample_traces.jsonl"


def _reason(note: str, label: bool) -> str:
    """A one-sentence reason from a sample note such as 'signal: correction - the user ...'."""
    head = note.split(";")[0]
    text = head.split(":", 1)[1].strip() if ":" in head else head
    text = text.split(" - ", 1)[1] if " - " in text else text
    text = text.strip().rstrip(".")
    if not label:
        return f"No perceived error: {text}."
    return text[:1].upper() + text[1:] + "."


def sample_records(path: Path = SAMPLE) -> Iterator[LabelledRecord]:
    """The sample's labelled records (null labels skipped), with human provenance."""
    provenance = Provenance(kind="human", by="sample:expected_perceived_error")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            label = record.get("expected_perceived_error")
            if label is None:
                continue
            yield LabelledRecord(
                id=record["id"],
                turns=extract_transcript(record),
                label=Verdict(perceived_error=label, reason=_reason(record.get("note", ""), label)),
                provenance=provenance,
                sources=SourceIds(thread_id=record["id"]),
            )


def eurtad_records(path: Path, label: str = "strict") -> Iterator[LabelledRecord]:
    """EURTAD items labelled by ``perceived_error_<label>`` (null = ambiguous: dropped)."""
    return load_labelled_jsonl(
        path,
        label_field=f"perceived_error_{label}",
        metadata_fields=["source_dataset"],
        by=f"eurtad:{label}",
    )


def _print_stats(stats: SftBuildStats, out: Path) -> None:
    print(f"SFT files in {out} (prompt {stats.prompt_version})")
    print(f"  input records: {stats.input_records}; dropped: {stats.dropped}")
    for split in (stats.train, stats.holdout):
        tokens = split.tokens
        print(
            f"  {split.file:<14} {split.examples:>5} examples, {split.conversations:>5} "
            f"conversations, labels {split.labels}, tokens min/mean/max "
            f"{tokens.min}/{tokens.mean:g}/{tokens.max}"
        )
    print(f"  token counter: {stats.token_counter['name']} ({stats.token_counter['description']})")
    if stats.weights:
        print(f"  train weights: {stats.weights}")
    for warning in stats.warnings:
        print(f"  warning: {warning}")


def build(args: argparse.Namespace, out: Path) -> SftBuildStats:
    """Build, print the stats and validate both files (``args`` as parsed by ``main``)."""
    records = eurtad_records(args.eurtad, args.label) if args.eurtad else sample_records()
    stats = build_sft_files(
        records,
        out,
        holdout=args.holdout,
        seed=args.seed,
        max_tokens=args.max_tokens,
        balance=args.balance,
    )
    _print_stats(stats, out)
    for name in (TRAIN_FILE, HOLDOUT_FILE):
        report = validate_sft_file(out / name)
        print(f"  validate {name}: {'ok' if report.ok else 'INVALID'} ({report.rows} rows)")
        for line in report.lines():
            print(f"    {line}")
    return stats


def main(argv: list[str] | None = None) -> SftBuildStats:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eurtad", type=Path, help="EURTAD items.jsonl (read in place)")
    parser.add_argument("--label", choices=["strict", "lenient"], default="strict")
    parser.add_argument(
        "--out", type=Path, help="output directory (default: a temporary one, removed at the end)"
    )
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=32_768)
    parser.add_argument("--balance", action="store_true")
    args = parser.parse_args(argv)

    if args.out is not None:
        return build(args, args.out)
    with tempfile.TemporaryDirectory(prefix="pe-sft-") as tmp:
        stats = build(args, Path(tmp))
        print("  (in a temporary directory, now removed: pass --out DIR to keep the files)")
    return stats


if __name__ == "__main__":
    main()
