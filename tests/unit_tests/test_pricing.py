"""The price table, its lookups, the batch option and user overrides (file and environment)."""

import json

import pytest

from langchain_perceived_error.bench.pricing import (
    PRICES,
    PRICES_ENV_VAR,
    ModelPrice,
    PriceFileError,
    estimate_cost,
    load_price_file,
    merge_prices,
    price_for,
    price_table,
)
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL

OSS = "accounts/fireworks/models/gpt-oss-120b"


@pytest.fixture(autouse=True)
def _no_env_prices(monkeypatch):
    monkeypatch.delenv(PRICES_ENV_VAR, raising=False)


def test_every_price_has_a_source_and_a_date():
    for name, price in PRICES.items():
        assert price.source, name
        assert price.as_of, name
    assert PRICES["rules"].input == PRICES["rules"].output == 0.0


def test_lookups_strip_provider_prefix_and_date_snapshot():
    assert price_for(f"fireworks:{OSS}") is PRICES[OSS]
    assert price_for("openai:gpt-5-mini") is PRICES["gpt-5-mini"]
    assert price_for("anthropic:claude-sonnet-4-5-20250929") is PRICES["claude-sonnet-4-5"]
    assert price_for("gpt-5") is PRICES["gpt-5"]


def test_unknown_models_have_no_price_never_a_guess():
    assert price_for(DEFAULT_FIREWORKS_MODEL) is None  # no Fireworks list price was found
    assert price_for("fireworks:" + DEFAULT_FIREWORKS_MODEL) is None
    assert price_for("some-new-model") is None
    assert estimate_cost("some-new-model", 1000, 100) is None


def test_cost_with_cached_input_and_batch():
    price = PRICES[OSS]  # 0.15 in, 0.075 cached, 0.60 out
    assert estimate_cost(OSS, 1_000_000, 100_000) == pytest.approx(0.15 + 0.06)
    assert price.cost(1_000_000, 0, cached_input_tokens=400_000) == pytest.approx(
        0.6 * 0.15 + 0.4 * 0.075
    )
    batch = price.batch()
    assert batch is not None
    assert (batch.input, batch.output, batch.cached_input) == pytest.approx((0.075, 0.30, 0.0375))
    assert "batch: 50% off" in batch.source
    assert estimate_cost(OSS, 1_000_000, 0, batch=True) == pytest.approx(0.075)
    # no documented batch discount: no batch price
    assert PRICES["gpt-5"].batch() is None
    assert estimate_cost("gpt-5", 1000, 10, batch=True) is None


def test_json_override_merges_adds_and_removes(tmp_path):
    file = tmp_path / "prices.json"
    file.write_text(
        json.dumps(
            {
                DEFAULT_FIREWORKS_MODEL: {"input": 0.14, "output": 1.0, "as_of": "2026-09"},
                "gpt-5": {"input": 1.0},
                "gpt-5.5": None,
            }
        )
    )
    table = price_table(file)
    qwen = price_for("fireworks:" + DEFAULT_FIREWORKS_MODEL, table)
    assert qwen == ModelPrice(input=0.14, output=1.0, source=f"price file {file}", as_of="2026-09")
    assert table["gpt-5"].input == 1.0
    assert table["gpt-5"].output == PRICES["gpt-5"].output  # the rest is kept
    assert table["gpt-5"].source == f"price file {file} (rest: {PRICES['gpt-5'].source})"
    assert price_for("gpt-5.5", table) is None  # removed: shows n/a
    assert PRICES["gpt-5"].input == 1.25  # the built-in table is untouched


def test_toml_override(tmp_path):
    file = tmp_path / "prices.toml"
    file.write_text(
        '["my-model"]\ninput = 0.5\noutput = 2.0\nsource = "contract"\nbatch_discount = 0.5\n'
    )
    price = price_table(file)["my-model"]
    assert (price.input, price.output, price.source, price.as_of) == (
        0.5,
        2.0,
        "contract",
        "unknown",
    )
    assert price.batch().input == 0.25


def test_environment_file_is_honoured_and_the_option_wins(tmp_path, monkeypatch):
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"my-model": {"input": 1.0, "output": 1.0}}))
    option_file = tmp_path / "option.json"
    option_file.write_text(json.dumps({"my-model": {"input": 2.0}}))
    monkeypatch.setenv(PRICES_ENV_VAR, str(env_file))
    assert price_for("my-model").input == 1.0  # price_for(None table) reads the env file
    assert estimate_cost("my-model", 1_000_000, 0) == pytest.approx(1.0)
    assert price_table(option_file)["my-model"].input == 2.0
    env_file.write_text(json.dumps({"my-model": {"input": 3.0, "output": 1.0}}))
    import os

    os.utime(env_file, ns=(1, 1))  # a changed file is read again
    assert price_for("my-model").input == 3.0


@pytest.mark.parametrize(
    ("content", "suffix", "match"),
    [
        ("{oops", ".json", "not valid JSON"),
        ("[1, 2]", ".json", "must map model names"),
        ('{"m": 3}', ".json", "must be a table of fields"),
        ('{"m": {"input": 1}}', ".json", r"bad price for 'm': output: Field required"),
        ('{"m": {"input": -1, "output": 1}}', ".json", "greater than or equal to 0"),
        ('{"gpt-5": {"inptu": 1}}', ".json", "inptu: Extra inputs are not permitted"),
        ("x = = 1", ".toml", "not valid TOML"),
    ],
)
def test_bad_price_files_say_what_is_wrong(tmp_path, content, suffix, match):
    file = tmp_path / f"prices{suffix}"
    file.write_text(content)
    with pytest.raises(PriceFileError, match=match):
        price_table(file)


def test_missing_files_are_errors(tmp_path, monkeypatch):
    with pytest.raises(PriceFileError, match="cannot read the price file"):
        load_price_file(tmp_path / "nope.json")
    monkeypatch.setenv(PRICES_ENV_VAR, str(tmp_path / "nope.json"))
    with pytest.raises(PriceFileError, match=PRICES_ENV_VAR):
        price_for("gpt-5")


def test_merge_prices_reports_the_origin():
    with pytest.raises(PriceFileError, match="my origin: bad price for 'x'"):
        merge_prices(PRICES, {"x": {"input": 1}}, origin="my origin")
