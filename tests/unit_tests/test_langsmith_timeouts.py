"""Every LangSmith call has a connect and read timeout: a server that never answers ends a
command in bounded time with a one-line error (``--timeout``, issue 12)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from langchain_perceived_error.cli import app
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.threads import ThreadReadError, read_thread

_SAMPLE = "cookbook/data/sample_traces.jsonl"
_BOUND_S = 12.0
"""--timeout 1: three attempts of the first request (two retries) and one second of backoff."""


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A listening socket on 127.0.0.1 that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        host, port = listener.getsockname()
        yield f"http://{host}:{port}"


@pytest.mark.parametrize(
    "command",
    [
        ["queue", "--project", "p", "--queue", "q"],
        ["attach", "--project", "p"],
        ["watch", "--project", "p", "--once", "--state", "{tmp}/state.json"],
        ["dataset", "push", "{tmp}/labelled.jsonl", "--name", "d"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_silent_server_ends_each_command_in_bounded_time(
    command: list[str], silent_url: str, tmp_path: Path
):
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    if command[0] == "dataset":
        label = [
            "label",
            _SAMPLE,
            "-p",
            "rules",
            "-p",
            "rules",
            "-o",
            str(tmp_path / "labelled.jsonl"),
        ]
        assert CliRunner().invoke(app, label).exit_code == 0
    env = {"LANGSMITH_API_KEY": "lsv2_pt_test_key", "FIREWORKS_API_KEY": "fw-test"}
    started = time.monotonic()
    result = CliRunner().invoke(
        app, [*args, "--api-url", silent_url, "--timeout", "1"], env=env, catch_exceptions=False
    )
    elapsed = time.monotonic() - started
    assert elapsed < _BOUND_S, (elapsed, result.output)
    assert result.exit_code != 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "LangSmith did not answer" in lines[0]


def test_the_generated_client_times_out_too(silent_url: str):
    clients = LangSmithClients.create(
        api_key="test", api_url=silent_url, max_retries=0, timeout_s=0.3
    )
    started = time.monotonic()
    with clients, pytest.raises(ThreadReadError, match=r"did not answer within 0\.3 s"):
        read_thread(clients, project_id="00000000-0000-4000-8000-000000000002", thread_id="t")
    assert time.monotonic() - started < 3.0
