"""Content-addressed blobs, the response cache backend and retention (``gc``)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from evopipe.store._db import RawDb, loads
from evopipe.store.records import TERMINAL_STATUSES, GcCounts
from evopipe.store.redact import Redact, redact_bytes

_CHUNK = 500


def run_owner(run_id: str) -> str:
    """The blob owner name of a run; ``gc`` drops these references with the run."""
    return f"run:{run_id}"


class ResponseCache:
    """The store-backed response cache (the models layer's ``ResponseCacheBackend``)."""

    def __init__(self, store: ExtrasMixin) -> None:
        self._store = store

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached value for ``key``, or None."""
        return self._store.cache_get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key`` (replacing any previous value)."""
        self._store.cache_put(key, value)


class ExtrasMixin:
    """Blob, cache and gc methods of :class:`evopipe.store.Store`."""

    _lock: threading.RLock
    _redact: Redact | None

    def _tx(self) -> AbstractContextManager[RawDb]:
        raise NotImplementedError

    def _read(self) -> RawDb:
        raise NotImplementedError

    def _json(self, value: Any) -> str:
        raise NotImplementedError

    # -- blobs -----------------------------------------------------------------------------

    def put_blob(self, data: bytes, *, owner: str | None = None) -> str:
        """Store ``data`` once, keyed by its SHA-256 (hex), which is returned.

        ``owner`` (e.g. :func:`run_owner`) keeps the blob alive through ``gc``; blobs without
        any owner are deleted by ``gc`` once older than its cutoff.
        """
        if self._redact is not None:
            data = redact_bytes(data, self._redact)
        sha = hashlib.sha256(data).hexdigest()
        with self._tx() as db:
            db.execute(
                "INSERT INTO blobs (sha256, size, data, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (sha256) DO NOTHING",
                (sha, len(data), data, time.time()),
            )
            if owner is not None:
                db.execute(
                    "INSERT INTO blob_refs (sha256, owner) VALUES (?, ?) "
                    "ON CONFLICT (sha256, owner) DO NOTHING",
                    (sha, owner),
                )
        return sha

    def get_blob(self, sha256: str) -> bytes | None:
        """The bytes stored under ``sha256``, or None."""
        with self._lock:
            row = self._read().one("SELECT data FROM blobs WHERE sha256 = ?", (sha256,))
        return None if row is None else bytes(row[0])

    # -- response cache --------------------------------------------------------------------

    def response_cache(self) -> ResponseCache:
        """A response cache backend (``get``/``put``) stored in this database."""
        return ResponseCache(self)

    def cache_get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._read().one("SELECT value FROM response_cache WHERE key = ?", (key,))
        if row is None:
            return None
        value = loads(row[0])
        return value if isinstance(value, dict) else None

    def cache_put(self, key: str, value: dict[str, Any]) -> None:
        text = self._json(value)
        with self._tx() as db:
            db.execute(
                "INSERT INTO response_cache (key, value, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                "created_at = excluded.created_at",
                (key, text, time.time()),
            )

    # -- retention -------------------------------------------------------------------------

    def gc(self, older_than: timedelta, *, now: float | None = None) -> GcCounts:
        """Delete finished runs older than ``older_than`` with their events, approvals and blob
        references, then unreferenced blobs and cache entries older than the same cutoff.

        Runs that are pending, running or waiting are never deleted.
        """
        cutoff = (time.time() if now is None else now) - older_than.total_seconds()
        terminal = sorted(TERMINAL_STATUSES)
        marks = ", ".join("?" for _ in terminal)
        counts = {"runs": 0, "events": 0, "approvals": 0}
        with self._tx() as db:
            rows = db.all(
                f"SELECT run_id FROM runs WHERE status IN ({marks}) "
                "AND COALESCE(finished_at, updated_at) < ?",
                [*terminal, cutoff],
            )
            for chunk in _chunks([r[0] for r in rows]):
                in_ = ", ".join("?" for _ in chunk)
                counts["events"] += db.execute(
                    f"DELETE FROM events WHERE run_id IN ({in_})", chunk
                ).rowcount
                counts["approvals"] += db.execute(
                    f"DELETE FROM approvals WHERE run_id IN ({in_})", chunk
                ).rowcount
                db.execute(
                    f"DELETE FROM blob_refs WHERE owner IN ({in_})", [run_owner(r) for r in chunk]
                )
                counts["runs"] += db.execute(
                    f"DELETE FROM runs WHERE run_id IN ({in_})", chunk
                ).rowcount
            blobs = db.execute(
                "DELETE FROM blobs WHERE created_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM blob_refs r WHERE r.sha256 = blobs.sha256)",
                (cutoff,),
            ).rowcount
            cache = db.execute(
                "DELETE FROM response_cache WHERE created_at < ?", (cutoff,)
            ).rowcount
        return GcCounts(blobs=blobs, cache_entries=cache, **counts)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
