"""Workers: lease a queued run, run it on the engine through ``app.runs``, release it.

A run is started the first time it is leased; a run whose journal already exists (its last
worker died) is resumed, so no completed step runs again. While it runs, the worker renews its
lease every ``heartbeat_s``: a worker killed with SIGKILL stops renewing, its lease expires after
``lease_s``, and another worker resumes the run. Every model call of the run is metered by the
cost ledger against the run's tenant (:class:`~evopipe.queue.MeteredSource`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.queue import QueuedRun, QueueSettings
from evopipe.queue import RESUME, MeteredSource, QueueRow, StepTracker, fixed_estimate
from evopipe.spec.canonical import spec_from_json, spec_hash
from evopipe.spec.errors import EvopipeError
from evopipe.spec.loader import load_file
from evopipe.spec.pipeline import Pipeline
from evopipe.store.errors import RunNotFoundError
from evopipe.store.records import TERMINAL_STATUSES, RunRecord

if TYPE_CHECKING:
    from evopipe.app.root import App

log = logging.getLogger("evopipe.queue")

_SETTLED = TERMINAL_STATUSES | {"waiting"}
"""Run statuses a worker does not continue: finished, or waiting for an approval."""


def _stopped_by_a_worker(run: RunRecord) -> bool:
    """Cancelled without anyone asking: its worker lost its lease or was shut down. Such a
    run is resumed by the next worker, not reported as cancelled."""
    return run.status == "cancelled" and not run.cancel_requested


def _continues(row: QueueRow, run: RunRecord) -> bool:
    """A settled run a worker continues all the same: stopped by a worker, or waiting and
    queued again after its approval (``Queue.resume``)."""
    if _stopped_by_a_worker(run):
        return True
    return run.status == "waiting" and row.strategy == RESUME


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self, app: App, *, owner: str | None = None, settings: QueueSettings | None = None
    ) -> None:
        self.app = app
        self.owner = owner or default_owner()
        self.settings = settings or app.queue.settings
        self.queue = app.queue

    async def run(self, stop: asyncio.Event) -> int:
        """Run queued runs until ``stop`` is set (the run in hand is finished first);
        returns how many this worker handled. A failure of the worker itself (the database
        is unreachable) is logged and retried after ``poll_s``: the run's lease then expires
        and it is taken over."""
        handled = 0
        while not stop.is_set():
            try:
                if await self.run_once() is not None:
                    handled += 1
                    continue
            except Exception:
                log.exception("worker %s failed; retrying", self.owner)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.poll_s)
        return handled

    async def run_once(self) -> QueuedRun | None:
        """Lease and run one queued run; None when nothing is eligible."""
        rq = self.queue.rq
        row = rq.lease(self.owner, self.settings.lease_s)
        if row is None:
            return None
        if row.attempts > self.settings.max_attempts:
            rq.release(row, "failed", f"given up after {row.attempts - 1} leases")
            return self.queue.get(row.run_id)
        task = asyncio.ensure_future(self._drive(row))
        beat = asyncio.ensure_future(self._heartbeat(row, task))
        try:
            status, error = await task
        except asyncio.CancelledError:
            if beat.done():  # the lease was lost: its new owner releases the run
                return self.queue.get(row.run_id)
            with contextlib.suppress(EvopipeError):  # shut down: back to the queue at once
                rq.requeue(row)
            raise
        finally:
            beat.cancel()
        rq.release(row, status, error)
        return self.queue.get(row.run_id)

    async def _heartbeat(self, row: QueueRow, task: asyncio.Future[Any]) -> None:
        """Renew the lease; stop the run once it is lost, or could not be renewed for a whole
        lease time (another worker may have taken the run over by then)."""
        told = False
        renewed = time.monotonic()
        while not task.done():
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                state = self.queue.rq.heartbeat(row, self.settings.lease_s)
            except EvopipeError as exc:  # the store failed: keep trying until the lease ends
                log.warning("worker %s: lease renewal failed: %s", self.owner, exc)
                state = "lost" if time.monotonic() - renewed > self.settings.lease_s else "ok"
            else:
                renewed = time.monotonic()
            if state == "lost":
                task.cancel()
                return
            if state == "cancel" and not told:
                told = self._request_cancel(row.run_id)

    def _request_cancel(self, run_id: str) -> bool:
        try:
            self.app.runs.cancel(run_id)
        except RunNotFoundError:
            return False
        return True

    async def _drive(self, row: QueueRow) -> tuple[str, str | None]:
        """Start or resume the run; its final status and error."""
        session = self._session(row)
        tracker = StepTracker()
        try:
            existing = self.app.store.find_run(row.run_id)
            if existing is None:
                if row.cancel_requested:
                    return "cancelled", "cancelled before it started"
                handle = await session.runs.start(
                    self._target(row),
                    row.inputs,
                    model=row.model,
                    run_id=row.run_id,
                    subscribers=[tracker],
                )
                journaled = self.app.store.get_run(row.run_id).inputs
                if journaled != row.inputs:  # secret inputs: the queue keeps them masked too
                    self.queue.rq.keep_inputs(row.run_id, journaled)
                if self.queue.rq.get(row.run_id).cancel_requested:
                    self._request_cancel(row.run_id)
                try:
                    result = await handle.result()
                except asyncio.CancelledError:  # lease lost or shut down: stop the run too
                    handle.task.cancel()
                    await asyncio.wait({handle.task}, timeout=self.settings.lease_s)
                    raise
            elif existing.status in _SETTLED and not _continues(row, existing):
                return existing.status, existing.error
            else:
                self.queue.ledger.abandon(row.run_id)
                journaled = existing.inputs
                given = {k: v for k, v in row.inputs.items() if journaled.get(k) != v}
                if given:  # secrets given again for this resume: the queue forgets them now
                    self.queue.rq.keep_inputs(row.run_id, journaled)
                result = await session.runs.resume(
                    row.run_id, model=row.model, subscribers=[tracker], inputs=given
                )
        except EvopipeError as exc:
            return "failed", str(exc)
        return result.status, result.error

    def _session(self, row: QueueRow) -> App:
        """The app a run executes in: this app's store and policy, its models metered for
        the run's tenant."""
        from evopipe.app.root import App

        metered = MeteredSource(
            self.app.models(),
            self.queue.ledger,
            tenant=row.tenant,
            run_id=row.run_id,
            estimate=fixed_estimate(self.settings.reserve_usd),
        )
        return App(
            self.app.settings,
            environ=self.app.environ,
            models=metered,
            store=self.app.store,
            policy=self.app.policy,
        )

    @staticmethod
    def _target(row: QueueRow) -> Pipeline | str:
        """The submitted spec; its file instead when the file still holds that spec (so its
        relative paths and edit detection work as for ``evopipe run FILE``)."""
        spec = spec_from_json(row.spec_json)
        if row.target and Path(row.target).is_file():
            try:
                if spec_hash(load_file(row.target).pipeline) == spec_hash(spec):
                    return row.target
            except EvopipeError:
                pass
        return spec
