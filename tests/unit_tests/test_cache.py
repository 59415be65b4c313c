"""The on-disk judge cache: zero requests on a re-run through the real ChatFireworks client, the
same numbers, and no secret in the cache files."""

import json
import threading

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, Generation

from langchain_perceived_error.bench.cache import (
    CACHE_FILE_NAME,
    CACHE_METADATA_KEY,
    CacheError,
    CallTimer,
    DiskCache,
    cache_marker,
    with_cache,
)
from langchain_perceived_error.bench.data import FieldMapping, load_labelled
from langchain_perceived_error.bench.runner import BenchSettings, build_judges, run_benchmark
from langchain_perceived_error.bench.scoring import score_run
from langchain_perceived_error.judge.models import resolve_model
from tests.unit_tests.test_fireworks_local import PATH, completion
from tests.unit_tests.test_graph import FAST_RETRY

SECRET = "fw-local-SECRET-7f3a9c"
MODEL_ID = "accounts/fireworks/models/gpt-oss-20b"


def conversation(n, reply):
    return [
        {"role": "user", "content": f"Book table {n} for Tuesday."},
        {"role": "assistant", "content": "Booked for Wednesday."},
        {"role": "user", "content": reply},
    ]


@pytest.fixture
def labelled(tmp_path):
    rows = [
        {"id": "1", "perceived_error": True, "messages": conversation(1, "No, I said Tuesday.")},
        {"id": "2", "perceived_error": False, "messages": conversation(2, "Great, thanks.")},
        {"id": "3", "perceived_error": True, "messages": conversation(3, "Wrong day again.")},
        {"id": "4", "perceived_error": False, "messages": [{"role": "user", "content": "Hi"}]},
    ]
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return load_labelled(path, FieldMapping())[0]


def fireworks(httpserver):
    return resolve_model(
        f"fireworks:{MODEL_ID}", api_key=SECRET, base_url=httpserver.url_for("/inference")
    )


def bench_once(httpserver, items, cache_dir):
    settings = BenchSettings(concurrency=2, resamples=100)
    judges = build_judges(
        [fireworks(httpserver)],
        cache=DiskCache(cache_dir),
        settings=settings,
        transport_retry=FAST_RETRY,
    )
    (run,) = run_benchmark(items, judges, settings=settings)
    return score_run(run, settings=settings)


def test_second_run_makes_zero_requests_and_repeats_every_number(httpserver, labelled, tmp_path):
    verdict = '{"perceived_error": true, "reason": "The user corrects the day."}'
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        completion(verdict, prompt_tokens=400, completion_tokens=20)
    )
    first = bench_once(httpserver, labelled, tmp_path / "cache")
    assert len(httpserver.log) == 3  # 3 eligible records; the 4th is skipped without a call
    assert (first.model_calls, first.cache_hits) == (3, 0)

    second = bench_once(httpserver, labelled, tmp_path / "cache")  # a fresh cache object
    assert len(httpserver.log) == 3  # ZERO new requests
    assert (second.model_calls, second.cache_hits) == (0, 3)
    for name in (
        "matrix", "metrics", "e2e_accuracy", "positive_rate", "mean_input_tokens",
        "mean_output_tokens", "usd_per_1k", "latency_p50_s", "latency_p95_s",
    ):  # fmt: skip
        assert getattr(second, name) == getattr(first, name), name
    assert first.usd_per_1k == pytest.approx(3 * (400 * 0.07 + 20 * 0.30) / 1e6 / 4 * 1000)


def test_the_api_key_is_never_stored(httpserver, labelled, tmp_path):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        completion('{"perceived_error": false, "reason": "No signal."}')
    )
    model = fireworks(httpserver)
    llm_string = model._get_llm_string()
    assert SECRET not in llm_string  # LangChain serialises the SecretStr as a reference
    assert '"type": "secret"' in llm_string
    bench_once(httpserver, labelled, tmp_path / "cache")
    files = list((tmp_path / "cache").iterdir())
    assert any(f.name == CACHE_FILE_NAME for f in files)
    for file in files:  # the database and its WAL / shared-memory files
        assert SECRET.encode() not in file.read_bytes(), file.name
    # the secret was really sent: it is the request that carries it, never the cache
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {SECRET}"


