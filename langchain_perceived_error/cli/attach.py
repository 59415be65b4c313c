"""``perceived-error attach``: run this judge inside LangSmith as an online thread evaluator.

Creates (or reuses) a code evaluator that installs this package in LangSmith and a run rule
binding it to the project's threads; with ``--queue``, a second rule that sends flagged traces
to an annotation queue. See :mod:`langchain_perceived_error.online.attach` for why a code
evaluator, what each request holds and what a real workspace must confirm.

``--dry-run`` prints the requests (method, path, JSON body) and sends nothing: no API key is
needed for it. The key is never printed; the Fireworks key is only named (the workspace secret
``FIREWORKS_API_KEY``), never read.
"""

from __future__ import annotations

from typing import Annotated

import typer
from langsmith.utils import LangSmithError

from langchain_perceived_error.cli.app import app, say
from langchain_perceived_error.cli.options import (
    ApiKeyOption,
    ApiUrlOption,
    TimeoutOption,
    WorkspaceOption,
    exit_with,
    langsmith_clients,
)
from langchain_perceived_error.judge.models import DEFAULT_MODEL
from langchain_perceived_error.online.attach import (
    DEFAULT_EVALUATOR_NAME,
    AttachError,
    AttachResult,
    attach,
    plan_attach,
)
from langchain_perceived_error.online.clients import (
    ProjectNotFoundError,
)
from langchain_perceived_error.online.queues import QueueError
from langchain_perceived_error.transport.retries import DEFAULT_REQUEST_TIMEOUT_S

__all__ = ["attach_command"]


def _print_result(result: AttachResult, project: str) -> None:
    def state(created: bool) -> str:
        return "created" if created else "existing, reused"

    typer.echo(f"project {project!r} ({result.project_id})")
    typer.echo(f"evaluator: {result.evaluator_id} ({state(result.evaluator_created)})")
    typer.echo(f"rule: {result.rule_id} ({state(result.rule_created)})")
    if result.queue_rule_id is not None:
        typer.echo(f"annotation queue: {result.queue_id}")
        typer.echo(f"queue rule: {result.queue_rule_id} ({state(result.queue_rule_created)})")
    for warning in result.warnings:
        say(f"warning: {warning}")


@app.command("attach")
def attach_command(
    project: Annotated[str, typer.Option("--project", "-p", help="The tracing project's name.")],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="The judge model spec used inside LangSmith."),
    ] = DEFAULT_MODEL,
    sampling_rate: Annotated[
        float,
        typer.Option("--sampling-rate", min=0.0, max=1.0, help="Share of threads evaluated."),
    ] = 1.0,
    queue: Annotated[
        str | None,
        typer.Option("--queue", "-q", help="Also queue flagged traces here (a second rule)."),
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="The evaluator's name (reused when it exists).")
    ] = DEFAULT_EVALUATOR_NAME,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the requests; send nothing.")
    ] = False,
    api_url: ApiUrlOption = None,
    api_key: ApiKeyOption = None,
    workspace_id: WorkspaceOption = None,
    timeout: TimeoutOption = DEFAULT_REQUEST_TIMEOUT_S,
) -> None:
    """Create a LangSmith online evaluator running this judge on the project's threads."""
    if dry_run:
        requests = plan_attach(
            project=project, model=model, sampling_rate=sampling_rate, queue=queue, name=name
        )
        typer.echo("dry run: these requests would be sent (existing objects are reused):")
        for request in requests:
            typer.echo(request.render())
        return
    clients = langsmith_clients(api_url, api_key, workspace_id, timeout)
    with clients:
        try:
            result = attach(
                clients,
                project=project,
                model=model,
                sampling_rate=sampling_rate,
                queue=queue,
                name=name,
            )
        except (ProjectNotFoundError, AttachError, QueueError, LangSmithError) as e:
            exit_with(e)
    _print_result(result, project)
