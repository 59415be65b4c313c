"""The CLI end to end over a corpus of nasty records (tests/data/nasty_records.jsonl)."""

import json
from pathlib import Path

from tests.unit_tests.test_cli import read_lines, run_cli

CORPUS = Path(__file__).resolve().parents[1] / "data" / "nasty_records.jsonl"


def test_every_nasty_record_ends_judged_skipped_or_failed_with_a_clear_error():
    text = CORPUS.read_text(encoding="utf-8")
    source_lines = [line for line in text.split("\n") if line.strip()]  # not splitlines: U+2028
    proc = run_cli("judge", CORPUS, "--model", "rules")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = read_lines(proc.stdout)
    assert len(lines) == len(source_lines)  # one result per record, none lost
    by_id = {line["id"]: line for line in lines}
    for line in lines:
        assert line["status"] in {"judged", "skipped", "failed"}
        if line["status"] == "failed":
            assert line["error"]
            assert line["perceived_error"] is None
    assert by_id["nasty_records.jsonl:1"]["error"].startswith(
        "unreadable trace: nasty_records.jsonl:1: not valid JSON"
    )
    assert "nested too deeply" in by_id["nasty_records.jsonl:9"]["error"]
    assert "unrecognised trace shape: a NoneType" in by_id["nasty_records.jsonl:3"]["error"]
    assert by_id["huge-strings"]["perceived_error"] is True
    assert by_id["unicode"]["status"] == "judged"
    assert by_id["bom"]["status"] == "judged"
    assert by_id["thread-empty"]["status"] == "skipped"
    assert by_id["many-turns"]["status"] == "judged"
    assert json.loads(source_lines[-1])["id"] == {"nested": 1}
