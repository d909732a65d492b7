"""The durable run queue: submitted runs are rows that workers lease, heartbeat and release.

Leasing picks the oldest eligible row: ``queued``, or ``leased`` with an expired lease (its
worker died). Runs that share a thread key run one at a time, in submission order: only the
earliest unfinished row of a key is eligible. On PostgreSQL the pick is ``SELECT ... FOR UPDATE
SKIP LOCKED``; on SQLite the store's transactions are ``BEGIN IMMEDIATE`` (one writer at a
time). On both, the lease itself is a conditional ``UPDATE`` that checks the row is still
eligible, so two workers never hold the same row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from evopipe.queue import tables as t
from evopipe.spec.errors import EvopipeError
from evopipe.store.errors import StoreError

Strategy = Literal["reject", "enqueue", "interrupt"]
STRATEGIES: tuple[str, ...] = ("reject", "enqueue", "interrupt")
ACTIVE = ("queued", "leased")
Heartbeat = Literal["ok", "cancel", "lost"]

q = t.run_queue


class QueueError(EvopipeError):
    """Bad input to the queue (unknown strategy, unknown run)."""


class QueueBusyError(QueueError):
    """``strategy="reject"``: the thread key already has an unfinished run."""

    def __init__(self, key: str, run_id: str) -> None:
        super().__init__(f"thread key {key!r} is busy with run {run_id} (strategy reject)")
        self.key = key
        self.run_id = run_id


RESUME = "resume"
"""The strategy of a row queued again after an approval: the worker resumes its run."""


class QueueNotFoundError(QueueError):
    """No queued run has this id."""


class Transactional(Protocol):
    @property
    def dialect(self) -> str: ...

    def begin(self) -> Any: ...


@dataclass(frozen=True)
class NewRun:
    """What a submission stores: enough for any worker process to run it."""

    run_id: str
    spec_json: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    tenant: str = "default"
    key: str | None = None
    target: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class QueueRow:
    seq: int
    run_id: str
    tenant: str
    key: str | None
    strategy: str
    target: str | None
    spec_json: str
    inputs: dict[str, Any]
    model: str | None
    status: str
    outcome: str | None
    error: str | None
    lease_owner: str | None
    lease_expires: float | None
    attempts: int
    cancel_requested: bool
    created_at: float
    started_at: float | None
    finished_at: float | None


@contextmanager
def transaction(store: Transactional) -> Iterator[Connection]:
    """The store's transaction; a database failure comes out as a :class:`StoreError`."""
    try:
        with store.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"queue: database error: {exc}") from exc


def _row(r: Any) -> QueueRow:
    m = r._mapping
    return QueueRow(
        seq=int(m["seq"]),
        run_id=m["run_id"],
        tenant=m["tenant"],
        key=m["thread_key"],
        strategy=m["strategy"],
        target=m["target"],
        spec_json=m["spec_json"],
        inputs=json.loads(m["inputs_json"]),
        model=m["model"],
        status=m["status"],
        outcome=m["outcome"],
        error=m["error"],
        lease_owner=m["lease_owner"],
        lease_expires=m["lease_expires"],
        attempts=int(m["attempts"]),
        cancel_requested=bool(m["cancel_requested"]),
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
    )


def _eligible(now: float) -> Any:
    """Leasable rows: queued or with an expired lease, and first of their key."""
    earlier = q.alias("earlier")
    head = or_(
        q.c.thread_key.is_(None),
        ~exists().where(
            earlier.c.tenant == q.c.tenant,
            earlier.c.thread_key == q.c.thread_key,
            earlier.c.status.in_(ACTIVE),
            earlier.c.seq < q.c.seq,
        ),
    )
    free = and_(  # the IN lets the (status, seq) index skip finished rows
        q.c.status.in_(ACTIVE), or_(q.c.status == "queued", q.c.lease_expires < now)
    )
    return and_(free, head)


