"""The adaptive rate limiter: header parsing, pacing, pauses, and the judge surviving 429 storms."""

import asyncio
import itertools
import json
import threading
import time
from email.utils import formatdate
from types import SimpleNamespace

import pytest
from langchain_core.rate_limiters import BaseRateLimiter
from langgraph.types import RetryPolicy
from pydantic import PrivateAttr
from werkzeug import Request, Response

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL, resolve_model
from langchain_perceived_error.transport.ratelimit import (
    AdaptiveRateLimiter,
    RateLimitTimeout,
    Slot,
    parse_ratelimit_pause,
)
from langchain_perceived_error.transport.retries import (
    is_rate_limit_error,
    is_transient_error,
    parse_retry_after,
    response_headers,
    retry_after,
)
from tests.fakes import ScriptedChatModel, ScriptedError
from tests.unit_tests.test_cli import run_cli
from tests.unit_tests.test_fireworks_local import PATH, completion
from tests.unit_tests.test_graph import CONVERSATION, TRUE

ONE_RETRY = RetryPolicy(
    initial_interval=0.001,
    backoff_factor=1.0,
    max_attempts=2,
    jitter=False,
    retry_on=is_transient_error,
)


class HTTPError(Exception):
    """An SDK-like HTTP error whose ``response`` carries headers, like the fireworks SDK's."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: rate limited")
        self.status_code = status
        self.response = SimpleNamespace(status_code=status, headers=headers or {})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- header parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "150", "retry-after": "1"}, 0.15),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"content-type": "application/json"}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date():
    now = time.time()
    wait = parse_retry_after({"Retry-After": formatdate(now + 30, usegmt=True)}, now=now)
    assert wait is not None
    assert 28 <= wait <= 31


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}, 1.0),
        ({"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "250ms"}, 0.25),
        ({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}, 360.0),
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2.5"}, 2.5),
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_700_000_010)}, 10.0),
        ({"x-ratelimit-remaining-requests": "3", "x-ratelimit-reset-requests": "1s"}, None),
        ({"x-ratelimit-remaining-requests": "0"}, None),
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "3s",
            },
            3.0,
        ),
    ],
)
def test_parse_ratelimit_pause(headers, expected):
    assert parse_ratelimit_pause(headers, now=1_700_000_000) == expected


def test_errors_from_sdks_are_read():
    error = HTTPError(429, {"retry-after": "3"})
    assert is_rate_limit_error(error)
    assert is_transient_error(error)
    assert response_headers(error) == {"retry-after": "3"}
    assert retry_after(error) == 3.0
    assert is_rate_limit_error(ScriptedError(503))
    assert not is_rate_limit_error(ScriptedError(500))
    assert retry_after(ValueError("no response")) is None


# -- the limiter's logic, on a fake clock ---------------------------------------------------------


def test_starts_unpaced_and_is_a_langchain_rate_limiter():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(clock=clock)
    assert isinstance(limiter, BaseRateLimiter)
    assert [limiter._reserve(None)[0] for _ in range(3)] == [clock.now] * 3
    assert limiter.acquire(blocking=False)
    assert limiter.stats().rate is None


def test_max_rps_paces_evenly():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_rps=4, clock=clock)
    times = [limiter._reserve(None)[0] - clock.now for _ in range(4)]
    assert times == pytest.approx([0.0, 0.25, 0.5, 0.75])
    assert not limiter.acquire(blocking=False)


def test_retry_after_pauses_every_call_exactly():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(clock=clock)
    slot = Slot(sent_at=clock.now)
    assert limiter.record_throttle(slot, headers={"Retry-After": "7"}) == 7.0
    at, _ = limiter._reserve(None)
    assert at == clock.now + 7
    assert limiter.stats().paused_for_s == 7.0


def test_x_ratelimit_remaining_zero_pauses_before_a_429():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(clock=clock)
    limiter.record_success(
        Slot(clock.now), {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2s"}
    )
    assert limiter._reserve(None)[0] == clock.now + 2


def take(limiter, clock):
    """Take one slot on the fake clock (advancing it to the slot's time)."""
    at, generation = limiter._reserve(None)
    clock.now = max(clock.now, at)
    assert limiter._delay(at, generation) <= 0
    return Slot(clock.now)


def test_throttles_lower_the_pace_once_per_burst():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(decrease=0.5, window_s=2.0, clock=clock)
    for _ in range(40):  # 20 sent and answered per second for 2 s, unpaced
        slot = take(limiter, clock)
        clock.now += 0.05
        limiter.record_success(slot)
    burst = [Slot(clock.now - 0.01) for _ in range(5)]
    for slot in burst:
        limiter.record_throttle(slot)
    stats = limiter.stats()
    assert stats.decreases == 1  # five 429s from one burst are one congestion event
    assert stats.throttles == 5
    assert stats.rate == pytest.approx(10.0, rel=0.05)  # half the rate that was being sent
    first, second = take(limiter, clock), take(limiter, clock)
    assert second.sent_at - first.sent_at == pytest.approx(0.1, rel=0.05)
    limiter.record_throttle(second)  # sent after the decrease: a new congestion event
    assert limiter.stats().decreases == 2
    assert limiter.stats().rate == pytest.approx(5.0, rel=0.05)


def test_a_short_retry_after_holds_back_only_its_own_call():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_rps=10, clock=clock)
    slot = take(limiter, clock)
    assert limiter.record_throttle(slot, headers={"Retry-After": "1"}) == 1.0
    assert limiter.stats().paused_for_s == 0.0
    held, generation = limiter._reserve(None, not_before=clock.now + 1)
    assert held == clock.now + 1
    other = take(limiter, clock)  # the schedule did not move for the held call
    assert other.sent_at < clock.now + 0.2
    clock.now += 1
    assert limiter._delay(held, generation) is None  # time to reserve a real slot


