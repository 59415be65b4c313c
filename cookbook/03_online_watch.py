"""Watch a LangSmith project: judge threads as they go idle, write feedback, queue the flagged.

    python cookbook/03_online_watch.py                              # demo: no keys, in memory
    python cookbook/03_online_watch.py --project NAME [--once] [--queue Q] [--runs]

With ``LANGSMITH_API_KEY`` set, the script watches YOUR project (``LANGSMITH_ENDPOINT`` and
``LANGSMITH_WORKSPACE_ID`` are honoured) exactly as ``perceived-error watch`` does: every
``--interval`` seconds it judges the threads that have been quiet for ``--idle`` seconds (or,
with ``--runs``, the new root runs), writes ``perceived_error`` feedback on each thread's last
trace, pushes flagged threads to the annotation queue ``--queue`` and commits its progress to a
state file, so a restart carries on where it stopped. Ctrl-C finishes the batch in flight.

Without a key it is a demo, and needs a checkout of this repository: it starts the in-memory
LangSmith test server from ``tests/servers``, traces the small LangGraph weather agent from
``tests/fixtures/agent_app.py`` into it with the real ``langsmith`` SDK over two threads (one
where the user corrects the agent, one without a problem), runs one ``--once`` pass with the
offline ``rules`` judge, prints what it found, then runs a second pass to show that nothing is
judged, written or queued twice. The same as a command::

    perceived-error watch --project NAME --once --idle 0 --queue perceived-errors --model rules
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients
from langchain_perceived_error.online.watch import (
    DEFAULT_IDLE_S,
    DEFAULT_INTERVAL_S,
    WatchConfig,
    Watcher,
    stop_on_signals,
)

DEMO_PROJECT = "perceived-error-watch-demo"
DEFAULT_QUEUE = "perceived-errors"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Watch a LangSmith project for perceived errors.")
    parser.add_argument("--project", help="the tracing project (required with a LangSmith key)")
    parser.add_argument("--queue", default=DEFAULT_QUEUE)
    parser.add_argument("--runs", action="store_true", help="judge root runs, not threads")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--idle", type=float, default=DEFAULT_IDLE_S)
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S)
    parser.add_argument("--state", type=Path, default=None)
    return parser.parse_args(argv)


def watch_real_project(args: argparse.Namespace) -> dict[str, Any]:
    """Watch the project in the workspace the environment points at (until Ctrl-C or --once)."""
    if not args.project:
        raise SystemExit("--project NAME is required when LANGSMITH_API_KEY is set")
    config = WatchConfig(
        project=args.project,
        mode="runs" if args.runs else "threads",
        queue=args.queue,
        idle_s=args.idle,
        interval_s=args.interval,
        state_path=args.state,
    )
    judge = PerceivedErrorJudge(os.environ.get("PERCEIVED_ERROR_MODEL"))
    with LangSmithClients.from_env() as clients:
        watcher = Watcher.open(clients, judge, config)
        with stop_on_signals(threading.Event()) as stop:
            if args.once:
                watcher.drain(stop)
            else:
                watcher.run(stop)
    print(f"totals: {watcher.totals.model_dump()} (state: {watcher.state_path})")
    return watcher.totals.model_dump()


def demo() -> dict[str, Any]:
    """Trace the demo agent into an in-memory LangSmith, watch it once, print what was found."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ of the checkout
    from tests.fixtures.agent_app import capture_agent_thread
    from tests.servers.langsmith_capture import LocalLangSmith

    print("LANGSMITH_API_KEY is not set: demo against the in-memory LangSmith server")
    with ExitStack() as stack:
        server = stack.enter_context(LocalLangSmith())
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        _trace_demo_threads(server, capture_agent_thread)
        clients = stack.enter_context(LangSmithClients.create(api_key="demo", api_url=server.url))
        config = WatchConfig(
            project=DEMO_PROJECT,
            queue=DEFAULT_QUEUE,
            idle_s=0.0,  # the demo's threads have only just finished
            state_path=workdir / "watch-state.json",
        )
        watcher = Watcher.open(clients, PerceivedErrorJudge("rules"), config)
        (report,) = watcher.drain()
        print(report.log_line())
        _print_findings(server)
        again = watcher.drain()
        print(f"second pass: {len(again)} batch(es), {len(server.feedback)} feedback in all")
        return {"totals": watcher.totals.model_dump(), "second_pass_batches": len(again)}


def _trace_demo_threads(server: Any, capture: Any) -> None:
    """The agent's thread with a correction, and a short thread without one."""
    capture(server, project_name=DEMO_PROJECT)
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.tracers.langchain import wait_for_all_tracers
    from langsmith.run_helpers import tracing_context

    from tests.fixtures.agent_app import ToolCallingScriptedModel, build_agent

    replies = [
        AIMessage(
            content="", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "1"}]
        ),
        AIMessage(content="It's 18°C and sunny in Paris today."),
        AIMessage(content="No umbrella needed: no rain is expected today."),
    ]
    graph = build_agent(ToolCallingScriptedModel(script=replies))
    thread_id = str(uuid.uuid4())
    config: Any = {"configurable": {"thread_id": thread_id}, "metadata": {"thread_id": thread_id}}
    client = server.client()
    try:
        with tracing_context(enabled=True, client=client, project_name=DEMO_PROJECT):
            for text in ("What's the weather in Paris today?", "Thanks. Do I need an umbrella?"):
                graph.invoke({"messages": [HumanMessage(content=text)]}, config)
        wait_for_all_tracers()
        client.flush()
    finally:
        client.cleanup()


def _print_findings(server: Any) -> None:
    for feedback in server.feedback:
        verdict = "FLAGGED" if feedback.get("score") == 1 else "ok     "
        print(f"{verdict} trace {feedback['run_id']}: {feedback.get('comment')}")
    for queue in server.queues:
        items = server.queue_items(queue["id"])
        threads = ", ".join(str(item["thread_id"]) for item in items)
        print(f"queue {queue['name']!r}: {len(items)} thread(s): {threads}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = _arguments(argv)
    if os.environ.get("LANGSMITH_API_KEY") or os.environ.get("LANGCHAIN_API_KEY"):
        return watch_real_project(args)
    return demo()


if __name__ == "__main__":
    main()
