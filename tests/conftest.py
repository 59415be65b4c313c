"""Shared fixtures. Append new fixtures; keep each one small."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.agent_app import CapturedThread, capture_agent_thread
from tests.servers.langsmith_capture import LocalLangSmith


@pytest.fixture
def langsmith_server() -> Iterator[LocalLangSmith]:
    """A fresh in-memory LangSmith on 127.0.0.1 (see tests/servers/langsmith_capture.py)."""
    with LocalLangSmith() as server:
        yield server


@pytest.fixture(scope="session")
def captured_thread() -> Iterator[CapturedThread]:
    """The runs captured from tracing the real LangGraph agent app over one 3-turn thread."""
    with LocalLangSmith() as server:
        yield capture_agent_thread(server)
