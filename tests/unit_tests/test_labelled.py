"""The one labelled-data loader: field mapping, null labels, slices, errors naming the record."""

import json

import pytest

from langchain_perceived_error.core.labelled import (
    OUTSIDE_SLICES,
    FieldMapping,
    LabelledDataError,
    LabelTypeError,
    LoadReport,
    labelled_items,
    read_labelled_items,
)

CONVERSATION = [
    {"role": "user", "content": "book Tuesday"},
    {"role": "assistant", "content": "Booked Wednesday."},
    {"role": "user", "content": "No, I said Tuesday."},
]


def test_in_memory_records_map_fields_and_count_null_labels():
    records = [
        {"key": "a", "out": {"label": 1}, "conv": CONVERSATION, "src": "x", "why": "Corrects."},
        {"key": "b", "out": {"label": None}, "conv": CONVERSATION, "src": "y"},
        {"out": {"label": False}, "conv": CONVERSATION},
    ]
    mapping = FieldMapping("conv", "out.label", "key", "why", ("src",))
    report = LoadReport()
    items = list(labelled_items(records, mapping, report=report))
    assert [(i.id, i.source, i.label) for i in items] == [
        ("a", "record 0", True),
        ("record 2", "record 2", False),
    ]
    assert items[0].payload is CONVERSATION
    assert (items[0].reason, items[0].metadata) == ("Corrects.", {"src": "x"})
    assert items[1].metadata == {"src": None}
    assert items[0].record == records[0]
    assert (report.read, report.loaded) == (3, 2)
    assert report.skipped == {"null out.label": 1}
    assert report.examples == {"null out.label": ["b"]}


def test_records_outside_the_slices_are_counted_not_checked():
    records = [
        {"id": "in", "src": "a", "perceived_error": True, "messages": CONVERSATION},
        {"id": "out", "src": "b"},  # no label, no messages: outside the slice, so never an error
    ]
    report = LoadReport()
    items = list(labelled_items(records, slices={"src": ["a"]}, report=report))
    assert [i.id for i in items] == ["in"]
    assert report.skipped == {OUTSIDE_SLICES: 1}


def test_without_a_messages_field_the_record_or_its_messages_is_the_payload():
    run = {"id": "r", "perceived_error": True, "inputs": {"messages": CONVERSATION}}
    chat = {"id": "c", "perceived_error": True, "messages": CONVERSATION}
    payloads = [i.payload for i in labelled_items([run, chat])]
    assert payloads == [run, CONVERSATION]


def test_errors_name_the_record_and_the_field():
    with pytest.raises(LabelledDataError, match=r"record 1 \(id 'x'\) has no 'perceived_error'"):
        list(labelled_items([{"perceived_error": False, "messages": []}, {"id": "x"}]))
    with pytest.raises(LabelTypeError, match=r"record 0: 'perceived_error' must be true, false"):
        list(labelled_items([{"perceived_error": 2, "messages": []}]))
    with pytest.raises(LabelledDataError, match="record 0: expected a JSON object, got list"):
        list(labelled_items([[1, 2]]))
    assert issubclass(LabelTypeError, TypeError)
    assert issubclass(LabelTypeError, ValueError)


def test_a_file_is_read_line_by_line_and_ids_default_to_file_and_line(tmp_path):
    path = tmp_path / "labels.jsonl"
    rows = [{"perceived_error": True, "messages": CONVERSATION}, {"id": 7, "perceived_error": 0}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    items = list(read_labelled_items(path))
    assert [(i.id, i.source, i.label) for i in items] == [
        ("labels.jsonl:1", "labels.jsonl:1", True),
        ("7", "labels.jsonl:2", False),
    ]
    assert items[1].payload == rows[1]  # no messages field: the whole record
    with pytest.raises(LabelledDataError, match="cannot read the labelled data"):
        list(read_labelled_items(tmp_path / "missing.jsonl"))
