"""Queue operations: submit a run to the durable queue, read and cancel queued runs, follow
their events, and set tenant budgets. Workers (:mod:`evopipe.app.worker`) run what is queued.

A queued run's id is its engine run id: once a worker started it, ``app.runs.get``,
``app.runs.events`` and ``app.runs.cancel`` work on it too; :meth:`Queue.get`,
:meth:`Queue.events` and :meth:`Queue.cancel` also work before it started.

>>> from evopipe.app import App, Settings
>>> with App(Settings.load(db="sqlite:///:memory:")) as app:  # doctest: +SKIP
...     queued = asyncio.run(app.queue.submit("examples/kinds/llm.yaml", {"text": "hi"}))
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.engine.control import Decision
from evopipe.engine.inputs import resolve_inputs
from evopipe.engine.runner import new_run_id
from evopipe.queue import (
    STRATEGIES,
    CostLedger,
    LedgerRow,
    NewRun,
    QueueBusyError,
    QueueError,
    QueueNotFoundError,
    QueueRow,
    RunQueue,
    TenantBudget,
)
from evopipe.spec.canonical import spec_to_json
from evopipe.spec.pipeline import Pipeline
from evopipe.store.errors import RunNotFoundError

if TYPE_CHECKING:
    from evopipe.app.root import App
    from evopipe.app.worker import Worker

__all__ = [
    "STRATEGIES",
    "LedgerRow",
    "Queue",
    "QueueBusyError",
    "QueueError",
    "QueueNotFoundError",
    "QueuePage",
    "QueueSettings",
    "QueuedRun",
    "TenantBudget",
]


@dataclass(frozen=True)
class QueueSettings:
    """How workers lease and meter runs (plain data, like :class:`~evopipe.app.Settings`)."""

    lease_s: float = 30.0
    """A lease not renewed for this long expires: another worker takes the run over."""
    heartbeat_s: float = 10.0
    """How often a worker renews its lease (and sees cancel requests); below ``lease_s``."""
    poll_s: float = 0.5
    """How long an idle worker waits before looking at the queue again."""
    max_attempts: int = 5
    """Leases of one run before it is given up as failed (a run that kills its workers)."""
    reserve_usd: float = 0.0
    """Reserved from the tenant's budget before each model call, released when it settles."""

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_s < self.lease_s:
            raise QueueError(
                f"heartbeat_s ({self.heartbeat_s}) must be > 0 and below lease_s ({self.lease_s})"
            )
        if self.max_attempts < 1 or self.reserve_usd < 0 or self.poll_s <= 0:
            raise QueueError("max_attempts must be >= 1, reserve_usd >= 0 and poll_s > 0")


