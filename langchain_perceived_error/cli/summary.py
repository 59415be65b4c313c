"""The end-of-run summary: counts by status, flagged rate, confidence, tokens and estimated cost.

Confidence rows appear only when the judge gave a confidence: how many judged records have one,
and how many of them are uncertain (between :data:`UNCERTAIN_LOW` and :data:`UNCERTAIN_HIGH`),
the ones worth a reviewer's look first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table

from langchain_perceived_error.bench.pricing import estimate_cost
from langchain_perceived_error.core.schemas import JudgeResult, JudgeStatus

__all__ = ["UNCERTAIN_HIGH", "UNCERTAIN_LOW", "RunSummary"]

UNCERTAIN_LOW = 0.2
UNCERTAIN_HIGH = 0.8
"""A confidence strictly between these counts as uncertain in the summary."""


@dataclass
class RunSummary:
    """Running totals over judge results; :meth:`table` renders them."""

    model: str
    counts: dict[JudgeStatus, int] = field(default_factory=lambda: dict.fromkeys(JudgeStatus, 0))
    flagged: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    latency_s: float = 0.0
    with_confidence: int = 0
    uncertain: int = 0
    tokens_by_model: dict[str, list[int]] = field(default_factory=dict)
    """``[input, output, cached input]`` tokens per model that produced a result (a cascade has
    two), so the cost is each model's tokens at its own price."""

    def add(self, result: JudgeResult) -> None:
        """Count one result."""
        tally = self.tokens_by_model.setdefault(result.model or self.model, [0, 0, 0])
        tally[0] += result.input_tokens or 0
        tally[1] += result.output_tokens or 0
        tally[2] += result.cached_input_tokens or 0
        self.counts[result.status] += 1
        self.flagged += bool(result.perceived_error)
        self.input_tokens += result.input_tokens or 0
        self.output_tokens += result.output_tokens or 0
        self.cached_input_tokens += result.cached_input_tokens or 0
        self.latency_s += result.latency_s
        if result.confidence is not None:
            self.with_confidence += 1
            self.uncertain += UNCERTAIN_LOW < result.confidence < UNCERTAIN_HIGH

    @property
    def total(self) -> int:
        """Records counted."""
        return sum(self.counts.values())

    @property
    def settled(self) -> int:
        """Records that got a verdict or a skip (the rest failed)."""
        return self.counts[JudgeStatus.JUDGED] + self.counts[JudgeStatus.SKIPPED]

    @property
    def flagged_rate(self) -> float | None:
        """Share of judged records flagged as perceived errors."""
        judged = self.counts[JudgeStatus.JUDGED]
        return self.flagged / judged if judged else None

    @property
    def cost_usd(self) -> float | None:
        """Estimated cost from the price table, or None when a model used has no known price."""
        if not self.tokens_by_model:
            return estimate_cost(self.model, 0, 0)
        costs = [
            estimate_cost(model, inputs, outputs, cached_input_tokens=cached)
            for model, (inputs, outputs, cached) in self.tokens_by_model.items()
        ]
        return None if any(cost is None for cost in costs) else sum(c or 0.0 for c in costs)

    def table(self) -> Table:
        """A two-column summary table."""
        table = Table(title=f"perceived-error judge: {self.model}", show_header=False)
        table.add_column("what", style="bold")
        table.add_column("value", justify="right")
        table.add_row("records", str(self.total))
        for status in JudgeStatus:
            table.add_row(f"  {status.value}", str(self.counts[status]))
        rate = self.flagged_rate
        table.add_row(
            "flagged (perceived error)",
            f"{self.flagged} ({rate:.1%} of judged)" if rate is not None else str(self.flagged),
        )
        if self.with_confidence:
            judged = self.counts[JudgeStatus.JUDGED]
            table.add_row("with a confidence", f"{self.with_confidence} of {judged} judged")
            table.add_row(
                f"  uncertain ({UNCERTAIN_LOW:g}-{UNCERTAIN_HIGH:g})", str(self.uncertain)
            )
        table.add_row("input tokens", f"{self.input_tokens:,}")
        if self.cached_input_tokens:
            table.add_row("  of which cached", f"{self.cached_input_tokens:,}")
        table.add_row("output tokens", f"{self.output_tokens:,}")
        cost = self.cost_usd
        table.add_row("estimated cost", "n/a (no known price)" if cost is None else f"${cost:.4f}")
        mean = self.latency_s / self.total if self.total else 0.0
        table.add_row("mean latency", f"{mean * 1000:.1f} ms")
        return table
