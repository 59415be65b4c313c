"""Structural checks of the bundled sample file ``cookbook/data/sample_traces.jsonl``.

Only the file's shape is tested here (stdlib + pytest); the judge is tested on it elsewhere.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "cookbook" / "data" / "sample_traces.jsonl"
RUN_KEYS = {"name", "run_type", "start_time", "end_time", "trace_id", "inputs", "outputs", "extra"}
SHAPES = (
    "openai",
    "anthropic",
    "langchain_dict",
    "langchain_constructor",
    "pairs",
    "llm_run",
    "chain_run",
    "wrap_openai_run",
    "thread",
)


def _load() -> list[dict[str, Any]]:
    records = []
    with SAMPLE.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            assert line.strip(), f"blank line {n}"
            records.append(json.loads(line))
    return records


RECORDS = _load()


def _shape(rec: dict[str, Any]) -> str:
    if "runs" in rec:
        return "thread"
    if "run_type" in rec:
        if rec["run_type"] == "chain":
            return "chain_run"
        if "generations" in rec["outputs"]:
            return "llm_run"
        if "choices" in rec["outputs"]:
            return "wrap_openai_run"
        pytest.fail(f"{rec['id']}: unknown run kind")
    msgs = rec["messages"]
    first = msgs[0]
    if isinstance(first, list):
        assert all(isinstance(m, list) and len(m) == 2 for m in msgs), rec["id"]
        return "pairs"
    if first.get("lc") == 1:
        assert all(m.get("type") == "constructor" and "kwargs" in m for m in msgs), rec["id"]
        return "langchain_constructor"
    if "data" in first:
        assert all({"type", "data"} <= m.keys() for m in msgs), rec["id"]
        return "langchain_dict"
    assert all("role" in m for m in msgs), rec["id"]
    if any(isinstance(m["content"], list) for m in msgs):
        return "anthropic"
    return "openai"


def _counts() -> dict[str, int]:
    c = Counter(r["expected_perceived_error"] for r in RECORDS)
    return {"pos": c[True], "neg": c[False], "skip": c[None]}


def test_enough_records_with_unique_ids() -> None:
    assert len(RECORDS) >= 48
    ids = [r["id"] for r in RECORDS]
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, str) and 0 < len(i) <= 60 for i in ids)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r["id"])
def test_record_has_label_and_note(rec: dict[str, Any]) -> None:
    assert "expected_perceived_error" in rec
    assert rec["expected_perceived_error"] in (True, False, None)
    assert isinstance(rec["note"], str)
    assert rec["note"].strip()
    assert "\n" not in rec["note"]
    assert _shape(rec) in SHAPES


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_occurs_at_least_twice(shape: str) -> None:
    assert Counter(_shape(r) for r in RECORDS)[shape] >= 2


@pytest.mark.parametrize("rec", [r for r in RECORDS if "run_type" in r], ids=lambda r: r["id"])
def test_run_records_look_like_runs(rec: dict[str, Any]) -> None:
    assert rec.keys() >= RUN_KEYS
    assert isinstance(rec["extra"]["metadata"], dict)
    assert rec["start_time"] <= rec["end_time"]
    assert rec["trace_id"] != rec["id"]
    if _shape(rec) == "llm_run":
        batch = rec["inputs"]["messages"]
        assert isinstance(batch, list)
        assert isinstance(batch[0], list)
        gen = rec["outputs"]["generations"][0][0]
        assert gen["message"]["id"][-1] == "AIMessage"
    elif _shape(rec) == "chain_run":
        inp, out = rec["inputs"]["messages"], rec["outputs"]["messages"]
        assert out[: len(inp)] == inp
        assert len(out) > len(inp)
    else:
        assert rec["outputs"]["choices"][0]["message"]["role"] == "assistant"
        assert isinstance(rec["inputs"]["model"], str)


def test_threads() -> None:
    threads = [r for r in RECORDS if "runs" in r]
    assert len(threads) >= 3
    shuffled = 0
    for rec in threads:
        runs = rec["runs"]
        assert len(runs) >= 2, rec["id"]
        tids = {run["extra"]["metadata"]["thread_id"] for run in runs}
        assert len(tids) == 1, rec["id"]
        for run in runs:
            assert run.keys() >= RUN_KEYS
            assert run["run_type"] == "chain"
        starts = [run["start_time"] for run in runs]
        assert len(set(starts)) == len(starts), rec["id"]
        shuffled += starts != sorted(starts)
        ordered = sorted(runs, key=lambda run: run["start_time"])
        for before, after in itertools.pairwise(ordered):
            # each run holds the whole history so far: the previous run's output is a prefix
            prev = before["outputs"]["messages"]
            assert after["inputs"]["messages"][: len(prev)] == prev, rec["id"]
    thread_ids = [r["runs"][0]["extra"]["metadata"]["thread_id"] for r in threads]
    assert len(set(thread_ids)) == len(thread_ids)
    assert shuffled >= 1
    assert {r["expected_perceived_error"] for r in threads} >= {True, False}


def test_skips_and_positive_rate() -> None:
    c = _counts()
    assert c["skip"] >= 5
    rate = c["pos"] / (c["pos"] + c["neg"])
    assert 0.30 <= rate <= 0.50, c


def test_image_block_present() -> None:
    def has_image(rec: dict[str, Any]) -> bool:
        for m in rec.get("messages", []):
            content = m.get("content") if isinstance(m, dict) else None
            if isinstance(content, list) and any(b.get("type") == "image" for b in content):
                return True
        return False

    assert any(has_image(r) for r in RECORDS)
