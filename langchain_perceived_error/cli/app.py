"""The root ``perceived-error`` Typer app, progress bars, clients closed at exit, logging set-up.

Help is plain text (no rich panels), so an option name is never cut at any terminal width.
:data:`stderr` and :func:`say` are re-exported from :mod:`~langchain_perceived_error.cli.console`.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import Annotated, Protocol, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from langchain_perceived_error import __version__
from langchain_perceived_error.cli.console import say, stderr
from langchain_perceived_error.cli.errors import ErrorBoundary
from langchain_perceived_error.redaction.scrub import scrub

__all__ = ["app", "close_at_exit", "progress_bar", "say", "stderr"]

app = typer.Typer(
    name="perceived-error",
    help="Did the user perceive that the assistant made a mistake? Judge traces for it.",
    cls=ErrorBoundary,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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


class _OneLine(logging.Formatter):
    """``warning: message`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = " ".join(record.getMessage().split())
        return f"{record.levelname.lower()}: {message}"


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
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error.")
    ] = False,
) -> None:
    ErrorBoundary.debug = debug
    ctx.call_on_close(_AT_EXIT.close)
    handler = logging.StreamHandler()  # sys.stderr of this command: scrubbed, never wrapped
    handler.setFormatter(_OneLine())
    handler.addFilter(_ScrubSecrets())
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        handlers=[handler],
        force=True,
    )
