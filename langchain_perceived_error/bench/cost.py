"""Project the daily and monthly cost of judging a given trace volume, option by option.

Options (rows):

- **per-token** judges (serverless Fireworks models, frontier APIs, any priced model):
  ``judged/day x (input tokens x input price + output tokens x output price)``;
- **batch**: the same with the price's documented batch discount (Fireworks: 50%), only for
  prices that carry one;
- **dedicated LoRA deployment**: ``GPU-hour price x GPUs per replica x replicas x 24 h`` a day,
  whatever the volume (LoRA fine-tunes are not served serverless); with a measured
  ``throughput_tps`` the replicas are raised to carry the volume at an even rate;
- the **frontier** reference judges of the published table (Claude Opus, GPT-5.5, ...).

``judged/day = traces/day x eligible rate``: traces with no user turn after an assistant turn are
skipped without a model call. Token counts are given, or measured on a sample file
(:func:`measure_sample`): the sample is run through the offline ``rules`` judge for the
eligibility rate, and the exact judge messages of every eligible trace are counted with
LangChain's ``count_tokens_approximately`` (about 4 characters a token plus 3 a message; an
estimate, not a tokenizer: real counts vary by model, so check them with ``perceived-error
bench``). Output tokens are estimated from the verdict JSON the rules judge writes (a model's
verdict has the same shape). A month is 30 days. Every assumption is returned in
:attr:`CostProjection.assumptions`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_perceived_error.bench.pricing import ModelPrice, normalize_model_name, price_for
from langchain_perceived_error.core.prompts import (
    SYSTEM_PROMPT,
    build_judge_messages,
    render_verdict,
)
from langchain_perceived_error.core.records import ReadReport, read_records
from langchain_perceived_error.core.schemas import JudgeStatus
from langchain_perceived_error.core.tokens import estimate_text_tokens, estimate_tokens
from langchain_perceived_error.judge.models import RULES
from langchain_perceived_error.judge.runner import PerceivedErrorJudge

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_GPU_HOUR_PRICE",
    "FRONTIER_MODELS",
    "SERVERLESS_GENERATED_TPM",
    "CostProjection",
    "CostRow",
    "Deployment",
    "SampleError",
    "TokenProfile",
    "measure_sample",
    "project_costs",
]

DAYS_PER_MONTH = 30
DEFAULT_GPU_HOUR_PRICE = 7.0
"""USD per GPU-hour of an on-demand H100/H200 deployment on Fireworks: the docs' list price
(about $7/h), to verify before quoting."""

FRONTIER_MODELS = ("claude-opus-4-5", "gpt-5.5", "claude-sonnet-4-5", "gpt-5")
"""Frontier judges shown for comparison (the published table's Claude Opus and GPT-5.5, and two
cheaper frontier models); their prices come from the price table."""

SERVERLESS_GENERATED_TPM = 36_000
"""Fireworks' starting serverless limit on generated tokens per minute (adaptive per account)."""


class SampleError(ValueError):
    """The sample file cannot give a measurement; the message names the file."""


@dataclass(frozen=True)
class TokenProfile:
    """Tokens per judged trace and the share of traces that are judged at all."""

    input_tokens: float
    output_tokens: float
    eligible_rate: float
    source: str
    cached_input_tokens: float = 0.0
    """Of ``input_tokens``, those a provider's prompt cache serves (billed at the cached-input
    price where the price lists one); 0 = no caching assumed."""
    sample_records: int | None = None
    sample_judged: int | None = None
    sample_skipped: int | None = None
    sample_unreadable: int | None = None
    compact_input_tokens: float | None = None
    """Input tokens per judged trace with the compact prompt of a judge fine-tuned on it."""

    def __post_init__(self) -> None:
        """Reject impossible values."""
        if self.input_tokens < 0 or self.output_tokens < 0:
            msg = f"token counts must not be negative, got {self.input_tokens}/{self.output_tokens}"
            raise ValueError(msg)
        if not 0.0 <= self.cached_input_tokens <= self.input_tokens:
            msg = (
                f"cached input tokens must be within [0, {self.input_tokens:g}] (a part of the "
                f"input), got {self.cached_input_tokens:g}"
            )
            raise ValueError(msg)
        if not 0.0 <= self.eligible_rate <= 1.0:
            msg = f"eligible rate must be within [0, 1], got {self.eligible_rate}"
            raise ValueError(msg)


