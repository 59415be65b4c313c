"""Turn a model spec into a chat model: ``rules``, ``fireworks:<id>``, any ``init_chat_model`` spec,
or a ``BaseChatModel`` instance.

Every model built here has a request timeout (``retries.DEFAULT_REQUEST_TIMEOUT_S``, 60 s, unless
``timeout=`` says otherwise), applied by the provider's HTTP client to connecting and to each read:
Fireworks (``ChatFireworks(timeout=...)``, which the ``fireworks`` SDK turns into an
``httpx.Timeout``) and the providers in :data:`TIMEOUT_PROVIDERS`.
A model instance passed in is used as it is: its timeout is the caller's.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_perceived_error.judge.confidence import TOP_LOGPROBS
from langchain_perceived_error.rules import RulesJudge
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "DEFAULT_FIREWORKS_MODEL",
    "DEFAULT_MODEL",
    "MODEL_ENV_VAR",
    "TIMEOUT_PROVIDERS",
    "ModelSpec",
    "ModelSpecError",
    "default_model_spec",
    "model_name",
    "resolve_model",
]

logger = logging.getLogger(__name__)

MODEL_ENV_VAR = "PERCEIVED_ERROR_MODEL"
"""Environment variable that overrides :data:`DEFAULT_MODEL`."""

DEFAULT_FIREWORKS_MODEL = "accounts/fireworks/models/qwen3p5-35b-a3b"
"""Qwen 3.5 35B-A3B: the open model class of the published recipe (base and LoRA-tuned)."""

DEFAULT_MODEL = f"fireworks:{DEFAULT_FIREWORKS_MODEL}"
RULES = "rules"
FIREWORKS_PREFIX = "fireworks:"
FIREWORKS_KEY_VAR = "FIREWORKS_API_KEY"
JUDGE_MAX_TOKENS = 512
"""Room for the verdict (about 40 tokens) plus a stray reasoning preamble."""

ModelSpec = str | BaseChatModel | None
"""``None`` (the default model), ``"rules"``, ``"fireworks:<id>"``, ``"<provider>:<model>"``, or
a chat model instance."""

TIMEOUT_PROVIDERS = frozenset(
    {
        "anthropic",
        "azure_openai",
        "deepseek",
        "fireworks",
        "google_genai",
        "groq",
        "openai",
        "perplexity",
        "together",
        "xai",
    }
)
"""``init_chat_model`` providers whose chat model takes ``timeout=`` (seconds, connect and read),
which :func:`resolve_model` sets. Other providers keep their own defaults (Mistral: 120 s, an
integer field; Bedrock: botocore's 60 s; Ollama: none): pass a configured model instance to set
them."""

_state = {"fallback_announced": False}


class ModelSpecError(ValueError):
    """A model spec that cannot be turned into a chat model; the message says how to fix it."""


def default_model_spec() -> str:
    """The spec used when none is given: ``$PERCEIVED_ERROR_MODEL`` or :data:`DEFAULT_MODEL`.

    When that is a Fireworks model and ``FIREWORKS_API_KEY`` is not set, the offline ``rules``
    judge is used instead, and a warning says so once per process.
    """
    spec = os.environ.get(MODEL_ENV_VAR, "").strip() or DEFAULT_MODEL
    if spec.startswith(FIREWORKS_PREFIX) and not os.environ.get(FIREWORKS_KEY_VAR):
        if not _state["fallback_announced"]:
            _state["fallback_announced"] = True
            logger.warning(
                "%s is not set: judging with the offline 'rules' judge instead of %s. "
                "Set the key (or pass --model) to use a model.",
                FIREWORKS_KEY_VAR,
                spec,
            )
        return RULES
    return spec


def _fireworks(model_id: str, timeout: float, **kwargs: Any) -> BaseChatModel:
    if not os.environ.get(FIREWORKS_KEY_VAR) and "api_key" not in kwargs:
        msg = (
            f"{FIREWORKS_KEY_VAR} is not set: export it to judge with fireworks:{model_id}, "
            "or use the offline judge 'rules' (no key needed)"
        )
        raise ModelSpecError(msg)
    from langchain_fireworks import ChatFireworks

    params: dict[str, Any] = {
        "model": model_id,
        "temperature": 0.0,
        "max_tokens": JUDGE_MAX_TOKENS,
        "reasoning_effort": "none",  # Qwen3 thinks by default; a judge wants tokens kept short
        "max_retries": 0,  # transport retries belong to the judge graph's RetryPolicy
        "timeout": timeout,  # the SDK's default (60 s) is switched off by ChatFireworks' None
        # token log-probabilities: the verdict's confidence (judge/confidence.py)
        "model_kwargs": {"logprobs": True, "top_logprobs": TOP_LOGPROBS},
    }
    params.update(kwargs)
    return ChatFireworks(**params)


def _init_chat_model(spec: str, timeout: float, **kwargs: Any) -> BaseChatModel:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as e:
        msg = (
            f"model spec {spec!r} needs the optional 'langchain' package and the provider's "
            "integration: pip install 'langchain-perceived-error[providers]' langchain-<provider>"
        )
        raise ModelSpecError(msg) from e
    params: dict[str, Any] = {"temperature": 0.0}
    if spec.split(":", 1)[0].strip().lower() in TIMEOUT_PROVIDERS:
        params["timeout"] = timeout
    params.update(kwargs)
    try:
        model = init_chat_model(spec, **params)
    except ImportError as e:
        provider = spec.split(":", 1)[0]
        msg = (
            f"cannot build a chat model from {spec!r}: {e} (install its integration, e.g. "
            f"pip install langchain-{provider.replace('_', '-')})"
        )
        raise ModelSpecError(msg) from e
    except Exception as e:  # each provider SDK raises its own type for a missing key
        provider = spec.split(":", 1)[0]
        msg = (
            f"cannot build a chat model from {spec!r}: {e} (set the provider's key, e.g. "
            f"{provider.upper()}_API_KEY)"
        )
        raise ModelSpecError(msg) from e
    if not isinstance(model, BaseChatModel):
        msg = f"{spec!r} did not resolve to a chat model"
        raise ModelSpecError(msg)
    return model


def resolve_model(
    spec: ModelSpec = None, *, timeout: float = DEFAULT_REQUEST_TIMEOUT_S, **kwargs: Any
) -> BaseChatModel:
    """Build the judge model for ``spec`` (see :data:`ModelSpec`); ``kwargs`` go to the model.

    ``timeout`` bounds each request in seconds (connect and read; see the module doc): a request
    that takes longer raises the SDK's timeout error, which the judge retries as transient.

    Raises:
        ModelSpecError: for an empty or unknown spec, a missing key or a missing integration.

    """
    if isinstance(spec, BaseChatModel):
        return spec
    if spec is None:
        spec = default_model_spec()
    spec = spec.strip()
    if spec == RULES:
        return RulesJudge()
    if spec.startswith(FIREWORKS_PREFIX):
        model_id = spec.removeprefix(FIREWORKS_PREFIX).strip()
        if not model_id:
            msg = "'fireworks:' needs a model id, e.g. fireworks:" + DEFAULT_FIREWORKS_MODEL
            raise ModelSpecError(msg)
        return _fireworks(model_id, timeout, **kwargs)
    if ":" not in spec:
        msg = (
            f"unknown model spec {spec!r}: use 'rules', 'fireworks:<model id>' or "
            "'<provider>:<model>' such as 'openai:gpt-5-mini' or 'anthropic:claude-sonnet-4-5'"
        )
        raise ModelSpecError(msg)
    return _init_chat_model(spec, timeout, **kwargs)


def model_name(model: BaseChatModel) -> str:
    """A readable name for a chat model: its model id when it has one, else its type."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type
