"""Blocking LangSmith SDK calls from the ``watch`` worker's async code, and their one failure.

The SDK clients are synchronous: :func:`in_thread` runs a call in a worker thread and turns a
LangSmith failure that outlived the clients' retries into :class:`WatchBatchError` (the batch is
abandoned uncommitted). :func:`run_sync` is the sync shell's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from langsmith import APIError
from langsmith.utils import LangSmithError

from langchain_perceived_error.online.clients import describe_error
from langchain_perceived_error.online.feedback import FeedbackWriteError
from langchain_perceived_error.online.queues import QueueError
from langchain_perceived_error.online.state import StateFileError
from langchain_perceived_error.online.threads import ThreadReadError

__all__ = ["WatchBatchError", "in_thread", "run_sync"]

_TRANSIENT = (
    LangSmithError,
    APIError,
    FeedbackWriteError,
    QueueError,
    ThreadReadError,
    OSError,
)
_T = TypeVar("_T")


class WatchBatchError(RuntimeError):
    """A batch could not be finished (LangSmith unavailable after retries); nothing committed."""


async def in_thread(call: Callable[[], _T], what: str) -> _T:
    """Run a blocking SDK call in a worker thread; LangSmith failures become WatchBatchError."""
    try:
        return await asyncio.to_thread(call)
    except StateFileError:
        raise
    except _TRANSIENT as e:
        msg = f"could not {what} (LangSmith unavailable after retries?): {describe_error(e)}"
        raise WatchBatchError(msg) from e


def run_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run the coroutine from ``factory`` to completion; refuses inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        msg = "called the sync Watcher API inside a running event loop: await the a* method"
        raise RuntimeError(msg)

    async def main() -> _T:
        return await factory()

    return asyncio.run(main())
