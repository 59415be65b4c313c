"""Item 5: a long run against a rate-limited endpoint completes with zero failed records.

A local Fireworks-compatible server on 127.0.0.1 answers ``/inference/v1/chat/completions``
through a token bucket (``--rate`` requests per second, ``--burst`` deep; the bucket starts
full). Above the rate it answers 429 with ``Retry-After`` in whole seconds (as HTTP specifies:
the wait for the next token, rounded up) and no other hint. Accepted requests answer after
``--latency``. N records go through the real ``ChatFireworks`` client (async, aiohttp) with
``PerceivedErrorJudge.ajudge_many(concurrency=C)`` and the default adaptive limiter; then, for
contrast, the same with ``rate_limiter=None`` (LangGraph ``RetryPolicy`` backoff only).

Pass: every record judged (zero failed) and throughput >= 80% of the server's rate.

    .venv/bin/python benchmarks/rate_limit.py [--records 600] [--rate 20] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import _common as c

from langchain_perceived_error import JudgeStatus, PerceivedErrorJudge
from langchain_perceived_error.judge.models import DEFAULT_FIREWORKS_MODEL, resolve_model

TARGET = 0.8
VERDICT = '{"perceived_error": true, "reason": "The user corrects the day."}'
CONVERSATION = [
    {"role": "user", "content": "Move my meeting to Tuesday."},
    {"role": "assistant", "content": "Moved it to Wednesday."},
    {"role": "user", "content": "No, I said Tuesday."},
]


class RateLimitedServer:
    """A token-bucket chat-completions server in a background thread (stop with ``close``)."""

    def __init__(self, rate: float, burst: float, latency: float) -> None:
        self.rate, self.burst, self.latency = rate, burst, latency
        self.tokens, self.updated = burst, time.monotonic()
        self.lock = threading.Lock()
        self.accepted: list[float] = []
        self.throttled = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                wait = server.take()
                if wait is not None:
                    self.reply(429, {"error": {"message": "rate limited"}},
                               {"Retry-After": str(math.ceil(wait))})  # fmt: skip
                    return
                time.sleep(server.latency)
                self.reply(200, completion(), {})

            def reply(self, status: int, body: Any, headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def take(self) -> float | None:
        """Take a token (None) or say how long until one is available (seconds)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                self.accepted.append(now)
                return None
            self.throttled += 1
            return (1 - self.tokens) / self.rate

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion() -> dict[str, Any]:
    return {
        "id": "cmpl-local",
        "object": "chat.completion",
        "created": 1,
        "model": DEFAULT_FIREWORKS_MODEL,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": VERDICT},
             "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320},
    }  # fmt: skip


async def run(args: argparse.Namespace, *, limiter: bool, records: int) -> list[Any]:
    server = RateLimitedServer(args.rate, args.burst, args.latency)
    try:
        model = resolve_model(
            f"fireworks:{DEFAULT_FIREWORKS_MODEL}",
            api_key="fw-local-benchmark",
            base_url=server.url + "/inference",
        )
        judge = PerceivedErrorJudge(model, **({} if limiter else {"rate_limiter": None}))
        data = [{"id": str(i), "messages": CONVERSATION} for i in range(records)]
        started = time.perf_counter()

        async def consume() -> list[Any]:
            return [r async for r in judge.ajudge_many(data, concurrency=args.concurrency)]

        try:
            results = await asyncio.wait_for(consume(), timeout=args.timeout)
        finally:
            await model.aclose()
        elapsed = time.perf_counter() - started
    finally:
        server.close()
    judged = sum(r.status is JudgeStatus.JUDGED for r in results)
    failed = sum(r.status is JudgeStatus.FAILED for r in results)
    throughput = judged / elapsed
    stats = judge.rate_limiter.stats() if judge.rate_limiter else None
    return [
        "adaptive limiter (default)" if limiter else "rate_limiter=None (RetryPolicy only)",
        records, judged, failed, server.throttled, elapsed, throughput,
        f"{throughput / args.rate:.0%}", f"{stats.rate:.1f}" if stats and stats.rate else "-",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0, help="server limit, requests/s")
    parser.add_argument("--burst", type=float, default=5.0, help="token bucket depth")
    parser.add_argument("--latency", type=float, default=0.05, help="server answer time, s")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=300.0, help="stop a run after this")
    parser.add_argument(
        "--contrast-records", type=int, default=200, help="records for the no-limiter run (0: skip)"
    )
    args = parser.parse_args()
    rows = [asyncio.run(run(args, limiter=True, records=args.records))]
    if args.contrast_records:
        try:
            rows.append(asyncio.run(run(args, limiter=False, records=args.contrast_records)))
        except asyncio.TimeoutError:
            rows.append(["rate_limiter=None", args.contrast_records, "timed out"] + ["-"] * 6)
    c.print_table(
        f"Real ChatFireworks against a local server limited to {args.rate:g} req/s "
        f"(burst {args.burst:g}, 429 + integer Retry-After above it, {args.latency * 1000:.0f} ms "
        f"answers), concurrency {args.concurrency}",
        ["client", "records", "judged", "failed", "429s served", "seconds", "judged / s",
         "% of server rate", "final pace / s"],
        rows,
    )  # fmt: skip
    first = rows[0]
    ok = first[3] == 0 and first[6] >= TARGET * args.rate
    print(
        f"\ntarget: zero failed and >= {TARGET:.0%} of {args.rate:g}/s -> failed {first[3]}, "
        f"{first[6] / args.rate:.0%} ({'met' if ok else 'MISSED'})"
    )
    print(f"machine: {c.machine()}")


if __name__ == "__main__":
    main()
