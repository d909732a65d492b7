"""The store: runs, the append-only event journal, cancel flags and approvals.

One :class:`Store` owns one database connection guarded by a lock, so it may be called from the
event-loop thread and from worker threads alike. Blobs, the response cache and retention live
in :mod:`evopipe.store.extras` and are mixed in here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from evopipe.engine.journal import decision_payload
from evopipe.store import migrate
from evopipe.store._db import DuplicateKeyError, RawDb, configure_sqlite, dumps, loads
from evopipe.store.errors import (
    DuplicateRunError,
    JournalGapError,
    RunNotFoundError,
    StoreError,
)
from evopipe.store.extras import ExtrasMixin
from evopipe.store.records import (
    RUN_STATUSES,
    TERMINAL_STATUSES,
    ApprovalRecord,
    EventRecord,
    RunRecord,
    SequencedEvent,
    StoredEvent,
)
from evopipe.store.redact import Redact, redact_value, redacting_listener
from evopipe.store.url import (
    DEFAULT_DB_PATH,
    display_url,
    normalize_url,
    sqlalchemy_url,
    sqlite_path,
)

_RUN_COLUMNS = (
    "run_id, pipeline_name, spec_hash, spec_json, inputs_json, parent_run_id, status, error, "
    "outputs_json, usage_json, created_at, updated_at, finished_at, cancel_requested, "
    "(SELECT COALESCE(MAX(e.seq), 0) FROM events e WHERE e.run_id = runs.run_id)"
)
_MAX_SEQ = "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?"
_LAST_SEQ = f"SELECT (SELECT 1 FROM runs WHERE run_id = ?), ({_MAX_SEQ})"
_INSERT_EVENT = (
    "INSERT INTO events (run_id, seq, type, step_id, attempt, payload, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ts(when: datetime | float | None) -> float:
    if when is None:
        return time.time()
    if isinstance(when, datetime):
        return when.timestamp()
    return float(when)


class Transactional(Protocol):
    """What an area's data-access code needs of a store: :meth:`Store.begin`."""

    def begin(self) -> Any: ...


