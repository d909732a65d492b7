"""The store's own DBAPI connection: explicit transactions, ``?`` placeholders on both drivers.

SQLAlchemy creates the engine, runs the migrations and configures each connection; the hot
path (journal appends, cancel polls) then talks to the raw driver connection in autocommit
mode with explicit ``BEGIN``/``COMMIT``, which is several times cheaper than going through
SQLAlchemy for every statement.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import ConnectionPoolEntry

from evopipe.store.errors import StoreError

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=OFF",
)


def configure_sqlite(engine: Engine) -> None:
    """WAL, ``synchronous=NORMAL``, a busy timeout, and transactions SQLAlchemy can drive."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        for pragma in SQLITE_PRAGMAS:
            dbapi_conn.execute(pragma)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def dumps(value: Any) -> str:
    """Compact JSON text."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value is not JSON-serialisable: {exc}") from exc


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"object of type {type(value).__name__} is not JSON-serialisable")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default)
"""Built once (it holds no state between calls): cheaper than ``json.dumps`` per event."""


class RawDb:
    """A driver connection in autocommit mode plus a cached cursor; callers hold the lock."""

    def __init__(self, driver_conn: Any, dialect: str) -> None:
        self.conn = driver_conn
        self.sqlite = dialect == "sqlite"
        if not self.sqlite:
            driver_conn.autocommit = True
        self._cur = driver_conn.cursor()
        self._sql: dict[str, str] = {}
        self._begin = "BEGIN IMMEDIATE" if self.sqlite else "BEGIN"

    def sql(self, text: str) -> str:
        """Translate ``?`` placeholders for psycopg (``%s``)."""
        if self.sqlite:
            return text
        out = self._sql.get(text)
        if out is None:
            out = self._sql[text] = text.replace("?", "%s")
        return out

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        cur = self._cur
        cur.execute(self.sql(text), params)
        return cur

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        self._cur.executemany(self.sql(text), rows)

    def one(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(text, params).fetchone()

    def all(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.execute(text, params).fetchall())

    def begin(self) -> None:
        self._cur.execute(self._begin)

    def commit(self) -> None:
        self._cur.execute("COMMIT")

    def rollback(self) -> None:
        if self.sqlite and not self.conn.in_transaction:
            return
        self._cur.execute("ROLLBACK")

    def close(self) -> None:
        self._cur.close()


def is_integrity_error(exc: BaseException) -> bool:
    """True for a unique/primary-key violation on either driver."""
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    return type(exc).__name__ in {"UniqueViolation", "IntegrityError"}