def measure_sample(path: str | Path, *, include_tools: bool = False) -> TokenProfile:
    """Measure tokens per judged trace and the eligibility rate on a sample file (no model calls).

    Raises:
        SampleError: when the file cannot be read or holds no eligible trace.

    """
    judge = PerceivedErrorJudge(RULES, include_tools=include_tools)
    report = ReadReport()
    payloads = (record.payload for record in read_records([str(path)], report))
    inputs: list[int] = []
    compact: list[int] = []
    outputs: list[int] = []
    skipped = unreadable = 0
    for result in judge.judge_many(payloads):
        if result.status is JudgeStatus.SKIPPED:
            skipped += 1
        elif result.status is JudgeStatus.FAILED or result.verdict is None:
            unreadable += 1
        else:
            inputs.append(estimate_tokens(build_judge_messages(result.turns)))
            compact.append(estimate_tokens(build_judge_messages(result.turns, "compact")))
            verdict = result.verdict
            outputs.append(
                estimate_text_tokens(render_verdict(verdict.perceived_error, verdict.reason))
            )
    if report.unreadable_sources:
        msg = f"cannot read the sample: {'; '.join(report.unreadable_sources)}"
        raise SampleError(msg)
    if not inputs:
        msg = (
            f"the sample {path} has no eligible trace ({report.records} records, {skipped} "
            f"skipped, {unreadable} unreadable): nothing to measure tokens on"
        )
        raise SampleError(msg)
    return TokenProfile(
        input_tokens=sum(inputs) / len(inputs),
        output_tokens=sum(outputs) / len(outputs),
        eligible_rate=len(inputs) / (len(inputs) + skipped),
        source=f"measured on {path}",
        sample_records=report.records,
        sample_judged=len(inputs),
        sample_skipped=skipped,
        sample_unreadable=unreadable,
        compact_input_tokens=sum(compact) / len(compact),
    )


@dataclass(frozen=True)
class Deployment:
    """A dedicated (on-demand) deployment serving a fine-tuned LoRA judge."""

    gpu_hour_price: float = DEFAULT_GPU_HOUR_PRICE
    replicas: int = 1
    gpus_per_replica: int = 1
    throughput_tps: float | None = None
    """Tokens per second (input + output) one replica sustains, measured; None = not checked."""


@dataclass(frozen=True)
class CostRow:
    """One option of the projection."""

    option: str
    model: str
    basis: str
    usd_per_day: float | None
    usd_per_month: float | None
    times_cheapest: float | None = None


@dataclass
class CostProjection:
    """Every option's cost for one volume, cheapest first, with the assumptions behind them."""

    traces_per_day: int
    judged_per_day: float
    profile: TokenProfile
    rows: list[CostRow] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _option(spec: str, price: ModelPrice | None) -> str:
    name = normalize_model_name(spec)
    if name == RULES:
        return "offline rules"
    if name in FRONTIER_MODELS:
        return "frontier API"
    if spec.startswith("fireworks:") or name.startswith("accounts/"):
        return "serverless"
    if price is not None and "fireworks" in price.source:
        return "serverless"
    return "per-token API"


def _per_day(price: ModelPrice, profile: TokenProfile, judged_per_day: float) -> float:
    per_trace = price.cost(profile.input_tokens, profile.output_tokens, profile.cached_input_tokens)
    return per_trace * judged_per_day


