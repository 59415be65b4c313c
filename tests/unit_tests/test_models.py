import logging

import pytest
from langchain_fireworks import ChatFireworks

from langchain_perceived_error.judge import models as models_module
from langchain_perceived_error.judge.models import (
    DEFAULT_FIREWORKS_MODEL,
    DEFAULT_MODEL,
    MODEL_ENV_VAR,
    ModelSpecError,
    default_model_spec,
    model_name,
    resolve_model,
)
from langchain_perceived_error.rules import RulesJudge
from tests.fakes import ScriptedChatModel


@pytest.fixture
def fresh_fallback(monkeypatch):
    monkeypatch.setitem(models_module._state, "fallback_announced", False)
    monkeypatch.delenv(MODEL_ENV_VAR, raising=False)


def test_default_is_an_open_qwen_model_on_fireworks():
    assert DEFAULT_MODEL == "fireworks:" + DEFAULT_FIREWORKS_MODEL
    assert "qwen3p5-35b-a3b" in DEFAULT_MODEL


def test_rules_spec_and_instances(monkeypatch):
    assert isinstance(resolve_model("rules"), RulesJudge)
    model = ScriptedChatModel(script=["x"])
    assert resolve_model(model) is model
    assert model_name(resolve_model("rules")) == "rules"


def test_fireworks_spec_builds_a_deterministic_non_thinking_chat_model(monkeypatch):
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-test-key")
    model = resolve_model("fireworks:accounts/fireworks/models/gpt-oss-20b")
    assert isinstance(model, ChatFireworks)
    assert model.model_name == "accounts/fireworks/models/gpt-oss-20b"
    assert model.temperature == 0.0
    assert model.reasoning_effort == "none"
    assert model.max_retries == 0
    assert model_name(model) == "accounts/fireworks/models/gpt-oss-20b"


def test_fireworks_spec_without_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)
    with pytest.raises(ModelSpecError, match="FIREWORKS_API_KEY is not set"):
        resolve_model("fireworks:accounts/fireworks/models/gpt-oss-20b")


def test_default_falls_back_to_rules_without_a_key_and_says_so_once(
    monkeypatch, fresh_fallback, caplog
):
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)
    with caplog.at_level(logging.WARNING, logger="langchain_perceived_error.judge.models"):
        first = resolve_model(None)
        second = resolve_model(None)
    assert isinstance(first, RulesJudge)
    assert isinstance(second, RulesJudge)
    warnings = [r for r in caplog.records if "FIREWORKS_API_KEY is not set" in r.getMessage()]
    assert len(warnings) == 1


def test_default_uses_fireworks_when_the_key_is_set(monkeypatch, fresh_fallback):
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-test-key")
    assert default_model_spec() == DEFAULT_MODEL
    assert isinstance(resolve_model(None), ChatFireworks)


def test_environment_variable_overrides_the_default(monkeypatch, fresh_fallback):
    monkeypatch.setenv(MODEL_ENV_VAR, "rules")
    assert default_model_spec() == "rules"
    monkeypatch.setenv(MODEL_ENV_VAR, "openai:gpt-5-mini")
    assert default_model_spec() == "openai:gpt-5-mini"


def test_init_chat_model_specs(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = resolve_model("openai:gpt-4.1-mini")
    assert model_name(model) == "gpt-4.1-mini"
    assert getattr(model, "temperature", None) == 0.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpt-5", "unknown model spec"),
        ("fireworks:", "needs a model id"),
        ("nosuchprovider:model", "cannot build a chat model"),
    ],
)
def test_bad_specs_are_explained(spec, message):
    with pytest.raises(ModelSpecError, match=message):
        resolve_model(spec)