def test_the_pace_grows_back_and_probes_above_the_throttled_rate():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(decrease=0.8, growth=0.1, clock=clock)
    for _ in range(20):
        slot = take(limiter, clock)
        clock.now += 0.1
        limiter.record_success(slot)
    limiter.record_throttle(Slot(clock.now))
    low = limiter.stats().rate
    assert low is not None
    w_max = low / 0.8
    rates = []
    for _ in range(80):
        clock.now += 0.1
        limiter.record_success(Slot(clock.now))
        rates.append(limiter.stats().rate)
    assert rates == sorted(rates)  # never decreases without a throttle
    # K = cbrt(w_max * (1 - 0.8) / (0.1 * w_max)) = 1.26 s: back at w_max, and flat around it
    assert rates[12] == pytest.approx(w_max, rel=0.01)
    assert rates[8] == pytest.approx(w_max, rel=0.03)
    assert rates[16] == pytest.approx(w_max, rel=0.03)
    assert rates[-1] > 1.5 * w_max  # and probes above it later


def test_max_rps_caps_growth():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_rps=3, clock=clock)
    for _ in range(10):
        slot = take(limiter, clock)
        limiter.record_success(slot)
    limiter.record_throttle(Slot(clock.now))
    assert limiter.stats().rate < 3
    clock.now += 100
    limiter.record_success(Slot(clock.now))
    assert limiter.stats().rate == 3


def test_a_wait_past_the_deadline_is_a_clear_error():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_wait_s=5, clock=clock)
    limiter.record_throttle(None, retry_after=60)
    with pytest.raises(RateLimitTimeout, match="max_wait_s=5"):
        limiter._reserve(limiter.deadline())


def test_sleepers_re_reserve_when_a_pause_starts_after_they_reserved():
    limiter = AdaptiveRateLimiter(max_rps=20, pause_all_after_s=0.1)
    limiter.slot()
    started = time.monotonic()
    # the next slot is 50 ms away; a Retry-After of 0.3 s arrives while it waits
    timer = threading.Timer(0.01, lambda: limiter.record_throttle(None, retry_after=0.3))
    timer.start()
    limiter.slot()
    assert time.monotonic() - started >= 0.29


