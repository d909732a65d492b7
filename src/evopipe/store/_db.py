"""The store's own DBAPI connection: explicit transactions, ``?`` placeholders on both drivers.

SQLAlchemy creates the engine, runs the migrations and configures each connection; the hot
path (journal appends, cancel polls) then talks to the raw driver connection in autocommit
mode with explicit ``BEGIN``/``COMMIT``, which is several times cheaper than going through
SQLAlchemy for every statement.
"""

from __future__ import annotations

import contextlib
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
    """A driver connection in autocommit mode plus a cached cursor; callers hold the lock.

    Driver errors come out as :class:`StoreError` (a duplicate key as
    :class:`DuplicateKeyError`), so callers only ever see evopipe errors.
    """

    def __init__(self, driver_conn: Any, dialect: str) -> None:
        self.conn = driver_conn
        self.sqlite = dialect == "sqlite"
        if self.sqlite:
            self._errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
        else:
            import psycopg

            driver_conn.autocommit = True
            self._errors = (psycopg.Error,)
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
        try:
            cur.execute(self.sql(text), params)
        except self._errors as exc:
            raise _translate(exc) from exc
        return cur

    def executemany(self, text: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._cur.executemany(self.sql(text), rows)
        except self._errors as exc:
            raise _translate(exc) from exc

    def one(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(text, params).fetchone()

    def all(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.execute(text, params).fetchall())

    def begin(self) -> None:
        self.execute(self._begin)

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.sqlite and not self.conn.in_transaction:
            return
        with contextlib.suppress(*self._errors):  # connection gone: the first error matters
            self._cur.execute("ROLLBACK")

    def close(self) -> None:
        self._cur.close()


class DuplicateKeyError(StoreError):
    """A row with the same primary key already exists."""


def _translate(exc: BaseException) -> StoreError:
    name = type(exc).__name__
    if isinstance(exc, sqlite3.IntegrityError) or name in {"UniqueViolation", "IntegrityError"}:
        return DuplicateKeyError(f"duplicate key: {exc}")
    return StoreError(f"database error ({name}): {exc}")
