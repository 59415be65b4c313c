"""Cost projection: the arithmetic by hand, the sample measurement, and the `cost` command."""

import json
import math
from pathlib import Path

import pytest
from langchain_core.messages.utils import count_tokens_approximately
from typer.testing import CliRunner

from langchain_perceived_error.bench.cost import (
    Deployment,
    SampleError,
    TokenProfile,
    measure_sample,
    project_costs,
)
from langchain_perceived_error.bench.pricing import PRICES_ENV_VAR
from langchain_perceived_error.cli import app
from langchain_perceived_error.core.prompts import build_judge_messages
from langchain_perceived_error.core.transcript import extract_transcript

OSS = "fireworks:accounts/fireworks/models/gpt-oss-120b"
SAMPLE = Path(__file__).resolve().parents[2] / "cookbook" / "data" / "sample_traces.jsonl"


@pytest.fixture(autouse=True)
def _no_env_prices(monkeypatch):
    monkeypatch.delenv(PRICES_ENV_VAR, raising=False)


def rows_by(projection):
    return {(r.option, r.model): r for r in projection.rows}


def test_arithmetic_by_hand():
    # 10,000 traces/day, half eligible -> 5,000 calls/day, 1,000 in + 50 out tokens each
    profile = TokenProfile(1000, 50, 0.5, source="given")
    projection = project_costs(
        profile, traces_per_day=10_000, models=[OSS], deployment=Deployment(gpu_hour_price=7.0)
    )
    assert projection.judged_per_day == 5000
    rows = rows_by(projection)
    # gpt-oss-120b: (1000 x 0.15 + 50 x 0.60) / 1M = $0.00018 a call -> $0.90/day
    assert rows["serverless", OSS].usd_per_day == pytest.approx(0.90)
    assert rows["serverless", OSS].usd_per_month == pytest.approx(27.0)
    assert rows["batch (50% off)", OSS].usd_per_day == pytest.approx(0.45)
    # gpt-5: (1000 x 1.25 + 50 x 10) / 1M x 5000 = $8.75; Opus: (5000 + 1250) / 1M x 5000 = $31.25
    assert rows["frontier API", "gpt-5"].usd_per_day == pytest.approx(8.75)
    assert rows["frontier API", "claude-opus-4-5"].usd_per_day == pytest.approx(31.25)
    # GPT-5.5: (5000 + 1500) / 1M x 5000 = $32.50
    assert rows["frontier API", "gpt-5.5"].usd_per_day == pytest.approx(32.5)
    # a dedicated GPU: $7 x 24 h = $168/day, whatever the volume
    dedicated = rows["dedicated deployment", "fine-tuned LoRA judge"]
    assert dedicated.usd_per_day == pytest.approx(168.0)
    # x cheapest: against the batch row ($0.45)
    assert rows["batch (50% off)", OSS].times_cheapest == pytest.approx(1.0)
    assert rows["frontier API", "claude-opus-4-5"].times_cheapest == pytest.approx(31.25 / 0.45)
    assert dedicated.times_cheapest == pytest.approx(168 / 0.45)
    # cheapest first
    costs = [r.usd_per_day for r in projection.rows]
    assert costs == sorted(costs)


def test_unpriced_models_are_na_and_rules_is_free():
    profile = TokenProfile(1000, 50, 1.0, source="given")
    projection = project_costs(
        profile,
        traces_per_day=100,
        models=["fireworks:accounts/fireworks/models/qwen3p5-35b-a3b", "rules"],
        deployment=None,
        frontier=("gpt-5",),
    )
    rows = projection.rows
    assert [r.model for r in rows] == [
        "rules",
        "gpt-5",
        "fireworks:accounts/fireworks/models/qwen3p5-35b-a3b",
    ]
    assert rows[0].usd_per_day == 0.0
    assert rows[0].times_cheapest is None
    assert rows[1].times_cheapest == pytest.approx(1.0)
    assert rows[2].usd_per_day is None
    assert "n/a" in rows[2].basis


def test_deployment_replicas_are_raised_to_carry_the_volume():
    # 864,000 calls/day x 1,000 tokens = 10,000 tokens/s; 4,000 tokens/s a replica -> 3 replicas
    profile = TokenProfile(950, 50, 1.0, source="given")
    deployment = Deployment(gpu_hour_price=7.0, replicas=1, throughput_tps=4000)
    projection = project_costs(
        profile, traces_per_day=864_000, models=[], deployment=deployment, frontier=()
    )
    (row,) = projection.rows
    assert row.usd_per_day == pytest.approx(3 * 7 * 24)
    assert any("raised to 3" in a for a in projection.assumptions)
    two_gpu = Deployment(gpu_hour_price=5.0, replicas=2, gpus_per_replica=2)
    (row,) = project_costs(
        profile, traces_per_day=1, models=[], deployment=two_gpu, frontier=()
    ).rows
    assert row.usd_per_day == pytest.approx(4 * 5 * 24)