@dataclass(frozen=True)
class QueuedRun:
    """A submitted run as the queue sees it."""

    run_id: str
    tenant: str
    key: str | None
    status: str
    """``queued``, ``leased`` (a worker runs it) or ``done``."""
    outcome: str | None
    """When done: the run's final status, or ``cancelled`` / ``interrupted`` before it ran."""
    error: str | None
    attempts: int
    position: int | None
    """Queued runs ahead of this one (None once leased or done)."""
    strategy: str
    model: str | None
    target: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None

    @classmethod
    def of(cls, row: QueueRow, position: int | None = None) -> QueuedRun:
        return cls(
            run_id=row.run_id,
            tenant=row.tenant,
            key=row.key,
            status=row.status,
            outcome=row.outcome,
            error=row.error,
            attempts=row.attempts,
            position=position,
            strategy=row.strategy,
            model=row.model,
            target=row.target,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class QueuePage:
    items: list[QueuedRun] = field(default_factory=list)
    next_cursor: str | None = None
    """Pass as ``cursor`` for the next (older) page; None: this was the last."""


class Queue(OperationGroup):
    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.settings = QueueSettings()
        self._rq: RunQueue | None = None
        self._ledger: CostLedger | None = None

    @property
    def rq(self) -> RunQueue:
        if self._rq is None:
            self._rq = RunQueue(self.app.store)
        return self._rq

    @property
    def ledger(self) -> CostLedger:
        if self._ledger is None:
            self._ledger = CostLedger(self.app.store)
        return self._ledger

    def configure(self, **changes: Any) -> QueueSettings:
        """Change some of :attr:`settings` (lease time, heartbeat, ...)."""
        from dataclasses import replace

        self.settings = replace(self.settings, **changes)
        return self.settings

    # -- submitting --------------------------------------------------------------------------

    async def submit(
        self,
        target: str | Path | Pipeline,
        inputs: Mapping[str, Any] | None = None,
        *,
        tenant: str = "default",
        key: str | None = None,
        strategy: str = "enqueue",
        model: str | None = None,
    ) -> QueuedRun:
        """Queue a run; returns at once. The pipeline and inputs are checked here (bad ones
        raise before anything is queued). Runs with the same ``key`` (a thread) run one at a
        time; ``strategy`` says what a new one does to unfinished ones: ``enqueue`` (wait its
        turn), ``reject`` (:class:`QueueBusyError`), ``interrupt`` (cancel them, then run)."""
        resolved = self.app.pipelines.resolve(target)
        checked = resolve_inputs(resolved.pipeline, dict(inputs or {}))
        new = NewRun(
            run_id=new_run_id(),
            spec_json=spec_to_json(resolved.pipeline),
            inputs=checked,
            tenant=tenant,
            key=key,
            target=resolved.source or (str(target) if not isinstance(target, Pipeline) else None),
            model=model,
        )
        row, interrupted = self.rq.submit(new, strategy)
        for run_id in interrupted:
            self._cancel_run(run_id)
        return QueuedRun.of(row, self.rq.position(row))

    # -- reading -----------------------------------------------------------------------------

    def get(self, run_id: str) -> QueuedRun:
        """Raises :class:`QueueNotFoundError` for an id that was never queued."""
        row = self.rq.get(run_id)
        return QueuedRun.of(row, self.rq.position(row))

    def list(
        self,
        *,
        tenant: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> QueuePage:
        """Newest first, ``limit`` per page; ``cursor`` from the previous page's
        ``next_cursor``."""
        before = _cursor(cursor)
        rows = self.rq.list(tenant=tenant, status=status, limit=limit + 1, before=before)
        page, more = rows[:limit], len(rows) > limit
        return QueuePage(
            [QueuedRun.of(r) for r in page], str(page[-1].seq) if more and page else None
        )

    async def wait(self, run_id: str, *, timeout_s: float | None = None) -> QueuedRun:
        """Wait until the queued run is done (a worker must be running somewhere)."""

        async def until_done() -> QueuedRun:
            while True:
                queued = self.get(run_id)
                if queued.status == "done":
                    return queued
                await asyncio.sleep(self.settings.poll_s / 5)

        return await asyncio.wait_for(until_done(), timeout_s)

    async def events(
        self, run_id: str, *, after: int = 0, follow: bool = True
    ) -> AsyncIterator[Any]:
        """The run's journal events (see ``app.runs.events``); while it is still queued, wait
        for a worker to start it (nothing, if it is cancelled before it starts)."""
        while self.app.store.find_run(run_id) is None:
            if self.get(run_id).status == "done" or not follow:
                return
            await asyncio.sleep(self.settings.poll_s / 5)
        async for event in self.app.runs.events(run_id, after=after, follow=follow):
            yield event

    # -- cancelling --------------------------------------------------------------------------

    def resume(
        self, run_id: str, decision: Decision, *, secrets: Mapping[str, str] | None = None
    ) -> QueuedRun:
        """Record the decision on a queued run's waiting step (with the approver's typed
        ``values``) and queue the run again: a worker resumes it, every model call metered
        against the tenant's budget as for a new run. ``secrets``: the run's secret inputs,
        given again; the queued row holds them until the worker resumes the run."""
        from evopipe.engine.control import record_decision
        from evopipe.engine.secrets import check_secrets_given, mask_of

        row = self.rq.get(run_id)
        if row.status != "done" or row.outcome != "waiting":
            raise QueueError(f"run {run_id!r} is not waiting for an approval")
        given = dict(secrets or {})
        if not_secret := sorted(k for k in given if row.inputs.get(k) != mask_of(k)):
            raise QueueError(f"not secret inputs of run {run_id!r}: {', '.join(not_secret)}")
        try:
            check_secrets_given(row.inputs, given, run_id)
        except ValueError as exc:
            raise QueueError(str(exc)) from None
        record_decision(self.app.journal, run_id, decision)
        if given:
            self.rq.keep_inputs(run_id, {**row.inputs, **given})
        if not self.rq.reopen(run_id):
            raise QueueError(f"run {run_id!r} is not waiting for an approval")
        return self.get(run_id)

    def cancel(self, run_id: str) -> QueuedRun:
        """A queued run is dropped (``outcome="cancelled"``); a running one is asked to stop
        (its journal stays resumable)."""
        row = self.rq.cancel(run_id)
        if row.status == "leased":
            self._cancel_run(run_id)
        return QueuedRun.of(row)

    def _cancel_run(self, run_id: str) -> None:
        # leased but not started yet: its worker sees the queue's flag
        with contextlib.suppress(RunNotFoundError):
            self.app.runs.cancel(run_id)

    # -- budgets and the ledger ----------------------------------------------------------------

    def set_budget(self, tenant: str, limit_usd: float | None) -> TenantBudget:
        """Set the tenant's budget in USD (None: no limit); spend so far is kept."""
        return self.ledger.set_budget(tenant, limit_usd)

    def budget(self, tenant: str) -> TenantBudget:
        return self.ledger.budget(tenant)

    def costs(
        self, *, tenant: str | None = None, run_id: str | None = None, limit: int = 10_000
    ) -> builtins.list[LedgerRow]:
        """Ledger rows, one per model call, oldest first."""
        return self.ledger.rows(tenant=tenant, run_id=run_id, limit=limit)

    def worker(self, *, owner: str | None = None, settings: QueueSettings | None = None) -> Worker:
        from evopipe.app.worker import Worker

        return Worker(self.app, owner=owner, settings=settings)

    async def serve(
        self,
        stop: asyncio.Event,
        *,
        workers: int = 1,
        executor: str = "local",
        settings: QueueSettings | None = None,
    ) -> int:
        """Run ``workers`` queue workers until ``stop`` is set (the runs in hand are finished
        first); returns how many runs they handled. ``executor``: where the workers run —
        ``local`` (this event loop) or ``ray`` (one Ray actor each, at the session's
        ``ray_address``, building its own app from these settings; docs/ray.md)."""
        check_worker_executor(executor)
        return await WORKER_POOLS[executor](self, stop, workers, settings or self.settings)


def check_worker_executor(executor: str) -> None:
    """Fail now if queue workers cannot run on ``executor`` (an unknown name, Ray not
    installed), rather than later in a server's background task."""
    if executor not in WORKER_POOLS:
        known = ", ".join(WORKER_POOLS)
        raise QueueError(f"unknown worker executor {executor!r} (known: {known})")
    if executor == "ray":
        from evopipe.ray import import_ray

        import_ray()  # the install hint, now


async def _local_workers(
    queue: Queue, stop: asyncio.Event, count: int, settings: QueueSettings
) -> int:
    runs = [queue.worker(settings=settings).run(stop) for _ in range(count)]
    return sum(await asyncio.gather(*runs))


async def _ray_workers(
    queue: Queue, stop: asyncio.Event, count: int, settings: QueueSettings
) -> int:
    from evopipe.app.ray_workers import RayWorkers

    return await RayWorkers(queue.app.settings, count, queue=settings).run(stop)


WORKER_POOLS: dict[
    str, Callable[[Queue, asyncio.Event, int, QueueSettings], Coroutine[Any, Any, int]]
] = {"local": _local_workers, "ray": _ray_workers}
"""Where queue workers run (``--executor`` of ``evopipe serve`` and ``evopipe worker``)."""


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise QueueError(f"bad cursor {cursor!r}")
    return int(cursor)
