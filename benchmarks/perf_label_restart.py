"""7. What a `label` restart costs per record when every model call is already in the --cache.

Runs ``perceived-error label`` as a subprocess on N synthetic records with two panel models
(a Fireworks model served by the local Fireworks stand-in of ``tests/servers`` and the offline
``rules`` judge) and ``--cache``: once to fill the cache, then again (the restart: every
Fireworks call is a cache hit, no request reaches the server). It prints the wall time of both
runs, the restart's time per record, and the temporary files left beside the outputs by a third
run, on an empty cache, killed (SIGKILL) after its first 20 model calls. If the restart re-read
the whole cache for each record, its time per record would grow with N. A second table times
the cache alone (storing a reply; a hit after reopening it) at ``--cache-sizes`` replies.
``--code DIR`` runs the package of another checkout (before/after; the server is this one's).

    .venv/bin/python benchmarks/perf_label_restart.py [--sizes 250 1000 4000] [--code DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.fireworks_server import LocalFireworks  # noqa: E402

SPEC = "fireworks:accounts/fireworks/models/gpt-oss-20b"
CACHE_PROBE = """
import sys, tempfile, time
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration
from langchain_perceived_error.bench.cache import DiskCache
n = int(sys.argv[1])
folder = tempfile.mkdtemp()
cache = DiskCache(folder)
reply = [ChatGeneration(message=AIMessage(content='{"perceived_error": true, "reason": "x"}'))]
started = time.perf_counter()
for i in range(n):
    cache.lookup(f"prompt {i}" * 50, "model")
    cache.update(f"prompt {i}" * 50, "model", reply)
fill = (time.perf_counter() - started) / n
cache.close()
restarted = DiskCache(folder)
probes = range(0, n, max(1, n // 500))
started = time.perf_counter()
for i in probes:
    assert restarted.lookup(f"prompt {i}" * 50, "model") is not None
hit = (time.perf_counter() - started) / len(probes)
restarted.close()
print(f"{fill * 1000:.3f} {hit * 1000:.3f}")
"""


def _write_records(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            last = "No, I said Tuesday." if i % 2 else "Thanks!"
            messages = [
                ["user", f"move meeting {i}"],
                ["assistant", "Moved to Wednesday."],
                ["user", last],
            ]
            out.write(json.dumps({"id": f"r{i:05d}", "messages": messages}) + "\n")


def _command(work: Path, server: LocalFireworks, code: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"FIREWORKS_API_KEY": "fw-local-bench", "FIREWORKS_API_BASE": server.inference_url}
    env["PYTHONPATH"] = str(code)
    command = [
        sys.executable,
        "-m",
        "langchain_perceived_error",
        "label",
        str(work / "in.jsonl"),
        "-p",
        SPEC,
        "-p",
        "rules",
        "-c",
        "8",
        "-o",
        str(work / "labelled.jsonl"),
        "--cache",
        str(work / "cache"),
    ]
    return command, env


def _label(work: Path, server: LocalFireworks, code: Path) -> float:
    command, env = _command(work, server, code)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"label failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def _killed_leftovers(work: Path, server: LocalFireworks, code: Path) -> int:
    """Files starting with '.' left in ``work`` by a fresh run killed after 20 model calls."""
    (work / "labelled.jsonl").unlink()
    shutil.rmtree(work / "cache")
    command, env = _command(work, server, code)
    before = len(server.calls("POST", "chat/completions"))
    proc = subprocess.Popen(command, cwd=work, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(server.calls("POST", "chat/completions")) < before + 20:
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit("the run ended (or stalled) before the kill: raise --sizes")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return sum(p.name.startswith(".") for p in work.iterdir())


def _cache_row(n: int, code: Path) -> tuple[float, float]:
    """ms per stored reply and per hit after a restart, for a cache of ``n`` replies."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", CACHE_PROBE, str(n)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(done.stderr[-2000:])
    fill, hit = done.stdout.split()
    return float(fill), float(hit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 1000, 4000])
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--cache-sizes", type=int, nargs="+", default=[300, 3000, 30000])
    args = parser.parse_args()
    server = LocalFireworks(tls=False).start()
    rows = []
    try:
        for n in args.sizes:
            with tempfile.TemporaryDirectory(prefix="pe-label-restart-") as scratch:
                work = Path(scratch)
                _write_records(work / "in.jsonl", n)
                first = _label(work, server, args.code)
                calls = len(server.calls("POST", "chat/completions"))
                restart = _label(work, server, args.code)
                again = len(server.calls("POST", "chat/completions")) - calls
                left = _killed_leftovers(work, server, args.code)
                rows.append((n, first, restart, 1000 * restart / n, again, left))
                server.requests.clear()
    finally:
        server.stop()
    print(f"code: {args.code}")
    print("| records | first run s | restart s | restart ms/record | calls on restart |", end="")
    print(" temp files after a kill |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, first, restart, per, again, left in rows:
        print(f"| {n} | {first:.2f} | {restart:.2f} | {per:.2f} | {again} | {left} |")
    print("\n| replies in the cache | ms to store one | ms per hit after a restart |")
    print("|---:|---:|---:|")
    for n in args.cache_sizes:
        fill, hit = _cache_row(n, args.code)
        print(f"| {n} | {fill:.3f} | {hit:.3f} |")


if __name__ == "__main__":
    main()
