"""``perceived-error label``: label traces with a panel of models, adjudicators and humans.

::

    perceived-error label traces.jsonl -p fireworks:<a> -p openai:gpt-5-mini -a anthropic:<c> \\
        --review review.jsonl -o labelled.jsonl
    # a human fills perceived_error (and reason) in review.jsonl, then:
    perceived-error label traces.jsonl -p ... -a ... --import-reviews review.jsonl \\
        --review review.jsonl -o labelled.jsonl

Every panel model judges each trace; unanimous -> labelled; split -> the adjudicators decide
with every panel verdict in view; still split or any failure -> a human: an annotation queue
(``--queue``, for traces that carry LangSmith run or thread ids) or the review file (``--review``,
default ``<output>.review.jsonl``). Labelled records go to ``--output`` (canonical JSONL).

A later run imports the answers: ``--import-reviews FILE`` (answered lines become human labels;
unanswered ones are carried over without judging them again) and ``--import-project NAME`` (human
``perceived_error`` feedback on the project, e.g. from the queue). Traces with an imported answer
are not judged again. A review file that holds answers is never overwritten unless it is imported.
Both files are written to a temporary file and moved into place at the end, so a failed run leaves
the previous ones intact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, TextIO, TypeVar

import typer
from langsmith.utils import LangSmithError
from rich.table import Table

from langchain_perceived_error.bench.cache import CacheError, DiskCache, with_cache
from langchain_perceived_error.cli.app import app, progress_bar, say, stderr
from langchain_perceived_error.cli.errors import InputError, Terminated, run_interruptibly
from langchain_perceived_error.cli.options import (
    ApiKeyOption,
    ApiUrlOption,
    RedactOption,
    TimeoutOption,
    WorkspaceOption,
    exit_with,
    langsmith_clients,
)
from langchain_perceived_error.cli.paths import (
    atomic_write,
    check_inputs,
    check_not_input,
    check_outputs,
)
from langchain_perceived_error.core.records import ReadReport, count_records, read_records
from langchain_perceived_error.core.schemas import LabelledRecord
from langchain_perceived_error.datasets.labels import LabelFileError, LoadReport
from langchain_perceived_error.datasets.langsmith_labels import (
    LangSmithLabelError,
    load_langsmith_labels,
)
from langchain_perceived_error.datasets.panel import (
    AgreementReport,
    PanelLabeller,
    PanelOutcome,
    plan_outcomes,
    queue_item_for,
)
from langchain_perceived_error.datasets.reviews import ReviewItem, read_reviews
from langchain_perceived_error.judge.graph import DEFAULT_MAX_ATTEMPTS
from langchain_perceived_error.judge.models import ModelSpec, ModelSpecError, resolve_model
from langchain_perceived_error.judge.runner import DEFAULT_CONCURRENCY
from langchain_perceived_error.online.clients import (
    LangSmithClients,
    ProjectNotFoundError,
    resolve_project,
)
from langchain_perceived_error.online.queues import (
    PushReport,
    QueueError,
    QueueItem,
    ensure_queue,
    push_items,
)
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = [
    "agreement_tables",
    "label_command",
]


# -- imported answers ------------------------------------------------------------------------------


@dataclass
class _Imports:
    answers: dict[str, LabelledRecord] = field(default_factory=dict)
    pending: dict[str, ReviewItem] = field(default_factory=dict)
    reports: dict[str, LoadReport] = field(default_factory=dict)


def _import_reviews(paths: list[Path], imports: _Imports) -> None:
    for path in paths:
        report = imports.reports.setdefault(str(path), LoadReport())
        for item in read_reviews(path):
            report.read += 1
            if item.answered:
                report.loaded += 1
                imports.answers[item.id] = item.to_labelled()
                imports.pending.pop(item.id, None)
            elif item.id not in imports.answers:
                report.skip("not answered yet", item.id)
                imports.pending[item.id] = item


def _import_project(
    clients: LangSmithClients, project: str, since_days: float, imports: _Imports
) -> None:
    report = imports.reports.setdefault(f"project {project}", LoadReport())
    since = datetime.now(timezone.utc) - timedelta(days=since_days)
    project_id = resolve_project(clients, project)
    for record in load_langsmith_labels(
        clients, project_id=project_id, since=since, human_only=True, report=report
    ):
        imports.answers[record.id] = record
        imports.pending.pop(record.id, None)


def _check_review_file(review: Path, imported: list[Path]) -> None:
    """Refuse to overwrite a review file holding answers that this run does not import."""
    if not review.exists() or any(review.resolve() == p.resolve() for p in imported):
        return
    try:
        answered = sum(1 for item in read_reviews(review) if item.answered)
    except LabelFileError as e:  # it may hold answers: never overwrite what cannot be read
        exit_with(f"{e} (or write the review file elsewhere with --review)", 2)
    if answered:
        exit_with(
            f"{review} holds {answered} human answer(s): import them with --import-reviews "
            f"{review}, or write the review file elsewhere with --review",
            2,
        )


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class _Routing:
    queue_items: list[QueueItem] = field(default_factory=list)
    to_file: int = 0
    no_langsmith_ids: int = 0


def _route(outcome: PanelOutcome, queue: bool, reviews: TextIO, routing: _Routing) -> None:
    review = outcome.review
    if review is None:
        return
    item = queue_item_for(review.sources) if queue else None
    if item is not None:
        routing.queue_items.append(item)
        return
    routing.no_langsmith_ids += queue
    routing.to_file += 1
    reviews.write(review.model_dump_json() + "\n")


async def _outcomes(
    labeller: PanelLabeller | None,
    inputs: list[str],
    imports: _Imports,
    concurrency: int,
    read: ReadReport,
) -> AsyncIterator[PanelOutcome]:
    if labeller is None:  # nothing to judge: imported answers and waiting items only
        for _, _, known in plan_outcomes([], imports.answers, imports.pending):
            if known is not None:
                yield known
        return
    async for outcome in labeller.alabel_many(
        read_records(inputs, read),
        concurrency=concurrency,
        answers=imports.answers,
        pending=imports.pending,
    ):
        yield outcome


async def _label_all(
    labeller: PanelLabeller | None,
    inputs: list[str],
    imports: _Imports,
    *,
    concurrency: int,
    queue: bool,
    out: TextIO,
    reviews: TextIO,
    read: ReadReport,
) -> tuple[AgreementReport, _Routing]:
    report = labeller.new_report() if labeller else AgreementReport(panel=[])
    routing = _Routing()
    total = count_records(inputs) if inputs else None
    with progress_bar("labelling") as progress:
        task = progress.add_task("label", total=total)
        async for outcome in _outcomes(labeller, inputs, imports, concurrency, read):
            report.add(outcome)
            if outcome.record is not None:
                out.write(outcome.record.model_dump_json() + "\n")
            _route(outcome, queue, reviews, routing)
            progress.advance(task)
    return report, routing


# -- the summary -----------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> str:
    return f"{part} ({part / whole:.1%})" if whole else str(part)


def agreement_tables(report: AgreementReport) -> list[Table]:
    """The run summary (stages and rates) and the panel's pairwise agreement, as rich tables."""
    stages = Table(title="perceived-error panel labelling", show_header=False)
    stages.add_column("what", style="bold")
    stages.add_column("value", justify="right")
    stages.add_row("panel", ", ".join(report.panel))
    stages.add_row("adjudicators", ", ".join(report.adjudicators) or "none")
    stages.add_row("traces", str(report.records))
    stages.add_row("  not multi-turn (skipped)", str(report.skipped))
    stages.add_row("  unreadable", str(report.unreadable))
    stages.add_row("  human answers imported", str(report.imported))
    stages.add_row("  awaiting a human (carried over)", str(report.awaiting))
    stages.add_row("panel judged", str(report.panel_judged))
    whole = report.panel_unanimous + report.panel_split
    stages.add_row("  unanimous (unanimity rate)", _rate(report.panel_unanimous, whole))
    stages.add_row("    of which perceived error", str(report.panel_unanimous_true))
    stages.add_row("  split", str(report.panel_split))
    stages.add_row("  a member failed", str(report.panel_failed))
    stages.add_row("adjudicated", str(report.adjudicated))
    stages.add_row(
        "  resolved (resolution rate)", _rate(report.adjudication_resolved, report.adjudicated)
    )
    stages.add_row("  still split", str(report.adjudication_split))
    stages.add_row("  an adjudicator failed", str(report.adjudication_failed))
    stages.add_row("sent to humans", str(report.to_humans))
    stages.add_row(
        "labelled",
        f"{report.labelled} ({report.labelled_true} true, {report.labelled_false} false)",
    )
    pairs = Table(title="panel agreement (traces both judged)")
    pairs.add_column("pair")
    pairs.add_column("n", justify="right")
    pairs.add_column("agreement", justify="right")
    pairs.add_column("Cohen's kappa", justify="right")
    for pair in report.pairs.values():
        kappa = pair.kappa
        agreement = pair.agreement
        pairs.add_row(
            f"{pair.first} / {pair.second}",
            str(pair.n),
            "n/a" if agreement is None else f"{agreement:.3f}",
            "n/a" if kappa is None else f"{kappa:.3f}",
        )
    return [stages, pairs]


