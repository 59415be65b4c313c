"""Live judgement with a real Fireworks model, recorded with vcrpy.

- With FIREWORKS_API_KEY set and no cassette: calls Fireworks and records the exchange to
  cassettes/ (authorization, x-api-key and cookies filtered out).
- With a cassette: replays it, no key and no network needed.
- With neither: skipped, saying so.
"""

import os
from pathlib import Path

import pytest
import vcr

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.judge.models import DEFAULT_MODEL, resolve_model

CASSETTE = Path(__file__).parent / "cassettes" / "fireworks_default_model.yaml"
HAVE_KEY = bool(os.environ.get("FIREWORKS_API_KEY"))

pytestmark = [
    pytest.mark.live,
    pytest.mark.enable_socket,  # only reaches the network when recording (record_mode="once")
    pytest.mark.skipif(
        not HAVE_KEY and not CASSETTE.exists(),
        reason=(
            f"live Fireworks test: set FIREWORKS_API_KEY to record {CASSETTE.name}; "
            "no cassette is committed"
        ),
    ),
]

RECORDER = vcr.VCR(
    record_mode="once",
    filter_headers=["authorization", "x-api-key", "cookie", "set-cookie"],
    match_on=["method", "scheme", "host", "port", "path", "body"],
    decode_compressed_response=True,
)

CORRECTION = [
    {"role": "user", "content": "Please move my dentist appointment to Tuesday at 3pm."},
    {"role": "assistant", "content": "Done: your dentist appointment is now on Wednesday at 3pm."},
    {"role": "user", "content": "No, I said Tuesday, not Wednesday."},
]
THANKS = [
    {"role": "user", "content": "What's the capital of Australia?"},
    {"role": "assistant", "content": "Canberra."},
    {"role": "user", "content": "Thanks! And how many people live there?"},
]


def test_default_qwen_model_judges_a_correction_and_a_follow_up():
    api_key = os.environ.get("FIREWORKS_API_KEY", "replayed-from-cassette")
    model = resolve_model(DEFAULT_MODEL, api_key=api_key)
    judge = PerceivedErrorJudge(model)
    with RECORDER.use_cassette(str(CASSETTE)):
        flagged = judge.judge(CORRECTION)
        clean = judge.judge(THANKS)
    assert flagged.status is JudgeStatus.JUDGED, flagged.error
    assert flagged.perceived_error is True
    assert clean.status is JudgeStatus.JUDGED, clean.error
    assert clean.perceived_error is False
    assert flagged.input_tokens
    assert flagged.output_tokens
    if HAVE_KEY:  # just recorded: the key must not have reached the cassette
        assert api_key not in CASSETTE.read_text()
