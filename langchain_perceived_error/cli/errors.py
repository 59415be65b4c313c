"""The CLI's one error boundary: expected failures become one line, exit codes are fixed.

Every command runs inside :class:`ErrorBoundary` (the root group's ``invoke``), which turns

- expected failures (a missing or unwritable path, a directory where a file belongs, a provider
  without its package or key, invalid data, a refused request) into ``error: <what> (<hint>)``
  on stderr, with the exit code of :data:`EXIT_CODES`;
- anything unexpected into one line that names the file holding the full traceback (or, with
  ``--debug``, the traceback itself);
- a bad option or argument of a command (click's usage errors) into one line, exit 2;
- SIGINT / SIGTERM into exit 130 / 143 (commands print what they had written first; an
  interrupt no command reported, such as one while the input is counted, gets one line).

Everything the process writes to stdout and stderr while a command runs passes
:class:`ScrubbedStream`, so no secret (a key-like environment variable, an ``--api-key``, a
key-shaped token) is printed, whatever a server echoed back.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any, NoReturn, TypeVar

import typer
from langsmith.utils import LangSmithError
from pydantic import ValidationError
from rich.markup import escape
from typer.core import TyperGroup

from langchain_perceived_error.cli.console import say
from langchain_perceived_error.redaction.scrub import scrub

__all__ = [
    "EXIT_CODES",
    "CliError",
    "ErrorBoundary",
    "InputError",
    "Terminated",
    "UsageError",
    "describe",
    "fail",
    "run_interruptibly",
]

_T = TypeVar("_T")

EXIT_CODES = {
    0: "every input was read and at least one record got a verdict or a skip (some may have "
    "failed: the summary says how many)",
    1: "an input could not be read, no record could be judged, or a request was refused",
    2: "usage: a bad option or path, a bad model spec, a provider without its key or package",
    3: "a Fireworks job is not finished: `batch collect` of a job still running or stalled, "
    "`sft status` of a stalled job (PAUSED...)",
    130: "interrupted (Ctrl-C); what was written is kept and the resume command is printed",
    143: "terminated (SIGTERM); as for 130",
}
"""The exit codes of every ``perceived-error`` command; a test checks the README's table matches."""

PACKAGE = __name__.split(".", 1)[0]
_USAGE_ERRORS = frozenset(
    {
        "ModelSpecError",
        "PriceFileError",
        "CacheError",
        "FireworksConfigError",
        "LangSmithConfigError",
        "ResumeMismatchError",
    }
)
"""Package errors that mean "the command was given something it cannot use": exit 2."""


class CliError(Exception):
    """An expected failure of a command: printed as one line, with an exit code and a hint."""

    code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(CliError):
    """Bad options, paths or specs: exit 2."""

    code = 2


class InputError(CliError):
    """An input that cannot be read, or nothing that could be judged: exit 1."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so the same clean-up runs."""


_OS_HINTS: dict[type[OSError], str] = {
    FileNotFoundError: "check the path",
    IsADirectoryError: "give a file, not a folder",
    NotADirectoryError: "a part of the path is not a folder",
    PermissionError: "check the permissions",
}


def _os_message(error: OSError) -> tuple[str, str | None]:
    name = error.filename if error.filename is not None else ""
    what = error.strerror or str(error)
    hint = next((h for kind, h in _OS_HINTS.items() if isinstance(error, kind)), None)
    return (f"{name}: {what}" if name else what), hint


def describe(error: BaseException) -> tuple[int, str, str | None] | None:
    """``(exit code, message, hint)`` for an expected failure, or None for a bug."""
    if isinstance(error, CliError):
        return error.code, str(error), error.hint
    if isinstance(error, OSError) and not type(error).__module__.startswith(PACKAGE):
        message, hint = _os_message(error)
        return 1, message, hint
    if isinstance(error, ValidationError):
        return 1, f"invalid data: {error}", None
    if isinstance(error, UnicodeDecodeError):
        return 1, f"not UTF-8 text: {error}", "save the file as UTF-8"
    if isinstance(error, json.JSONDecodeError):
        return 1, f"invalid JSON: {error}", None
    if isinstance(error, LangSmithError):
        return 1, str(error), None
    if type(error).__module__.startswith(PACKAGE):
        return (2 if type(error).__name__ in _USAGE_ERRORS else 1), str(error), None
    return None


def _line(message: str, hint: str | None = None) -> str:
    text = " ".join(message.split())  # one line, whatever the error text held
    return f"{text} ({hint})" if hint else text


def fail(error: BaseException | str, code: int | None = None, hint: str | None = None) -> NoReturn:
    """Print ``error: <what> (<hint>)`` on stderr and exit with the error's code (or ``code``)."""
    if isinstance(error, BaseException):
        known = describe(error)
        found, message, found_hint = known or (1, f"{type(error).__name__}: {error}", None)
        code, hint = code if code is not None else found, hint or found_hint
    else:
        message, code = error, 1 if code is None else code
    say(f"[red]error:[/red] {escape(_line(message, hint))}", markup=True)
    raise typer.Exit(code) from (error if isinstance(error, BaseException) else None)