def _print_imports(imports: _Imports) -> None:
    for source, report in imports.reports.items():
        say(f"imported from {source}: {report.describe()}")


def _print_routing(
    routing: _Routing, review: Path, queue: str | None, pushed: PushReport | None
) -> None:
    if pushed is not None:
        say(
            f"annotation queue {queue!r}: {len(routing.queue_items)} item(s), added "
            f"{pushed.added}, already there {pushed.already_queued}"
        )
    if routing.no_langsmith_ids:
        say(
            f"warning: {routing.no_langsmith_ids} trace(s) carry no LangSmith "
            f"run or thread id and cannot go to the queue: written to {review} instead"
        )
    if routing.to_file:
        say(f"review file: {review} ({routing.to_file} item(s) for a human)")


# -- the command -----------------------------------------------------------------------------------


_T = TypeVar("_T")


async def _closing(labeller: PanelLabeller | None, work: Awaitable[_T]) -> _T:
    """Await ``work``, then close the labeller's HTTP clients on the same event loop."""
    try:
        return await work
    finally:
        if labeller is not None:
            await labeller.aclose()


def _run_interruptibly(work: Coroutine[Any, Any, _T], cache: Path | None) -> _T:
    """Run ``work`` (:func:`run_interruptibly`); on Ctrl-C / SIGTERM, say what was kept and next."""
    try:
        return run_interruptibly(work)
    except KeyboardInterrupt as e:
        what = "terminated" if isinstance(e, Terminated) else "interrupted"
        kept = (
            f"finished model calls are in {cache}: re-run the same command to go on"
            if cache
            else "re-run the same command with --cache FILE to keep finished model calls next time"
        )
        say(f"{what}: nothing was written (label writes its files whole at the end); {kept}")
        raise typer.Exit(143 if isinstance(e, Terminated) else 130) from None