def _fair_pick(now: float) -> Any:
    """The seq to lease next, fair between tenants: each tenant's oldest eligible row, the
    tenant with the fewest runs in progress first, then the one served longest ago (the start
    of its run before that head; never served: first), then the oldest. One tenant's thousand
    queued runs so delay another's by at most a lease per worker, not a thousand."""
    heads = (
        select(q.c.tenant, func.min(q.c.seq).label("seq"))
        .where(_eligible(now))
        .group_by(q.c.tenant)
        .subquery("heads")
    )
    busy = (
        select(q.c.tenant, func.count().label("n"))
        .where(q.c.status == "leased", q.c.lease_expires >= now)
        .group_by(q.c.tenant)
        .subquery("busy")
    )
    before = q.alias("before")
    served = (
        select(before.c.started_at)
        .where(before.c.tenant == heads.c.tenant, before.c.seq < heads.c.seq)
        .order_by(before.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(heads.c.seq)
        .select_from(heads.outerjoin(busy, busy.c.tenant == heads.c.tenant))
        .order_by(func.coalesce(busy.c.n, 0), func.coalesce(served, 0.0), heads.c.seq)
        .limit(1)
    )


class RunQueue:
    """Queue operations on the store's connection (SQLite or PostgreSQL)."""

    def __init__(self, store: Transactional) -> None:
        self.store = store
        self.postgres = store.dialect == "postgresql"

    @contextmanager
    def _tx(self, lock: tuple[str, str] | None = None) -> Iterator[Connection]:
        with transaction(self.store) as conn:
            if lock is not None and self.postgres:  # serialise submissions on one key
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:t), hashtext(:k))"),
                    {"t": lock[0], "k": lock[1]},
                )
            yield conn

    # -- submitting --------------------------------------------------------------------------

    def submit(self, new: NewRun, strategy: str = "enqueue") -> tuple[QueueRow, list[str]]:
        """Insert the run; returns it and the ids of running runs to interrupt (whose rows are
        now flagged ``cancel_requested``). ``reject`` raises :class:`QueueBusyError`."""
        if strategy not in STRATEGIES:
            raise QueueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
        now = time.time()
        lock = (new.tenant, new.key) if new.key is not None else None
        interrupted: list[str] = []
        with self._tx(lock) as conn:
            if new.key is not None:
                interrupted = self._apply_strategy(conn, new, strategy, now)
            conn.execute(
                insert(q).values(
                    run_id=new.run_id,
                    tenant=new.tenant,
                    thread_key=new.key,
                    strategy=strategy,
                    target=new.target,
                    spec_json=new.spec_json,
                    inputs_json=json.dumps(dict(new.inputs), sort_keys=True, default=str),
                    model=new.model,
                    status="queued",
                    attempts=0,
                    cancel_requested=False,
                    created_at=now,
                )
            )
            row = conn.execute(select(q).where(q.c.run_id == new.run_id)).one()
        return _row(row), interrupted

    def _apply_strategy(
        self, conn: Connection, new: NewRun, strategy: str, now: float
    ) -> list[str]:
        same_key = and_(q.c.tenant == new.tenant, q.c.thread_key == new.key)
        active = conn.execute(
            select(q.c.run_id, q.c.status).where(same_key, q.c.status.in_(ACTIVE)).order_by(q.c.seq)
        ).all()
        if not active or strategy == "enqueue":
            return []
        if strategy == "reject":
            raise QueueBusyError(str(new.key), active[0][0])
        conn.execute(
            update(q)
            .where(same_key, q.c.status == "queued")
            .values(status="done", outcome="interrupted", finished_at=now)
        )
        conn.execute(
            update(q).where(same_key, q.c.status == "leased").values(cancel_requested=True)
        )
        return [run_id for run_id, status in active if status == "leased"]

    # -- leasing -----------------------------------------------------------------------------

    def lease(self, owner: str, lease_s: float) -> QueueRow | None:
        """Take the next eligible row for ``owner`` until ``now + lease_s``, in the fair order
        of :func:`_fair_pick` (None: nothing to do). ``attempts`` counts leases, so a re-lease
        after a crash shows ``attempts > 1``. On PostgreSQL the chosen row is locked with SKIP
        LOCKED; if another worker holds it, the oldest unlocked row is taken instead."""
        now = time.time()
        with self._tx() as conn:
            seq = conn.execute(_fair_pick(now)).scalar()
            if seq is not None and self.postgres:
                mine = select(q.c.seq).where(q.c.seq == seq, _eligible(now))
                seq = conn.execute(mine.with_for_update(skip_locked=True, of=q)).scalar()
                if seq is None:
                    oldest = select(q.c.seq).where(_eligible(now)).order_by(q.c.seq).limit(1)
                    seq = conn.execute(oldest.with_for_update(skip_locked=True, of=q)).scalar()
            if seq is None:
                return None
            done = conn.execute(
                update(q)
                .where(q.c.seq == seq, _eligible(now))
                .values(
                    status="leased",
                    lease_owner=owner,
                    lease_expires=now + lease_s,
                    heartbeat_at=now,
                    attempts=q.c.attempts + 1,
                    started_at=func.coalesce(q.c.started_at, now),
                )
            )
            if done.rowcount != 1:
                return None
            return _row(conn.execute(select(q).where(q.c.seq == seq)).one())

    def _mine(self, row: QueueRow) -> Any:
        return and_(
            q.c.run_id == row.run_id,
            q.c.status == "leased",
            q.c.lease_owner == row.lease_owner,
            q.c.attempts == row.attempts,
        )

    def heartbeat(self, row: QueueRow, lease_s: float) -> Heartbeat:
        """Extend the lease: ``lost`` if another worker took it over, ``cancel`` if the run
        was asked to stop (a cancel or an interrupt), else ``ok``."""
        now = time.time()
        with self._tx() as conn:
            done = conn.execute(
                update(q)
                .where(self._mine(row))
                .values(lease_expires=now + lease_s, heartbeat_at=now)
            )
            if done.rowcount != 1:
                return "lost"
            flag = conn.execute(select(q.c.cancel_requested).where(q.c.seq == row.seq)).scalar()
        return "cancel" if flag else "ok"

    def release(self, row: QueueRow, outcome: str, error: str | None = None) -> bool:
        """Mark the leased row done with the run's final status; False if the lease was lost."""
        with self._tx() as conn:
            done = conn.execute(
                update(q)
                .where(self._mine(row))
                .values(
                    status="done",
                    outcome=outcome,
                    error=error,
                    lease_owner=None,
                    lease_expires=None,
                    finished_at=time.time(),
                )
            )
        return bool(done.rowcount == 1)

    def requeue(self, row: QueueRow) -> bool:
        """Give a leased row back (its worker is shutting down): queued again at once, in its
        place, instead of after its lease expires. False if the lease was lost."""
        with self._tx() as conn:
            done = conn.execute(
                update(q)
                .where(self._mine(row))
                .values(status="queued", lease_owner=None, lease_expires=None)
            )
        return bool(done.rowcount == 1)

    def keep_inputs(self, run_id: str, inputs: Mapping[str, Any]) -> None:
        """Replace a run's queued inputs by what its journal keeps (secret inputs masked),
        once the run has started: a secret sits in the queue only until then."""
        with self._tx() as conn:
            conn.execute(
                update(q)
                .where(q.c.run_id == run_id)
                .values(inputs_json=json.dumps(dict(inputs), sort_keys=True, default=str))
            )

    def reopen(self, run_id: str) -> bool:
        """Queue again a run that stopped waiting for an approval (its decision is now in the
        journal), marked ``resume``: the worker that leases it resumes it, metered like any
        queued run. False if the run is not a done row that ended ``waiting``."""
        with self._tx() as conn:
            done = conn.execute(
                update(q)
                .where(q.c.run_id == run_id, q.c.status == "done", q.c.outcome == "waiting")
                .values(
                    status="queued",
                    strategy=RESUME,
                    outcome=None,
                    error=None,
                    attempts=0,
                    lease_owner=None,
                    lease_expires=None,
                    finished_at=None,
                )
            )
        return bool(done.rowcount == 1)

    # -- reading and cancelling ------------------------------------------------------------

    def get(self, run_id: str) -> QueueRow:
        with self._tx() as conn:
            row = conn.execute(select(q).where(q.c.run_id == run_id)).first()
        if row is None:
            raise QueueNotFoundError(f"no queued run {run_id!r}")
        return _row(row)

    def position(self, row: QueueRow) -> int | None:
        """How many queued rows are ahead of this one (None once it left the queue)."""
        if row.status != "queued":
            return None
        with self._tx() as conn:
            ahead = conn.execute(
                select(func.count()).where(q.c.status == "queued", q.c.seq < row.seq)
            ).scalar()
        return int(ahead or 0)

    def list(
        self,
        *,
        tenant: str | None = None,
        status: str | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> list[QueueRow]:
        """Newest first; ``before`` is the ``seq`` to continue after (the cursor)."""
        stmt = select(q).order_by(q.c.seq.desc()).limit(max(1, int(limit)))
        if tenant is not None:
            stmt = stmt.where(q.c.tenant == tenant)
        if status is not None:
            stmt = stmt.where(q.c.status == status)
        if before is not None:
            stmt = stmt.where(q.c.seq < before)
        with self._tx() as conn:
            return [_row(r) for r in conn.execute(stmt).all()]

    def cancel(self, run_id: str) -> QueueRow:
        """A queued row is done at once (``cancelled``); a leased one is flagged, and its
        worker stops the run. Returns the row as it is afterwards."""
        with self._tx() as conn:
            conn.execute(
                update(q)
                .where(q.c.run_id == run_id, q.c.status == "queued")
                .values(status="done", outcome="cancelled", finished_at=time.time())
            )
            conn.execute(
                update(q)
                .where(q.c.run_id == run_id, q.c.status == "leased")
                .values(cancel_requested=True)
            )
        return self.get(run_id)
