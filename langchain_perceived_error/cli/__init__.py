"""The ``perceived-error`` command line: one module per command group, registered on one app.

May import: :mod:`..bench`, :mod:`..fireworks`, :mod:`..datasets`, :mod:`..online`,
:mod:`..evaluation`, :mod:`..judge`, :mod:`..rules`, :mod:`..core`, :mod:`..redaction`,
:mod:`..transport`.
"""

from __future__ import annotations

from langchain_perceived_error.cli import attach as _attach  # noqa: F401 - registers `attach`
from langchain_perceived_error.cli import batch as _batch  # noqa: F401 - registers `batch`
from langchain_perceived_error.cli import bench as _bench  # noqa: F401 - registers `bench`
from langchain_perceived_error.cli import cost as _cost  # noqa: F401 - registers `cost`
from langchain_perceived_error.cli import dataset as _dataset  # noqa: F401 - registers `dataset`
from langchain_perceived_error.cli import judge as _judge  # noqa: F401 - registers `judge`
from langchain_perceived_error.cli import label as _label  # noqa: F401 - registers `label`
from langchain_perceived_error.cli import queue as _queue  # noqa: F401 - registers `queue`
from langchain_perceived_error.cli import sft as _sft  # noqa: F401 - registers `sft`
from langchain_perceived_error.cli import watch as _watch  # noqa: F401 - registers `watch`
from langchain_perceived_error.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``perceived-error`` script."""
    app()