def _models(specs: list[str], cache: Path | None, timeout: float) -> list[ModelSpec]:
    """The specs as models with a request ``timeout``, reading and writing ``cache`` if given."""
    disk = None if cache is None else DiskCache(cache)
    models: list[ModelSpec] = []
    for spec in specs:
        model = resolve_model(spec, timeout=timeout)
        models.append(model if disk is None else with_cache(model, disk))
    return models


@app.command("label")
def label_command(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Traces to label: anything `judge` reads (.jsonl, .json, '-' = stdin).",
            show_default=False,
        ),
    ] = None,
    panel: Annotated[
        list[str] | None,
        typer.Option("--panel", "-p", help="A panel model spec (repeat: at least two)."),
    ] = None,
    adjudicator: Annotated[
        list[str] | None,
        typer.Option("--adjudicator", "-a", help="An adjudicator model spec (repeatable)."),
    ] = None,
    queue: Annotated[
        str | None,
        typer.Option("--queue", "-q", help="Send traces for humans to this annotation queue."),
    ] = None,
    review: Annotated[
        Path | None,
        typer.Option(
            "--review",
            help="Review JSONL for humans. Default: <output stem>.review.jsonl.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Labelled records (canonical JSONL).")
    ] = Path("labelled.jsonl"),
    import_reviews: Annotated[
        list[Path] | None,
        typer.Option(
            "--import-reviews",
            exists=True,
            dir_okay=False,
            help="A review file with human answers to import (repeatable).",
        ),
    ] = None,
    import_project: Annotated[
        str | None,
        typer.Option(
            "--import-project", help="Import human perceived_error feedback of this project."
        ),
    ] = None,
    since_days: Annotated[
        float, typer.Option("--since-days", min=0, help="--import-project: look back this far.")
    ] = 30.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Traces labelled at once.")
    ] = DEFAULT_CONCURRENCY,
    max_attempts: Annotated[
        int,
        typer.Option("--max-attempts", min=1, help="Model calls per judgement, retries included."),
    ] = DEFAULT_MAX_ATTEMPTS,
    include_tools: Annotated[
        bool, typer.Option("--include-tools", help="Show tool calls and results as text.")
    ] = False,
    redact: RedactOption = False,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="On-disk cache of model calls: a re-run after a crash repeats no finished call.",
        ),
    ] = None,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    workspace_id: WorkspaceOption = None,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Label traces with a panel of models; adjudicate splits; send the rest to humans."""
    inputs, panel, imported = inputs or [], panel or [], import_reviews or []
    if not inputs and not imported and import_project is None:
        exit_with(
            "give traces to label, or answers to import (--import-reviews, --import-project)", 2
        )
    review_path = review or output.with_name(f"{output.stem}.review.jsonl")
    check_outputs([output], [*inputs, *imported, review_path])
    check_outputs([review_path], inputs)  # the review file may be one of the imported ones
    check_not_input(cache, [*inputs, *imported, output, review_path])  # a cache is a folder
    check_inputs([*inputs, *imported])
    _check_review_file(review_path, imported)
    labeller = None
    if inputs:
        try:
            labeller = PanelLabeller(
                _models(panel, cache, timeout),
                _models(adjudicator or [], cache, timeout),
                max_attempts=max_attempts,
                include_tools=include_tools,
                redact=redact,
            )
        except (ModelSpecError, CacheError) as e:
            exit_with(e, 2)
        except ValueError as e:  # the panel's own checks (two members at least): their text only
            exit_with(str(e), 2)
    needs_langsmith = queue is not None or import_project is not None
    clients = (
        langsmith_clients(api_url, api_key, workspace_id, timeout) if needs_langsmith else None
    )
    try:
        imports = _Imports()
        _import_reviews(imported, imports)
        if clients is not None and import_project is not None:
            _import_project(clients, import_project, since_days, imports)
        read = ReadReport()
        with atomic_write(output) as out, atomic_write(review_path) as reviews:
            report, routing = _run_interruptibly(
                _closing(
                    labeller,
                    _label_all(
                        labeller,
                        inputs,
                        imports,
                        concurrency=concurrency,
                        queue=queue is not None,
                        out=out,
                        reviews=reviews,
                        read=read,
                    ),
                ),
                cache,
            )
        pushed = None
        if clients is not None and queue is not None and routing.queue_items:
            pushed = push_items(clients, ensure_queue(clients, queue), routing.queue_items)
    except (
        LabelFileError,
        LangSmithLabelError,
        ProjectNotFoundError,
        QueueError,
        LangSmithError,
        OSError,
    ) as e:
        exit_with(e)
    finally:
        if clients is not None:
            clients.close()
    for problem in read.unreadable_sources:
        say(f"could not read {problem}")
    _print_imports(imports)
    for table in agreement_tables(report):
        stderr.print(table)
    _print_routing(routing, review_path, queue, pushed)
    say(f"labelled: {output}")
    if inputs and read.records == 0:
        msg = "no input records could be read"
        raise InputError(msg)
    if report.records and report.unreadable == report.records:  # as `judge`: nothing judged
        msg = f"none of the {report.records} records could be read (see `unreadable` above)"
        raise InputError(msg)
    if read.unreadable_sources:
        raise typer.Exit(1)
