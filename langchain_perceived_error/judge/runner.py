"""Run the judge graph: one trace, many traces in order with bounded concurrency, sync or async.

All entry points share one implementation: the compiled graph from
:func:`~langchain_perceived_error.judge.graph.build_judge_graph` (a run judges one trace or a
batch) plus :func:`~langchain_perceived_error.judge.graph.results_from_state`. ``judge`` /
``ajudge`` run a batch of one; the many-trace paths run batches: ``judge_many`` a batch per
thread (:meth:`PerceivedErrorJudge.judge_batch`), the async ones on the event loop
(:meth:`PerceivedErrorJudge.ajudge_batch`), both cut and scheduled by :mod:`.batching`. The sync and
async shells differ only in how they wait.
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import aclosing, closing
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.types import RetryPolicy

from langchain_perceived_error.core.budget import budget_for_model
from langchain_perceived_error.core.prompts import PROMPT_VERSIONS, PromptStyle
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus
from langchain_perceived_error.judge.batching import in_batches, thread_batches
from langchain_perceived_error.judge.graph import (
    DEFAULT_MAX_ATTEMPTS,
    REQUEST_SLOTS,
    JudgeState,
    MessageBuilder,
    RequestSlots,
    build_judge_graph,
    result_from_state,
    results_from_state,
)
from langchain_perceived_error.judge.models import ModelSpec, model_name, resolve_model
from langchain_perceived_error.redaction.redact import Redactor
from langchain_perceived_error.redaction.scrub import scrub
from langchain_perceived_error.transport.ordered import (
    WINDOW_PER_SLOT,
    as_completed,
    as_completed_async,
    in_index_order,
    in_index_order_async,
)
from langchain_perceived_error.transport.ratelimit import AdaptiveRateLimiter
from langchain_perceived_error.transport.retries import DEFAULT_TRANSPORT_RETRY

__all__ = [
    "DEFAULT_CONCURRENCY",
    "PerceivedErrorJudge",
    "ajudge",
    "judge",
    "record_id_of",
    "resolve_judge",
]

DEFAULT_CONCURRENCY = 8


def record_id_of(record: Any) -> str | None:
    """The id a record carries (an ``id`` key or attribute), as a string, or None."""
    value = record.get("id") if isinstance(record, Mapping) else getattr(record, "id", None)
    return None if value is None else str(value)


class PerceivedErrorJudge:
    """A perceived-error judge bound to one model.

    Example:
        >>> judge = PerceivedErrorJudge("rules")
        >>> result = judge.judge([("user", "book Tuesday"), ("ai", "Booked Wednesday."),
        ...                       ("user", "No, I said Tuesday.")])
        >>> result.perceived_error
        True

    """

    def __init__(
        self,
        model: ModelSpec = None,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        include_tools: bool = False,
        transport_retry: RetryPolicy | None = DEFAULT_TRANSPORT_RETRY,
        rate_limiter: AdaptiveRateLimiter | Literal["adaptive"] | None = "adaptive",
        max_rps: float | None = None,
        max_input_tokens: int | Literal["auto"] | None = "auto",
        redact: bool = False,
        redactor: Redactor | None = None,
        prompt: PromptStyle = "full",
        message_builder: MessageBuilder | None = None,
    ) -> None:
        """Resolve ``model`` (see :func:`resolve_model`) and build the judge graph.

        Args:
            model: a model spec or chat model instance.
            max_attempts: model calls per trace, format retries included.
            include_tools: show tool calls and results to the judge as compact text.
            transport_retry: backoff for transient transport errors; ``None`` disables it.
            rate_limiter: ``"adaptive"`` (default) gives this judge its own
                :class:`~langchain_perceived_error.transport.ratelimit.AdaptiveRateLimiter`, shared
                by all its concurrent calls; pass an instance to share one between judges, or
                ``None`` for no client-side limiting (``Retry-After`` is still waited for on
                retries).
            max_rps: a hard cap in requests per second for the default adaptive limiter.
            max_input_tokens: the transcript's token budget (estimated at 4 characters per
                token); longer transcripts are cut, keeping the evidence, and the cut is recorded
                in ``JudgeResult.budget_cut``. ``"auto"``: 75% of the model's context when its
                LangChain profile gives one, else 24,000. ``None`` sends transcripts whole.
            redact: mask personal data and keys before the model sees them; counts are recorded
                in ``JudgeResult.redactions``.
            redactor: mask with this callable instead (``(text, counts) -> text``, see
                :data:`~langchain_perceived_error.redaction.redact.Redactor`; e.g.
                ``chain_redactors( redact_text, PresidioRedactor())`` to mask names and addresses
                too); giving one turns redaction on.
            prompt: ``"full"`` (default) for base and frontier models; ``"compact"`` (about 90
                tokens of instruction) only for a model fine-tuned on SFT files built with
                ``prompt="compact"``.
            message_builder: the graph's prompt hook
                (:data:`~langchain_perceived_error.judge.graph.MessageBuilder`): builds each
                trace's messages from its turns and the ``context`` passed to :meth:`judge`;
                ``None`` (default) sends the judge prompt of style ``prompt``.

        Raises:
            ValueError: when ``max_rps`` is combined with a limiter instance or ``None``.

        """
        if rate_limiter == "adaptive":
            rate_limiter = AdaptiveRateLimiter(max_rps=max_rps)
        elif max_rps is not None:
            msg = "max_rps applies to the default adaptive limiter; set it on your limiter instead"
            raise ValueError(msg)
        self.model = resolve_model(model)
        self.model_name = model_name(self.model)
        if max_input_tokens == "auto":
            max_input_tokens = budget_for_model(self.model)
        self.max_input_tokens = max_input_tokens
        self.max_attempts = max_attempts
        self.prompt: PromptStyle = prompt
        self.prompt_version = PROMPT_VERSIONS[prompt]
        """The version of the prompt this judge sends, recorded with its results (evaluator info,
        feedback); the rules judge reads only the transcript, whatever the prompt."""
        self.rate_limiter: AdaptiveRateLimiter | None = rate_limiter
        self.graph = build_judge_graph(
            self.model,
            max_attempts=max_attempts,
            include_tools=include_tools,
            transport_retry=transport_retry,
            rate_limiter=rate_limiter,
            max_input_tokens=max_input_tokens,
            redact=redact,
            redactor=redactor,
            prompt=prompt,
            message_builder=message_builder,
        )
        # extract + (judge + validate) per attempt, with room to spare
        self._config: RunnableConfig = {"recursion_limit": 2 * max_attempts + 6}

    def _finish(
        self, state: JudgeState | None, error: Exception | None, record: Any, started: float
    ) -> JudgeResult:
        record_id = record_id_of(record)
        if error is not None:  # transport retries exhausted, or a bug: recorded, never raised
            return JudgeResult(
                id=record_id,
                status=JudgeStatus.FAILED,
                error=scrub(f"{type(error).__name__}: {error}"),
                model=self.model_name,
                latency_s=time.perf_counter() - started,
            )
        assert state is not None
        return result_from_state(state, record_id=record_id, model=self.model_name, started=started)

    async def aclose(self) -> None:
        """Close the model's async HTTP client, if it has one (call before the event loop ends)."""
        close = getattr(self.model, "aclose", None)
        if close is not None:
            await close()

    def judge(self, record: Any, *, context: Any = None) -> JudgeResult:
        """Judge one trace (any shape :func:`extract_transcript` reads, or a list of Turns).

        ``context`` goes to the judge's ``message_builder`` with the trace's turns (the default
        builder ignores it).
        """
        started = time.perf_counter()
        try:
            state = cast(
                "JudgeState",
                self.graph.invoke({"record": record, "context": context}, self._config),
            )
        except Exception as e:
            return self._finish(None, e, record, started)
        return self._finish(state, None, record, started)

    async def ajudge(self, record: Any, *, context: Any = None) -> JudgeResult:
        """Async :meth:`judge`."""
        started = time.perf_counter()
        try:
            state = cast(
                "JudgeState",
                await self.graph.ainvoke({"record": record, "context": context}, self._config),
            )
        except Exception as e:
            return self._finish(None, e, record, started)
        return self._finish(state, None, record, started)

    async def ajudge_batch(
        self,
        records: Sequence[Any],
        *,
        contexts: Sequence[Any] | None = None,
        config: RunnableConfig | None = None,
    ) -> list[JudgeResult]:
        """Judge a batch of traces in one graph run; results in input order.

        Each trace gets its own model requests (sent concurrently), validation, format retries and
        transport retries: one failing trace never fails the others. ``contexts`` go to the
        ``message_builder``, one per record. ``config`` is merged into the run's config (e.g. a
        shared request semaphore under
        :data:`~langchain_perceived_error.judge.graph.REQUEST_SLOTS`, or callbacks).
        """
        started = time.perf_counter()
        try:
            final = await self.graph.ainvoke(
                _batch_state(records, contexts), {**self._config, **(config or {})}
            )
        except Exception as e:
            return [self._finish(None, e, record, started) for record in records]
        return self._batch_results(final, records, started)

    def judge_batch(
        self,
        records: Sequence[Any],
        *,
        contexts: Sequence[Any] | None = None,
        config: RunnableConfig | None = None,
    ) -> list[JudgeResult]:
        """Sync :meth:`ajudge_batch`: the batch's model requests are sent one after another."""
        started = time.perf_counter()
        try:
            final = self.graph.invoke(
                _batch_state(records, contexts), {**self._config, **(config or {})}
            )
        except Exception as e:
            return [self._finish(None, e, record, started) for record in records]
        return self._batch_results(final, records, started)

    def _batch_results(
        self, final: Any, records: Sequence[Any], started: float
    ) -> list[JudgeResult]:
        return results_from_state(
            cast("JudgeState", final),
            record_ids=[record_id_of(record) for record in records],
            model=self.model_name,
            started=started,
        )

    def judge_many(
        self, records: Iterable[Any], *, concurrency: int = DEFAULT_CONCURRENCY
    ) -> Iterator[JudgeResult]:
        """Judge records in threads, yielding results in input order.

        At most ``concurrency`` model requests are in flight (a thread per batch, see
        :meth:`judge_as_completed`), and one slow judgement never holds up the other threads:
        results that finish before their turn wait in a bounded window (then in a temporary
        file, see :mod:`~langchain_perceived_error.transport.ordered`), so an input stream of any
        length runs in bounded memory.
        """
        pairs = self.judge_as_completed(records, concurrency=concurrency)
        with closing(pairs):
            yield from in_index_order(pairs, window=WINDOW_PER_SLOT * concurrency)

    async def ajudge_many(
        self,
        records: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> AsyncIterator[JudgeResult]:
        """Async :meth:`judge_many`: same ordering and memory bounds, on the event loop.

        Traces are judged in batches (:meth:`ajudge_batch`, one graph run each, see
        :mod:`~langchain_perceived_error.judge.batching`), with at most ``concurrency`` model
        requests in flight across them. A subclass that overrides :meth:`ajudge` but not
        :meth:`ajudge_batch` is run through its ``ajudge``, one trace at a time, as before.
        """
        pairs = self._ajudge_as_completed(records, concurrency)
        async with aclosing(pairs):
            ordered = in_index_order_async(pairs, window=WINDOW_PER_SLOT * concurrency)
            async with aclosing(ordered):
                async for result in ordered:
                    yield result

    def judge_as_completed(
        self, records: Iterable[Any], *, concurrency: int = DEFAULT_CONCURRENCY
    ) -> Generator[tuple[int, JudgeResult], None, None]:
        """Judge records in ``concurrency`` threads, yielding ``(input index, result)`` as each
        batch finishes.

        Each thread judges a batch in one graph run (:meth:`judge_batch`), sending its requests
        one after another: a first round of batches of one trace, then of 2, 4, up to
        :data:`~langchain_perceived_error.judge.batching.MAX_THREAD_BATCH_SIZE`
        (:func:`~langchain_perceived_error.judge.batching.thread_batches`). A subclass that
        overrides :meth:`judge` but not :meth:`judge_batch` is run through its ``judge``, one
        trace at a time, as before.
        """
        if self._judges_trace_by_trace("judge", "judge_batch"):
            return as_completed(
                self.judge, records, concurrency=concurrency, thread_name_prefix="judge"
            )
        return self._judge_batches_as_completed(records, concurrency)

    def _judge_batches_as_completed(
        self, records: Iterable[Any], concurrency: int
    ) -> Generator[tuple[int, JudgeResult], None, None]:
        def run(batch: tuple[int, list[Any]]) -> tuple[int, list[JudgeResult]]:
            return batch[0], self.judge_batch(batch[1])

        batches = thread_batches(records, concurrency)
        pairs = as_completed(run, batches, concurrency=concurrency, thread_name_prefix="judge")
        with closing(pairs):
            for _, (first, results) in pairs:
                for offset, result in enumerate(results):
                    yield first + offset, result

    def ajudge_as_completed(
        self,
        records: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> AsyncIterator[tuple[int, JudgeResult]]:
        """Async :meth:`judge_as_completed`, on the event loop, a batch of traces per graph run.

        Results come as each batch finishes (:mod:`~langchain_perceived_error.judge.batching`:
        batches of ``min(concurrency, 64)`` traces first, then doubling up to
        ``min(8 x concurrency, 64)``, each started while two rounds of requests remain); at most
        ``concurrency`` model requests are in flight.
        """
        return self._ajudge_as_completed(records, concurrency)

    async def _ajudge_as_completed(
        self, records: Iterable[Any] | AsyncIterable[Any], concurrency: int
    ) -> AsyncGenerator[tuple[int, JudgeResult], None]:
        async def run(batch: list[Any], slots: RequestSlots) -> list[JudgeResult]:
            return await self.ajudge_batch(batch, config={"configurable": {REQUEST_SLOTS: slots}})

        if self._judges_trace_by_trace("ajudge", "ajudge_batch"):
            pairs = as_completed_async(self.ajudge, records, concurrency=concurrency)
        else:
            pairs = in_batches(run, records, concurrency=concurrency)
        async with aclosing(pairs):
            async for pair in pairs:
                yield pair

    def _judges_trace_by_trace(self, one: str, batch: str) -> bool:
        """Whether this is a subclass that overrides method ``one`` but not ``batch``: it judges
        one trace its own way, so the many-trace paths keep to ``one``, trace by trace."""
        cls = type(self)
        return getattr(cls, one) is not getattr(PerceivedErrorJudge, one) and (
            getattr(cls, batch) is getattr(PerceivedErrorJudge, batch)
        )

    def batch(
        self, records: Iterable[Any], *, concurrency: int = DEFAULT_CONCURRENCY
    ) -> list[JudgeResult]:
        """Judge all records; results in input order."""
        return list(self.judge_many(records, concurrency=concurrency))

    async def abatch(
        self, records: Iterable[Any], *, concurrency: int = DEFAULT_CONCURRENCY
    ) -> list[JudgeResult]:
        """Async :meth:`batch`."""
        return [r async for r in self.ajudge_many(records, concurrency=concurrency)]


def _batch_state(records: Sequence[Any], contexts: Sequence[Any] | None) -> JudgeState:
    state: JudgeState = {"records": list(records)}
    if contexts is not None:
        state["contexts"] = list(contexts)
    return state


def resolve_judge(
    model: ModelSpec,
    judge: PerceivedErrorJudge | None,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    include_tools: bool = False,
) -> PerceivedErrorJudge:
    """``judge`` when given, else a new judge for ``model``; giving both is an error."""
    if judge is None:
        return PerceivedErrorJudge(model, max_attempts=max_attempts, include_tools=include_tools)
    if model is not None:
        msg = "pass either a model spec or a ready judge, not both"
        raise ValueError(msg)
    return judge


def judge(record: Any, model: ModelSpec = None, **options: Any) -> JudgeResult:
    """Judge one trace with a fresh :class:`PerceivedErrorJudge` (options go to its constructor)."""
    return PerceivedErrorJudge(model, **options).judge(record)


async def ajudge(record: Any, model: ModelSpec = None, **options: Any) -> JudgeResult:
    """Async :func:`judge`."""
    return await PerceivedErrorJudge(model, **options).ajudge(record)