def test_measure_sample_counts_the_rendered_judge_input(tmp_path):
    eligible = [
        {"role": "user", "content": "Move it to Tuesday."},
        {"role": "assistant", "content": "Moved to Wednesday."},
        {"role": "user", "content": "No, I said Tuesday."},
    ]
    rows = [eligible, [{"role": "user", "content": "hi"}], eligible]
    path = tmp_path / "sample.jsonl"
    path.write_text("\n".join(json.dumps({"messages": r}) for r in rows) + "\n{bad json\n")
    profile = measure_sample(path)
    expected = count_tokens_approximately(build_judge_messages(extract_transcript(eligible)))
    assert profile.input_tokens == expected
    assert profile.eligible_rate == pytest.approx(2 / 3)  # the unreadable line is left out
    assert (profile.sample_judged, profile.sample_skipped, profile.sample_unreadable) == (2, 1, 1)
    assert 10 < profile.output_tokens < 60


def test_measure_sample_without_eligible_traces(tmp_path):
    path = tmp_path / "sample.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(SampleError, match="no eligible trace"):
        measure_sample(path)


def test_impossible_profiles_are_rejected():
    with pytest.raises(ValueError, match="eligible rate"):
        TokenProfile(1, 1, 1.5, source="given")
    with pytest.raises(ValueError, match="negative"):
        TokenProfile(-1, 1, 1.0, source="given")


def invoke(*args):
    return CliRunner().invoke(app, ["cost", *map(str, args)])


def test_command_json_math():
    result = invoke(
        "--traces-per-day", 10_000, "--input-tokens", 1000, "--output-tokens", 50,
        "--eligible-rate", 0.5, "--model", OSS, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["judged_per_day"] == 5000
    rows = {(r["option"], r["model"]): r for r in data["rows"]}
    assert rows["serverless", OSS]["usd_per_day"] == pytest.approx(0.9)
    assert rows["frontier API", "claude-opus-4-5"]["times_cheapest"] == pytest.approx(31.25 / 0.45)


def test_command_table_with_a_measured_sample_and_price_file(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"my-judge": {"input": 0.1, "output": 0.4, "source": "quote"}}))
    result = invoke(
        "--traces-per-day", 1_000_000, "--sample", SAMPLE, "--model", "openai:my-judge",
        "--prices", prices, "--gpu-hour-price", 8, "--no-frontier",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "x cheapest" in out
    assert "openai:my-judge" in out
    assert "quote" in out
    assert "$192.00" in out  # 1 GPU x $8 x 24 h
    assert "claude-opus-4-5" not in out
    assert "measured on" in out
    assert "skipped by the eligibility rule" in out
    assert "month = 30 days" in out


def test_command_default_model_has_no_price():
    result = invoke("--traces-per-day", 1000, "--input-tokens", 700, "--output-tokens", 30)
    assert result.exit_code == 0, result.output
    assert "qwen3p5-35b-a3b" in result.stdout
    assert "n/a" in result.stdout
    assert "claude-opus-4-5" in result.stdout  # frontier references by default


def test_command_needs_tokens_or_a_sample():
    result = invoke("--traces-per-day", 1000)
    assert result.exit_code == 2
    assert "--sample" in result.output


def test_command_given_tokens_override_the_sample():
    result = invoke(
        "--traces-per-day", 100, "--sample", SAMPLE, "--input-tokens", 2000, "--eligible-rate",
        1, "--json",
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert data["profile"]["input_tokens"] == 2000
    assert data["profile"]["eligible_rate"] == 1
    assert not math.isclose(data["profile"]["output_tokens"], 0)
    assert data["profile"]["source"].startswith("input tokens given; the rest measured on")


def test_command_prints_a_bracketed_sample_name_as_it_is_and_every_assumption_on_one_line(
    tmp_path,
):
    sample = tmp_path / "runs[prod].jsonl"
    sample.write_bytes(SAMPLE.read_bytes())
    result = invoke("--traces-per-day", 1000, "--sample", sample, "--model", OSS)
    assert result.exit_code == 0, result.output
    assert f"measured on {sample}:" in result.stdout  # was ".../runs.jsonl": read as markup
    lines = result.stdout.split("assumptions:", 1)[1].strip("\n").splitlines()
    assert lines
    assert all(line.startswith("  - ") for line in lines), lines  # none broken in two
