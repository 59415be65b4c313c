"""Deterministic shares of ids: the same id always falls on the same side, on every machine."""

from __future__ import annotations

import hashlib

__all__ = ["id_fraction"]


def id_fraction(item_id: str) -> float:
    """Where ``item_id`` falls in ``[0, 1)``: the first 8 bytes of its SHA-256 over 2**64.

    ``id_fraction(x) < share`` picks a stable ``share`` of ids (across restarts and machines),
    and a larger share keeps every id a smaller one kept.
    """
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
