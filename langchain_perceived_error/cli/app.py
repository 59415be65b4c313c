"""The root ``perceived-error`` Typer app, shared console and logging set-up."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Annotated, Protocol, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langchain_perceived_error import __version__
from langchain_perceived_error.scrub import scrub

__all__ = ["app", "close_at_exit", "progress_bar", "stderr"]

app = typer.Typer(
    name="perceived-error",
    help="Did the user perceive that the assistant made a mistake? Judge traces for it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)
"""Progress, logs and summaries go to stderr; results go to stdout or --output."""


_AT_EXIT = ExitStack()


class _Closeable(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=_Closeable)


def close_at_exit(resource: _C) -> _C:
    """Close ``resource`` (an HTTP client...) when the running command ends, however it ends."""
    _AT_EXIT.callback(resource.close)
    return resource


def progress_bar(label: str) -> Progress:
    """A transient ``label [bar] done/total elapsed`` bar on stderr, shown only on a terminal."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,
        transient=True,
    )


class _ScrubSecrets(logging.Filter):
    """Replace secret values in every log record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


def _version(value: bool) -> None:
    if value:
        typer.echo(f"perceived-error {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False,
) -> None:
    ctx.call_on_close(_AT_EXIT.close)
    handler = RichHandler(console=stderr, show_path=False, show_time=False)
    handler.addFilter(_ScrubSecrets())
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[handler],
        force=True,
    )
