"""Annotation queues: create the review queue once, push RUN and THREAD items idempotently.

:func:`ensure_queue` finds the queue by name or creates it (generated
``annotation_queues.annotation_queues``, ``POST /api/v1/annotation-queues``) with a description,
short rubric instructions (the perceived-error definition, and where the judge's feedback points:
the evidence turn in its comment, the confidence in its value) and one ``perceived_error`` rubric
item. Queue items carry no free text (the items API takes ids only), so a reviewer is pointed to
the evidence turn by the judge's feedback on the same trace (written by ``watch`` and by the
evaluators, see :mod:`~langchain_perceived_error.online.feedback`). The key's feedback config
(continuous, 0 to 1) is created first when missing; a workspace
that already configures the key keeps its own config.

:func:`push_items` adds :class:`RunItem` and :class:`ThreadItem` items
(``POST /api/v1/platform/annotation-queues/{queue_id}/items``) in requests of at most 100 (the
documented limit). It is idempotent by reading first: the queue's current items (every review
section: needing review and archived) are listed, and items already there, or repeated in the
input, are not sent. The items API takes no client-chosen ids, so deterministic ids are not an
option. Two pushers racing on one queue can still both add an item; run one pusher per queue.

:func:`flagged_items` reads, through the API, the root runs of a project whose feedback for the
key scored 1 (``runs.query_v2`` with the filter ``and(eq(feedback_key, "..."), eq(feedback_score,
1))``) and turns each into a THREAD item when the run belongs to a thread, else a RUN item;
:func:`flagged_entries` adds each item's confidence, the ``value`` of its feedback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeAlias

from langsmith import APIError
from langsmith.schemas import FeedbackConfig
from langsmith.types.annotation_queue_rubric_item_schema_param import (
    AnnotationQueueRubricItemSchemaParam,
)
from langsmith.types.annotation_queues import item_create_params
from langsmith.types.annotation_queues.item_list_response import ItemListResponse
from langsmith.utils import LangSmithError

from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.feedback import FEEDBACK_KEY

__all__ = [
    "MAX_ITEMS_PER_REQUEST",
    "QUEUE_DESCRIPTION",
    "RUBRIC_INSTRUCTIONS",
    "ItemType",
    "PushReport",
    "QueueError",
    "QueueItem",
    "RunItem",
    "ThreadItem",
    "create_queue",
    "ensure_queue",
    "existing_item_keys",
    "find_queue",
    "flagged_entries",
    "flagged_items",
    "push_items",
    "rubric_item",
]

logger = logging.getLogger(__name__)

MAX_ITEMS_PER_REQUEST = 100
"""LangSmith accepts at most 100 items in one add-items request."""
QUEUE_DESCRIPTION = (
    "Traces and threads where the perceived-error judge thinks the user saw the assistant make "
    "a mistake. Review the judge's verdict."
)
RUBRIC_INSTRUCTIONS = """\
Did the USER perceive that the assistant made a mistake? Judge the user's view, not objective \
correctness and not happiness.
Signals: the user corrects the assistant, rejects or undoes an action, repeats or rephrases a \
request, challenges it ("I never said that"), swears at it; the assistant admits an error.
Not signals: genuine follow-up questions, neutral narrowing of intent, asking for more detail, \
collaborative debugging, frustration with the world rather than with the assistant.
The judge's perceived_error feedback on the trace says where to look: its comment ends with \
"(evidence: turn N of M)", the turn (counted from 1) the verdict rests on, and its value is the \
judge's confidence (the probability of a perceived error), when the judge gives one.
Score perceived_error 1 when the user perceived an error, 0 when not."""
_ITEM_STATUSES: tuple[Literal["needs_my_review", "needs_others_review", "archived"], ...] = (
    "needs_my_review",
    "needs_others_review",
    "archived",
)
_PAGE_SIZE = 100
_FEEDBACK_CONFIG: FeedbackConfig = {"type": "continuous", "min": 0, "max": 1}

ItemType = Literal["auto", "run", "thread"]
"""How :func:`flagged_items` turns runs into items: auto (THREAD when the run has a thread)."""
_ItemKey = tuple[str, str]


class QueueError(RuntimeError):
    """An annotation queue could not be found, created, read or extended."""


@dataclass(frozen=True)
class RunItem:
    """A RUN item: one run (usually a trace's root run)."""

    run_id: str
    session_id: str | None = None
    """The run's project id (optional)."""
    start_time: datetime | str | None = None
    """The run's start time (optional; speeds up the lookup)."""

    @property
    def key(self) -> _ItemKey:
        return ("RUN", self.run_id)

    def payload(self) -> item_create_params.Item:
        item: item_create_params.Item = {"item_type": "RUN", "run_id": self.run_id}
        if self.session_id:
            item["session_id"] = self.session_id
        if self.start_time:
            item["start_time"] = self.start_time
        return item


@dataclass(frozen=True)
class ThreadItem:
    """A THREAD item: one thread of a project."""

    thread_id: str
    project_id: str

    @property
    def key(self) -> _ItemKey:
        return ("THREAD", f"{self.project_id}/{self.thread_id}")

    def payload(self) -> item_create_params.Item:
        return {"item_type": "THREAD", "thread_id": self.thread_id, "project_id": self.project_id}


QueueItem: TypeAlias = RunItem | ThreadItem
"""One item to add to a queue."""


@dataclass
class PushReport:
    """What :func:`push_items` did."""

    requested: int = 0
    """Items given (duplicates included)."""
    duplicates: int = 0
    """Items repeated in the input (sent once)."""
    already_queued: int = 0
    """Items already in the queue (not sent)."""
    added: int = 0
    requests: int = 0
    """Add-items requests sent (each of at most 100 items)."""
    added_ids: list[str] = field(default_factory=list)
    """The queue item ids LangSmith returned for the added items."""


def rubric_item(key: str = FEEDBACK_KEY) -> AnnotationQueueRubricItemSchemaParam:
    """The rubric item reviewers score: the feedback key, a description, what 0 and 1 mean."""
    meaning = {
        "0": "No: the user did not perceive a mistake.",
        "1": "Yes: the user perceived that the assistant made a mistake.",
    }
    return {
        "feedback_key": key,
        "description": "Did the user perceive that the assistant made a mistake?",
        "value_descriptions": meaning,
        "score_descriptions": meaning,
        "is_required": True,
    }


def find_queue(clients: LangSmithClients, name: str) -> str | None:
    """The id of the annotation queue called ``name``, or None."""
    try:
        for queue in clients.sdk.annotation_queues.retrieve_annotation_queues(name=name):
            if queue.name == name:
                return str(queue.id)
    except APIError as e:
        msg = f"could not list annotation queues named {name!r}: {clients.describe(e)}"
        raise QueueError(msg) from e
    return None


def ensure_queue(clients: LangSmithClients, name: str, *, key: str = FEEDBACK_KEY) -> str:
    """The id of the queue called ``name``, created with the perceived-error rubric if missing."""
    existing = find_queue(clients, name)
    return existing if existing is not None else create_queue(clients, name, key=key)


def create_queue(clients: LangSmithClients, name: str, *, key: str = FEEDBACK_KEY) -> str:
    """Create the queue ``name`` with the perceived-error rubric (and the key's feedback config)."""
    _ensure_feedback_config(clients, key)
    try:
        queue = clients.sdk.annotation_queues.annotation_queues(
            name=name,
            description=QUEUE_DESCRIPTION,
            rubric_instructions=RUBRIC_INSTRUCTIONS,
            rubric_items=[rubric_item(key)],
        )
    except APIError as e:
        msg = f"could not create annotation queue {name!r}: {clients.describe(e)}"
        raise QueueError(msg) from e
    logger.info("created annotation queue %r (%s)", name, queue.id)
    return str(queue.id)


def existing_item_keys(clients: LangSmithClients, queue_id: str) -> set[_ItemKey]:
    """The keys of every item in the queue, whatever its review status."""
    keys: set[_ItemKey] = set()
    try:
        for status in _ITEM_STATUSES:
            pages = clients.sdk.annotation_queues.items.list(
                queue_id, status=status, page_size=_PAGE_SIZE
            )
            for item in pages:
                if item.item_type == "THREAD" and item.thread_id:
                    keys.add(("THREAD", f"{_item_project(item)}/{item.thread_id}"))
                elif item.run_id:
                    keys.add(("RUN", str(item.run_id)))
    except APIError as e:
        msg = f"could not list the items of annotation queue {queue_id}: {clients.describe(e)}"
        raise QueueError(msg) from e
    return keys


def _item_project(item: ItemListResponse) -> str | None:
    """A listed item's project: ``project_id``, else ``session_id`` (the API documents both).

    The SDK's ``ItemListResponse`` types only ``project_id``; a server that answers
    ``session_id`` alone leaves it in the model's extra fields.
    """
    extra = item.model_extra or {}
    project = item.project_id or extra.get("session_id") or extra.get("project_id")
    return None if project is None else str(project)


def push_items(
    clients: LangSmithClients,
    queue_id: str,
    items: Iterable[QueueItem],
    *,
    chunk_size: int = MAX_ITEMS_PER_REQUEST,
    dry_run: bool = False,
) -> PushReport:
    """Add the items not yet in the queue, in requests of at most ``chunk_size`` (<= 100).

    ``dry_run`` reads the queue's items and counts what would be added, but sends nothing.
    """
    if not 1 <= chunk_size <= MAX_ITEMS_PER_REQUEST:
        msg = f"chunk_size must be between 1 and {MAX_ITEMS_PER_REQUEST}, got {chunk_size}"
        raise ValueError(msg)
    report = PushReport()
    new = _new_items(items, existing_item_keys(clients, queue_id), report)
    for chunk in _chunks(new, chunk_size):
        if not dry_run:
            report.added_ids.extend(_add_chunk(clients, queue_id, chunk))
        report.added += len(chunk)
        report.requests += 1
    return report


def flagged_items(
    clients: LangSmithClients,
    *,
    project_id: str,
    since: datetime,
    key: str = FEEDBACK_KEY,
    item_type: ItemType = "auto",
) -> Iterator[QueueItem]:
    """Queue items for the project's root runs whose ``key`` feedback scored 1 since ``since``.

    ``item_type``: ``auto`` gives a THREAD item for a run that belongs to a thread (thread
    feedback sits on the thread's last trace) and a RUN item otherwise; ``run`` always gives RUN
    items; ``thread`` gives only THREAD items (runs without a thread are left out).
    """
    for _, _, item in _flagged_runs(clients, project_id, since, key, item_type):
        yield item


def flagged_entries(
    clients: LangSmithClients,
    *,
    project_id: str,
    since: datetime,
    key: str = FEEDBACK_KEY,
    item_type: ItemType = "auto",
) -> list[tuple[QueueItem, float | None]]:
    """:func:`flagged_items` with each item's confidence: the ``value`` of its ``key`` feedback
    (the judge's probability of a perceived error; None when the feedback has none).

    An item flagged on several runs (a thread judged at several activities) appears once, with
    the confidence of its newest run. The values are read with ``list_feedback`` in requests of
    at most 100 runs.
    """
    newest: dict[_ItemKey, tuple[datetime | None, str, QueueItem]] = {}
    for run_id, start, item in _flagged_runs(clients, project_id, since, key, item_type):
        known = newest.get(item.key)
        if known is None or (start is not None and (known[0] is None or start > known[0])):
            newest[item.key] = (start, run_id, item)
    values = _feedback_values(clients, [run_id for _, run_id, _ in newest.values()], key)
    return [(item, values.get(run_id)) for _, run_id, item in newest.values()]


def _flagged_runs(
    clients: LangSmithClients,
    project_id: str,
    since: datetime,
    key: str,
    item_type: ItemType,
) -> Iterator[tuple[str, datetime | None, QueueItem]]:
    expression = f"and(eq(feedback_key, {json.dumps(key)}), eq(feedback_score, 1))"
    try:
        runs = clients.sdk.runs.query_v2(
            project_ids=[project_id],
            is_root=True,
            filter=expression,
            min_start_time=since,
            selects=["ID", "TRACE_ID", "START_TIME", "THREAD_ID"],
            page_size=_PAGE_SIZE,
        )
        for run in runs:
            item = _item_for_run(str(run.id), run.thread_id, run.start_time, project_id, item_type)
            if item is not None:
                yield str(run.id), run.start_time, item
    except APIError as e:
        msg = f"could not query flagged runs of project {project_id}: {clients.describe(e)}"
        raise QueueError(msg) from e


def _feedback_values(clients: LangSmithClients, run_ids: list[str], key: str) -> dict[str, float]:
    """``run id -> value`` of the runs' ``key`` feedback, for values that are numbers in [0, 1]."""
    values: dict[str, float] = {}
    try:
        for start in range(0, len(run_ids), _PAGE_SIZE):
            chunk = run_ids[start : start + _PAGE_SIZE]
            for feedback in clients.client.list_feedback(run_ids=chunk, feedback_key=[key]):
                value = feedback.value
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                if 0 <= value <= 1 and feedback.run_id is not None:
                    values[str(feedback.run_id)] = float(value)
    except LangSmithError as e:
        msg = f"could not read the {key!r} feedback of {len(run_ids)} runs: {e}"
        raise QueueError(msg) from e
    return values


def _item_for_run(
    run_id: str,
    thread_id: str | None,
    start_time: datetime | None,
    project_id: str,
    item_type: ItemType,
) -> QueueItem | None:
    if thread_id and item_type != "run":
        return ThreadItem(thread_id=thread_id, project_id=project_id)
    if item_type == "thread":
        return None
    return RunItem(run_id=run_id, session_id=project_id, start_time=start_time)


def _ensure_feedback_config(clients: LangSmithClients, key: str) -> None:
    """Create the key's feedback config, best effort.

    LangSmith answers 400 when the workspace already has a different config for the key: that
    config is kept. Any other failure is logged too; the queue creation that follows reports a
    real outage.
    """
    try:
        clients.client.create_feedback_config(key, feedback_config=_FEEDBACK_CONFIG)
    except LangSmithError as e:
        logger.warning("kept the workspace's feedback config for %r (%s)", key, e)


def _new_items(
    items: Iterable[QueueItem], existing: set[_ItemKey], report: PushReport
) -> list[QueueItem]:
    seen: set[_ItemKey] = set()
    new: list[QueueItem] = []
    for item in items:
        report.requested += 1
        if item.key in seen:
            report.duplicates += 1
        elif item.key in existing:
            report.already_queued += 1
        else:
            new.append(item)
        seen.add(item.key)
    return new


def _chunks(items: Sequence[QueueItem], size: int) -> Iterator[Sequence[QueueItem]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _add_chunk(clients: LangSmithClients, queue_id: str, chunk: Sequence[QueueItem]) -> list[str]:
    try:
        response = clients.sdk.annotation_queues.items.create(
            queue_id, items=[item.payload() for item in chunk]
        )
    except APIError as e:
        problem = clients.describe(e)
        msg = f"could not add {len(chunk)} items to annotation queue {queue_id}: {problem}"
        raise QueueError(msg) from e
    return [str(item.id) for item in response.items or [] if item.id]
