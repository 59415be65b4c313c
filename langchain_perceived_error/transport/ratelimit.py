"""Client-side rate limiting that adapts to the server: 429s, ``Retry-After``, X-Ratelimit headers.

One :class:`AdaptiveRateLimiter` is shared by every concurrent call of a judge (threads and
coroutines alike). Before each model call the judge node takes a *slot*; after it, the node
reports the outcome (:meth:`~AdaptiveRateLimiter.record_success` or
:meth:`~AdaptiveRateLimiter.record_throttle`). The limiter then:

- **honours ``Retry-After`` exactly**: a call throttled with ``Retry-After`` (or
  ``retry-after-ms``) is not sent again before that time has passed. A long one (at least
  ``pause_all_after_s``, 5 s by default: the account is blocked) pauses every call of this
  limiter, and so does an ``X-Ratelimit-Remaining-*: 0`` header with its
  ``X-Ratelimit-Reset-*``, before the server has to say no. A short one (a token bucket's "1 s")
  holds back only the call that got it: the lowered pace is what slows the others down, and
  pausing them all for a rounded-up second would waste a second of capacity per 429;
- **adapts the rate (AIMD, with a CUBIC-shaped increase)**: it starts unpaced (or paced at
  ``max_rps``). The first throttle paces all calls at ``decrease`` x the rate they were being
  sent at; later ones at ``decrease`` x the lower of the current pace and the rate the server
  actually accepted over the last ``window_s`` seconds. One burst of 429s counts as one event
  (only calls sent after the last decrease can decrease again). On success the pace grows back
  along a cubic curve that is flat near the throttled rate and probes above it slowly, so a
  steady limit is hit rarely (about every 6 s against a 20 req/s token bucket);
- **never exceeds ``max_rps``** when one is set.

Pacing is GCRA-style ("theoretical arrival time"): each slot is reserved at once, so waiting
costs one sleep per call and no polling. A caller whose reservation was made at a rate that has
since been lowered, or before a pause began, re-reserves when it wakes up.

The logic lives in the locked ``_reserve``/``_record`` methods; :meth:`slot` and :meth:`aslot`
(and LangChain's ``acquire``/``aacquire``) are thin sync and async shells around them. The lock
is a ``threading.Lock`` held only for a few arithmetic steps and never across a sleep or an
``await``, so one limiter is safe across threads and event loops.

It is also a LangChain ``BaseRateLimiter``: ``ChatFireworks(rate_limiter=limiter)`` paces calls
made outside the judge, but only the judge reports outcomes, so only the judge makes it adapt.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.rate_limiters import BaseRateLimiter

from langchain_perceived_error.transport.retries import parse_retry_after

__all__ = [
    "DEFAULT_MAX_WAIT_S",
    "AdaptiveRateLimiter",
    "RateLimitTimeout",
    "RateLimiterStats",
    "Slot",
    "parse_ratelimit_pause",
]

DEFAULT_MAX_WAIT_S = 600.0
"""How long one model call may be held back by the server's rate limit before it fails."""

_REMAINING = "x-ratelimit-remaining"
_RESET = "x-ratelimit-reset"
_EPOCH_THRESHOLD = 1e9  # a reset value this large is a Unix timestamp, not a duration
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_CHECK_EVERY_S = 0.25  # a sleeping caller checks this often whether its reservation still holds
_REBASE_GROWTH = 1.25  # the pace grew this much since the last rebase: re-plan waiting callers
_HOLD = -1  # the "generation" of a wait for a caller's own Retry-After (no slot reserved)
_MIN_SPAN_S = 0.1  # the accepted rate is never measured over less than this


class RateLimitTimeout(RuntimeError):
    """A call was held back by the server's rate limit for longer than ``max_wait_s``."""


@dataclass(frozen=True)
class Slot:
    """Permission to send one request, taken from :meth:`AdaptiveRateLimiter.slot`."""

    sent_at: float
    """The limiter clock's time when the request was allowed out."""


@dataclass(frozen=True)
class RateLimiterStats:
    """A snapshot of a limiter, for progress lines and benchmarks."""

    rate: float | None
    """Current pace in requests per second; None = unpaced (no throttle seen, no ``max_rps``)."""
    paused_for_s: float
    """Seconds until calls may be sent again (a ``Retry-After`` or X-Ratelimit pause)."""
    slots: int
    successes: int
    throttles: int
    decreases: int


