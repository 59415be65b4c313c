"""Token prices of judge models, for cost estimates. A model without a price shows "n/a".

Prices are USD per 1M tokens, as listed by the provider on the date given; check the live price
page before quoting them. ``rules`` runs locally and costs nothing. No price is ever guessed: a
model missing from the table has no cost estimate until a user supplies its price.

Overrides: a user file (JSON or TOML) maps model names to price fields, e.g.

```json
{"accounts/fireworks/models/qwen3p5-35b-a3b":
    {"input": 0.14, "output": 1.0, "source": "our contract", "as_of": "2026-09"},
 "gpt-5": {"input": 1.0},
 "gpt-5.5": null}
```

A known model's entry is merged field by field (``"gpt-5": {"input": 1.0}`` keeps the rest, and
its source then names the file too), a new model needs ``input`` and ``output`` (``source``
defaults to the file, ``as_of`` to "unknown"), and ``null`` removes a price (it shows "n/a"). The
file is named by ``--prices FILE`` or by ``$PERCEIVED_ERROR_PRICES``; :func:`price_for` and
:func:`estimate_cost` honour ``$PERCEIVED_ERROR_PRICES`` when no table is passed.

Batch inference is a separate, computed option: :meth:`ModelPrice.batch` applies the price's
``batch_discount`` (50% on Fireworks' batch inference API). Only prices whose source documents a
batch discount carry one; the others have no batch price.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langchain_perceived_error.core.files import (
    FileReadError,
    check_depth,
    parse_json,
    read_text_file,
)

__all__ = [
    "FIREWORKS_BATCH_DISCOUNT",
    "PRICES",
    "PRICES_ENV_VAR",
    "ModelPrice",
    "PriceFileError",
    "active_prices",
    "estimate_cost",
    "load_price_file",
    "merge_prices",
    "normalize_model_name",
    "price_for",
    "price_table",
]

PRICES_ENV_VAR = "PERCEIVED_ERROR_PRICES"
"""Environment variable naming a user price file (JSON or TOML) merged over :data:`PRICES`."""

FIREWORKS_BATCH_DISCOUNT = 0.5
"""Fireworks batch inference costs 50% of the serverless price (fireworks.ai batch docs)."""


class PriceFileError(ValueError):
    """A user price file that cannot be read; the message names the file and the entry."""


class ModelPrice(BaseModel):
    """Per-1M-token prices of one model, with where and when they were read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0, description="USD per 1M input tokens.")
    cached_input: float | None = Field(default=None, ge=0, description="USD per 1M cached input.")
    output: float = Field(ge=0, description="USD per 1M output tokens.")
    source: str = Field(description="Where the price was read.")
    as_of: str = Field(description="When it was read (YYYY-MM).")
    batch_discount: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="Share taken off every price by the provider's batch API (0.5 = 50% off), "
        "when the source documents one; None = no known batch price.",
    )

    def cost(
        self, input_tokens: float, output_tokens: float, cached_input_tokens: float = 0
    ) -> float:
        """USD for these tokens; ``cached_input_tokens`` (part of ``input_tokens``) are billed at
        ``cached_input`` when listed, else at the full input price.
        """
        cached = min(max(cached_input_tokens, 0), input_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        return (
            (input_tokens - cached) * self.input
            + cached * cached_rate
            + output_tokens * self.output
        ) / 1_000_000

    def batch(self) -> ModelPrice | None:
        """The price with the batch discount applied, or None when no batch discount is known."""
        if self.batch_discount is None:
            return None
        keep = 1.0 - self.batch_discount
        return ModelPrice(
            input=self.input * keep,
            cached_input=None if self.cached_input is None else self.cached_input * keep,
            output=self.output * keep,
            source=f"{self.source}; batch: {self.batch_discount:.0%} off",
            as_of=self.as_of,
            batch_discount=None,
        )


def _price(
    inp: float,
    out: float,
    source: str,
    as_of: str,
    cached: float | None = None,
    batch_discount: float | None = None,
) -> ModelPrice:
    return ModelPrice(
        input=inp,
        output=out,
        cached_input=cached,
        source=source,
        as_of=as_of,
        batch_discount=batch_discount,
    )


_FW = "fireworks.ai/pricing (serverless)"
_ANTHROPIC = "anthropic.com/pricing"
_OPENAI = "openai.com/api/pricing"
_FW_BATCH = FIREWORKS_BATCH_DISCOUNT

PRICES: dict[str, ModelPrice] = {
    "rules": _price(0.0, 0.0, "runs locally", "2026-11", cached=0.0),
    "accounts/fireworks/models/gpt-oss-20b": _price(
        0.07, 0.30, _FW, "2026-08", cached=0.035, batch_discount=_FW_BATCH
    ),
    "accounts/fireworks/models/gpt-oss-120b": _price(
        0.15, 0.60, _FW, "2026-08", cached=0.075, batch_discount=_FW_BATCH
    ),
    "accounts/fireworks/models/qwen3-235b-a22b": _price(
        0.22, 0.88, _FW, "2026-08", cached=0.11, batch_discount=_FW_BATCH
    ),
    "claude-opus-4-5": _price(5.0, 25.0, _ANTHROPIC, "2026-08", cached=0.5),
    "claude-sonnet-4-5": _price(3.0, 15.0, _ANTHROPIC, "2026-08", cached=0.3),
    "claude-haiku-4-5": _price(1.0, 5.0, _ANTHROPIC, "2026-08", cached=0.1),
    "gpt-5": _price(1.25, 10.0, _OPENAI, "2026-08", cached=0.125),
    "gpt-5-mini": _price(0.25, 2.0, _OPENAI, "2026-08", cached=0.025),
    "gpt-5.5": _price(5.0, 30.0, _OPENAI, "2026-08"),
}
"""Known prices by model name (as :func:`~langchain_perceived_error.judge.models.model_name` gives
it). No list price was found for Qwen 3.5/3.6 35B-A3B on Fireworks, so it is absent on purpose:
supply one with a price file. Fireworks cached input is 50% of input (their default); the batch
discount is set only for Fireworks, whose batch API is documented at 50% of serverless."""

_PROVIDER_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*:(?!//)")
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")


def normalize_model_name(model: str) -> str:
    """``model`` without a provider prefix (``fireworks:``, ``openai:``) or surrounding space."""
    return _PROVIDER_PREFIX.sub("", model.strip(), count=1)


def price_for(model: str, prices: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of ``model``, or None (never a guess).

    Looked up as given, then without a provider prefix such as ``fireworks:``, then without a
    dated snapshot suffix (``claude-sonnet-4-5-20250929`` -> ``claude-sonnet-4-5``).
    ``prices=None`` uses :func:`active_prices` (built-in table + ``$PERCEIVED_ERROR_PRICES``).
    """
    table = active_prices() if prices is None else prices
    name = normalize_model_name(model)
    for candidate in (model, name, _DATE_SUFFIX.sub("", name)):
        if candidate in table:
            return table[candidate]
    return None


def estimate_cost(
    model: str,
    input_tokens: int,
    output_tokens: int,
    prices: Mapping[str, ModelPrice] | None = None,
    *,
    cached_input_tokens: int = 0,
    batch: bool = False,
) -> float | None:
    """USD for the given token counts, or None when the model's (batch) price is unknown."""
    price = price_for(model, prices)
    if price is not None and batch:
        price = price.batch()
    if price is None:
        return None
    return price.cost(input_tokens, output_tokens, cached_input_tokens)


def _read_mapping(path: Path) -> Any:
    """The price file's document, read through the guarded reader (size, UTF-8, depth)."""
    try:
        text = read_text_file(path, what="the price file")
        if path.suffix.lower() != ".toml":
            return parse_json(text, str(path))
        check_depth(text, str(path))
    except OSError as e:
        msg = f"cannot read the price file {path}: {e.strerror or e}"
        raise PriceFileError(msg) from e
    except FileReadError as e:
        msg = f"price file {e}"
        raise PriceFileError(msg) from e
    toml = _toml_module(path)
    try:
        return toml.loads(text)
    except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
        msg = f"price file {path} is not valid TOML: {e}"
        raise PriceFileError(msg) from e


def _toml_module(path: Path) -> Any:
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    msg = f"reading {path} needs TOML support: use Python 3.11+, pip install tomli, or use JSON"
    raise PriceFileError(msg)


def load_price_file(path: str | Path) -> dict[str, dict[str, Any] | None]:
    """Read a user price file: ``{model: {field: value, ...} | null}`` (JSON, or TOML by suffix).

    Raises:
        PriceFileError: when the file cannot be read or is not such a mapping.

    """
    file = Path(path)
    data = _read_mapping(file)
    if not isinstance(data, dict):
        msg = f"price file {file} must map model names to price fields, got {type(data).__name__}"
        raise PriceFileError(msg)
    entries: dict[str, dict[str, Any] | None] = {}
    for model, fields in data.items():
        if fields is not None and not isinstance(fields, dict):
            msg = (
                f"price file {file}: the entry for {model!r} must be a table of fields "
                f"(input, output, cached_input, source, as_of, batch_discount) or null, "
                f"got {fields!r}"
            )
            raise PriceFileError(msg)
        entries[str(model)] = fields
    return entries


def merge_prices(
    base: Mapping[str, ModelPrice],
    overrides: Mapping[str, Mapping[str, Any] | None],
    *,
    origin: str = "user price file",
) -> dict[str, ModelPrice]:
    """``base`` with ``overrides`` applied (see the module docstring for the rules).

    Raises:
        PriceFileError: when an entry has unknown fields, bad values, or (for a new model) lacks
            ``input`` or ``output``.

    """
    table = dict(base)
    for model, fields in overrides.items():
        if fields is None:
            table.pop(model, None)
            continue
        known = table.get(model)
        values: dict[str, Any] = known.model_dump() if known else {}
        values.update(fields)
        if "source" not in fields:  # an overridden price is no longer the provider's
            values["source"] = origin if known is None else f"{origin} (rest: {known.source})"
        values.setdefault("as_of", "unknown")
        try:
            table[model] = ModelPrice.model_validate(values)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            msg = f"{origin}: bad price for {model!r}: {problems}"
            raise PriceFileError(msg) from e
    return table


def price_table(
    prices_file: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, ModelPrice]:
    """The built-in :data:`PRICES`, then ``$PERCEIVED_ERROR_PRICES``, then ``prices_file``.

    Later sources win, field by field.

    Raises:
        PriceFileError: when a named file cannot be read or holds a bad entry.

    """
    env = os.environ if environ is None else environ
    table = dict(PRICES)
    for path in (env.get(PRICES_ENV_VAR, "").strip() or None, prices_file):
        if path:
            table = merge_prices(table, load_price_file(path), origin=f"price file {path}")
    return table


def active_prices() -> dict[str, ModelPrice]:
    """The built-in table merged with ``$PERCEIVED_ERROR_PRICES`` (re-read when it changes)."""
    path = os.environ.get(PRICES_ENV_VAR, "").strip()
    if not path:
        return PRICES
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError as e:
        msg = f"${PRICES_ENV_VAR} names {path!r}, which cannot be read: {e}"
        raise PriceFileError(msg) from e
    return _env_table(path, stamp)


@lru_cache(maxsize=4)
def _env_table(path: str, stamp: int) -> dict[str, ModelPrice]:
    del stamp  # part of the cache key only: a changed file is read again
    return merge_prices(PRICES, load_price_file(path), origin=f"price file {path}")
