"""``perceived-error dataset push``: labelled records -> a LangSmith dataset (train / holdout).

::

    perceived-error dataset push labelled.jsonl --name perceived-error-labels --holdout 0.2 --seed 7
    perceived-error dataset push labelled.jsonl --name perceived-error-labels --split-from sft/

Several LABELLED files may be given; a record id repeated across them keeps its first record,
except that a human label replaces a model or panel one. The holdout split is the offline
``evaluate()`` set: ``client.list_examples(dataset_name=NAME, splits=["holdout"])`` with
``judge_target`` and ``label_match_evaluator``. Pushing again adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

import typer

from langchain_perceived_error.cli.app import app, say
from langchain_perceived_error.cli.options import (
    ApiKeyOption,
    ApiUrlOption,
    TimeoutOption,
    WorkspaceOption,
    exit_with,
    langsmith_clients,
)
from langchain_perceived_error.core.schemas import LabelledRecord
from langchain_perceived_error.datasets.labels import LabelFileError, read_labelled
from langchain_perceived_error.datasets.langsmith_dataset import (
    DEFAULT_HOLDOUT,
    DatasetPushError,
    DatasetPushReport,
    push_labelled_dataset,
)
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = ["dataset_app", "merge_labelled", "push_command"]

dataset_app = typer.Typer(
    name="dataset",
    help="LangSmith datasets of labelled traces.",
    no_args_is_help=True,
)
app.add_typer(dataset_app)

_SHOWN = 5


def merge_labelled(paths: Sequence[Path]) -> Iterator[LabelledRecord]:
    """The records of several labelled files, one per id: first seen, a human label winning.

    Records are yielded in first-seen order (all files are read before the first one is yielded,
    since a later human label can replace an earlier one).
    """
    merged: dict[str, LabelledRecord] = {}
    for path in paths:
        for record in read_labelled(path):
            known = merged.get(record.id)
            if known is None or (
                record.provenance.kind == "human" and known.provenance.kind != "human"
            ):
                merged[record.id] = record
    yield from merged.values()


def _print(report: DatasetPushReport) -> None:
    if report.dry_run and report.created:
        typer.echo(f"dry run: dataset {report.dataset_name!r} does not exist: it would be created")
    else:
        state = "created" if report.created else "existing"
        typer.echo(f"dataset {report.dataset_name!r} ({report.dataset_id}, {state})")
    typer.echo(f"records read: {report.records}")
    typer.echo(f"left out, not multi-turn: {report.not_multi_turn}")
    typer.echo(f"left out, repeated transcript or id: {report.duplicates}")
    if report.not_in_sft_split:
        typer.echo(f"left out, not in the SFT split: {report.not_in_sft_split}")
    typer.echo(f"train: {report.splits['train']}, holdout: {report.splits['holdout']}")
    if report.dry_run:
        typer.echo(
            f"dry run: {report.added} example(s) would be added, already in the dataset: "
            f"{report.already_present}; nothing was sent"
        )
    else:
        typer.echo(f"added: {report.added}, already in the dataset: {report.already_present}")
    if report.changed:
        shown = ", ".join(report.changed[:_SHOWN])
        say(
            f"warning: {len(report.changed)} example(s) exist with another "
            f"label and were left as they are ({shown}); push to a new --name to publish them"
        )


@dataset_app.command("push")
def push_command(
    labelled: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Labelled JSONL file(s) (from `label`).",
            show_default=False,
        ),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The dataset (created if missing).")],
    holdout: Annotated[
        float | None,
        typer.Option(
            "--holdout",
            min=0.0,
            max=0.99,
            help=f"Share held out, by conversation and label (default {DEFAULT_HOLDOUT}).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Split seed.")] = 0,
    split_from: Annotated[
        Path | None,
        typer.Option(
            "--split-from",
            exists=True,
            file_okay=False,
            help="An SFT build directory: reuse its train/holdout split exactly.",
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Description of a new dataset.")
    ] = None,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    workspace_id: WorkspaceOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Read and count what would be pushed; write nothing."),
    ] = False,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Push labelled records as LangSmith examples, split train/holdout, once each."""
    if split_from is not None and holdout is not None:
        exit_with("give --split-from or --holdout, not both (the SFT build fixed its split)", 2)
    clients = langsmith_clients(api_url, api_key, workspace_id, timeout)
    try:
        report = push_labelled_dataset(
            clients.client,
            merge_labelled(labelled),
            name=name,
            holdout=DEFAULT_HOLDOUT if holdout is None else holdout,
            seed=seed,
            split_from=split_from,
            description=description,
            dry_run=dry_run,
        )
    except (LabelFileError, DatasetPushError, ValueError, OSError) as e:
        exit_with(e)
    finally:
        clients.close()
    _print(report)
