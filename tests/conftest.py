"""Shared fixtures. Append new fixtures; keep each one small."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from langchain_perceived_error.online.clients import LangSmithClients
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


@pytest.fixture
def langsmith_clients(langsmith_server: LocalLangSmith) -> Iterator[LangSmithClients]:
    """Both real LangSmith clients (hand-written and generated) pointed at ``langsmith_server``."""
    clients = LangSmithClients.create(api_key="test", api_url=langsmith_server.url, max_retries=3)
    with clients:
        yield clients


@pytest.fixture
def traced_thread(langsmith_server: LocalLangSmith) -> CapturedThread:
    """The agent app's 3-turn thread, traced by the real SDK into ``langsmith_server``."""
    return capture_agent_thread(langsmith_server)


# -- Fireworks (sft, fireworks and batch) ---------------------------------------------------------


@pytest.fixture
def fireworks_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A fresh in-memory Fireworks on 127.0.0.1 (tests/servers/fireworks_server.py).

    ``SSL_CERT_FILE`` points at its self-signed certificate, so plain httpx clients (the SDK's
    signed-URL uploads, our downloads) trust its https signed URLs.
    """
    from tests.servers.fireworks_server import LocalFireworks

    with LocalFireworks() as server:
        if server.ca_file is not None:
            monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        yield server


@pytest.fixture
def fireworks_env(fireworks_server: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """``fireworks_server`` plus the environment the CLI and cookbook read (key, account, URL)."""
    from tests.servers.fireworks_server import API_KEY, LocalFireworks

    assert isinstance(fireworks_server, LocalFireworks)
    monkeypatch.setenv("FIREWORKS_API_KEY", API_KEY)
    monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", fireworks_server.account_id)
    monkeypatch.setenv("FIREWORKS_BASE_URL", fireworks_server.url)
    return fireworks_server


_HTTP_CLIENT_FIXTURES = frozenset(
    {"httpserver", "fireworks_server", "fireworks_env", "langsmith_server", "langsmith_clients"}
)


@pytest.fixture(autouse=True)
def _collect_garbage_after_http_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that talks HTTP to a local server, collect garbage, so an unclosed client
    (an aiohttp session) warns in the test that leaked it, not at random in a later one."""
    yield
    if _HTTP_CLIENT_FIXTURES.intersection(request.fixturenames):
        gc.collect()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the random order's seed at the end too (``-q`` hides pytest-randomly's header line)."""
    if config.pluginmanager.hasplugin("randomly"):
        seed = config.getoption("randomly_seed")
        terminalreporter.write_line(f"random order: rerun it with --randomly-seed={seed}")