def _crash_report(error: BaseException) -> Path | None:
    text = scrub("".join(traceback.format_exception(error)))
    try:
        handle, name = tempfile.mkstemp(prefix=f"{PACKAGE}-crash-{time.strftime('%Y%m%d-%H%M%S')}-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError:
        return None
    return Path(name)


class ScrubbedStream:
    """A text stream that passes everything written through it by :func:`scrub`."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` without secrets."""
        return self._stream.write(scrub(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _scrubbed_output() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout = ScrubbedStream(sys.stdout)
    sys.stderr = ScrubbedStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


_INTERRUPTED: list[bool] = []
"""Non-empty once a signal was turned into an interrupt in this process."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    _INTERRUPTED.append(True)
    _quiet_about_abandoned_coroutines()
    raise Terminated


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    _INTERRUPTED.append(True)
    _quiet_about_abandoned_coroutines()
    raise KeyboardInterrupt


_ABANDONED = r"coroutine '.*' was never awaited"
_SHUTDOWN_ERRORS = (RuntimeError, GeneratorExit, asyncio.CancelledError)


def _quiet_about_abandoned_coroutines() -> None:
    """From an interrupt on, drop Python's reports about the coroutines it abandoned.

    The interrupt lands in whatever bytecode runs: between a coroutine's creation and its first
    step (Python then warns "coroutine ... was never awaited" when it is collected), or in one
    whose ``finally`` needs the event loop that is gone by the time it is closed ("Exception
    ignored in: <coroutine ...>" with a ``RuntimeError``). The command says that it was
    interrupted and what it kept; these reports are its own shutdown, so they are dropped, and
    nothing else is (another error of a coroutine still goes to the previous hook). Called at
    each interrupt and again when the command's signal handling ends: an interrupt landing
    inside a ``warnings.catch_warnings()`` block loses the filter when that block exits.
    """
    warnings.filterwarnings("ignore", message=_ABANDONED, category=RuntimeWarning)
    if getattr(sys.unraisablehook, "drops_abandoned_coroutines", False):
        return
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        abandoned = inspect.iscoroutine(unraisable.object) and isinstance(
            unraisable.exc_value, _SHUTDOWN_ERRORS
        )
        if not abandoned:
            previous(unraisable)

    hook.drops_abandoned_coroutines = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def run_interruptibly(work: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run(work)``, without asyncio's reports about the tasks an interrupt ended.

    SIGINT and SIGTERM raise in whatever frame runs (:func:`_signals_as_interrupts`), often inside
    a task of the judge graph. That task then holds the interrupt as its exception, and asyncio
    would log "Task exception was never retrieved" with a traceback when it is collected (and
    "Task was destroyed but it is pending!" for tasks waiting on it). The command already says
    that it was interrupted and what it kept, so those reports are dropped; any other is not.
    """
    interrupted = False

    def report(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if interrupted or isinstance(context.get("exception"), KeyboardInterrupt):
            return
        loop.default_exception_handler(context)

    async def main() -> _T:
        asyncio.get_running_loop().set_exception_handler(report)
        return await work

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        interrupted = True
        raise


@contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGINT and SIGTERM raise at once in the main thread, even inside a blocking read.

    (``asyncio.run`` would otherwise replace Python's SIGINT handler with one that only cancels
    its main task at the next ``await``: a judge blocked reading stdin would not stop.)
    """
    try:
        previous = {
            signal.SIGINT: signal.signal(signal.SIGINT, _raise_interrupt),
            signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_terminated),
        }
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if _INTERRUPTED:  # outside any command code: no catch_warnings block can undo it here
            _quiet_about_abandoned_coroutines()


class ErrorBoundary(TyperGroup):
    """The root group: runs the command with scrubbed output and turns failures into a line."""

    debug = False

    def invoke(self, ctx: Any) -> Any:  # click.Context, which typer does not re-export
        """Run the command; see the module docstring for what happens to its failures."""
        with _scrubbed_output(), _signals_as_interrupts():
            try:
                return super().invoke(ctx)
            except (typer.Exit, typer.Abort):
                raise
            except typer.TyperException as error:  # a bad option or argument of a command
                self._usage(error, ctx)
            except KeyboardInterrupt as interrupt:  # one the command did not report itself
                what = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
                say(f"{what}: the command stopped before it finished")
                raise typer.Exit(143 if what == "terminated" else 130) from None
            except Exception as error:
                if describe(error) is not None:
                    fail(error)
                self._unexpected(error)

    @staticmethod
    def _usage(error: typer.TyperException, ctx: Any) -> NoReturn:
        """Click's usage errors (exit 2) as one line with a pointer to ``-h``, not a usage block.

        A command group given without its subcommand (``perceived-error sft``) shows its help, as
        the root does with no command: that "error" is the whole help text, not one line.
        """
        code = getattr(error, "exit_code", 1)
        if type(error).__name__ == "NoArgsIsHelpError":  # click's class; typer re-exports none
            say(error.format_message())
            raise typer.Exit(code)
        command = getattr(error, "ctx", None) or ctx
        hint = f"{command.command_path} -h shows the options" if code == 2 else None
        fail(error.format_message(), code, hint)

    def _unexpected(self, error: Exception) -> NoReturn:
        if ErrorBoundary.debug:
            say(scrub("".join(traceback.format_exception(error))))
            raise typer.Exit(1) from error
        report = _crash_report(error)
        where = f"the traceback is in {report}" if report else "the traceback could not be saved"
        fail(
            f"unexpected {type(error).__name__}: {error}",
            1,
            f"a bug: {where}; --debug shows it here",
        )
