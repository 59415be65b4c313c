"""Property tests of the train/holdout split: no leakage, stratified counts, determinism."""

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_perceived_error.core.schemas import (
    LabelledRecord,
    Provenance,
    SourceIds,
    Turn,
    Verdict,
)
from langchain_perceived_error.datasets.split import conversation_key, split_records

TURNS = [
    Turn(role="human", text="hi"),
    Turn(role="ai", text="hello"),
    Turn(role="human", text="ok"),
]


def record(record_id, label, thread=None):
    return LabelledRecord(
        id=record_id,
        turns=TURNS,
        label=Verdict(perceived_error=label, reason="r"),
        provenance=Provenance(kind="human", by="t"),
        sources=SourceIds(thread_id=thread),
    )


holdouts = st.floats(min_value=0.0, max_value=0.9, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**32)


@st.composite
def threaded_records(draw):
    """Records with unique ids, some sharing a thread; labels constant within a thread."""
    size = draw(st.integers(min_value=0, max_value=60))
    threads = draw(st.integers(min_value=1, max_value=15))
    thread_label = draw(st.lists(st.booleans(), min_size=threads, max_size=threads))
    records = []
    for i in range(size):
        thread = draw(st.one_of(st.none(), st.integers(0, threads - 1)))
        label = thread_label[thread] if thread is not None else draw(st.booleans())
        records.append(record(f"r{i}", label, None if thread is None else f"t{thread}"))
    return records


@st.composite
def singleton_records(draw):
    labels = draw(st.lists(st.booleans(), max_size=80))
    return [record(f"r{i}", label) for i, label in enumerate(labels)]


@settings(max_examples=150, deadline=None)
@given(threaded_records(), holdouts, seeds)
def test_no_conversation_on_both_sides_and_nothing_lost(records, holdout, seed):
    train, held = split_records(records, holdout=holdout, seed=seed)
    assert {conversation_key(r) for r in train}.isdisjoint({conversation_key(r) for r in held})
    assert sorted(r.id for r in train + held) == sorted(r.id for r in records)
    order = {r.id: i for i, r in enumerate(records)}  # each side keeps input order
    assert [order[r.id] for r in train] == sorted(order[r.id] for r in train)
    assert [order[r.id] for r in held] == sorted(order[r.id] for r in held)


@settings(max_examples=150, deadline=None)
@given(singleton_records(), holdouts, seeds)
def test_per_class_holdout_within_one_of_the_target(records, holdout, seed):
    _, held = split_records(records, holdout=holdout, seed=seed)
    totals = Counter(r.label.perceived_error for r in records)
    held_counts = Counter(r.label.perceived_error for r in held)
    for label, total in totals.items():
        assert abs(held_counts[label] - holdout * total) <= 1


@settings(max_examples=100, deadline=None)
@given(threaded_records(), holdouts, seeds)
def test_per_class_holdout_within_the_largest_conversation(records, holdout, seed):
    _, held = split_records(records, holdout=holdout, seed=seed)
    largest = max(Counter(conversation_key(r) for r in records).values(), default=0)
    totals = Counter(r.label.perceived_error for r in records)
    held_counts = Counter(r.label.perceived_error for r in held)
    for label, total in totals.items():
        assert abs(held_counts[label] - holdout * total) <= max(1, largest)


@settings(max_examples=100, deadline=None)
@given(threaded_records(), holdouts, seeds, st.randoms(use_true_random=False))
def test_deterministic_for_a_seed_whatever_the_input_order(records, holdout, seed, rnd):
    first = split_records(records, holdout=holdout, seed=seed)
    assert split_records(records, holdout=holdout, seed=seed) == first
    shuffled = list(records)
    rnd.shuffle(shuffled)
    train, held = split_records(shuffled, holdout=holdout, seed=seed)
    assert {r.id for r in held} == {r.id for r in first[1]}
    assert {r.id for r in train} == {r.id for r in first[0]}


def test_seeds_change_the_split():
    records = [record(f"r{i}", i % 4 == 0) for i in range(200)]
    helds = {tuple(r.id for r in split_records(records, holdout=0.2, seed=s)[1]) for s in range(5)}
    assert len(helds) == 5
    assert all(len(h) == 40 for h in helds)


def test_mixed_label_threads_stay_together():
    records = [record("a1", True, "t"), record("a2", False, "t")] + [
        record(f"r{i}", random.Random(i).random() < 0.3) for i in range(30)
    ]
    train, _ = split_records(records, holdout=0.5, seed=3)
    sides = {("train" if r in train else "held") for r in records if r.sources.thread_id == "t"}
    assert len(sides) == 1


@pytest.mark.parametrize("holdout", [-0.1, 1.0, 1.5])
def test_holdout_outside_the_range_is_refused(holdout):
    with pytest.raises(ValueError, match="holdout must be in"):
        split_records([], holdout=holdout, seed=0)


def test_zero_holdout_keeps_everything_in_train():
    records = [record(f"r{i}", i % 2 == 0) for i in range(10)]
    train, held = split_records(records, holdout=0.0, seed=0)
    assert held == []
    assert train == records