def _token_row(
    option: str, spec: str, price: ModelPrice | None, profile: TokenProfile, judged: float
) -> CostRow:
    if price is None:
        return CostRow(option, spec, "no known price: n/a (pass --prices FILE)", None, None)
    daily = _per_day(price, profile, judged)
    basis = f"${price.input:g} in / ${price.output:g} out per 1M ({price.source}, {price.as_of})"
    return CostRow(option, spec, basis, daily, daily * DAYS_PER_MONTH)


def _deployment_row(deployment: Deployment, required_tps: float, notes: list[str]) -> CostRow:
    replicas = deployment.replicas
    if deployment.throughput_tps:
        needed = max(1, math.ceil(required_tps / deployment.throughput_tps))
        if needed > replicas:
            notes.append(
                f"deployment: {replicas} replica(s) cannot carry {required_tps:,.0f} tokens/s at "
                f"{deployment.throughput_tps:,.0f} tokens/s each; raised to {needed}"
            )
            replicas = needed
    else:
        notes.append(
            "deployment capacity NOT checked: pass --deployment-throughput TPS (tokens/s one "
            f"replica sustains, measured) to size replicas for {required_tps:,.1f} tokens/s"
        )
    gpus = replicas * deployment.gpus_per_replica
    daily = deployment.gpu_hour_price * gpus * 24
    basis = f"{gpus} GPU x ${deployment.gpu_hour_price:g}/GPU-hour x 24 h (list price; verify)"
    return CostRow(
        "dedicated deployment", "fine-tuned LoRA judge", basis, daily, daily * DAYS_PER_MONTH
    )


def _rank(rows: list[CostRow]) -> list[CostRow]:
    paid = [r.usd_per_day for r in rows if r.usd_per_day]
    cheapest = min(paid) if paid else None
    ranked = [
        CostRow(
            r.option,
            r.model,
            r.basis,
            r.usd_per_day,
            r.usd_per_month,
            r.usd_per_day / cheapest if cheapest and r.usd_per_day else None,
        )
        for r in rows
    ]
    return sorted(ranked, key=lambda r: (r.usd_per_day is None, r.usd_per_day or 0.0))


def _assumptions(profile: TokenProfile, traces_per_day: int, judged: float) -> list[str]:
    if profile.sample_records is not None:
        eligibility = (
            f"{profile.eligible_rate:.1%} eligible ({profile.source}: {profile.sample_judged} "
            f"judged, {profile.sample_skipped} skipped by the eligibility rule, "
            f"{profile.sample_unreadable} unreadable, of {profile.sample_records} records)"
        )
    else:
        eligibility = f"{profile.eligible_rate:.1%} eligible (given)"
    system_tokens = estimate_tokens([("system", SYSTEM_PROMPT)])
    generated_tpm = judged * profile.output_tokens / (24 * 60)
    return [
        f"volume: {traces_per_day:,} traces/day, {eligibility} -> {judged:,.0f} model calls/day; "
        "one call per judged trace (format retries add a few percent: see bench's model calls)",
        f"tokens per judged trace: {profile.input_tokens:,.0f} in, {profile.output_tokens:,.0f} "
        f"out ({profile.source}); measured counts are estimates (~4 chars/token + 3/message, "
        "LangChain count_tokens_approximately), not a model's tokenizer",
        _caching(profile, system_tokens),
        f"month = {DAYS_PER_MONTH} days; prices are list prices per 1M tokens from the price "
        "table (source and date per row); 'n/a' = no known price, never guessed",
        "batch rows: the provider's documented batch discount (Fireworks batch inference: 50% of "
        "serverless); results are asynchronous, not per request",
        "dedicated deployment: billed per GPU-hour whether busy or idle, so it does not grow with "
        "volume; ~$7/GPU-hour is the H100/H200 on-demand list price in Fireworks' docs (verify); "
        "one replica = one GPU unless --gpus-per-replica; traffic assumed even over the day",
        f"serverless rate limit: {generated_tpm:,.0f} generated tokens/min needed at an even "
        f"rate; Fireworks' starting limit is about {SERVERLESS_GENERATED_TPM:,}/min per account "
        "and model (adaptive)",
        "x cheapest = the row's $/day over the cheapest paid row's $/day; free rows ($0, e.g. "
        "rules) are not ranked",
    ]


