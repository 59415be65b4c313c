"""An on-disk cache of judge-model calls, so a repeated benchmark makes no model calls.

:class:`DiskCache` is a LangChain :class:`~langchain_core.caches.BaseCache`: set it on the judge
model (:func:`with_cache`) and LangChain consults it before every call, so the judge graph is
untouched. LangChain keys each call by the model's ``llm_string`` (its serialised settings: model
id, temperature, max tokens, base URL; secrets such as the API key serialise as a reference to
their environment variable, never their value) and the exact prompt messages (retry prompts
included, message ids removed).

What is stored, in one SQLite file ``<dir>/judge-cache.sqlite3``:

- ``key``: the SHA-256 of ``llm_string`` and prompt together. Neither is stored, so nothing in the
  model's settings (even a third-party model that put a secret in its parameters) nor the trace
  text of the prompt reaches the disk through the key.
- ``value``: the model's reply (message content, ``response_metadata``, ``usage_metadata``) as
  JSON, and ``latency_s``, the wall time of the original call (from the cache miss to the reply,
  so it includes any client-side rate-limit wait).

Both ways, the reply carries :data:`CACHE_METADATA_KEY` in its ``response_metadata`` (read it
with :func:`cache_marker`): a hit returns the stored reply marked ``{"hit": True, "latency_s":
<the original call>}``, and a live reply being stored is marked ``{"hit": False, "latency_s":
<this call>}`` (LangChain passes :meth:`DiskCache.update` the very generations it returns). Token
counts are the original ones, so costs and token means repeat exactly, and the benchmark takes
every call's latency from the marker: a cached re-run reports the same latency as the run that
filled the cache, never the microseconds a hit takes, and counts the hits. Failed calls
(exceptions) are never stored.

:class:`CallTimer` is the same timing without storage (the benchmark sets it on models when no
disk cache is given), so latency means the same thing with and without ``--cache``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, Generation
from pydantic import BaseModel, ConfigDict

__all__ = [
    "CACHE_FILE_NAME",
    "CACHE_METADATA_KEY",
    "CacheError",
    "CacheMarker",
    "CallTimer",
    "DiskCache",
    "cache_marker",
    "with_cache",
]

CACHE_FILE_NAME = "judge-cache.sqlite3"
CACHE_METADATA_KEY = "perceived_error_cache"
"""``response_metadata`` key set on replies served from a :class:`DiskCache`."""

_SCHEMA_VERSION = 1
_ModelT = TypeVar("_ModelT", bound=BaseChatModel)


class CacheError(RuntimeError):
    """The cache directory or file cannot be used; the message names the path."""


class CacheMarker(BaseModel):
    """What a :class:`DiskCache` says about a reply: served from the cache, or stored in it."""

    model_config = ConfigDict(frozen=True)

    hit: bool
    """True when the reply came from the cache (no model call was made)."""
    latency_s: float | None
    """Wall time of the model call that produced the reply, when it was measured."""


def cache_marker(message: BaseMessage) -> CacheMarker | None:
    """The :class:`DiskCache` marker of a reply, or None when no disk cache saw it."""
    marker = (message.response_metadata or {}).get(CACHE_METADATA_KEY)
    if not isinstance(marker, Mapping):
        return None
    latency = marker.get("latency_s")
    return CacheMarker(
        hit=bool(marker.get("hit")),
        latency_s=float(latency) if isinstance(latency, int | float) else None,
    )


def _mark(generations: Sequence[Generation], *, hit: bool, latency_s: float | None) -> None:
    for generation in generations:
        if isinstance(generation, ChatGeneration):
            generation.message.response_metadata = {
                **(generation.message.response_metadata or {}),
                CACHE_METADATA_KEY: {"hit": hit, "latency_s": latency_s},
            }


def _key(prompt: str, llm_string: str) -> str:
    digest = hashlib.sha256()
    digest.update(llm_string.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(prompt.encode("utf-8"))
    return digest.hexdigest()


def _encode(generations: Sequence[Generation]) -> list[dict[str, Any]]:
    encoded: list[dict[str, Any]] = []
    for generation in generations:
        item: dict[str, Any] = {"text": generation.text, "info": generation.generation_info}
        if isinstance(generation, ChatGeneration):
            message = message_to_dict(generation.message)
            metadata = message["data"].get("response_metadata") or {}
            metadata.pop(CACHE_METADATA_KEY, None)  # a hit re-stored is not a second marker
            message["data"]["response_metadata"] = metadata
            item["message"] = message
        encoded.append(item)
    return encoded


def _decode(items: Sequence[Mapping[str, Any]], latency_s: float | None) -> list[Generation]:
    generations: list[Generation] = []
    for item in items:
        if "message" not in item:
            generations.append(Generation(text=item["text"], generation_info=item.get("info")))
            continue
        (message,) = messages_from_dict([item["message"]])
        generations.append(ChatGeneration(message=message, generation_info=item.get("info")))
    _mark(generations, hit=True, latency_s=latency_s)
    return generations


class CallTimer(BaseCache):
    """A cache that stores nothing: it times each model call and marks the reply with it.

    LangChain checks the cache right before calling the model and updates it right after, so the
    time from a miss to the update is the model call itself (including any client-side
    rate-limit wait), without callback or event-loop overhead. The reply is marked like a
    :class:`DiskCache` live reply (``{"hit": False, "latency_s": ...}``), so a benchmark measures
    latency the same way with and without a disk cache.
    """

    def __init__(self) -> None:
        """Start with no call in flight."""
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._pending: defaultdict[str, list[float]] = defaultdict(list)

    def _started(self, key: str) -> None:
        with self._lock:
            self.misses += 1
            self._pending[key].append(time.perf_counter())

    def _finished(self, key: str) -> float | None:
        now = time.perf_counter()
        with self._lock:
            starts = self._pending.get(key)
            if not starts:
                return None
            started = starts.pop(0)
            if not starts:
                del self._pending[key]
        return now - started

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Always a miss; the call's clock starts."""
        self._started(_key(prompt, llm_string))
        return None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Mark the reply with the call's latency; nothing is stored."""
        _mark(return_val, hit=False, latency_s=self._finished(_key(prompt, llm_string)))

    def clear(self, **kwargs: Any) -> None:
        """Nothing to clear."""

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """:meth:`lookup`, inline."""
        return self.lookup(prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """:meth:`update`, inline."""
        self.update(prompt, llm_string, return_val)


class DiskCache(CallTimer):
    """A thread-safe SQLite cache of chat-model replies in ``directory`` (created if missing).

    Safe across threads (one connection behind a lock) and across processes (SQLite locking).
    A lookup is one primary-key query (nothing is read up front, so a restart costs the same per
    record whatever the cache holds). Writes go to SQLite's write-ahead log without an fsync per
    reply (``synchronous=NORMAL``): a killed process loses nothing, a power cut at most the last
    few replies (asked again on the next run). ``hits`` and ``misses`` count lookups since
    construction.
    """

    def __init__(self, directory: str | Path) -> None:
        """Open (or create) ``directory/judge-cache.sqlite3``.

        Raises:
            CacheError: when the directory cannot be created or the file is not a cache.

        """
        self.directory = Path(directory)
        self.path = self.directory / CACHE_FILE_NAME
        super().__init__()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
            self._db.executescript(
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "CREATE TABLE IF NOT EXISTS calls ("
                " key TEXT PRIMARY KEY, value TEXT NOT NULL, latency_s REAL,"
                " created_at REAL NOT NULL);"
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
            )
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(_SCHEMA_VERSION),)
            )
            self._db.commit()
        except (OSError, sqlite3.Error) as e:
            msg = f"cannot open the judge cache at {self.path}: {e}"
            raise CacheError(msg) from e

    def __repr__(self) -> str:
        """Where the cache lives and how it has been used."""
        return f"DiskCache({str(self.directory)!r}, hits={self.hits}, misses={self.misses})"

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The stored reply for this prompt and model settings, marked as a hit; None on a miss."""
        key = _key(prompt, llm_string)
        with self._lock:
            row = self._db.execute(
                "SELECT value, latency_s FROM calls WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                self.hits += 1
        if row is None:
            self._started(key)
            return None
        try:
            return _decode(json.loads(row[0]), row[1])
        except (ValueError, KeyError, TypeError) as e:
            msg = f"unreadable entry {key[:12]} in the judge cache {self.path}: {e}"
            raise CacheError(msg) from e

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store a live reply with the latency measured since its cache miss, and mark the reply
        with that latency (``hit`` False).
        """
        key = _key(prompt, llm_string)
        latency = self._finished(key)
        value = json.dumps(_encode(return_val), ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?)",
                (key, value, latency, time.time()),
            )
            self._db.commit()
        _mark(return_val, hit=False, latency_s=latency)

    def clear(self, **kwargs: Any) -> None:
        """Delete every stored reply."""
        with self._lock:
            self._db.execute("DELETE FROM calls")
            self._db.commit()

    def __len__(self) -> int:
        """Stored replies."""
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM calls").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            self._db.close()


def with_cache(model: _ModelT, cache: BaseCache | None) -> _ModelT:
    """A copy of ``model`` that reads and writes ``cache`` (``model`` itself is not changed)."""
    if cache is None:
        return model
    return model.model_copy(update={"cache": cache})
