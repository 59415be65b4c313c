"""``perceived-error cost``: daily and monthly cost of each judging option for a trace volume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from langchain_perceived_error.bench.cost import (
    DEFAULT_GPU_HOUR_PRICE,
    FRONTIER_MODELS,
    CostProjection,
    Deployment,
    SampleError,
    TokenProfile,
    measure_sample,
    project_costs,
)
from langchain_perceived_error.bench.pricing import PRICES_ENV_VAR, price_for, price_table
from langchain_perceived_error.cli.app import app
from langchain_perceived_error.cli.bench import result_console
from langchain_perceived_error.cli.errors import UsageError
from langchain_perceived_error.cli.paths import check_inputs
from langchain_perceived_error.judge.models import DEFAULT_MODEL

__all__ = ["cost_command", "cost_table"]


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def cost_table(projection: CostProjection) -> Table:
    """One row per option, cheapest first, with how many times the cheapest paid option it costs."""
    table = Table(
        title=f"perceived-error cost: {projection.traces_per_day:,} traces/day, "
        f"{projection.judged_per_day:,.0f} judged/day",
        header_style="bold",
    )
    for name in ("option", "model", "$/day", "$/month", "x cheapest", "basis"):
        table.add_column(name, justify="right" if name.startswith(("$", "x")) else "left")
    for row in projection.rows:
        times = "n/a" if row.times_cheapest is None else f"{row.times_cheapest:,.1f}x"
        if row.usd_per_day == 0:
            times = "free"
        table.add_row(
            row.option,
            row.model,
            _money(row.usd_per_day),
            _money(row.usd_per_month),
            times,
            row.basis,
        )
    return table


def _profile(
    sample: Path | None,
    input_tokens: int | None,
    output_tokens: int | None,
    eligible_rate: float | None,
) -> TokenProfile:
    """Measured values from ``sample``, each replaced by the value given on the command line."""
    if sample is None:
        if input_tokens is None or output_tokens is None:
            msg = "give --sample FILE to measure tokens, or both --input-tokens and --output-tokens"
            raise typer.BadParameter(msg)
        rate = 1.0 if eligible_rate is None else eligible_rate
        return TokenProfile(float(input_tokens), float(output_tokens), rate, source="given")
    measured = measure_sample(sample)
    given = [
        name
        for name, value in (("input tokens", input_tokens), ("output tokens", output_tokens))
        if value is not None
    ]
    source = measured.source
    if given:
        source = f"{' and '.join(given)} given; the rest {measured.source}"
    return TokenProfile(
        input_tokens=measured.input_tokens if input_tokens is None else float(input_tokens),
        output_tokens=measured.output_tokens if output_tokens is None else float(output_tokens),
        eligible_rate=measured.eligible_rate if eligible_rate is None else eligible_rate,
        source=source,
        # a given eligible rate replaces the measured one, and the footer says "given"
        sample_records=measured.sample_records if eligible_rate is None else None,
        sample_judged=measured.sample_judged,
        sample_skipped=measured.sample_skipped,
        sample_unreadable=measured.sample_unreadable,
        compact_input_tokens=measured.compact_input_tokens if input_tokens is None else None,
    )


@app.command("cost")
def cost_command(
    traces_per_day: Annotated[
        int, typer.Option(min=0, help="Traces (or threads) to judge per day.", show_default=False)
    ],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help=f"Per-token judge to price (repeat). Default: {DEFAULT_MODEL}."
        ),
    ] = None,
    sample: Annotated[
        Path | None,
        typer.Option(help="Traces to measure tokens and the eligible rate on (offline, no calls)."),
    ] = None,
    input_tokens: Annotated[
        int | None, typer.Option(min=0, help="Input tokens per judged trace (overrides --sample).")
    ] = None,
    output_tokens: Annotated[
        int | None, typer.Option(min=0, help="Output tokens per judged trace (overrides --sample).")
    ] = None,
    eligible_rate: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Share of traces judged (default: measured, else 1.0)."
        ),
    ] = None,
    gpu_hour_price: Annotated[
        float, typer.Option(min=0.0, help="USD per GPU-hour of the dedicated deployment.")
    ] = DEFAULT_GPU_HOUR_PRICE,
    replicas: Annotated[int, typer.Option(min=1, help="Deployment replicas.")] = 1,
    gpus_per_replica: Annotated[int, typer.Option(min=1, help="GPUs per replica.")] = 1,
    deployment_throughput: Annotated[
        float | None,
        typer.Option(min=0.0, help="Tokens/s one replica sustains (measured); sizes replicas."),
    ] = None,
    deployment: Annotated[
        bool, typer.Option(help="Show the dedicated LoRA deployment option.")
    ] = True,
    frontier: Annotated[bool, typer.Option(help="Show the frontier reference judges.")] = True,
    prices: Annotated[
        Path | None,
        typer.Option(help=f"Price overrides (JSON/TOML; also ${PRICES_ENV_VAR})."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the projection as JSON.")] = False,
) -> None:
    """Project the daily and monthly cost of each judging option for your volume."""
    check_inputs([p for p in (sample, prices) if p is not None])
    table_of_prices = price_table(prices)
    unpriced = [spec for spec in model or [] if price_for(spec, table_of_prices) is None]
    if unpriced:
        known = ", ".join(sorted(table_of_prices)[:6])
        msg = f"no price is known for {', '.join(unpriced)}"
        raise UsageError(msg, f"add it with --prices FILE; known models include {known}, ...")
    try:
        profile = _profile(sample, input_tokens, output_tokens, eligible_rate)
    except SampleError as e:
        raise UsageError(str(e)) from e
    projection = project_costs(
        profile,
        traces_per_day=traces_per_day,
        models=model or [DEFAULT_MODEL],
        prices=table_of_prices,
        deployment=Deployment(
            gpu_hour_price=gpu_hour_price,
            replicas=replicas,
            gpus_per_replica=gpus_per_replica,
            throughput_tps=deployment_throughput,
        )
        if deployment
        else None,
        frontier=FRONTIER_MODELS if frontier else (),
    )
    if as_json:
        typer.echo(json.dumps(projection.to_dict(), indent=2))
        return
    out = result_console()
    out.print(cost_table(projection))
    out.print("assumptions:", style="bold")
    for line in projection.assumptions:
        out.print(f"  - {line}", highlight=False, markup=False, soft_wrap=True)  # user text