class Store(ExtrasMixin):
    """Durable storage for runs. Open with :meth:`Store.open`; use as a context manager."""

    def __init__(self, engine: Engine, url: str, *, redact: Redact | None = None) -> None:
        self._engine = engine
        self.url = url
        self._redact = redact
        if redact is not None:  # other areas write through begin(): mask their rows too
            event.listen(engine, "before_cursor_execute", redacting_listener(redact), retval=True)
        self._lock = threading.RLock()
        self._pooled = engine.raw_connection()
        self._db = RawDb(self._pooled.driver_connection, engine.dialect.name)
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        path_default: str = DEFAULT_DB_PATH,
        redact: Redact | None = None,
        migrations: Sequence[migrate.MigrationSet] = (),
    ) -> Store:
        """Open (creating and migrating if needed) the store at ``url``.

        ``url`` is a file path, ``sqlite:///PATH``, ``sqlite:///:memory:`` or
        ``postgresql://...`` (psycopg 3). None means the SQLite file ``path_default`` under the
        current directory (use :func:`evopipe.store.resolve_db_url` to honour ``--db`` and
        ``EVOPIPE_DB``). ``redact`` is applied to every string written. The store's own
        migrations always run; ``migrations`` are the other areas' sets, handed by the
        composition root (:data:`evopipe.app.schema.MIGRATIONS`). Raises
        :class:`SchemaTooNewError` if a newer evopipe migrated one of these areas.
        """
        normalized = normalize_url(url or path_default)
        engine = _create_engine(normalized)
        try:
            migrate.upgrade(engine, migrations)
            return cls(engine, normalized, redact=redact)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the store at {display_url(normalized)}: {exc}") from exc
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        """Close the connection. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._db.close()
            self._pooled.close()
            self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return str(self._engine.dialect.name)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for other areas' data-access code (prefer :meth:`begin`)."""
        return self._engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A SQLAlchemy Core connection in a transaction, serialised with the store's own work.

        Other areas (genesis, evaluation, evolution) use this for their own tables.
        """
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            with self._engine.begin() as conn:
                yield conn

    @contextmanager
    def _tx(self) -> Iterator[RawDb]:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            db = self._db
            db.begin()
            try:
                yield db
                db.commit()
            except BaseException:
                db.rollback()
                raise

    def _read(self) -> RawDb:
        if self._closed:
            raise StoreError("the store is closed")
        return self._db

    def _json(self, value: Any) -> str:
        if self._redact is not None:
            value = redact_value(value, self._redact)
        return dumps(value)

    def _text(self, value: str | None) -> str | None:
        if value is None or self._redact is None:
            return value
        return self._redact(value)

    # -- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        run_id: str,
        *,
        pipeline_name: str,
        spec_hash: str,
        spec_json: str,
        inputs: dict[str, Any],
        parent_run_id: str | None = None,
        created_at: datetime | float | None = None,
        status: str = "running",
    ) -> None:
        """Record a new run. Raises :class:`DuplicateRunError` if the id is taken."""
        _check_status(status)
        now = _ts(created_at)
        row = (
            run_id,
            pipeline_name,
            spec_hash,
            self._text(spec_json),
            self._json(inputs),
            parent_run_id,
            status,
            now,
            now,
            now if status in TERMINAL_STATUSES else None,
        )
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO runs (run_id, pipeline_name, spec_hash, spec_json, inputs_json, "
                    "parent_run_id, status, created_at, updated_at, finished_at, "
                    "cancel_requested) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)",
                    row,
                )
        except DuplicateKeyError as exc:
            raise DuplicateRunError(run_id) from exc

    def set_run_status(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        outputs: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Set a run's status and error; ``outputs``/``usage`` are replaced only when given.

        A terminal status sets ``finished_at``; a non-terminal one clears it.
        """
        _check_status(status)
        now = time.time()
        sets = ["status = ?", "error = ?", "updated_at = ?", "finished_at = ?"]
        params: list[Any] = [status, self._text(error), now]
        params.append(now if status in TERMINAL_STATUSES else None)
        if outputs is not None:
            sets.append("outputs_json = ?")
            params.append(self._json(outputs))
        if usage is not None:
            sets.append("usage_json = ?")
            params.append(self._json(usage))
        params.append(run_id)
        with self._tx() as db:
            cur = db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id = ?", params)
            if cur.rowcount == 0:
                raise RunNotFoundError(run_id)

    def find_run(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None."""
        with self._lock:
            row = self._read().one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        return None if row is None else _run_record(row)

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; raises :class:`RunNotFoundError` (see :meth:`find_run`)."""
        run = self.find_run(run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        return run

    def list_runs(self, limit: int = 50, status: str | None = None) -> list[RunRecord]:
        """The most recent runs first, optionally only those with ``status``."""
        where, params = ("WHERE status = ? ", [status]) if status else ("", [])
        with self._lock:
            rows = self._read().all(
                f"SELECT {_RUN_COLUMNS} FROM runs {where}"
                "ORDER BY created_at DESC, run_id DESC LIMIT ?",
                [*params, int(limit)],
            )
        return [_run_record(r) for r in rows]

    # -- journal ---------------------------------------------------------------------------

    def append_events(self, run_id: str, events: Sequence[EventRecord | SequencedEvent]) -> int:
        """Append ``events`` to the run's journal in ONE transaction; return the last seq.

        Sequence numbers are contiguous per run (1, 2, 3, ... with no gaps), assigned here
        atomically with the insert. Events that carry their own ``seq`` (the engine's
        :class:`~evopipe.store.records.SequencedEvent`) must continue the journal exactly, or
        the whole batch is refused with :class:`JournalGapError`. Raises
        :class:`RunNotFoundError` for an unknown run.
        """
        n = len(events)
        if n == 0:
            with self._lock:
                return self._last_seq(self._read(), run_id)
        now = time.time()
        with self._tx() as db:
            first = self._last_seq(db, run_id, lock=True) + 1
            db.executemany(_INSERT_EVENT, self._event_rows(run_id, events, first, now))
        return first + n - 1

    def _last_seq(self, db: RawDb, run_id: str, *, lock: bool = False) -> int:
        """The run's last seq (0 if none); with ``lock``, the run row is locked (PostgreSQL;
        SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
        if db.sqlite or not lock:
            row = db.one(_LAST_SEQ, (run_id, run_id))
            if row[0] is None:
                raise RunNotFoundError(run_id)
            return int(row[1])
        # two statements on purpose: under READ COMMITTED the MAX must be read by a statement
        # that starts after the row lock was granted, or it could miss the previous writer's rows
        if db.one("SELECT 1 FROM runs WHERE run_id = ? FOR UPDATE", (run_id,)) is None:
            raise RunNotFoundError(run_id)
        return int(db.one(_MAX_SEQ, (run_id,))[0])

    def _event_rows(
        self,
        run_id: str,
        events: Sequence[EventRecord | SequencedEvent],
        first: int,
        now: float,
    ) -> list[tuple[Any, ...]]:
        encode = self._json
        rows: list[tuple[Any, ...]] = []
        seq = first
        for ev in events:
            if isinstance(ev, tuple):
                type_, step_id, attempt, payload = ev
                rows.append((run_id, seq, type_, step_id, attempt, encode(payload), now))
            else:
                if ev.seq != seq:
                    raise JournalGapError(
                        f"journal of run {run_id!r}: got event seq {ev.seq}, expected {seq} "
                        "(a gap or a duplicate); the batch was not written"
                    )
                data = ev.data
                attempt = int(data.get("attempt", data.get("attempts", 0)) or 0)
                rows.append((run_id, seq, ev.type, ev.step_id, attempt, encode(data), ev.ts))
            seq += 1
        return rows

    def load_events(self, run_id: str, after_seq: int = 0) -> list[StoredEvent]:
        """The run's events with ``seq > after_seq``, in order."""
        with self._lock:
            rows = self._read().all(
                "SELECT seq, type, step_id, attempt, payload, ts FROM events "
                "WHERE run_id = ? AND seq > ? ORDER BY seq",
                (run_id, after_seq),
            )
        return [StoredEvent(r[0], r[1], r[2], r[3], loads(r[4]), r[5], run_id) for r in rows]

    # -- cancel ----------------------------------------------------------------------------

    def request_cancel(self, run_id: str) -> None:
        """Ask a running run to stop (the engine polls :meth:`cancel_requested`)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET cancel_requested = TRUE, updated_at = ? WHERE run_id = ?",
                (time.time(), run_id),
            )
            if cur.rowcount == 0:
                raise RunNotFoundError(run_id)

    def clear_cancel(self, run_id: str) -> None:
        """Forget a cancel request (call this when resuming a cancelled run)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET cancel_requested = FALSE WHERE run_id = ?", (run_id,))

    def cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for the run (one indexed read)."""
        with self._lock:
            row = self._read().one("SELECT cancel_requested FROM runs WHERE run_id = ?", (run_id,))
        return bool(row[0]) if row is not None else False

    # -- approvals -------------------------------------------------------------------------

    def record_approval(
        self,
        run_id: str,
        step_id: str,
        approved: bool,
        comment: str | None = None,
        by: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the decision on an approval step; a later decision replaces an earlier one.

        In the same transaction an ``approval_decided`` event (``approved``, ``comment``,
        ``decided_by`` and the approver's typed ``values``) is appended to the run's journal,
        which is where resume reads it.
        """
        now = time.time()
        comment = self._text(comment)
        with self._tx() as db:
            seq = self._last_seq(db, run_id, lock=True) + 1
            db.execute(
                "INSERT INTO approvals (run_id, step_id, approved, comment, decided_by, "
                "decided_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, step_id) DO UPDATE "
                "SET approved = excluded.approved, comment = excluded.comment, "
                "decided_by = excluded.decided_by, decided_at = excluded.decided_at",
                (run_id, step_id, bool(approved), comment, by, now),
            )
            payload = decision_payload(approved, comment, by, values)
            db.execute(
                _INSERT_EVENT,
                (run_id, seq, "approval_decided", step_id, 0, self._json(payload), now),
            )

    def get_approval(self, run_id: str, step_id: str) -> ApprovalRecord | None:
        """The decision recorded for this step, or None if nobody decided yet."""
        with self._lock:
            row = self._read().one(
                "SELECT approved, comment, decided_by, decided_at FROM approvals "
                "WHERE run_id = ? AND step_id = ?",
                (run_id, step_id),
            )
        if row is None:
            return None
        return ApprovalRecord(run_id, step_id, bool(row[0]), row[1], row[2], _when(row[3]))


def _check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise StoreError(
            f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}"
        )


def _run_record(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        pipeline_name=row[1],
        spec_hash=row[2],
        spec_json=row[3],
        inputs=loads(row[4]),
        parent_run_id=row[5],
        status=row[6],
        error=row[7],
        outputs=loads(row[8]),
        usage=loads(row[9]),
        created_at=_when(row[10]),
        updated_at=_when(row[11]),
        finished_at=_dt(row[12]),
        cancel_requested=bool(row[13]),
        last_seq=int(row[14]),
    )


def _create_engine(url: str) -> Engine:
    sa_url = sqlalchemy_url(url)
    if not url.startswith("sqlite:"):
        return create_engine(sa_url, pool_size=2, max_overflow=2)
    path = sqlite_path(url)
    args: dict[str, Any] = {"check_same_thread": False}
    if path is None:
        engine = create_engine(sa_url, connect_args=args, poolclass=StaticPool)
    else:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory for the database {path}: {exc}") from exc
        engine = create_engine(sa_url, connect_args=args)
    configure_sqlite(engine)
    return engine
