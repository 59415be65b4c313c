"""LangSmith Examples from conversations and from labelled records, and a dataset to hold them.

Conversations are stored as the human and AI turns the judge reads, as OpenAI-style
``{"role": "user" | "assistant", "content": ...}`` dicts: small, JSON-ready and provider-neutral.
:func:`conversation_examples` builds unlabelled Examples (judged by replaying them:
:mod:`~langchain_perceived_error.evaluation.targets`); :func:`labelled_examples` builds Examples
whose reference output is the label (``outputs={"perceived_error": bool}``), reading the records
through the package's one labelled-data loader
(:func:`~langchain_perceived_error.core.labelled.labelled_items`); :func:`push_examples` stores
Examples as a LangSmith dataset.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langsmith import Client
from langsmith.schemas import Dataset, Example

from langchain_perceived_error.core.labelled import (
    FieldMapping,
    LoadReport,
    labelled_items,
    null_label_reason,
)
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript
from langchain_perceived_error.judge.runner import record_id_of

__all__ = [
    "LABEL_KEY",
    "conversation_examples",
    "conversation_messages",
    "labelled_examples",
    "push_examples",
    "turn_messages",
]

logger = logging.getLogger(__name__)

LABEL_KEY = "perceived_error"
"""The reference-output key holding an example's label, and the target-output key of the verdict."""

_OPENAI_ROLES = {"human": "user", "ai": "assistant"}


def turn_messages(turns: Iterable[Turn]) -> list[dict[str, str]]:
    """Turns as OpenAI-style dicts (``{"role": "user" | "assistant", "content": ...}``)."""
    return [{"role": _OPENAI_ROLES[turn.role], "content": turn.text} for turn in turns]


def conversation_messages(
    conversation: Any, *, include_tools: bool = False
) -> list[dict[str, str]]:
    """The human and AI turns of ``conversation`` (any shape the judge reads) as OpenAI dicts.

    Raises:
        TranscriptError: when the conversation cannot be read.

    """
    return turn_messages(extract_transcript(conversation, include_tools=include_tools))


def _example(
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None,
    metadata: dict[str, Any],
    dataset_id: uuid.UUID | None,
) -> Example:
    fields: dict[str, Any] = {"id": uuid.uuid4(), "inputs": inputs, "metadata": metadata}
    if outputs is not None:
        fields["outputs"] = outputs
    if dataset_id is not None:
        fields["dataset_id"] = dataset_id
    return Example(**fields)


def _read_messages(conversation: Any, where: str, *, include_tools: bool) -> list[dict[str, str]]:
    try:
        return conversation_messages(conversation, include_tools=include_tools)
    except TranscriptError as e:
        msg = f"{where}: {e}"
        raise TranscriptError(msg) from e


def conversation_examples(
    conversations: Iterable[Any],
    *,
    include_tools: bool = False,
    dataset_id: uuid.UUID | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> list[Example]:
    """One Example per conversation, ``inputs={"messages": [...]}``, no reference outputs.

    A conversation's ``id`` (key or attribute), when it has one, is kept as
    ``metadata["record_id"]``; ``metadata`` is added to every example.

    Raises:
        TranscriptError: naming the conversation (index and id) that cannot be read.

    """
    examples = []
    for index, conversation in enumerate(conversations):
        record_id = record_id_of(conversation)
        where = f"conversation {index}" + (f" (id {record_id!r})" if record_id else "")
        messages = _read_messages(conversation, where, include_tools=include_tools)
        example_metadata = dict(metadata or {})
        if record_id is not None:
            example_metadata["record_id"] = record_id
        examples.append(_example({"messages": messages}, None, example_metadata, dataset_id))
    return examples


def labelled_examples(
    records: Iterable[Mapping[str, Any]],
    *,
    label_field: str = LABEL_KEY,
    messages_field: str = "messages",
    id_field: str = "id",
    metadata_fields: Sequence[str] = (),
    include_tools: bool = False,
    dataset_id: uuid.UUID | None = None,
) -> list[Example]:
    """Examples from labelled records: ``inputs={"messages"}``, ``outputs={"perceived_error"}``.

    ``label_field`` and ``messages_field`` map the record's fields (EURTAD items:
    ``label_field="perceived_error_strict"``; dotted names reach nested fields). Records whose
    label is null (ambiguous) are dropped. ``id_field`` and ``metadata_fields`` are copied into
    each example's metadata.

    Raises:
        ValueError: when a record lacks ``messages_field`` or ``label_field`` (the message names
            the record).
        TypeError: when a label is neither a boolean (or 1/0) nor null.
        TranscriptError: when a record's messages cannot be read.

    """
    mapping = FieldMapping(
        messages_field, label_field, id_field, metadata_fields=tuple(metadata_fields)
    )
    report = LoadReport()
    examples = []
    for item in labelled_items(records, mapping, report=report):
        stated = item.id != item.source  # a record without an id is known by its place only
        where = item.source + (f" (id {item.id!r})" if stated else "")
        messages = _read_messages(item.payload, where, include_tools=include_tools)
        metadata = dict(item.metadata)
        if stated:
            metadata["record_id"] = item.id
        outputs = {LABEL_KEY: item.label}
        examples.append(_example({"messages": messages}, outputs, metadata, dataset_id))
    dropped = report.skipped[null_label_reason(mapping)]
    if dropped:
        logger.info("dropped %d records with a null %r label", dropped, label_field)
    return examples


def push_examples(
    examples: Iterable[Example],
    *,
    dataset_name: str,
    client: Client,
    description: str | None = None,
) -> Dataset:
    """Create a LangSmith dataset holding ``examples`` and return it; reuse it if it exists.

    An existing dataset of that name is returned as it is (nothing is added), so re-running a
    script neither duplicates examples nor changes what earlier experiments were measured on; use
    a new name for new examples. Run experiments with ``data=dataset.name``: experiments on one
    dataset line up side by side in LangSmith.
    """
    if client.has_dataset(dataset_name=dataset_name):
        existing: Dataset = client.read_dataset(dataset_name=dataset_name)
        return existing
    dataset = client.create_dataset(dataset_name, description=description)
    client.create_examples(
        dataset_id=dataset.id,
        examples=[
            # ``reference_outputs``: the ``outputs`` key is deprecated in ExampleCreate
            {"inputs": e.inputs, "reference_outputs": e.outputs, "metadata": e.metadata}
            for e in examples
        ],
    )
    return dataset
