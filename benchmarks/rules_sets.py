"""Labelled conversation sets for measuring the offline rules judge, read at run time.

Nothing here holds data: every loader reads a file whose path is given at run time, and no item
text or id is ever written into the repository.

- :func:`load_eurtad`: EURTAD (Petrak et al., EMNLP 2023; Apache-2.0), ``items.jsonl`` from
  ``../shared/datasets/eurtad``; one source per original corpus (``source_dataset``).
- :func:`load_sample`: the bundled sample ``cookbook/data/sample_traces.jsonl`` (written for this
  project); items without an expected label (not eligible) are left out.
- :func:`load_fed`: the FED dataset (Mehri & Eskenazi, SIGDIAL 2020, "Unsupervised Evaluation of
  Interactive Dialog with DialoGPT"): conversations of people with Meena, Mitsuku and other
  people, each system turn rated by five annotators. Its ``fed_data.json`` is published by the
  authors (http://shikib.com/fed_data.json, no licence stated; a copy is in the public GitHub
  repository DSincerity/FED_Replication). It is used for measurement only, never copied here.
  FED rates the SYSTEM turn, not the user's reaction, so it is a proxy: an item is the
  conversation up to a rated system turn plus the user's next turn, and its label is true when
  the annotators judged that turn a breakdown (median "Correct" below "yes", median "Semantically
  appropriate" at "no", or most say it is not "Understandable"). Users often let a breakdown
  pass, so recall on FED has a ceiling well below 1 for any judge that reads the user.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_perceived_error.core.labelled import (
    FieldMapping,
    LabelledDataError,
    read_labelled_items,
)
from langchain_perceived_error.core.schemas import Turn
from langchain_perceived_error.core.transcript import extract_transcript

__all__ = ["Dialogue", "load_eurtad", "load_fed", "load_sample"]

_FED_LINE = re.compile(r"^(User|System): ?(.*)$")


@dataclass(frozen=True)
class Dialogue:
    """One labelled conversation: its turns, its source and whether the user perceived an error."""

    id: str
    source: str
    turns: list[Turn]
    label: bool


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (OSError, json.JSONDecodeError) as e:
        msg = f"cannot read {path}: {e}"
        raise SystemExit(msg) from e


def load_eurtad(path: Path, label_field: str = "perceived_error_strict") -> list[Dialogue]:
    """EURTAD items with a non-null ``label_field``, one source per original corpus.

    Read by the package's one labelled-data loader (null labels dropped).
    """
    mapping = FieldMapping("messages", label_field, metadata_fields=("source_dataset",))
    try:
        items = list(read_labelled_items(path, mapping))
    except LabelledDataError as e:
        msg = f"cannot read {path}: {e}"
        raise SystemExit(msg) from e
    return [
        Dialogue(
            id=item.id,
            source=str(item.metadata["source_dataset"]),
            turns=extract_transcript({"messages": item.payload}),
            label=item.label,
        )
        for item in items
    ]


def load_sample(path: Path) -> list[Dialogue]:
    """The bundled sample's labelled items (those with an expected verdict)."""
    return [
        Dialogue(
            id=str(item["id"]),
            source="sample",
            turns=extract_transcript({k: v for k, v in item.items() if k != "note"}),
            label=bool(item["expected_perceived_error"]),
        )
        for item in _jsonl(path)
        if item.get("expected_perceived_error") is not None
    ]


def _fed_turns(text: str) -> list[Turn]:
    turns: list[Turn] = []
    for line in text.split("\n"):
        match = _FED_LINE.match(line)
        if match:
            role = "human" if match.group(1) == "User" else "ai"
            turns.append(Turn(role=role, text=match.group(2)))
        elif turns:  # a line break inside a turn
            turns[-1] = Turn(role=turns[-1].role, text=f"{turns[-1].text}\n{line}")
    return turns


def _median(values: Sequence[Any]) -> float | None:
    numbers = [v for v in values if isinstance(v, int | float)]
    return statistics.median(numbers) if numbers else None


def _fed_breakdown(annotations: Mapping[str, Sequence[Any]]) -> bool | None:
    correct = _median(annotations.get("Correct", []))
    appropriate = _median(annotations.get("Semantically appropriate", []))
    understandable = _median(annotations.get("Understandable", []))
    if correct is None or appropriate is None or understandable is None:
        return None
    return correct < 2 or appropriate == 0 or understandable < 1


def load_fed(path: Path) -> list[Dialogue]:
    """FED turn-level items that the user answered, labelled by the rated turn's breakdown."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        msg = f"cannot read {path}: {e}"
        raise SystemExit(msg) from e
    contexts = [str(entry["context"]) for entry in data]
    dialogues: list[Dialogue] = []
    for index, entry in enumerate(data):
        if "response" not in entry:
            continue  # a dialogue-level rating
        shown = f"{entry['context']}\n{entry['response']}\n"
        longer = [c for c in contexts if c.startswith(shown + "User:")]
        label = _fed_breakdown(entry["annotations"])
        if not longer or label is None:
            continue  # nobody answered the rated turn, or it has no usable rating
        next_user = longer[0][len(shown) :].split("\nSystem:", 1)[0]
        dialogues.append(
            Dialogue(
                id=f"fed/{index}",
                source=f"FED/{entry.get('system', '?')}",
                turns=_fed_turns(shown + next_user),
                label=label,
            )
        )
    return dialogues