class AdaptiveRateLimiter(BaseRateLimiter):
    """An adaptive, thread- and async-safe client-side rate limiter (see the module docstring).

    Example:
        >>> limiter = AdaptiveRateLimiter(max_rps=5)
        >>> judge = PerceivedErrorJudge("fireworks:...", rate_limiter=limiter)  # doctest: +SKIP

    """

    def __init__(
        self,
        *,
        max_rps: float | None = None,
        min_rps: float = 0.2,
        decrease: float = 0.9,
        growth: float = 0.004,
        window_s: float = 3.0,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        pause_all_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a limiter.

        Args:
            max_rps: a hard cap in requests per second (None = no cap: adapt to the server only).
            min_rps: the pace never drops below this, however many throttles arrive.
            decrease: on a throttle the pace becomes ``decrease`` x the accepted rate (0 < x < 1).
            growth: the cubic growth constant, relative to the throttled rate (per second cubed).
            window_s: how far back the accepted rate is measured.
            max_wait_s: the longest one call is held back by throttling before
                :class:`RateLimitTimeout`.
            pause_all_after_s: a ``Retry-After`` at least this long pauses every call (the
                account is blocked); a shorter one holds back only the call that got it, while
                the lowered pace slows the others.
            clock: a monotonic clock in seconds (injectable for tests).

        """
        if max_rps is not None and max_rps <= 0:
            msg = f"max_rps must be positive, got {max_rps}"
            raise ValueError(msg)
        if not 0 < decrease < 1:
            msg = f"decrease must be between 0 and 1, got {decrease}"
            raise ValueError(msg)
        if min_rps <= 0 or growth <= 0 or window_s <= 0 or max_wait_s <= 0:
            msg = (
                "min_rps, growth, window_s and max_wait_s must be positive, got "
                f"{min_rps}, {growth}, {window_s}, {max_wait_s}"
            )
            raise ValueError(msg)
        self.max_rps = max_rps
        self.min_rps = min(min_rps, max_rps) if max_rps is not None else min_rps
        self.decrease = decrease
        self.growth = growth
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self.pause_all_after_s = pause_all_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._rate: float | None = max_rps
        self._tat = 0.0  # theoretical arrival time of the next paced slot
        self._paused_until = 0.0
        self._generation = 0  # bumped when earlier reservations become too early
        self._last_decrease = -math.inf
        self._w_max: float | None = None  # the accepted rate at the last decrease
        self._rebased_rate = math.inf  # the pace when reservations were last re-planned
        self._first_slot: float | None = None
        self._accepted: deque[float] = deque()
        self._pauses: deque[tuple[float, float]] = deque()  # (start, end) of recent pauses
        self._slots = 0
        self._successes = 0
        self._throttles = 0
        self._decreases = 0

    # -- the shells ---------------------------------------------------------------------------

    def slot(self, *, deadline: float | None = None, not_before: float | None = None) -> Slot:
        """Block until a request may be sent; returns its :class:`Slot`.

        ``not_before`` (limiter clock) holds this call back further, e.g. until the
        ``Retry-After`` its last attempt was given.

        Raises:
            RateLimitTimeout: when the wait would end after ``deadline`` (limiter clock).

        """
        at, generation = self._reserve(deadline, not_before)
        while True:
            delay = self._delay(at, generation)
            if delay is None:
                at, generation = self._reserve(deadline, not_before)
            elif delay > 0:
                time.sleep(delay)
            else:
                return Slot(sent_at=self._clock())

    async def aslot(
        self, *, deadline: float | None = None, not_before: float | None = None
    ) -> Slot:
        """Async :meth:`slot`: waits with ``asyncio.sleep``."""
        at, generation = self._reserve(deadline, not_before)
        while True:
            delay = self._delay(at, generation)
            if delay is None:
                at, generation = self._reserve(deadline, not_before)
            elif delay > 0:
                await asyncio.sleep(delay)
            else:
                return Slot(sent_at=self._clock())

    def acquire(self, *, blocking: bool = True) -> bool:
        """LangChain ``BaseRateLimiter.acquire``: wait for a slot (only try when not blocking)."""
        if blocking:
            self.slot()
            return True
        return self._try_now()

    async def aacquire(self, *, blocking: bool = True) -> bool:
        """LangChain ``BaseRateLimiter.aacquire``."""
        if blocking:
            await self.aslot()
            return True
        return self._try_now()

    def now(self) -> float:
        """The limiter's clock (monotonic seconds)."""
        return self._clock()

    def deadline(self) -> float:
        """The latest time (limiter clock) a call starting now may still be held back to."""
        return self._clock() + self.max_wait_s

    # -- outcomes -----------------------------------------------------------------------------

    def record_success(self, slot: Slot | None, headers: Mapping[str, Any] | None = None) -> None:
        """A call sent with ``slot`` was answered; ``headers``: its response headers, if known."""
        now = self._clock()
        with self._lock:
            self._successes += 1
            self._accepted.append(now)
            self._trim(now)
            self._pause_for_headers(now, headers)
            if self._w_max is not None and self._rate is not None:
                self._rate = self._capped(self._cubic(now - self._last_decrease))
                if self._rate >= _REBASE_GROWTH * self._rebased_rate:
                    self._rebase(now)

    def record_throttle(
        self,
        slot: Slot | None,
        *,
        retry_after: float | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> float | None:
        """A call sent with ``slot`` was throttled (429 / 503 / 529).

        Lowers the pace once per burst of throttles. ``retry_after`` (read from ``headers`` when
        not given) is the caller's to wait before it sends again (pass ``not_before`` to
        :meth:`slot`); when it is ``pause_all_after_s`` or longer, or an X-Ratelimit header says
        nothing is left, every call of this limiter is paused for it as well.

        Returns:
            The wait the server asked for in seconds (``Retry-After`` or an X-Ratelimit reset),
            or None when it gave no hint.

        """
        now = self._clock()
        if retry_after is None:
            retry_after = parse_retry_after(headers)
        with self._lock:
            self._throttles += 1
            hint = retry_after
            if retry_after is not None and retry_after >= self.pause_all_after_s:
                self._pause_until(now + retry_after)
            header_pause = self._pause_for_headers(now, headers)
            if hint is None:
                hint = header_pause
            if slot is None or slot.sent_at >= self._last_decrease:
                self._slow_down(now)
            return hint

    def stats(self) -> RateLimiterStats:
        """The current pace, pause and counters."""
        now = self._clock()
        with self._lock:
            return RateLimiterStats(
                rate=self._rate,
                paused_for_s=max(0.0, self._paused_until - now),
                slots=self._slots,
                successes=self._successes,
                throttles=self._throttles,
                decreases=self._decreases,
            )

    # -- the logic, under the lock --------------------------------------------------------------

    def _reserve(
        self, deadline: float | None, not_before: float | None = None
    ) -> tuple[float, int]:
        """Reserve the next paced slot: (send time, generation it was planned in).

        A caller held back by its own ``not_before`` gets ``(not_before, _HOLD)`` instead and
        reserves a real slot when that time comes, so it never moves the shared schedule.
        """
        now = self._clock()
        with self._lock:
            at = max(now, self._paused_until, self._tat)
            hold = not_before is not None and not_before > at
            if hold:
                assert not_before is not None
                at = not_before
            if deadline is not None and at > deadline:
                msg = (
                    f"rate limited for too long: the next request could go out in "
                    f"{at - now:.1f} s, past this call's limit of max_wait_s={self.max_wait_s:g} s "
                    "(raise max_wait_s, lower the concurrency or set max_rps)"
                )
                raise RateLimitTimeout(msg)
            if self._first_slot is None:
                self._first_slot = now
            if hold:
                return at, _HOLD
            self._tat = at + (1.0 / self._rate if self._rate is not None else 0.0)
            return at, self._generation

    def _delay(self, at: float, generation: int) -> float | None:
        """How long to sleep next for a reservation at ``at``; None = reserve again.

        A reservation is dropped when a pause began or the pace changed after it was made.
        Sleeps are cut into chunks of at most ``_CHECK_EVERY_S`` so a sleeper notices that.
        """
        with self._lock:
            delay = at - self._clock()
            if generation == _HOLD:
                return None if delay <= 0 else min(delay, _CHECK_EVERY_S)
            if generation != self._generation:
                return None
            if delay <= 0:
                self._slots += 1
        return min(delay, _CHECK_EVERY_S)

    def _try_now(self) -> bool:
        now = self._clock()
        with self._lock:
            if now < self._paused_until or now < self._tat:
                return False
            self._tat = now + (1.0 / self._rate if self._rate is not None else 0.0)
            self._slots += 1
            return True

    def _pause_until(self, until: float) -> None:
        if until > self._paused_until:
            now = self._clock()
            if self._pauses and self._pauses[-1][1] >= now:  # extends the current pause
                self._pauses[-1] = (self._pauses[-1][0], until)
            else:
                self._pauses.append((now, until))
            self._paused_until = until
            self._rebase(now)

    def _pause_for_headers(self, now: float, headers: Mapping[str, Any] | None) -> float | None:
        pause = parse_ratelimit_pause(headers)
        if pause is not None:
            self._pause_until(now + pause)
        return pause

    def _trim(self, now: float) -> None:
        horizon = now - self.window_s
        while self._accepted and self._accepted[0] < horizon:
            self._accepted.popleft()
        while self._pauses and self._pauses[0][1] < horizon:
            self._pauses.popleft()

    def _accepted_rate(self, now: float) -> float | None:
        """Successes per second over the window, paused time excluded (None before any)."""
        self._trim(now)
        if not self._accepted:
            return None
        start = now - self.window_s
        if self._first_slot is not None:
            start = max(start, self._first_slot)
        paused = sum(max(0.0, min(e, now) - max(b, start)) for b, e in self._pauses)
        return len(self._accepted) / max(now - start - paused, _MIN_SPAN_S)

    def _sent_rate(self, now: float) -> float | None:
        """Slots per second since the first one (the pace before any throttle set one)."""
        if self._first_slot is None or not self._slots:
            return None
        return self._slots / max(now - self._first_slot, _MIN_SPAN_S)

    def _slow_down(self, now: float) -> None:
        """Multiplicative decrease from what was sent (first time) or accepted, whichever is lower.

        The first throttle starts from the unpaced sending rate, an overestimate: more 429s
        then lower it fast (once per round trip), which costs less than an underestimate that
        would take the slow cubic climb to undo.
        """
        if self._rate is None:
            measured = self._sent_rate(now)
        else:
            accepted = self._accepted_rate(now)
            measured = self._rate if accepted is None else min(self._rate, accepted)
        if measured is None:  # nothing sent through this limiter yet
            return
        self._w_max = measured
        self._rate = self._capped(max(self.min_rps, measured * self.decrease))
        self._last_decrease = now
        self._decreases += 1
        self._rebase(now)

    def _rebase(self, now: float) -> None:
        """Drop every outstanding reservation: waiting callers re-reserve at the current pace.

        The schedule restarts at the end of any pause; the dropped reservations are not kept.
        """
        self._tat = max(now, self._paused_until)
        self._rebased_rate = self._rate if self._rate is not None else math.inf
        self._generation += 1

    def _cubic(self, elapsed: float) -> float:
        """CUBIC: flat near the throttled rate ``w_max``, probing above it slowly."""
        assert self._w_max is not None
        c = self.growth * self._w_max
        k = float((self._w_max * (1 - self.decrease) / c) ** (1 / 3))
        return max(self.min_rps, self._w_max + c * (elapsed - k) ** 3)

    def _capped(self, rate: float) -> float:
        return rate if self.max_rps is None else min(rate, self.max_rps)


def parse_ratelimit_pause(
    headers: Mapping[str, Any] | None, *, now: float | None = None
) -> float | None:
    """Seconds to pause when an ``X-Ratelimit-Remaining[-*]`` header says nothing is left.

    The matching ``X-Ratelimit-Reset[-*]`` (same suffix, e.g. ``-requests`` or ``-tokens``) is
    read as seconds, a duration such as ``1s``, ``250ms`` or ``6m0s``, or a Unix timestamp.
    Returns the longest such pause, or None when nothing is exhausted or no reset is given.
    """
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items()}
    longest: float | None = None
    for name, value in lowered.items():
        if not name.startswith(_REMAINING):
            continue
        remaining = _number(value)
        if remaining is None or remaining > 0:
            continue
        reset = _duration(lowered.get(_RESET + name[len(_REMAINING) :]), now=now)
        if reset is not None and (longest is None or reset > longest):
            longest = reset
    return longest


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _duration(value: Any, *, now: float | None) -> float | None:
    if value is None:
        return None
    number = _number(value)
    if number is not None:
        if number > _EPOCH_THRESHOLD:
            return max(0.0, number - (time.time() if now is None else now))
        return max(0.0, number)
    text = str(value).strip().lower()
    total, digits, i = 0.0, "", 0
    while i < len(text):
        char = text[i]
        if char.isdigit() or char == ".":
            digits += char
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else char
        if unit not in _DURATION_UNITS or not digits:
            return None
        total += float(digits) * _DURATION_UNITS[unit]
        digits, i = "", i + len(unit)
    return None if digits else total
