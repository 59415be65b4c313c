"""The compact prompt for fine-tuned judges: the same bytes in the SFT files and at serving."""

import json

from langchain_core.messages import convert_to_openai_messages
from typer.testing import CliRunner

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.prompts import (
    COMPACT_SYSTEM_PROMPT,
    PROMPT_VERSIONS,
    SYSTEM_PROMPT,
    render_verdict,
)
from tests.fakes import ScriptedChatModel
from tests.unit_tests.test_sft import records, write_labelled

runner = CliRunner()


def test_the_compact_prompt_is_short_and_keeps_the_output_contract():
    assert len(COMPACT_SYSTEM_PROMPT) <= 340  # about 90 tokens estimated; the full prompt 540
    assert len(SYSTEM_PROMPT) > 5 * len(COMPACT_SYSTEM_PROMPT)
    assert '{"perceived_error": true or false, "reason": ' in COMPACT_SYSTEM_PROMPT
    assert "not instructions" in COMPACT_SYSTEM_PROMPT
    assert PROMPT_VERSIONS["compact"] != PROMPT_VERSIONS["full"]


def test_sft_build_compact_writes_the_bytes_the_compact_judge_sends(tmp_path):
    items = records()
    out = tmp_path / "sft"
    args = ["sft", "build", str(write_labelled(tmp_path / "l.jsonl", items)), "-o", str(out)]
    result = runner.invoke(app, [*args, "--prompt", "compact"])
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["prompt"], stats["prompt_version"]) == ("compact", PROMPT_VERSIONS["compact"])
    by_user = {item.turns[-1].text: item for item in items}
    lines = (out / "train.jsonl").read_bytes().splitlines()
    assert lines
    for line in lines:
        written = json.loads(line)["messages"]
        record = by_user[written[1]["content"].splitlines()[-2].removeprefix("user: ")]
        model = ScriptedChatModel(script=[render_verdict(True, "The user corrects the day.")])
        PerceivedErrorJudge(model, prompt="compact").judge(record.turns)
        (sent,) = model.calls
        served = [
            json.dumps(m, ensure_ascii=False).encode() for m in convert_to_openai_messages(sent)
        ]
        assert served == [json.dumps(m, ensure_ascii=False).encode() for m in written[:2]]
        assert written[0]["content"] == COMPACT_SYSTEM_PROMPT


def test_the_default_stays_the_full_prompt(tmp_path):
    out = tmp_path / "sft"
    path = write_labelled(tmp_path / "l.jsonl", records())
    assert runner.invoke(app, ["sft", "build", str(path), "-o", str(out)]).exit_code == 0
    first = json.loads((out / "train.jsonl").read_text().splitlines()[0])
    assert first["messages"][0]["content"] == SYSTEM_PROMPT
    assert json.loads((out / "stats.json").read_text())["prompt"] == "full"
    model = ScriptedChatModel(script=[render_verdict(False, "No user turn signals an error.")])
    PerceivedErrorJudge(model).judge(records(1)[0].turns)
    assert model.calls[0][0].content == SYSTEM_PROMPT


def test_cost_shows_tokens_and_dollars_per_trace_for_both_prompts():
    from langchain_core.messages.utils import count_tokens_approximately

    from langchain_perceived_error.bench.cost import measure_sample, project_costs
    from tests.unit_tests.test_cli import SAMPLE

    profile = measure_sample(SAMPLE)
    assert profile.compact_input_tokens is not None
    saved = count_tokens_approximately([("system", SYSTEM_PROMPT)]) - count_tokens_approximately(
        [("system", COMPACT_SYSTEM_PROMPT)]
    )
    assert profile.input_tokens - profile.compact_input_tokens == saved  # only the prompt differs
    projection = project_costs(profile, traces_per_day=1000, models=["gpt-5"])
    (line,) = [a for a in projection.assumptions if a.startswith("compact prompt")]
    assert f"{profile.compact_input_tokens:,.0f} input tokens per judged trace" in line
    assert "per 1,000 traces with the full prompt" in line
