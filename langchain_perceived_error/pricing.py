"""Token prices of judge models, for cost estimates. A model without a price shows "n/a".

Prices are USD per 1M tokens, as listed by the provider on the date given; check the live price
page before quoting them. ``rules`` runs locally and costs nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PRICES", "ModelPrice", "estimate_cost", "price_for"]


class ModelPrice(BaseModel):
    """Per-1M-token prices of one model, with where and when they were read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0, description="USD per 1M input tokens.")
    cached_input: float | None = Field(default=None, ge=0, description="USD per 1M cached input.")
    output: float = Field(ge=0, description="USD per 1M output tokens.")
    source: str = Field(description="Where the price was read.")
    as_of: str = Field(description="When it was read (YYYY-MM).")


def _price(
    inp: float, out: float, source: str, as_of: str, cached: float | None = None
) -> ModelPrice:
    return ModelPrice(input=inp, output=out, cached_input=cached, source=source, as_of=as_of)


_FW = "fireworks.ai/pricing (serverless)"
_ANTHROPIC = "anthropic.com/pricing"
_OPENAI = "openai.com/api/pricing"

PRICES: dict[str, ModelPrice] = {
    "rules": _price(0.0, 0.0, "runs locally", "2026-11", cached=0.0),
    "accounts/fireworks/models/gpt-oss-20b": _price(0.07, 0.30, _FW, "2026-08", cached=0.035),
    "accounts/fireworks/models/gpt-oss-120b": _price(0.15, 0.60, _FW, "2026-08", cached=0.075),
    "accounts/fireworks/models/qwen3-235b-a22b": _price(0.22, 0.88, _FW, "2026-08", cached=0.11),
    "claude-opus-4-5": _price(5.0, 25.0, _ANTHROPIC, "2026-08", cached=0.5),
    "claude-sonnet-4-5": _price(3.0, 15.0, _ANTHROPIC, "2026-08", cached=0.3),
    "claude-haiku-4-5": _price(1.0, 5.0, _ANTHROPIC, "2026-08", cached=0.1),
    "gpt-5": _price(1.25, 10.0, _OPENAI, "2026-08", cached=0.125),
    "gpt-5-mini": _price(0.25, 2.0, _OPENAI, "2026-08", cached=0.025),
    "gpt-5.5": _price(5.0, 30.0, _OPENAI, "2026-08"),
}
"""Known prices by model name (as :func:`~langchain_perceived_error.models.model_name` gives it).
No list price was found for Qwen 3.5/3.6 35B-A3B on Fireworks, so it is absent on purpose."""


def price_for(model: str, prices: dict[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of ``model`` (a provider prefix such as ``fireworks:`` is ignored), or None."""
    table = PRICES if prices is None else prices
    name = model.split(":", 1)[1] if ":" in model and model.split(":", 1)[0].isalpha() else model
    return table.get(model) or table.get(name)


def estimate_cost(
    model: str,
    input_tokens: int,
    output_tokens: int,
    prices: dict[str, ModelPrice] | None = None,
) -> float | None:
    """USD for the given token counts, or None when the model's price is unknown."""
    price = price_for(model, prices)
    if price is None:
        return None
    return (input_tokens * price.input + output_tokens * price.output) / 1_000_000
