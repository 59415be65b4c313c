"""``--cascade CHEAP,EXPENSIVE`` and ``--cascade-thresholds FILE``, shared by judge, watch, bench.

The cheap judge settles what its thresholds allow and the expensive one judges the rest (see
:mod:`~langchain_perceived_error.judge.cascade`). ``judge`` and ``watch`` need thresholds chosen
on labelled data: the ``cascade.json`` that ``bench --cascade ... --report DIR`` writes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from langchain_perceived_error.cli.errors import UsageError
from langchain_perceived_error.core.prompts import PROMPT_VERSIONS, PromptStyle
from langchain_perceived_error.judge.cascade import (
    CascadeJudge,
    CascadeThresholds,
    CascadeThresholdsError,
)
from langchain_perceived_error.judge.runner import PerceivedErrorJudge

__all__ = [
    "CascadeOption",
    "CascadeThresholdsOption",
    "cascade_judge",
    "check_cascade_options",
    "load_thresholds",
    "parse_cascade",
]

CascadeOption = Annotated[
    str | None,
    typer.Option(
        "--cascade",
        help="CHEAP,EXPENSIVE (e.g. rules,fireworks:<model id>): the cheap judge settles the "
        "traces it is confident about, the expensive one judges the rest.",
        show_default=False,
    ),
]
CascadeThresholdsOption = Annotated[
    Path | None,
    typer.Option(
        "--cascade-thresholds",
        dir_okay=False,
        help="The thresholds chosen on labelled data: cascade.json from "
        "`bench --cascade ... --report DIR`.",
        show_default=False,
    ),
]


def check_cascade_options(cascade: str | None, thresholds: Path | None, model: str | None) -> None:
    """Exit 2 for ``--cascade`` with ``--model``, or ``--cascade-thresholds`` without ``--cascade``
    (``judge`` and ``watch``)."""
    if cascade is not None and model is not None:
        msg = "give either --model or --cascade CHEAP,EXPENSIVE"
        raise UsageError(msg)
    if cascade is None and thresholds is not None:
        msg = "--cascade-thresholds needs --cascade CHEAP,EXPENSIVE"
        raise UsageError(msg)


def parse_cascade(value: str) -> tuple[str, str]:
    """``(cheap, expensive)`` specs from ``CHEAP,EXPENSIVE``; exit 2 when it is not two specs.

    The split is on the first comma: a model id has none, so the expensive spec keeps the rest.
    """
    cheap, _, expensive = value.partition(",")
    cheap, expensive = cheap.strip(), expensive.strip()
    if not cheap or not expensive:
        msg = f"--cascade takes CHEAP,EXPENSIVE (two judge specs), got {value!r}"
        raise UsageError(msg, "for example --cascade rules,fireworks:<model id>")
    if cheap == expensive:
        msg = f"--cascade needs two different judges, got {value!r}"
        raise UsageError(msg)
    return cheap, expensive


def load_thresholds(
    path: Path | None, cheap: str, expensive: str, prompt: PromptStyle = "full"
) -> CascadeThresholds:
    """The thresholds file for these two judges sending ``prompt``; exit 2 when missing,
    unreadable, or chosen for other judges or another prompt."""
    if path is None:
        msg = "--cascade needs --cascade-thresholds FILE (thresholds chosen on labelled data)"
        raise UsageError(
            msg,
            f"choose them with: perceived-error bench DATA --cascade {cheap},{expensive}"
            " --report DIR (writes DIR/cascade.json)",
        )
    try:
        thresholds = CascadeThresholds.load(path)
        thresholds.check_judges(cheap, expensive)
        thresholds.check_prompt(PROMPT_VERSIONS[prompt])
    except CascadeThresholdsError as e:
        raise UsageError(str(e)) from e
    return thresholds


def cascade_judge(
    value: str,
    thresholds_path: Path | None,
    build: Callable[[str], PerceivedErrorJudge],
    prompt: PromptStyle = "full",
) -> CascadeJudge:
    """The cascade for ``--cascade value``: ``build(spec)`` makes each judge (with the command's
    own options, ``prompt`` among them), after the thresholds file was checked."""
    cheap, expensive = parse_cascade(value)
    thresholds = load_thresholds(thresholds_path, cheap, expensive, prompt)
    return CascadeJudge(build(cheap), build(expensive), thresholds)
