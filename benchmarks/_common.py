"""Shared helpers for the performance benchmarks: data, one fake model for both judges, tables.

Every benchmark runs our judge and openevals' ``create_llm_as_judge(prompt=PERCEIVED_ERROR_PROMPT)``
side by side in one process, on the same traces, with the same fake chat model
(:class:`FakeJudgeModel`): it answers at once (or after a fixed latency) with a valid verdict for
either judge: plain JSON text for ours, a ``score`` tool call for openevals' structured output.

What openevals receives: openevals has no trace extraction, so each record is first turned into
the list of OpenAI chat messages a user would pass as ``outputs`` (system, user, assistant with
``tool_calls``, and ``tool`` messages), using our own reader for the odd shapes (LangSmith runs,
threads, Anthropic blocks). That conversion is done before any timer starts: it is our work
given to openevals for free.

``python benchmarks/_common.py --write-agent-traces`` regenerates ``data/agent_traces.jsonl``
(deterministic; all text is written for this project).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

from langchain_perceived_error.core.tokens import estimate_tokens

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "cookbook" / "data" / "sample_traces.jsonl"
AGENT_TRACES = Path(__file__).resolve().parent / "data" / "agent_traces.jsonl"
EURTAD = REPO_ROOT.parent / "shared" / "datasets" / "eurtad" / "items.jsonl"

OUR_ANSWER = '{"perceived_error": false, "reason": "No user turn signals an error."}'
OPENEVALS_ARGS = {"reasoning": "No user turn signals an error.", "score": False}

# -- machine and tables ---------------------------------------------------------------------------


def machine() -> str:
    """One line naming the machine, for every table's caption."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores (shared, noisy), {platform.system()}, "
        f"Python {platform.python_version()}"
    )


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a Markdown table (README-ready) with a title line."""
    cells = [[_cell(v) for v in row] for row in rows]
    print(f"\n{title}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in cells:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# -- token counting -------------------------------------------------------------------------------

TOKENIZER = (
    "the package's estimator (LangChain count_tokens_approximately: ~4 characters a token + 3 a "
    "message, tool schemas as JSON), the same for both judges"
)


def count_request(
    messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]]
) -> tuple[int, int]:
    """(input tokens, characters) a chat request would bill: messages plus tool schemas."""
    text = [m.text for m in messages] + [json.dumps(t) for t in tools]
    return estimate_tokens(messages, tools=tools), sum(len(t) for t in text)


# -- the fake model -------------------------------------------------------------------------------


class FakeJudgeModel(BaseChatModel):
    """A judge model for benchmarks: a valid verdict for either judge, instantly or after a delay.

    ``latency_s`` sleeps (``asyncio.sleep`` on the async path) before answering; with
    ``latency_draws``, the k-th request this model answers sleeps ``latency_draws[k]`` instead
    (cycling), so two models given the same draws wait the same sequence. With ``record`` on, each
    request's input tokens and characters are appended to ``requests``.
    """

    latency_s: float = 0.0
    latency_draws: list[float] | None = None
    record: bool = False
    model_name: str = "fake-judge"
    _requests: list[tuple[int, int]] = PrivateAttr(default_factory=list)
    _calls: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "fake-judge"

    @property
    def requests(self) -> list[tuple[int, int]]:
        return self._requests

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """What ``with_structured_output`` (openevals' path) calls."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _delay(self) -> float:
        if not self.latency_draws:
            return self.latency_s
        delay = self.latency_draws[self._calls % len(self.latency_draws)]
        self._calls += 1
        return delay

    def _answer(self, messages: list[BaseMessage], tools: Sequence[dict[str, Any]]) -> ChatResult:
        if self.record:
            self._requests.append(count_request(messages, tools))
        if tools:
            name = tools[0]["function"]["name"]
            message = AIMessage(
                content="", tool_calls=[{"name": name, "args": dict(OPENEVALS_ARGS), "id": "c1"}]
            )
        else:
            message = AIMessage(content=OUR_ANSWER)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        delay = self._delay()
        if delay:
            time.sleep(delay)
        return self._answer(messages, kwargs.get("tools") or [])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        delay = self._delay()
        if delay:
            await asyncio.sleep(delay)
        return self._answer(messages, kwargs.get("tools") or [])


# -- the two judges -------------------------------------------------------------------------------


def openevals_judge(model: BaseChatModel, *, use_async: bool = False) -> Any:
    """openevals' perceived-error judge, exactly as its docs build it, on ``model``."""
    from openevals.llm import create_async_llm_as_judge, create_llm_as_judge
    from openevals.prompts import PERCEIVED_ERROR_PROMPT

    factory = create_async_llm_as_judge if use_async else create_llm_as_judge
    return factory(prompt=PERCEIVED_ERROR_PROMPT, judge=model, feedback_key="perceived_error")


def openevals_input(record: Any) -> list[dict[str, Any]]:
    """The OpenAI-format messages a user would pass to openevals as ``outputs`` for a record."""
    from langchain_perceived_error.core import transcript

    # The general path's LangChain messages (the fast paths stand text-only messages in for them).
    fast_paths, transcript.FAST_PATHS = transcript.FAST_PATHS, False
    try:
        messages = transcript._messages(record)
    finally:
        transcript.FAST_PATHS = fast_paths
    return convert_to_openai_messages(messages)  # type: ignore[return-value]


# -- data -----------------------------------------------------------------------------------------


def load_jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Records of a JSON-lines file (the first ``limit``)."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                records.append(json.loads(line))
                if limit is not None and len(records) >= limit:
                    break
    return records


def cycle(records: Sequence[Any], n: int) -> list[Any]:
    """``n`` records, repeating ``records`` in order."""
    return [records[i % len(records)] for i in range(n)]


# The agent traces: tool-calling agents in five domains, generated from templates written for this
# project. About one in five ends after the assistant's answer (not eligible for judging).
_DOMAINS: list[dict[str, Any]] = [
    {
        "system": (
            "You are Ledger, the expense assistant for Brightwater Analytics. Use the tools to "
            "read and file expense reports. Amounts are in EUR unless the user says otherwise. "
            "Never submit a report without showing the total first."
        ),
        "request": "File my taxi receipts from the {city} trip last week under project {code}.",
        "tool": "search_receipts",
        "args": {"query": "taxi", "trip": "{city}", "project": "{code}"},
        "result": lambda r: {
            "receipts": [
                {
                    "id": f"rcpt_{r.randrange(10**5):05d}",
                    "merchant": r.choice(["CityCab", "GreenRide", "Metro Taxi", "AirportLink"]),
                    "amount": round(r.uniform(8, 64), 2),
                    "currency": "EUR",
                    "date": f"2025-04-{r.randrange(1, 28):02d}",
                    "status": "unfiled",
                }
                for _ in range(r.randrange(3, 9))
            ],
            "next_page": None,
        },
        "answer": "I found the taxi receipts from {city} and filed them under {code}. The total is "
        "{amount} EUR across the rides; the report is saved as a draft.",
        "followups": {
            "error": "That's the wrong project, I said {code2} not {code}. Move them.",
            "repeat": "I asked for the {city} trip only. File the taxi receipts from {city}.",
            "fine": "Great, thanks. Can you also show me the hotel total for that trip?",
        },
        "second_tool": "update_report",
    },
    {
        "system": (
            "You are Atlas, a travel-booking agent for Orbit Travel. Search flights and hotels "
            "with the tools, quote prices with taxes, and ask before booking anything paid."
        ),
        "request": "Find me a flight to {city} on the {day}th, morning, economy, one adult.",
        "tool": "search_flights",
        "args": {"destination": "{city}", "date": "2025-06-{day}", "cabin": "economy"},
        "result": lambda r: {
            "flights": [
                {
                    "flight": f"OR{r.randrange(100, 999)}",
                    "depart": f"{r.randrange(6, 12):02d}:{r.choice(['05', '20', '35', '50'])}",
                    "arrive": f"{r.randrange(12, 18):02d}:{r.choice(['00', '15', '40'])}",
                    "stops": r.choice([0, 0, 1]),
                    "price": {"amount": r.randrange(89, 420), "currency": "EUR"},
                    "fare_rules": "changeable for a fee; no refund after 24 hours",
                }
                for _ in range(r.randrange(3, 7))
            ]
        },
        "answer": "The best morning option to {city} on the {day}th is OR{num}, leaving at 07:35 "
        "and arriving 13:40, for {amount} EUR with one stop. Shall I book it?",
        "followups": {
            "error": "No, I said morning and nonstop. Why did you pick one with a stop?",
            "repeat": "Flight to {city} on the {day}th, in the MORNING please.",
            "fine": "Looks good. Book it with my saved card.",
        },
        "second_tool": "book_flight",
    },
    {
        "system": (
            "You are Patch, a coding assistant with shell and file tools in the user's "
            "repository. Run tests before claiming a fix works. Keep diffs small."
        ),
        "request": "The {city}_parser test fails on empty input. Fix it.",
        "tool": "run_shell",
        "args": {"cmd": "pytest tests/test_{city}_parser.py -q"},
        "result": lambda r: {
            "exit_code": 1,
            "stdout": "F.\n=== FAILURES ===\n___ test_empty_input ___\n"
            + "\n".join(
                f"    line {r.randrange(10, 300)}: in parse\n        tokens = text.split(sep)"
                for _ in range(r.randrange(2, 6))
            )
            + "\nE   AttributeError: 'NoneType' object has no attribute 'split'"
            + "\n1 failed, 1 passed",
        },
        "answer": "The parser called split on None when the input was empty. I added a guard that "
        "returns an empty list and the test suite passes now ({num} tests).",
        "followups": {
            "error": "You deleted the whole validation block. Undo that, I only wanted the guard.",
            "repeat": "It still fails on empty input. Please fix the empty-input case.",
            "fine": "Nice. Now add a test for whitespace-only input too.",
        },
        "second_tool": "edit_file",
    },
    {
        "system": (
            "You are Shelf, the order-support agent for Fernway Home. Look up orders, start "
            "returns and issue refunds up to 100 EUR without approval."
        ),
        "request": "Where is my order {code}? It was due on the {day}th.",
        "tool": "get_order",
        "args": {"order_id": "{code}"},
        "result": lambda r: {
            "order_id": "pending",
            "items": [
                {
                    "sku": f"FW-{r.randrange(1000, 9999)}",
                    "name": r.choice(["oak side table", "linen throw", "desk lamp", "wool rug"]),
                    "qty": r.randrange(1, 3),
                }
                for _ in range(r.randrange(1, 4))
            ],
            "shipping": {
                "carrier": r.choice(["DHL", "PostNL", "GLS"]),
                "events": [
                    {"at": f"2025-05-{d:02d}T0{r.randrange(1, 9)}:00Z", "status": s}
                    for d, s in zip(
                        range(r.randrange(1, 10), 30, 3),
                        ["label created", "picked up", "in transit", "at depot", "delayed"],
                        strict=False,
                    )
                ],
            },
        },
        "answer": "Your order {code} is in transit with the carrier and now expected on the "
        "{day2}th; the delay happened at the regional depot.",
        "followups": {
            "error": "That's not my order, {code} is the lamp. You're looking at the wrong one.",
            "repeat": "I asked where order {code} is. Where is it?",
            "fine": "Okay, thanks for checking. Let me know if it slips again.",
        },
        "second_tool": "start_return",
    },
    {
        "system": (
            "You are Quill, a calendar and email assistant. Use the tools to read the calendar and "
            "draft emails; send nothing without the user's go-ahead."
        ),
        "request": "Move my 1:1 with {name} to {weekday} afternoon and tell {name}.",
        "tool": "find_events",
        "args": {"attendee": "{name}", "title_contains": "1:1"},
        "result": lambda r: {
            "events": [
                {
                    "event_id": f"evt_{r.randrange(10**6):06x}",
                    "title": "1:1",
                    "start": f"2025-03-{r.randrange(10, 28)}T{r.randrange(9, 17):02d}:00:00+01:00",
                    "duration_min": r.choice([30, 45]),
                    "attendees": ["me", "{name}@example.org"],
                }
                for _ in range(r.randrange(1, 4))
            ]
        },
        "answer": "I moved your 1:1 with {name} to {weekday2} at 15:00 and drafted a note to "
        "{name} about the change. Send it?",
        "followups": {
            "error": "I never said {weekday2}. I said {weekday}. Put it back.",
            "repeat": "Move the 1:1 with {name} to {weekday} afternoon, like I asked.",
            "fine": "Yes, send it. And block 30 minutes before it for prep.",
        },
        "second_tool": "update_event",
    },
]

_CITIES = ["lisbon", "oslo", "kyoto", "denver", "nairobi", "porto", "ghent", "quito"]
_NAMES = ["Dana", "Theo", "Ines", "Marek", "Yuki", "Sol", "Amara", "Rafael"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def generate_agent_traces(n: int = 60, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` OpenAI-format agent traces with tool calls (deterministic for a seed)."""
    r = random.Random(seed)
    traces = []
    for i in range(n):
        domain = _DOMAINS[i % len(_DOMAINS)]
        weekday, weekday2 = r.sample(_WEEKDAYS, 2)
        fill = {
            "city": r.choice(_CITIES),
            "code": f"P-{r.randrange(100, 999)}",
            "code2": f"P-{r.randrange(100, 999)}",
            "day": str(r.randrange(10, 28)),
            "day2": str(r.randrange(10, 28)),
            "num": str(r.randrange(12, 240)),
            "amount": f"{r.uniform(40, 400):.2f}",
            "name": r.choice(_NAMES),
            "weekday": weekday,
            "weekday2": weekday2,
        }

        def f(text: str, fill: dict[str, str] = fill) -> str:
            for key, value in fill.items():
                text = text.replace("{" + key + "}", value)
            return text

        def tool_turn(
            name: str, args: dict[str, Any], result: Any, k: int, i: int = i
        ) -> list[dict[str, Any]]:
            call_id = f"call_{i:03d}_{k}"
            args_text = json.dumps(
                {key: f(v) if isinstance(v, str) else v for key, v in args.items()}
            )
            result_text = f(json.dumps(result))
            return [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": args_text},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": call_id, "content": result_text},
            ]

        messages: list[dict[str, Any]] = [
            {"role": "system", "content": domain["system"]},
            {"role": "user", "content": f(domain["request"])},
            *tool_turn(domain["tool"], domain["args"], domain["result"](r), 1),
            {"role": "assistant", "content": f(domain["answer"])},
        ]
        kind = r.choices(["none", "error", "repeat", "fine"], weights=[2, 3, 2, 3])[0]
        if kind != "none":
            messages.append({"role": "user", "content": f(domain["followups"][kind])})
            second = {"status": "ok", "changed": r.randrange(1, 5), "audit_id": f"a{i:04d}"}
            messages += tool_turn(domain["second_tool"], {"note": kind}, second, 2)
            messages.append({"role": "assistant", "content": "Done. " + f(domain["answer"])})
        traces.append(
            {
                "id": f"agent-{i:03d}",
                "expected_perceived_error": kind in ("error", "repeat"),
                "messages": messages,
            }
        )
    return traces


def generated_records(n: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """``n`` small OpenAI-format conversations (for memory runs), one at a time."""
    r = random.Random(seed)
    for i in range(n):
        turns = [
            {
                "role": "user",
                "content": f"Please book {r.randrange(2, 9)} seats for {r.choice(_CITIES)}.",
            },
            {
                "role": "assistant",
                "content": f"Booked {r.randrange(2, 9)} seats on the {r.randrange(1, 28)}th.",
            },
        ]
        if i % 5:
            follow = r.choice(
                ["No, I said the 14th, not that day.", "Thanks, that works.", "And a window seat?"]
            )
            turns.append({"role": "user", "content": follow})
        yield {"id": f"gen-{i}", "messages": turns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-agent-traces", action="store_true")
    args = parser.parse_args()
    if args.write_agent_traces:
        AGENT_TRACES.parent.mkdir(parents=True, exist_ok=True)
        with AGENT_TRACES.open("w", encoding="utf-8") as out:
            for trace in generate_agent_traces():
                out.write(json.dumps(trace, ensure_ascii=False) + "\n")
        print(f"wrote {AGENT_TRACES}")


if __name__ == "__main__":
    main()
