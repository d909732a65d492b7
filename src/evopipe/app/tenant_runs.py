"""Runs as a tenant: submit to the durable queue, wait, read, list, cancel, approve, and the
event stream — each checked against the run's tenant (the queue's ``tenant`` column; a run
that never went through the queue, such as one started by ``evopipe run``, belongs to the
``default`` tenant). Another tenant's run is :class:`~evopipe.app.tenancy.NotFound`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from evopipe.app.tenancy import NotFound, TargetSpec, Tenant
from evopipe.auth.ownership import DEFAULT_TENANT
from evopipe.engine.control import Decision
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.app.queue import QueuedRun

__all__ = ["RunPage", "TenantRuns"]

_FINAL_QUEUE = "done"


@dataclass(frozen=True)
class RunPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _view(queued: QueuedRun | None, summary: dict[str, Any] | None) -> dict[str, Any]:
    """One run as a remote face shows it: the journal's view when the run started, the
    queue's before (and its place in the queue)."""
    out: dict[str, Any] = {
        "run_id": (queued.run_id if queued else summary["run_id"] if summary else ""),
        "tenant": queued.tenant if queued else DEFAULT_TENANT,
        "queue_status": queued.status if queued else None,
        "position": queued.position if queued else None,
        "status": "queued",
        "pipeline_name": None,
        "error": queued.error if queued else None,
        "outputs": None,
        "usage": None,
        "steps": None,
        "created_at": queued.created_at if queued else None,
        "finished_at": queued.finished_at if queued else None,
    }
    if queued is not None and queued.status == "leased":
        out["status"] = "running"
    if queued is not None and queued.status == _FINAL_QUEUE and queued.outcome:
        out["status"] = queued.outcome
    if summary is not None:
        for key in ("status", "pipeline_name", "error", "outputs", "usage", "steps"):
            if summary.get(key) is not None:
                out[key] = summary[key]
    return out


class TenantRuns:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.app = tenant.app

    # -- checking ----------------------------------------------------------------------------

    def _queued(self, run_id: str) -> QueuedRun | None:
        """The run's queue row if it is this tenant's; NotFound if it is another's or none."""
        from evopipe.app.queue import QueueNotFoundError

        try:
            queued = self.app.queue.get(run_id)
        except QueueNotFoundError:
            queued = None
        owner = queued.tenant if queued is not None else DEFAULT_TENANT
        if owner != self.tenant.name or (queued is None and not self._journaled(run_id)):
            raise NotFound(f"no run {run_id!r}")
        return queued

    def _journaled(self, run_id: str) -> bool:
        return self.app.store.find_run(run_id) is not None

    def _summary(self, run_id: str) -> dict[str, Any] | None:
        return self.app.runs.get(run_id) if self._journaled(run_id) else None

    # -- operations --------------------------------------------------------------------------

    async def submit(
        self,
        target: TargetSpec,
        inputs: Mapping[str, Any],
        *,
        key: str | None = None,
        strategy: str = "enqueue",
        model: str | None = None,
    ) -> dict[str, Any]:
        self.tenant.principal.require("runner")
        pipeline = self.tenant.resolve(target)
        queued = await self.app.queue.submit(
            pipeline, inputs, tenant=self.tenant.name, key=key, strategy=strategy, model=model
        )
        return _view(queued, None)

    async def wait(self, run_id: str, timeout_s: float) -> tuple[bool, dict[str, Any]]:
        """``(done, run)`` once the run is done or ``timeout_s`` passed."""
        self._queued(run_id)
        try:
            await self.app.queue.wait(run_id, timeout_s=timeout_s)
        except TimeoutError:
            return False, self.get(run_id)
        return True, self.get(run_id)

    def get(self, run_id: str) -> dict[str, Any]:
        queued = self._queued(run_id)
        return _view(queued, self._summary(run_id))

    def list(
        self, *, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> RunPage:
        """This tenant's queued runs, newest first (``status``: the queue's status)."""
        page = self.app.queue.list(
            tenant=self.tenant.name, status=status, limit=limit, cursor=cursor
        )
        return RunPage([_view(q, None) for q in page.items], page.next_cursor)

    def cancel(self, run_id: str) -> dict[str, Any]:
        self.tenant.principal.require("runner")
        if self._queued(run_id) is not None:
            self.app.queue.cancel(run_id)
        else:
            self.app.runs.cancel(run_id)
        return self.get(run_id)

    async def decide(
        self,
        run_id: str,
        decision: Decision,
        *,
        timeout_s: float = 60.0,
        secrets: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Record the decision on a waiting step and continue the run (the step runs again
        with the decision, the rest as journaled); the answer comes when it stops again or
        after ``timeout_s``. A queued run continues on a worker, metered for its tenant; one
        started outside the queue (``evopipe run``) continues here, as ``evopipe approve``.
        ``secrets``: the run's secret (``writeOnly``) inputs, given again."""
        self.tenant.principal.require("runner")
        queued = self._queued(run_id)
        summary = self._summary(run_id)
        if summary is None or summary.get("status") != "waiting":
            raise EvopipeError(f"run {run_id!r} is not waiting for an approval")
        decision = replace(decision, decided_by=self.tenant.principal.key_id or "local")
        if queued is not None:
            self.app.queue.resume(run_id, decision, secrets=secrets)
            with contextlib.suppress(TimeoutError):
                await self.app.queue.wait(run_id, timeout_s=timeout_s)
            return self.get(run_id)
        await self.app.runs.approve(run_id, decision, inputs=secrets)
        return self.get(run_id)

    async def events(self, run_id: str, *, after: int = 0) -> AsyncIterator[Any]:
        """The run's journal events with ``seq > after``, then new ones until it ends."""
        self._queued(run_id)
        async for event in self.app.journal_tails.follow(run_id, after=after):
            yield event
