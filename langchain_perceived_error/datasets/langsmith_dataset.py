"""Push labelled records to a LangSmith dataset, split into train and holdout, idempotently.

Each record becomes one example:

- ``inputs``: ``{"messages": [{"role": "user" | "assistant", "content": ...}, ...]}``: the turns
  the judge reads, as OpenAI-style dicts (the shape of
  :func:`~langchain_perceived_error.evaluation.examples.labelled_examples`, so
  :func:`~langchain_perceived_error.evaluation.targets.judge_target` and
  :func:`~langchain_perceived_error.evaluation.label_experiments.label_match_evaluator` run on it
  unchanged);
- ``outputs``: ``{"perceived_error": bool, "reason": str}``;
- ``metadata``: ``record_id``, ``sources`` (run, trace, thread, project ids), ``provenance`` (kind,
  by, at) and the record's own metadata under ``label_metadata``;
- ``split``: ``"train"`` or ``"holdout"``.

Before the split, records the judge would skip (no user turn after an assistant turn) are left
out, and so are repeated transcripts (the first is kept), as the SFT builder does: a skipped
example can only measure "no verdict", and a transcript on both sides would leak the holdout.

The split is :func:`~langchain_perceived_error.datasets.split.split_records` (the SFT builder's
function), or, with ``split_from``, the split of an SFT build read back from its files: each
record goes to the side whose file holds its rendered transcript, so the dataset's holdout is
exactly the SFT holdout (records the build dropped, e.g. as over-long, are left out and counted).

Idempotent: an example's id is a uuid5 of the dataset id and the record id, and examples already
in the dataset are not sent again, so pushing the same records twice adds nothing. An existing
example whose label changed is counted and left as it is (experiments already measured on it);
push to a new dataset name to publish changed labels.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from langsmith import Client
from langsmith.schemas import Dataset
from langsmith.utils import LangSmithError

from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.files import FileReadError, read_json_lines
from langchain_perceived_error.core.prompts import TRANSCRIPT_PREFIX, render_transcript
from langchain_perceived_error.core.schemas import LabelledRecord
from langchain_perceived_error.datasets.sft import HOLDOUT_FILE, TRAIN_FILE
from langchain_perceived_error.datasets.split import split_records
from langchain_perceived_error.evaluation.examples import turn_messages
from langchain_perceived_error.online.clients import describe_error

__all__ = [
    "DEFAULT_HOLDOUT",
    "DatasetPushError",
    "DatasetPushReport",
    "Split",
    "example_id",
    "example_payload",
    "push_labelled_dataset",
    "splits_from_sft_dir",
]

logger = logging.getLogger(__name__)

Split = Literal["train", "holdout"]
DEFAULT_HOLDOUT = 0.2
_NAMESPACE = uuid.UUID("0f3c6a1e-8d2b-5e47-9c61-2b7d4e8a9f10")
"""Fixed uuid5 namespace of example ids (never change it: re-pushes would duplicate)."""
_SFT_FILES: dict[Split, str] = {"train": TRAIN_FILE, "holdout": HOLDOUT_FILE}
_CHUNK = 200


class DatasetPushError(RuntimeError):
    """The dataset could not be created, read or extended, or an SFT split could not be read."""


@dataclass
class DatasetPushReport:
    """What :func:`push_labelled_dataset` did."""

    dataset_name: str
    dataset_id: str = ""
    created: bool = False
    records: int = 0
    not_multi_turn: int = 0
    duplicates: int = 0
    not_in_sft_split: int = 0
    splits: dict[str, int] = field(default_factory=lambda: {"train": 0, "holdout": 0})
    added: int = 0
    already_present: int = 0
    changed: list[str] = field(default_factory=list)
    """Record ids whose example exists with a different label (left unchanged)."""
    dry_run: bool = False
    """Nothing was written: ``created`` and ``added`` say what would have been."""


def example_id(dataset_id: str | uuid.UUID, record_id: str) -> uuid.UUID:
    """The deterministic id of a record's example in a dataset."""
    return uuid.uuid5(_NAMESPACE, f"{dataset_id}\n{record_id}")


def example_payload(record: LabelledRecord, *, split: Split) -> dict[str, Any]:
    """The example fields of a record (without ``id``): inputs, outputs, metadata, split."""
    return {
        "inputs": {"messages": turn_messages(record.turns)},
        "reference_outputs": {
            "perceived_error": record.label.perceived_error,
            "reason": record.label.reason,
        },
        "metadata": {
            "record_id": record.id,
            "sources": record.sources.model_dump(exclude_none=True),
            "provenance": record.provenance.model_dump(mode="json", exclude_none=True),
            "label_metadata": json.loads(json.dumps(record.metadata, default=str)),
        },
        "split": split,
    }


def _user_text(record: LabelledRecord) -> str:
    return TRANSCRIPT_PREFIX + render_transcript(record.turns)


def _sft_user_texts(path: Path) -> Iterator[str]:
    try:
        for where, row in read_json_lines(path, what="the SFT file"):
            try:
                messages = row["messages"]
                yield next(m["content"] for m in messages if m["role"] == "user")
            except (KeyError, TypeError, StopIteration) as e:
                msg = f"{where}: not an SFT chat row with a user message: {e!r}"
                raise DatasetPushError(msg) from e
    except FileReadError as e:
        raise DatasetPushError(str(e)) from e


