"""Paths the commands read and write: checked before any work, written whole or not at all.

Every writing command calls :func:`check_paths` before it reads or opens anything: an input that
cannot be read, or an output that is (or resolves to, through links) one of the inputs, is a
folder or another file that is not a regular one (``/dev/null``, a pipe: the temporary file renamed
into place would replace it), or lies in a folder that does not exist or cannot be written, stops
the command with one line. Outputs are written with :func:`atomic_write`: an anonymous temporary
file beside the target, renamed into place on success, so a crash never leaves a half-written file
where a good one was, and a kill leaves no temporary file behind.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from langchain_perceived_error.cli.errors import InputError, UsageError

__all__ = [
    "STDIN",
    "atomic_write",
    "check_inputs",
    "check_not_input",
    "check_outputs",
    "check_paths",
    "prepare_report_dir",
]

STDIN = "-"


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def check_inputs(inputs: Iterable[str | Path]) -> None:
    """Every input exists and can be read (``-`` is stdin); else :class:`InputError` (exit 1)."""
    for name in inputs:
        if str(name) == STDIN:
            continue
        path = Path(name)
        if not path.exists():
            msg = f"cannot read {path}: no such file"
            raise InputError(msg, "check the path")
        if path.is_dir():
            msg = f"cannot read {path}: it is a folder"
            raise InputError(msg, "give the files inside it")
        if not os.access(path, os.R_OK):
            msg = f"cannot read {path}: permission denied"
            raise InputError(msg, "check the permissions")


def check_not_input(output: Path | None, inputs: Iterable[str | Path]) -> None:
    """``output`` is none of ``inputs``, through links too; else :class:`UsageError` (exit 2)."""
    if output is None:
        return
    for source in (Path(name) for name in inputs if str(name) != STDIN):
        if _same_file(output, source) or output.resolve() == source.resolve():
            msg = f"the output {output} is also an input ({source}): nothing was written"
            raise UsageError(msg, "write the output to another file")


def check_outputs(outputs: Iterable[Path | None], inputs: Iterable[str | Path] = ()) -> None:
    """Every output can be written and is none of ``inputs``; else :class:`UsageError` (exit 2)."""
    inputs = list(inputs)
    for output in outputs:
        if output is None:
            continue
        if str(output) == STDIN:  # stdin for inputs; as an output it would be a file named "-"
            msg = "cannot write '-': it would be a file named '-', not stdout"
            raise UsageError(msg, "give a file name")
        check_not_input(output, inputs)
        if output.is_dir():
            msg = f"cannot write {output}: it is a folder"
            raise UsageError(msg, "give a file path")
        if output.exists() and not output.is_file():  # a temporary file would be renamed over it
            msg = f"cannot write {output}: it is not a regular file (a device, pipe or socket)"
            raise UsageError(msg, "give the path of a regular file")
        folder = output.parent
        if not folder.is_dir():
            msg = f"cannot write {output}: the folder {folder} does not exist"
            raise UsageError(msg, "create it first")
        if not os.access(folder, os.W_OK | os.X_OK):
            msg = f"cannot write {output}: the folder {folder} is not writable"
            raise UsageError(msg, "check the permissions")
        if output.exists() and not os.access(output, os.W_OK):
            msg = f"cannot write {output}: permission denied"
            raise UsageError(msg, "check the permissions")


def prepare_report_dir(folder: Path, inputs: Iterable[str | Path] = ()) -> None:
    """Create ``folder`` now (before any paid work) or check the existing one can be written."""
    if folder.exists() and not folder.is_dir():
        msg = f"cannot write into {folder}: it is a file"
        raise UsageError(msg, "give a folder path")
    if not folder.exists():
        check_outputs([folder], inputs)  # refuses a missing or read-only parent
    try:
        folder.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        msg = f"cannot write into {folder}: {e.strerror or e}"
        raise UsageError(msg, "give a writable folder") from e


def check_paths(inputs: Iterable[str | Path], outputs: Iterable[Path | None]) -> None:
    """:func:`check_outputs` (exit 2), then :func:`check_inputs` (exit 1)."""
    inputs = list(inputs)
    check_outputs(outputs, inputs)
    check_inputs(inputs)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: Path) -> Iterator[TextIO]:
    """A text file written in full or not at all, with nothing left behind by a kill.

    The text goes to an anonymous file in ``path``'s folder (``O_TMPFILE`` where the system has
    it, else a file unlinked at once), so a process killed mid-write leaves no file. On success
    the text is given a name (the ``O_TMPFILE`` file linked; otherwise copied) and renamed over
    ``path``. The file gets the permissions of a plain ``open(path, "w")`` (0666 less the umask),
    or keeps those of the file it replaces.
    """
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
    with _anonymous(path.parent) as out:
        yield out
        out.flush()
        os.fsync(out.fileno())
        _publish(out, path, mode)


def _anonymous(folder: Path) -> TextIO:
    """A text file without a name in ``folder``; an ``O_TMPFILE`` one can be linked later."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is not None:
        try:
            return open(os.open(folder, flag | os.O_RDWR, 0o600), "w+", encoding="utf-8")
        except OSError:  # a file system without O_TMPFILE
            pass
    return tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder)


def _publish(out: TextIO, path: Path, mode: int) -> None:
    """Give the anonymous file ``out`` a name beside ``path``, then rename it over ``path``."""
    handle, named = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.unlink(named)  # the name is reserved; the link below recreates it
        try:  # linkat(AT_SYMLINK_FOLLOW): the dst_dir_fd makes os.link use it
            os.link(f"/proc/self/fd/{out.fileno()}", Path(named).name, dst_dir_fd=folder)
        except OSError:  # not an O_TMPFILE file, or no /proc: copy the text
            out.seek(0)
            with Path(named).open("x", encoding="utf-8") as copy:
                shutil.copyfileobj(out, copy)
                copy.flush()
                os.fsync(copy.fileno())
        os.chmod(named, mode)
        os.replace(named, path)
    except BaseException:
        Path(named).unlink(missing_ok=True)
        raise
    finally:
        os.close(folder)