@pytest.mark.parametrize("value", [0, -1])
def test_bad_options_are_rejected(value):
    with pytest.raises(ValueError, match="max_rps"):
        AdaptiveRateLimiter(max_rps=value)
    with pytest.raises(ValueError, match="max_rps applies"):
        PerceivedErrorJudge("rules", rate_limiter=None, max_rps=5)


# -- the judge with fake models -------------------------------------------------------------------


def test_a_429_storm_longer_than_the_retry_policy_still_gets_judged():
    storm = [HTTPError(429, {"retry-after": "0.1"}) for _ in range(4)]
    model = ScriptedChatModel(script=[*storm, TRUE])
    judge = PerceivedErrorJudge(model, transport_retry=ONE_RETRY)
    started = time.monotonic()
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.attempts == 1
    assert len(model.calls) == 5  # four 429s, more than the policy's 2 attempts
    assert time.monotonic() - started >= 0.4  # each Retry-After was waited out
    assert judge.rate_limiter is not None
    assert judge.rate_limiter.stats().throttles == 4


async def test_async_429_storm_is_absorbed_too():
    storm = [HTTPError(503, {"retry-after-ms": "50"}) for _ in range(3)]
    model = ScriptedChatModel(script=[*storm, TRUE])
    judge = PerceivedErrorJudge(model, transport_retry=ONE_RETRY)
    result = await judge.ajudge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert len(model.calls) == 4


def test_without_a_limiter_the_retry_still_waits_for_retry_after():
    model = ScriptedChatModel(script=[HTTPError(429, {"retry-after": "0.3"}), TRUE])
    judge = PerceivedErrorJudge(model, transport_retry=ONE_RETRY, rate_limiter=None)
    started = time.monotonic()
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert time.monotonic() - started >= 0.3


def test_a_retry_after_beyond_max_wait_fails_with_the_reason():
    model = ScriptedChatModel(script=[HTTPError(429, {"retry-after": "3600"}), TRUE])
    limiter = AdaptiveRateLimiter(max_wait_s=1)
    judge = PerceivedErrorJudge(model, transport_retry=ONE_RETRY, rate_limiter=limiter)
    result = judge.judge(CONVERSATION)
    assert result.status is JudgeStatus.FAILED
    assert "RateLimitTimeout" in (result.error or "")
    assert "max_wait_s=1" in (result.error or "")
    assert len(model.calls) == 1


class BucketModel(ScriptedChatModel):
    """A fake endpoint: a token bucket of ``rate`` per second, ``burst`` deep; else 429."""

    rate: float = 50.0
    burst: float = 5.0
    _bucket: list[float] = PrivateAttr(default_factory=list)

    def _next(self, messages):
        with self._lock:
            now = time.monotonic()
            if not self._bucket:
                self._bucket.extend([self.burst, now])
            tokens = min(self.burst, self._bucket[0] + (now - self._bucket[1]) * self.rate)
            self._bucket[1] = now
            if tokens < 1:
                self._bucket[0] = tokens
                wait = (1 - tokens) / self.rate
                raise HTTPError(429, {"retry-after-ms": str(int(wait * 1000) + 1)})
            self._bucket[0] = tokens - 1
        return super()._next(messages)


async def test_many_concurrent_calls_against_a_rate_limited_fake_all_get_judged():
    model = BucketModel(script=[TRUE], delay_s=0.01, rate=100.0)
    judge = PerceivedErrorJudge(model, transport_retry=ONE_RETRY)
    records = [{"id": str(i), "messages": CONVERSATION} for i in range(150)]
    results = [r async for r in judge.ajudge_many(records, concurrency=32)]
    assert [r.id for r in results] == [str(i) for i in range(150)]
    assert {r.status for r in results} == {JudgeStatus.JUDGED}
    assert judge.rate_limiter is not None
    assert judge.rate_limiter.stats().throttles > 0