def splits_from_sft_dir(sft_dir: str | Path) -> dict[str, Split]:
    """The side of every transcript in an SFT build: rendered user message -> split.

    Raises:
        DatasetPushError: when ``train.jsonl`` or ``holdout.jsonl`` is missing or unreadable.

    """
    sides: dict[str, Split] = {}
    for side, name in _SFT_FILES.items():
        for text in _sft_user_texts(Path(sft_dir) / name):
            sides[text] = side
    return sides


def _usable(records: Iterable[LabelledRecord], report: DatasetPushReport) -> list[LabelledRecord]:
    kept: list[LabelledRecord] = []
    seen: set[str] = set()
    ids: set[str] = set()
    for record in records:
        report.records += 1
        if skip_reason(record.turns) is not None:
            report.not_multi_turn += 1
            continue
        text = _user_text(record)
        if text in seen or record.id in ids:
            report.duplicates += 1
            continue
        seen.add(text)
        ids.add(record.id)
        kept.append(record)
    return kept


def _assign(
    records: Sequence[LabelledRecord],
    holdout: float,
    seed: int,
    sft_sides: dict[str, Split] | None,
    report: DatasetPushReport,
) -> list[tuple[LabelledRecord, Split]]:
    if sft_sides is None:
        _, held = split_records(records, holdout=holdout, seed=seed)
        held_ids = {r.id for r in held}
        return [(r, "holdout" if r.id in held_ids else "train") for r in records]
    assigned: list[tuple[LabelledRecord, Split]] = []
    for record in records:
        found = sft_sides.get(_user_text(record))
        if found is None:
            report.not_in_sft_split += 1
        else:
            assigned.append((record, found))
    return assigned


def _dataset(
    client: Client, name: str, description: str | None, *, dry_run: bool = False
) -> tuple[Dataset | None, bool]:
    try:
        if client.has_dataset(dataset_name=name):
            return client.read_dataset(dataset_name=name), False
        if dry_run:
            return None, True
        return client.create_dataset(name, description=description), True
    except LangSmithError as e:
        msg = f"could not read or create the LangSmith dataset {name!r}: {describe_error(e)}"
        raise DatasetPushError(msg) from e


def _existing(client: Client, dataset_id: uuid.UUID) -> dict[str, Any]:
    try:
        return {str(e.id): e.outputs for e in client.list_examples(dataset_id=dataset_id)}
    except LangSmithError as e:
        msg = f"could not list the examples of dataset {dataset_id}: {describe_error(e)}"
        raise DatasetPushError(msg) from e


def push_labelled_dataset(
    client: Client,
    records: Iterable[LabelledRecord],
    *,
    name: str,
    holdout: float = DEFAULT_HOLDOUT,
    seed: int = 0,
    split_from: str | Path | None = None,
    description: str | None = None,
    dry_run: bool = False,
) -> DatasetPushReport:
    """Create (or reuse) the dataset ``name`` and add the records not in it yet (module doc).

    With ``dry_run``, the dataset and its examples are read and the report says what would be
    created and added; nothing is written.

    Args:
        client: a ``langsmith.Client`` (e.g. ``LangSmithClients.create().client``).
        records: labelled records.
        name: the dataset's name; created when missing.
        holdout: share held out, by conversation and stratified by label (ignored with
            ``split_from``).
        seed: the split seed.
        split_from: an SFT build directory: use its train/holdout split instead.
        description: the dataset's description, when it is created.
        dry_run: read only; write nothing.

    Raises:
        DatasetPushError: when LangSmith fails, or the SFT split cannot be read.
        ValueError: when ``holdout`` is outside ``[0, 1)``.

    """
    report = DatasetPushReport(dataset_name=name, dry_run=dry_run)
    sides = splits_from_sft_dir(split_from) if split_from is not None else None
    assigned = _assign(_usable(records, report), holdout, seed, sides, report)
    dataset, report.created = _dataset(client, name, description, dry_run=dry_run)
    dataset_id = uuid.uuid4() if dataset is None else dataset.id  # dry run: not created yet
    report.dataset_id = "" if dataset is None else str(dataset.id)
    existing = {} if dataset is None else _existing(client, dataset.id)
    new: list[dict[str, Any]] = []
    for record, side in assigned:
        report.splits[side] += 1
        identifier = example_id(dataset_id, record.id)
        payload = example_payload(record, split=side)
        if str(identifier) in existing:
            report.already_present += 1
            if existing[str(identifier)] != payload["reference_outputs"]:
                report.changed.append(record.id)
            continue
        new.append({"id": identifier, **payload})
    if dry_run:
        report.added = len(new)
        return report
    try:
        for start in range(0, len(new), _CHUNK):
            client.create_examples(dataset_id=dataset_id, examples=new[start : start + _CHUNK])
            report.added += len(new[start : start + _CHUNK])
    except LangSmithError as e:
        problem = describe_error(e)
        msg = f"could not add examples to dataset {name!r} ({report.added} added before): {problem}"
        raise DatasetPushError(msg) from e
    if report.changed:
        logger.warning(
            "%d records changed label since they were pushed; their examples were left as they "
            "are (push to a new dataset name to publish the new labels)",
            len(report.changed),
        )
    return report
