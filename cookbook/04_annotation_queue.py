"""Judge a project's recent threads, write perceived_error feedback, queue the flagged ones.

    python cookbook/04_annotation_queue.py                    # demo: no keys, in-memory LangSmith
    python cookbook/04_annotation_queue.py PROJECT [QUEUE]    # real LangSmith: LANGSMITH_API_KEY

With ``LANGSMITH_API_KEY`` set, the script works on YOUR workspace (``LANGSMITH_ENDPOINT`` and
``LANGSMITH_WORKSPACE_ID`` are honoured): it reads the threads of PROJECT active in the last day,
judges each thread as one conversation, writes ``perceived_error`` feedback on each thread's last
trace and pushes the flagged threads to the annotation queue QUEUE (default
``perceived-errors``), created on first use with a perceived-error rubric.

Without a key it is a demo: it starts the in-memory LangSmith test server from ``tests/servers``
(so run it from a checkout of this repository), traces two small conversations into it with the
real ``langsmith`` SDK (one where the user corrects the assistant, one without a problem), and
then does exactly the same as above against that server.

Pushing is idempotent: items already in the queue are not added again (the script pushes twice
to show it), and feedback ids are deterministic, so re-running never duplicates anything. The
judge is the offline ``rules`` judge unless ``PERCEIVED_ERROR_MODEL`` names another model.
"""

from __future__ import annotations

import os
import sys
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from langchain_perceived_error import PerceivedErrorJudge
from langchain_perceived_error.online.clients import LangSmithClients, resolve_project
from langchain_perceived_error.online.feedback import write_thread_feedback
from langchain_perceived_error.online.queues import ThreadItem, ensure_queue, push_items
from langchain_perceived_error.online.threads import judge_thread

DEMO_PROJECT = "perceived-error-demo"
DEFAULT_QUEUE = "perceived-errors"
DEMO_THREADS = {
    "corrected": [
        ("Book me a table for two at 7pm on Friday.", "Done: a table for four at 7pm on Friday."),
        ("No, I said two people, not four.", "Sorry about that! It's now a table for two."),
    ],
    "smooth": [
        ("What's the capital of Australia?", "Canberra."),
        ("Thanks! How many people live there?", "About 470,000 people."),
    ],
}


def recent_thread_ids(clients: LangSmithClients, project_id: str, days: float = 1) -> list[str]:
    """Threads of the project with activity in the last ``days`` (generated threads API)."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    threads = clients.sdk.threads.query(project_id=project_id, min_start_time=since, page_size=100)
    return [str(thread.thread_id) for thread in threads if thread.thread_id]


def judge_and_queue(clients: LangSmithClients, project: str, queue: str) -> dict[str, Any]:
    """Judge the project's recent threads, write feedback, push the flagged ones to ``queue``."""
    project_id = resolve_project(clients, project)
    judge = PerceivedErrorJudge(os.environ.get("PERCEIVED_ERROR_MODEL") or "rules")
    flagged: list[ThreadItem] = []
    for thread_id in recent_thread_ids(clients, project_id):
        judgement = judge_thread(judge, clients, project_id=project_id, thread_id=thread_id)
        written = write_thread_feedback(clients, judgement)
        result = judgement.result
        print(
            f"thread {thread_id}: {result.status.value} {result.perceived_error} - {result.reason}"
        )
        print(f"  feedback {written.action.value} on trace {judgement.last_trace_id}")
        if result.perceived_error:
            flagged.append(ThreadItem(thread_id=thread_id, project_id=project_id))
    queue_id = ensure_queue(clients, queue)
    first = push_items(clients, queue_id, flagged)
    again = push_items(clients, queue_id, flagged)
    print(f"queue {queue!r}: added {first.added} thread(s); pushing again added {again.added}")
    return {"queue_id": queue_id, "flagged": len(flagged), "added": first.added, "again": again}


def trace_demo_threads(clients: LangSmithClients, project: str) -> None:
    """Trace :data:`DEMO_THREADS` with the real SDK: one root run per turn, thread metadata."""
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    for name, turns in DEMO_THREADS.items():
        thread_id = f"{name}-{uuid.uuid4().hex[:8]}"
        history: list[dict[str, str]] = []
        for index, (user, assistant) in enumerate(turns):
            history = [*history, {"role": "user", "content": user}]
            clients.client.create_run(
                "chat",
                {"messages": history},
                "chain",
                outputs={"messages": [*history, {"role": "assistant", "content": assistant}]},
                project_name=project,
                start_time=start + timedelta(seconds=10 * index),
                extra={"metadata": {"thread_id": thread_id}},
            )
            history = [*history, {"role": "assistant", "content": assistant}]


def _demo_server(stack: ExitStack) -> str:
    """Start the in-memory LangSmith test server (from a checkout of this repository)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.servers.langsmith_capture import LocalLangSmith

    return stack.enter_context(LocalLangSmith()).url


def main(project: str | None = None, queue: str = DEFAULT_QUEUE) -> dict[str, Any]:
    with ExitStack() as stack:
        if os.environ.get("LANGSMITH_API_KEY") or os.environ.get("LANGCHAIN_API_KEY"):
            if project is None:
                raise SystemExit("usage: 04_annotation_queue.py PROJECT [QUEUE]")
            clients = stack.enter_context(LangSmithClients.from_env())
        else:
            print("LANGSMITH_API_KEY is not set: demo against the in-memory LangSmith server")
            url = _demo_server(stack)
            clients = stack.enter_context(LangSmithClients.create(api_key="demo", api_url=url))
            project = project or DEMO_PROJECT
            trace_demo_threads(clients, project)
        return judge_and_queue(clients, project, queue)


if __name__ == "__main__":
    main(*sys.argv[1:3])
