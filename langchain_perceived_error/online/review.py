"""Which flagged items reach the annotation queue, and in what order: by the judge's confidence.

``JudgeResult.confidence`` is the judge's probability that a perceived error is present (``None``
when the judge gives none). Two knobs, shared by ``perceived-error queue`` and ``watch --queue``:

- ``min_confidence``: keep a flagged item only when its confidence (the probability of a perceived
  error, not the confidence in whichever verdict) is at least this value. Every queued item is a
  flagged one, so this reads "push only what the judge is at least this sure is an error". An
  item with no confidence cannot be compared: it is kept (never silently dropped) and counted
  in :attr:`ReviewSelection.without_confidence`.
- ``order``: ``"found"`` keeps the order the items were found in; ``"uncertain-first"`` puts the
  items whose confidence is closest to 0.5 first (the most informative for a reviewer), ties in
  the order found, and the items without a confidence last.

Annotation queues list items in the order they were added, so the push order is the review order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar, get_args

__all__ = ["REVIEW_ORDERS", "ReviewOrder", "ReviewSelection", "select_for_review"]

ReviewOrder = Literal["found", "uncertain-first"]
"""``found``: as listed or read. ``uncertain-first``: confidence closest to 0.5 first."""
REVIEW_ORDERS: tuple[str, ...] = get_args(ReviewOrder)

_T = TypeVar("_T")


@dataclass
class ReviewSelection(Generic[_T]):
    """The items to push, in push order, and what was left out or could not be ranked."""

    items: list[_T] = field(default_factory=list)
    below_min_confidence: int = 0
    """Items left out: their confidence is under ``min_confidence``."""
    without_confidence: int = 0
    """Items kept that carry no confidence (placed last by ``uncertain-first``)."""


def select_for_review(
    entries: Iterable[tuple[_T, float | None]],
    *,
    order: ReviewOrder = "found",
    min_confidence: float | None = None,
) -> ReviewSelection[_T]:
    """Filter ``(item, confidence)`` pairs by ``min_confidence`` and order them for review.

    Raises:
        ValueError: for an unknown order or a ``min_confidence`` outside [0, 1].

    """
    if order not in REVIEW_ORDERS:
        msg = f"order must be one of {', '.join(REVIEW_ORDERS)}, got {order!r}"
        raise ValueError(msg)
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        msg = f"min_confidence must be between 0 and 1, got {min_confidence}"
        raise ValueError(msg)
    selection: ReviewSelection[_T] = ReviewSelection()
    kept: list[tuple[_T, float | None]] = []
    for item, confidence in entries:
        if confidence is None:
            selection.without_confidence += 1
        elif min_confidence is not None and confidence < min_confidence:
            selection.below_min_confidence += 1
            continue
        kept.append((item, confidence))
    if order == "uncertain-first":
        kept.sort(key=lambda pair: 2.0 if pair[1] is None else abs(pair[1] - 0.5))
    selection.items = [item for item, _ in kept]
    return selection