def test_one_limiter_is_shared_across_threads():
    model = BucketModel(script=[TRUE], delay_s=0.005, rate=100.0)
    limiter = AdaptiveRateLimiter()
    judge = PerceivedErrorJudge(model, transport_retry=ONE_RETRY, rate_limiter=limiter)
    results = judge.batch([CONVERSATION] * 120, concurrency=16)
    assert {r.status for r in results} == {JudgeStatus.JUDGED}


# -- the real ChatFireworks client against a local server ----------------------------------------


def _fireworks_judge(httpserver, **options):
    model = resolve_model(
        f"fireworks:{DEFAULT_FIREWORKS_MODEL}",
        api_key="fw-local-test",
        base_url=httpserver.url_for("/inference"),
    )
    return PerceivedErrorJudge(model, transport_retry=ONE_RETRY, **options)


def _throttled(retry_after: str) -> Response:
    return Response(
        json.dumps({"error": {"message": "rate limited"}}),
        status=429,
        headers={"Retry-After": retry_after},
        content_type="application/json",
    )


def _ok() -> Response:
    return Response(json.dumps(completion(TRUE)), status=200, content_type="application/json")


def test_real_fireworks_client_honours_retry_after(httpserver):
    arrivals: list[float] = []

    def handler(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return _throttled("1") if len(arrivals) == 1 else _ok()

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    result = _fireworks_judge(httpserver).judge(CONVERSATION)
    assert result.status is JudgeStatus.JUDGED
    assert result.perceived_error is True
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 1.0


async def test_real_async_fireworks_client_rides_out_more_429s_than_retry_attempts(httpserver):
    arrivals: list[float] = []

    def handler(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return _throttled("0.2") if len(arrivals) <= 3 else _ok()

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    judge = _fireworks_judge(httpserver)
    try:
        result = await judge.ajudge(CONVERSATION)
    finally:
        await judge.model.aclose()
    assert result.status is JudgeStatus.JUDGED
    assert result.attempts == 1
    assert len(arrivals) == 4
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(gap >= 0.2 for gap in gaps[:3])


async def test_real_fireworks_client_under_a_rate_limiting_server_loses_no_record(httpserver):
    lock = threading.Lock()
    window: list[float] = []
    seen = [0]

    def handler(request: Request) -> Response:  # at most 10 requests in any 0.5 s
        now = time.monotonic()
        with lock:
            seen[0] += 1
            if seen[0] % 10 == 1:  # and every tenth request, so a slow client is throttled too
                return _throttled("0.05")
            window[:] = [t for t in window if now - t < 0.5]
            if len(window) >= 10:
                return _throttled(f"{0.5 - (now - window[0]):.3f}")
            window.append(now)
        return _ok()

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    judge = _fireworks_judge(httpserver)
    records = [{"id": str(i), "messages": CONVERSATION} for i in range(40)]
    try:
        results = [r async for r in judge.ajudge_many(records, concurrency=16)]
    finally:
        await judge.model.aclose()
    assert {r.status for r in results} == {JudgeStatus.JUDGED}
    assert judge.rate_limiter is not None
    assert judge.rate_limiter.stats().throttles > 0


# -- the command line -------------------------------------------------------------------------


def test_cli_accepts_max_rps_and_rejects_it_without_the_limiter(tmp_path):
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"id": "a", "messages": CONVERSATION}) + "\n")
    ok = run_cli("judge", data, "--model", "rules", "--max-rps", "50")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "judged"
    off = run_cli("judge", data, "--model", "rules", "--no-rate-limit")
    assert off.returncode == 0, off.stderr
    bad = run_cli("judge", data, "--model", "rules", "--no-rate-limit", "--max-rps", "5")
    assert bad.returncode == 2
    assert "--max-rps needs the rate limiter" in bad.stderr


def test_async_shell_and_sync_shell_share_one_clock():
    limiter = AdaptiveRateLimiter(max_rps=50)

    async def take() -> None:
        await limiter.aslot()

    started = time.monotonic()
    asyncio.run(take())
    limiter.slot()
    asyncio.run(take())
    assert time.monotonic() - started >= 0.039
