"""The judge graph: extract -> judge -> validate -> (retry -> judge) -> done | failed, over a batch.

```
START -> extract --(every trace skipped | failed)--> END
            |
            v
          judge <--(some invalid, attempts left)-- validate --(all done)--> END
            |                                         ^
            +-----------------------------------------+
```

One run judges a batch of traces (``{"records": [...]}``) or one (``{"record": ...}``, a batch of
one); each trace is an item of the state and goes its own way. ``extract`` turns every trace shape
into human/AI turns, decides eligibility (no model call for a trace with no user turn after an
assistant turn) and builds each trace's messages (the :data:`MessageBuilder` hook). ``judge``
sends one model request per item still waiting for a verdict, concurrently when the graph is
awaited (sync: one after another). Each request is handled on its own (:class:`_Request`):
transient transport errors (429, 5xx, timeouts) are retried with the exponential backoff of the
``transport_retry`` policy (LangGraph's ``RetryPolicy``: its fields are read per request, because
LangGraph's own retry re-runs a whole node, which here is the batch), after waiting at least the
server's ``Retry-After``; with an
:class:`~langchain_perceived_error.transport.ratelimit.AdaptiveRateLimiter`, every request first
takes a slot from it, and a 429/503 that says when to come back (``Retry-After``, X-Ratelimit
reset) is waited out and sent again without using a retry attempt. A request whose retries run out,
or that fails for good (bad key, prompt too long), fails its own item, never the batch. ``validate``
parses each new answer; an invalid one is sent back to the model with the validation error, at most
``max_attempts`` answers per trace, then the item is ``failed`` with the last error and raw output.
A failure is never reported as ``perceived_error: false``.

When the graph is awaited, ``config["configurable"][REQUEST_SLOTS]`` may hold a
:class:`RequestSlots` shared by several runs: each model request holds one of its slots while it is
sent, so concurrent batches never have more requests in flight than it allows, and it counts the
traces waiting for a request, so that a scheduler can start the next batch before a slot would
sit idle (:meth:`~langchain_perceived_error.PerceivedErrorJudge.ajudge_many` uses it).

Every node is a langchain-core ``Runnable`` with a sync and an async body (:class:`_Node`), built on
public APIs only. LangGraph traces each node itself (a run per node, named after it, with the model
call nested under ``judge``), so a node needs no callback run of its own. The public alternatives
cost CPU; measured side by side on this graph (fake model answering at once, 600 traces of the
bundled sample, best of 3 interleaved rounds, load average 2.7-4.2 on 2 shared cores, CPU ms per
trace; ``/tmp`` script of issue 13 point 4, not shipped):

=========================================================  ======  ========================
nodes                                                      sync    async (awaited in turn)
=========================================================  ======  ========================
LangGraph's private ``RunnableCallable(trace=False)``      1.94    2.40
a ``Runnable`` subclass calling the body (chosen)          1.84    1.78
``RunnableLambda(func, afunc)``: a second run per node     2.92    3.11
plain functions: a thread hop per node when awaited        1.99    3.03
openevals ``create_llm_as_judge``, sync, for reference     0.54
=========================================================  ======  ========================

The subclass costs what the private wrapper cost (within this machine's noise), so nothing was
traded for dropping the private import. (Measured on the one-trace graph with conditional edges,
before this graph judged batches and routed by ``Command``, which saves a routing runnable per
step; ``benchmarks/perf_cpu.py`` times the graph as it is.)
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, RetryPolicy

from langchain_perceived_error.core.budget import DEFAULT_MAX_INPUT_TOKENS
from langchain_perceived_error.core.eligibility import skip_reason
from langchain_perceived_error.core.parsing import VerdictParseError, parse_verdict
from langchain_perceived_error.core.preparation import prepare_turns
from langchain_perceived_error.core.prompts import (
    PromptStyle,
    build_judge_messages,
    build_retry_messages,
)
from langchain_perceived_error.core.records import UnreadableRecord
from langchain_perceived_error.core.schemas import (
    BudgetCut,
    JudgeResult,
    JudgeStatus,
    Turn,
    Verdict,
)
from langchain_perceived_error.core.transcript import TranscriptError, extract_transcript
from langchain_perceived_error.judge.confidence import (
    evidence_turn,
    reply_confidence,
    reply_evidence_turn,
)
from langchain_perceived_error.redaction.redact import Redactor
from langchain_perceived_error.redaction.scrub import scrub
from langchain_perceived_error.transport.ratelimit import (
    DEFAULT_MAX_WAIT_S,
    AdaptiveRateLimiter,
    Slot,
)
from langchain_perceived_error.transport.retries import (
    DEFAULT_TRANSPORT_RETRY,
    backoff_interval,
    is_rate_limit_error,
    is_transient_error,
    response_headers,
    retry_after,
    should_retry,
    status_code,
)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "REQUEST_SLOTS",
    "ItemState",
    "JudgeState",
    "MessageBuilder",
    "RequestSlots",
    "build_judge_graph",
    "result_from_state",
    "results_from_state",
]

DEFAULT_MAX_ATTEMPTS = 3
"""Model calls allowed per trace, the first one included, before a format failure."""

REQUEST_SLOTS = "perceived_error_request_slots"
"""The ``configurable`` key of a :class:`RequestSlots` shared by awaited graph runs."""


class RequestSlots:
    """At most ``limit`` model requests in flight across the awaited graph runs that share it.

    It also counts the demand, so that a scheduler knows when to start one more batch:
    ``demand`` is the number of traces that need a request now (queued for a slot or sent),
    ``starting`` the batches admitted (:meth:`admit`) whose traces are not counted yet (the
    graph's ``extract`` counts them). ``changed`` is set when a scheduler that asked
    (:attr:`wake_when_needed`) should start another batch.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.demand = 0
        self.starting = 0
        self.changed = asyncio.Event()
        self.wake_when_needed = False
        """Set by a scheduler waiting for :attr:`needs_batch`: ``changed`` is set once it holds."""
        self._semaphore = asyncio.Semaphore(limit)

    @property
    def needs_batch(self) -> bool:
        """True when fewer than two rounds of requests (``2 x limit``) are counted, and no admitted
        batch is uncounted.

        One round is not enough: a batch started only when a slot is already free would leave it
        idle while the batch's ``extract`` reads its traces. Started while two rounds remain, its
        requests are queued for the slots when they free (measured with
        ``benchmarks/perf_throughput.py``, fixed latency, c = 16 / 64: 97 / 91% of ideal with one
        round, 99 / 94% with two).
        """
        return self.starting <= 0 and self.demand < 2 * self.limit

    def admit(self) -> None:
        """A batch was started; its demand is counted when its ``extract`` has run."""
        self.starting += 1

    def need(self, requests: int, *, first: bool = False) -> None:
        """``requests`` more traces need a request (``first``: the batch's own count)."""
        self.demand += requests
        if first:
            self.starting = max(0, self.starting - 1)
            self._wake()

    def done(self) -> None:
        """One trace's request finished (answered, or failed for good)."""
        self.demand -= 1
        self._wake()

    def _wake(self) -> None:
        if self.wake_when_needed and self.needs_batch:
            self.wake_when_needed = False
            self.changed.set()

    async def acquire(self) -> None:
        """Wait for a free slot."""
        await self._semaphore.acquire()

    def release(self) -> None:
        """Free a slot."""
        self._semaphore.release()


def _slots(config: RunnableConfig) -> RequestSlots | None:
    slots = (config.get("configurable") or {}).get(REQUEST_SLOTS)
    return slots if isinstance(slots, RequestSlots) else None


MessageBuilder: TypeAlias = Callable[[Sequence[Turn], Any], list[BaseMessage]]
"""The judge graph's prompt hook: ``(turns, context) -> messages``.

Builds the first messages of every model call for one trace from its prepared turns (eligible,
redacted and cut to the budget) and the ``context`` given with that trace (``None`` unless the
caller passes one, see :meth:`~langchain_perceived_error.PerceivedErrorJudge.judge`). Format
retries append to what it returns. The default is
:func:`~langchain_perceived_error.core.prompts.build_judge_messages` with the graph's prompt
style, which ignores the context; the panel's adjudicators pass
:func:`~langchain_perceived_error.datasets.panel.adjudication_messages`, whose context is the
panel's verdicts. A builder that raises ``ValueError`` fails that trace (recorded, no model call).
"""


class ItemState(TypedDict, total=False):
    """One trace of the batch, as it goes through the graph.

    ``messages`` and ``retry_messages`` are working keys: an item that has a ``status`` no longer
    carries them (a finished batch does not keep its prompts alive, nor show them in the graph's
    traced output).
    """

    record: Any
    context: Any
    turns: list[Turn]
    messages: list[BaseMessage]
    retry_messages: list[BaseMessage]
    raw_output: str | None
    finish_reason: str | None
    response_metadata: dict[str, Any]
    """The last answer's ``response_metadata`` (finish reason, logprobs when asked for, ...)."""
    verdict: Verdict | None
    status: JudgeStatus | None
    skip_reason: str | None
    error: str | None
    attempts: int
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    budget_cut: BudgetCut | None
    redactions: dict[str, int]
    confidence: float | None
    """Of the latest answer only: a format retry's answer replaces the rejected one's."""
    reported_evidence_turn: int | None
    done_at: float
    """``time.perf_counter()`` when the item got its status."""


class JudgeState(TypedDict, total=False):
    """What flows through the judge graph.

    Input: ``record`` (one trace) or ``records`` (a batch), with ``context`` / ``contexts`` for
    the :data:`MessageBuilder`. Output: ``items``, one :class:`ItemState` per trace, in input order.
    """

    record: Any
    context: Any
    records: list[Any]
    contexts: list[Any]
    items: list[ItemState]


def _as_turns(record: Any, include_tools: bool) -> list[Turn]:
    if isinstance(record, UnreadableRecord):
        raise TranscriptError(record.error)
    if isinstance(record, Sequence) and record and all(isinstance(t, Turn) for t in record):
        return list(record)
    return extract_transcript(record, include_tools=include_tools)


def _add(total: int | None, value: Any) -> int | None:
    if not isinstance(value, int):
        return total
    return (total or 0) + value


_WORKING_KEYS = frozenset({"messages", "retry_messages"})
"""What an item needs only while it waits for a verdict: dropped when it finishes."""


def _done(item: ItemState, status: JudgeStatus, **update: Any) -> ItemState:
    """``item`` finished with ``status`` (and ``update``)."""
    done = {key: value for key, value in item.items() if key not in _WORKING_KEYS}
    return {**done, **update, "status": status, "done_at": time.perf_counter()}  # type: ignore[typeddict-item]


def _pending(items: Sequence[ItemState]) -> list[int]:
    return [index for index, item in enumerate(items) if item.get("status") is None]


class _Node(Runnable[Any, Any]):
    """A graph node with a real sync and async body and no callback run of its own.

    LangGraph traces every node itself (one run per node, named after it, with the model call
    nested inside), so the node's body needs no run of its own. The three public ways cost CPU
    (measured in the module doc): a plain sync function runs in a thread pool when the graph is
    awaited (a thread hop per node per trace), a ``RunnableLambda`` opens a second callback run per
    call, and an async function cannot be invoked synchronously. This subclass of langchain-core's
    public ``Runnable`` calls the body directly, as LangGraph's own wrapper does for functions.
    """

    def __init__(self, name: str, func: Callable[..., Any], afunc: Callable[..., Any]) -> None:
        self.name = name
        self.func, self.afunc = func, afunc
        self.takes_config = "config" in inspect.signature(func).parameters

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the sync body."""
        if self.takes_config:
            return self.func(input, config or {})
        return self.func(input)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the async body on the event loop."""
        if self.takes_config:
            return await self.afunc(input, config or {})
        return await self.afunc(input)


def _node(name: str, func: Any, afunc: Any = None) -> Runnable[Any, Any]:
    """A node from a sync body and, optionally, its async twin (else the sync body is awaited)."""
    if afunc is None:

        async def afunc(*args: Any) -> Any:
            return func(*args)

    return _Node(name, func, afunc)


# -- extract ---------------------------------------------------------------------------------------


def _make_extract(
    include_tools: bool,
    max_input_tokens: int | None,
    redact: bool,
    redactor: Redactor | None,
    message_builder: MessageBuilder,
) -> Any:
    def extract_one(record: Any, context: Any) -> ItemState:
        item: ItemState = {"record": record, "context": context, "attempts": 0}
        try:
            turns = _as_turns(record, include_tools)
        except TranscriptError as e:
            return _done(item, JudgeStatus.FAILED, error=f"unreadable trace: {e}", turns=[])
        reason = skip_reason(turns)
        if reason is not None:
            return _done(item, JudgeStatus.SKIPPED, turns=turns, skip_reason=reason)
        prepared = prepare_turns(
            turns, redact=redact, max_input_tokens=max_input_tokens, redactor=redactor
        )
        item["turns"] = prepared.turns
        if prepared.redactions is not None:
            item["redactions"] = prepared.redactions
        if max_input_tokens is not None:
            item["budget_cut"] = prepared.budget_cut
        try:
            item["messages"] = message_builder(prepared.turns, context)
        except ValueError as e:
            return _done(item, JudgeStatus.FAILED, error=f"cannot build the judge's prompt: {e}")
        return item

    def extract(state: JudgeState, config: RunnableConfig) -> Command[str]:
        if "records" in state:
            records = state["records"]
            contexts = state.get("contexts") or [None] * len(records)
        else:
            records, contexts = [state.get("record")], [state.get("context")]
        items = [
            extract_one(record, context) for record, context in zip(records, contexts, strict=True)
        ]
        slots = _slots(config)
        if slots is not None:
            slots.need(len(_pending(items)), first=True)
        return _go(items, "judge")

    return _node("extract", extract)


# -- judge -----------------------------------------------------------------------------------------


def _answered(item: ItemState, reply: BaseMessage) -> ItemState:
    usage = reply.usage_metadata if isinstance(reply, AIMessage) else None
    metadata = reply.response_metadata or {}
    return {
        **item,
        "raw_output": str(reply.text),  # a plain str: the accessor is an object the GC tracks
        "response_metadata": metadata,
        "finish_reason": metadata.get("finish_reason") or metadata.get("stop_reason"),
        "attempts": item.get("attempts", 0) + 1,
        "input_tokens": _add(item.get("input_tokens"), usage and usage.get("input_tokens")),
        "output_tokens": _add(item.get("output_tokens"), usage and usage.get("output_tokens")),
        "cached_input_tokens": _add(
            item.get("cached_input_tokens"),
            usage and (usage.get("input_token_details") or {}).get("cache_read"),
        ),
        # of the latest reply only: a format retry's answer replaces the rejected one's
        "confidence": reply_confidence(reply),
        "reported_evidence_turn": reply_evidence_turn(reply),
    }


_TOO_LONG_HINTS = (
    "context length",
    "context_length",
    "maximum context",
    "too many tokens",
    "prompt is too long",
    "input is too long",
    "request too large",
)


def _request_failed(item: ItemState, exc: Exception, transient: bool) -> ItemState:
    """A request that cannot succeed: retries ran out (``transient``), or retrying cannot help."""
    if transient:  # no answer came back: attempts (answers) unchanged
        return _done(item, JudgeStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    error = f"model call failed: {type(exc).__name__}: {exc}"
    if status_code(exc) == 413 or any(hint in str(exc).lower() for hint in _TOO_LONG_HINTS):
        error += (
            " -- the transcript is too long for this model: lower the token budget "
            "(--max-input-tokens / max_input_tokens=) or use a model with a longer context"
        )
    return _done(item, JudgeStatus.FAILED, error=error, attempts=item.get("attempts", 0) + 1)


class _Request:
    """How one model request reacts to errors (shared by the sync and async shells).

    ``after_error`` returns ``("again", 0)`` when the limiter took a throttle with a server hint
    (the next ``slot`` waits it out; no retry attempt is used), ``("wait", pause)`` for other
    transient errors the policy retries (sleep ``pause``: the ``Retry-After`` hint, then the
    policy's backoff), or ``("fail", 0)`` when retrying cannot help or the attempts ran out.
    """

    def __init__(self, limiter: AdaptiveRateLimiter | None, policy: RetryPolicy | None) -> None:
        self.limiter, self.policy = limiter, policy
        self.deadline = limiter.deadline() if limiter is not None else None
        self.not_before: float | None = None  # this request's Retry-After, on the limiter clock
        self.failures = 0
        self.transient = False

    def after_error(self, exc: Exception, slot: Slot | None) -> tuple[str, float]:
        self.transient = is_transient_error(exc)
        if not self.transient:
            return "fail", 0.0
        hint = retry_after(exc)
        pause = min(hint or 0.0, DEFAULT_MAX_WAIT_S)
        if self.limiter is not None and is_rate_limit_error(exc):
            hint = self.limiter.record_throttle(
                slot, retry_after=hint, headers=response_headers(exc)
            )
            if hint is not None:
                self.not_before = self.limiter.now() + hint
                return "again", 0.0
            pause = 0.0
        if self.policy is None or not should_retry(self.policy, exc):
            return "fail", 0.0
        self.failures += 1
        if self.failures >= self.policy.max_attempts:
            return "fail", 0.0
        return "wait", pause + backoff_interval(self.policy, self.failures)

    def after_success(self, slot: Slot | None, reply: BaseMessage) -> None:
        if self.limiter is not None:
            headers = (reply.response_metadata or {}).get("headers")
            self.limiter.record_success(slot, headers if isinstance(headers, Mapping) else None)


def _make_judge(
    model: BaseChatModel, limiter: AdaptiveRateLimiter | None, policy: RetryPolicy | None
) -> Runnable[JudgeState, JudgeState]:
    def ask(item: ItemState, config: RunnableConfig) -> ItemState:
        messages = item["messages"] + item.get("retry_messages", [])
        request = _Request(limiter, policy)
        while True:
            slot = None
            try:
                if limiter is not None:
                    slot = limiter.slot(deadline=request.deadline, not_before=request.not_before)
                reply = model.invoke(messages, config)
            except Exception as e:
                action, pause = request.after_error(e, slot)
                if action == "fail":
                    return _request_failed(item, e, request.transient)
                time.sleep(pause)
                continue
            request.after_success(slot, reply)
            return _answered(item, reply)

    async def aask(
        item: ItemState, config: RunnableConfig, slots: RequestSlots | None
    ) -> ItemState:
        messages = item["messages"] + item.get("retry_messages", [])
        request = _Request(limiter, policy)
        try:
            while True:
                slot = None
                try:
                    if slots is not None:
                        await slots.acquire()
                    try:
                        if limiter is not None:
                            slot = await limiter.aslot(
                                deadline=request.deadline, not_before=request.not_before
                            )
                        reply = await model.ainvoke(messages, config)
                    finally:
                        if slots is not None:
                            slots.release()
                except Exception as e:
                    action, pause = request.after_error(e, slot)
                    if action == "fail":
                        return _request_failed(item, e, request.transient)
                    await asyncio.sleep(pause)
                    continue
                request.after_success(slot, reply)
                return _answered(item, reply)
        finally:
            if slots is not None:
                slots.done()

    def judge(state: JudgeState, config: RunnableConfig) -> Command[str]:
        items = list(state["items"])
        for index in _pending(items):
            items[index] = ask(items[index], config)
        return _go(items, "validate")

    async def ajudge(state: JudgeState, config: RunnableConfig) -> Command[str]:
        items = list(state["items"])
        pending = _pending(items)
        slots = _slots(config)
        if len(pending) == 1:  # no task to spawn for a batch of one
            items[pending[0]] = await aask(items[pending[0]], config, slots)
        else:
            answers = await asyncio.gather(*(aask(items[i], config, slots) for i in pending))
            for index, answer in zip(pending, answers, strict=True):
                items[index] = answer
        return _go(items, "validate")

    return _node("judge", judge, ajudge)


# -- validate --------------------------------------------------------------------------------------


def _make_validate(max_attempts: int) -> Any:
    def validate_one(item: ItemState) -> ItemState:
        raw = item.get("raw_output") or ""
        try:
            verdict = parse_verdict(raw)
        except VerdictParseError as e:
            error = str(e)
            if item.get("finish_reason") == "length":
                error = f"the reply was cut off at the token limit; {error}"
            attempts = item.get("attempts", 0)
            if attempts >= max_attempts:
                error = f"no valid verdict after {attempts} attempts: {error}"
                return _done(item, JudgeStatus.FAILED, error=error)
            retry = build_retry_messages(raw, error)
            return {
                **item,
                "retry_messages": item.get("retry_messages", []) + retry,
                "error": error,
            }
        return _done(item, JudgeStatus.JUDGED, verdict=verdict, error=None)

    def validate(state: JudgeState, config: RunnableConfig) -> Command[str]:
        items = list(state["items"])
        for index in _pending(items):
            items[index] = validate_one(items[index])
        slots = _slots(config)
        if slots is not None:
            slots.need(len(_pending(items)))  # format retries
        return _go(items, "judge")

    return _node("validate", validate)


# -- routing and assembly --------------------------------------------------------------------------


def _go(items: list[ItemState], then: Literal["judge", "validate"]) -> Command[str]:
    """The state update, and the next node: ``then`` while an item waits, else the end.

    An item with a status is finished (skipped, failed or judged); the run ends when all are.
    Routing by ``Command`` costs no extra runnable per step (a conditional edge would).
    """
    return Command(update={"items": items}, goto=then if _pending(items) else END)


def build_judge_graph(
    model: BaseChatModel,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
    transport_retry: RetryPolicy | None = DEFAULT_TRANSPORT_RETRY,
    rate_limiter: AdaptiveRateLimiter | None = None,
    max_input_tokens: int | None = DEFAULT_MAX_INPUT_TOKENS,
    redact: bool = False,
    redactor: Redactor | None = None,
    prompt: PromptStyle = "full",
    message_builder: MessageBuilder | None = None,
) -> CompiledStateGraph[JudgeState, None, JudgeState, JudgeState]:
    """Build the compiled judge graph for ``model``.

    Args:
        model: the judge chat model (see :func:`~langchain_perceived_error.resolve_model`).
        max_attempts: model calls allowed per trace, format retries included (>= 1).
        include_tools: keep tool calls and results as compact text in the transcript.
        transport_retry: backoff for transient transport errors, per model request; ``None``
            disables it.
        rate_limiter: an adaptive limiter shared by every request of this graph (``None``: none;
            :class:`~langchain_perceived_error.PerceivedErrorJudge` makes one by default).
        max_input_tokens: the transcript's token budget; longer transcripts are cut by the policy
            of :mod:`langchain_perceived_error.core.budget` and the cut is recorded (``None``: no
            cut).
        redact: mask keys and personal data (e-mails, IBANs, cards, IPs, phones) before the
            model sees the turns (:mod:`langchain_perceived_error.redaction.redact`); counts are
            recorded.
        redactor: a callable that masks a text instead (``(text, counts) -> text``, see
            :data:`~langchain_perceived_error.redaction.redact.Redactor`); giving one turns
            redaction on.
        prompt: the system prompt style
            (:data:`~langchain_perceived_error.core.prompts.PromptStyle`): ``"compact"`` only for
            a model fine-tuned on it.
        message_builder: the prompt hook (:data:`MessageBuilder`): builds each trace's messages
            from its turns and the ``context`` given with it; ``None``: the judge prompt of
            style ``prompt``.

    Invoke with ``{"record": <any trace shape>}`` or ``{"records": [...]}`` (and ``"context"`` /
    ``"contexts"`` for a ``message_builder`` that reads one); turn the final state into
    :class:`~langchain_perceived_error.JudgeResult` objects with :func:`results_from_state`
    (:func:`result_from_state` for one record).

    """
    if max_attempts < 1:
        msg = f"max_attempts must be at least 1, got {max_attempts}"
        raise ValueError(msg)
    if message_builder is None:

        def message_builder(turns: Sequence[Turn], context: Any) -> list[BaseMessage]:
            return build_judge_messages(turns, prompt)

    builder = StateGraph(JudgeState)
    builder.add_node(
        "extract",
        _make_extract(include_tools, max_input_tokens, redact, redactor, message_builder),
        destinations=("judge", END),
    )
    builder.add_node(
        "judge", _make_judge(model, rate_limiter, transport_retry), destinations=("validate", END)
    )
    builder.add_node("validate", _make_validate(max_attempts), destinations=("judge", END))
    builder.add_edge(START, "extract")
    return builder.compile(name="perceived_error_judge")


def _result(item: ItemState, record_id: str | None, model: str, started: float) -> JudgeResult:
    status = item.get("status") or JudgeStatus.FAILED
    failed = status is JudgeStatus.FAILED
    judged = status is JudgeStatus.JUDGED
    verdict = item.get("verdict") if judged else None
    turns = item.get("turns", [])
    return JudgeResult(
        id=record_id,
        status=status,
        verdict=verdict,
        skip_reason=item.get("skip_reason"),
        error=scrub(item.get("error") or "the judge stopped without a verdict") if failed else None,
        raw_output=scrub(item.get("raw_output") or "") or None if failed else None,
        attempts=item.get("attempts", 0),
        model=model,
        input_tokens=item.get("input_tokens"),
        output_tokens=item.get("output_tokens"),
        cached_input_tokens=item.get("cached_input_tokens"),
        latency_s=item.get("done_at", time.perf_counter()) - started,
        turns=turns,
        budget_cut=item.get("budget_cut"),
        redactions=item.get("redactions"),
        confidence=item.get("confidence") if judged else None,
        evidence_turn=evidence_turn(item.get("reported_evidence_turn"), verdict.reason, turns)
        if verdict
        else None,
    )


def results_from_state(
    state: JudgeState, *, record_ids: Sequence[str | None], model: str, started: float
) -> list[JudgeResult]:
    """The typed results of a finished graph run, in input order (``started``: its
    ``time.perf_counter()``; each result's latency runs to when its own trace finished)."""
    items = state.get("items", [])
    return [
        _result(item, record_id, model, started)
        for item, record_id in zip(items, record_ids, strict=True)
    ]


def result_from_state(
    state: JudgeState, *, record_id: str | None, model: str, started: float
) -> JudgeResult:
    """The typed result of a finished graph run over one record (see :func:`results_from_state`)."""
    (result,) = results_from_state(state, record_ids=[record_id], model=model, started=started)
    return result
