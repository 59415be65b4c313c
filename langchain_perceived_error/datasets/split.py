"""A deterministic, seeded train/holdout split by conversation, stratified by label.

Every record belongs to a conversation: ``sources.thread_id`` when it has one, else its ``id``.
A conversation is never split: all its records go to the same side, so no conversation is on both
sides (several traces of one thread would otherwise leak the holdout into training).

Stratification: conversations are grouped into strata by label (``true``, ``false``, or
``mixed`` for a conversation whose records disagree). Within a stratum the conversations are put
in a seeded pseudo-random order (a hash of the seed and the conversation key, so the result does
not depend on the input order) and taken into the holdout while that brings the stratum's holdout
record count closer to ``round(holdout * records in the stratum)``. With one record per
conversation every class's holdout count is that rounded target, so it is within one of
``holdout * n``; with larger conversations it is within the largest conversation's size.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Sequence

from langchain_perceived_error.core.schemas import LabelledRecord

__all__ = ["conversation_key", "split_records"]

_MIXED = "mixed"


def conversation_key(record: LabelledRecord) -> str:
    """The conversation a record belongs to: its thread id, else its own id."""
    return record.sources.thread_id or record.id


def _stratum(records: Sequence[LabelledRecord]) -> str:
    labels = {r.label.perceived_error for r in records}
    return str(labels.pop()).lower() if len(labels) == 1 else _MIXED


def _order_key(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x00{key}".encode()).hexdigest()


def _target(holdout: float, size: int) -> int:
    return math.floor(holdout * size + 0.5)  # round half up, not to even


def split_records(
    records: Sequence[LabelledRecord], *, holdout: float, seed: int
) -> tuple[list[LabelledRecord], list[LabelledRecord]]:
    """Split ``records`` into ``(train, holdout)``, each in input order (see the module doc).

    Args:
        records: the labelled records.
        holdout: the share of records to hold out, in ``[0, 1)``.
        seed: the same seed and records always give the same split.

    Raises:
        ValueError: when ``holdout`` is outside ``[0, 1)``.

    """
    if not 0.0 <= holdout < 1.0:
        msg = f"holdout must be in [0, 1), got {holdout}"
        raise ValueError(msg)
    conversations: dict[str, list[LabelledRecord]] = defaultdict(list)
    for record in records:
        conversations[conversation_key(record)].append(record)
    strata: dict[str, list[str]] = defaultdict(list)
    for key, members in conversations.items():
        strata[_stratum(members)].append(key)

    held: set[str] = set()
    for keys in strata.values():
        keys.sort(key=lambda k: _order_key(seed, k))
        target = _target(holdout, sum(len(conversations[k]) for k in keys))
        taken = 0
        for key in keys:
            size = len(conversations[key])
            if abs(taken + size - target) < abs(taken - target):
                held.add(key)
                taken += size
    train = [r for r in records if conversation_key(r) not in held]
    kept_out = [r for r in records if conversation_key(r) in held]
    return train, kept_out