def generation(text="ok"):
    message = AIMessage(
        content=text,
        response_metadata={"model_name": "m", "finish_reason": "stop"},
        usage_metadata={"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
    )
    return ChatGeneration(message=message)


def test_lookup_update_round_trip_and_markers(tmp_path):
    cache = DiskCache(tmp_path)
    assert cache.lookup("prompt", "llm") is None
    live = [generation('{"x": 1}')]
    cache.update("prompt", "llm", live)
    stored = cache_marker(live[0].message)
    assert stored is not None
    assert stored.hit is False
    assert stored.latency_s >= 0
    (hit,) = DiskCache(tmp_path).lookup("prompt", "llm")  # survives reopening
    assert hit.message.content == '{"x": 1}'
    assert hit.message.usage_metadata["input_tokens"] == 5
    assert hit.message.response_metadata["finish_reason"] == "stop"
    marker = cache_marker(hit.message)
    assert marker.hit is True
    assert marker.latency_s == stored.latency_s
    assert cache_marker(AIMessage(content="live, no cache")) is None
    assert cache.lookup("prompt", "other model settings") is None
    assert (cache.hits, cache.misses, len(cache)) == (0, 2, 1)  # this instance
    cache.clear()
    assert len(cache) == 0


def test_a_hit_stored_again_keeps_one_marker(tmp_path):
    cache = DiskCache(tmp_path)
    cache.update("p", "l", [generation()])
    (hit,) = cache.lookup("p", "l")
    cache.update("p", "l", [hit])
    (again,) = cache.lookup("p", "l")
    assert list(again.message.response_metadata).count(CACHE_METADATA_KEY) == 1


def test_plain_generations_round_trip(tmp_path):
    cache = DiskCache(tmp_path)
    cache.update("p", "l", [Generation(text="plain", generation_info={"a": 1})])
    (hit,) = cache.lookup("p", "l")
    assert (hit.text, hit.generation_info) == ("plain", {"a": 1})


def test_neither_prompt_nor_llm_string_is_stored(tmp_path):
    cache = DiskCache(tmp_path)
    cache.update("PROMPT-TEXT-123", "api_key=THIRD-PARTY-SECRET", [generation()])
    cache.close()
    blob = b"".join(f.read_bytes() for f in tmp_path.iterdir())
    assert b"THIRD-PARTY-SECRET" not in blob
    assert b"PROMPT-TEXT-123" not in blob


def test_concurrent_threads(tmp_path):
    cache = DiskCache(tmp_path)

    def work(i):
        for j in range(20):
            key = f"{i}-{j}"
            if cache.lookup(key, "l") is None:
                cache.update(key, "l", [generation(key)])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 160


def test_with_cache_copies_the_model(tmp_path):
    from tests.fakes import ScriptedChatModel

    model = ScriptedChatModel(script=["x"])
    cached = with_cache(model, DiskCache(tmp_path))
    assert model.cache is None
    assert isinstance(cached.cache, DiskCache)
    assert with_cache(model, None) is model
    cached.invoke([HumanMessage("hi")])
    cached.invoke([HumanMessage("hi")])
    assert len(model.calls) == 1


def test_unusable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CacheError, match="cannot open the judge cache"):
        DiskCache(blocker / "cache")


def test_call_timer_times_calls_and_stores_nothing():
    from tests.fakes import ScriptedChatModel

    model = with_cache(ScriptedChatModel(script=["x"], delay_s=0.02), CallTimer())
    first = model.invoke([HumanMessage("hi")])
    second = model.invoke([HumanMessage("hi")])
    for reply in (first, second):
        marker = cache_marker(reply)
        assert marker is not None
        assert marker.hit is False
        assert 0.02 <= marker.latency_s < 1.0
    assert model.cache.misses == 2