def _compact(
    profile: TokenProfile, rows: Sequence[CostRow], prices: Mapping[str, ModelPrice] | None
) -> list[str]:
    """The compact prompt's tokens and dollars per judged trace, next to the full prompt's."""
    if profile.compact_input_tokens is None:
        return []
    full, compact = profile.input_tokens, profile.compact_input_tokens
    line = (
        f"compact prompt (a judge fine-tuned with `sft build --prompt compact`): "
        f"{compact:,.0f} input tokens per judged trace instead of {full:,.0f} "
        f"({compact / full:.0%}); the dedicated deployment is sized with it"
    )
    priced = next((r for r in rows if r.usd_per_day and r.option != "dedicated deployment"), None)
    if priced is not None and priced.usd_per_day is not None:
        price = price_for(priced.model, prices)
        if price is not None:
            per_trace = {
                tokens: (tokens * price.input + profile.output_tokens * price.output) / 1e6
                for tokens in (full, compact)
            }
            line += (
                f"; at {priced.model}'s per-token price: ${per_trace[full] * 1000:,.4f} per "
                f"1,000 traces with the full prompt, ${per_trace[compact] * 1000:,.4f} compact"
            )
    return [line]


def _caching(profile: TokenProfile, system_tokens: int) -> str:
    if profile.cached_input_tokens:
        return (
            f"prompt caching: {profile.cached_input_tokens:,.0f} of the "
            f"{profile.input_tokens:,.0f} input tokens per trace billed at the cached-input price "
            "where the price lists one (Fireworks caches prompts by default), the rest at the "
            "input price"
        )
    return (
        f"no prompt caching assumed: the system prompt (~{system_tokens:,} of the "
        f"{profile.input_tokens:,.0f} input tokens) is the same in every call, so a provider's "
        "prompt cache would bill it at the cached-input rate"
    )


def project_costs(
    profile: TokenProfile,
    *,
    traces_per_day: int,
    models: Sequence[str],
    prices: Mapping[str, ModelPrice] | None = None,
    deployment: Deployment | None = Deployment(),
    frontier: Sequence[str] = FRONTIER_MODELS,
) -> CostProjection:
    """Cost per day and month of every option; see the module docstring.

    ``models`` are model specs priced from ``prices`` (default: the active price table); each
    ``frontier`` model not among them is added; ``deployment=None`` leaves the dedicated row out.
    """
    if traces_per_day < 0:
        msg = f"traces per day must not be negative, got {traces_per_day}"
        raise ValueError(msg)
    judged = traces_per_day * profile.eligible_rate
    rows: list[CostRow] = []
    listed = set()
    for spec in models:
        price = price_for(spec, prices)
        listed.add(normalize_model_name(spec))
        rows.append(_token_row(_option(spec, price), spec, price, profile, judged))
        batch = price.batch() if price else None
        if price is not None and batch is not None:
            option = f"batch ({price.batch_discount or 0:.0%} off)"
            rows.append(_token_row(option, spec, batch, profile, judged))
    notes: list[str] = []
    if deployment is not None:  # a fine-tuned judge: served with the compact prompt when measured
        tuned_input = profile.compact_input_tokens or profile.input_tokens
        required_tps = judged * (tuned_input + profile.output_tokens) / 86_400
        rows.append(_deployment_row(deployment, required_tps, notes))
    for name in frontier:
        if name not in listed:
            rows.append(_token_row("frontier API", name, price_for(name, prices), profile, judged))
    ranked = _rank(rows)
    return CostProjection(
        traces_per_day=traces_per_day,
        judged_per_day=judged,
        profile=profile,
        rows=ranked,
        assumptions=[
            *_assumptions(profile, traces_per_day, judged),
            *_compact(profile, rows, prices),
            *notes,
        ],
    )
