"""Queue workers as Ray actors (``evopipe serve --executor ray``, ``evopipe worker --executor
ray``).

A :class:`WorkerActor` is the queue worker of :mod:`evopipe.app.worker` inside a Ray actor. It
receives the session's :class:`~evopipe.app.Settings` as plain JSON, builds its own
:class:`~evopipe.app.App` (the one composition root: store, models, policy) on its node, and
runs the same loop against the same database: lease a queued run, start it or resume it from
its journal, renew the lease, release it. Secrets never travel: API keys come from the node's
environment, as for any process.

Ray restarts a killed actor on its node (``max_restarts``) and runs its loop again
(``max_task_retries``); an actor whose node is gone is replaced by :class:`RayWorkers`. The run a
dead worker held is resumed, once its lease expired, by whichever worker leases it next, from
the journal: no completed step runs again. So the journal (PostgreSQL for a cluster) stays the
truth, and Ray only places the workers.

A worker actor runs its runs' steps itself (the local executor): here the run is the unit
spread over the cluster. Ray is imported only when the pool starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from evopipe.app.queue import QueueSettings
from evopipe.app.settings import Settings
from evopipe.app.worker import default_owner
from evopipe.ray import import_ray
from evopipe.ray.placement import spread

log = logging.getLogger("evopipe.queue")

REPLACEMENTS = 3
"""Actors started again per worker of the pool, at most, after they died for good."""


class WorkerActor:
    """``concurrency`` queue workers in one Ray actor (``ray.remote`` is applied by
    :class:`RayWorkers`)."""

    def __init__(self, settings: dict[str, Any], queue: dict[str, Any], concurrency: int) -> None:
        from evopipe.app.root import App

        self.app = App(Settings.from_json(settings).replace(executor="local"))
        self.queue = QueueSettings(**queue)
        self.concurrency = concurrency
        self.owner = f"ray:{default_owner()}"
        """The lease owner's name prefix (host, process id, a token)."""
        self._stop = asyncio.Event()

    async def serve(self) -> int:
        """Run queued runs until :meth:`stop` (the runs in hand are finished first); how many
        were handled."""
        workers = [
            self.app.queue.worker(owner=f"{self.owner}:{n}", settings=self.queue)
            for n in range(self.concurrency)
        ]
        counts = await asyncio.gather(*(w.run(self._stop) for w in workers))
        return sum(counts)

    def stop(self) -> None:
        self._stop.set()

    def where(self) -> tuple[str, int, str]:
        """This actor's Ray node id, process id and lease owner prefix (for operators and
        the tests that kill it)."""
        import ray

        return str(ray.get_runtime_context().get_node_id()), os.getpid(), self.owner


class RayWorkers:
    """``count`` :class:`WorkerActor` actors on the cluster at ``settings.ray_address``
    (None: ``$RAY_ADDRESS``, else a Ray instance started here), each running
    ``concurrency`` runs at once."""

    def __init__(
        self,
        settings: Settings,
        count: int,
        *,
        queue: QueueSettings | None = None,
        concurrency: int = 1,
        namespace: str = "evopipe",
    ) -> None:
        self.settings = settings
        self.count = count
        self.queue = queue or QueueSettings()
        self.concurrency = concurrency
        self.namespace = namespace
        self.actors: list[Any] = []
        self._serving: dict[asyncio.Future[Any], int] = {}
        self._replaced = 0
        self._started_ray = False

    def start(self) -> None:
        """Connect to Ray (blocking) and start the actors."""
        ray = import_ray()
        if not ray.is_initialized():
            with _own_signal_handlers():
                ray.init(
                    address=self.settings.ray_address,
                    namespace=self.namespace,
                    log_to_driver=False,
                    include_dashboard=False,
                )
            self._started_ray = True
        self.actors = self._spawn(ray, self.count)

    def _spawn(self, ray: Any, count: int, first: int = 0) -> list[Any]:
        args = (self.settings.to_json(), asdict(self.queue), self.concurrency)
        options = {"num_cpus": 0, "max_restarts": -1, "max_task_retries": -1}
        return spread(ray, WorkerActor, count, *args, first=first, **options)

    def places(self) -> list[tuple[str, int, str]]:
        """``(node id, process id, lease owner prefix)`` of each actor (blocking)."""
        ray = import_ray()
        return [tuple(p) for p in ray.get([a.where.remote() for a in self.actors])]

    async def run(self, stop: asyncio.Event) -> int:
        """Start the actors (unless started), serve until ``stop``, then stop them (their
        runs in hand are finished first) and return how many runs they handled. An actor
        that died for good (its node is gone) is replaced."""
        if not self.actors:
            self.start()
        ray = import_ray()
        for at in range(len(self.actors)):
            self._serve(at)
        handled = 0
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while self._serving:
                await asyncio.wait({stopping, *self._serving}, return_when="FIRST_COMPLETED")
                if stopping.done():
                    break
                handled += self._settle(ray)
            for actor in self.actors:
                actor.stop.remote()
            while self._serving:
                await asyncio.wait(set(self._serving))
                handled += self._settle(ray, stopping=True)
        finally:
            stopping.cancel()
            self.close()
        return handled

    def _serve(self, at: int) -> None:
        self._serving[asyncio.wrap_future(self.actors[at].serve.remote().future())] = at

    def _settle(self, ray: Any, stopping: bool = False) -> int:
        """Collect the loops that ended; replace the actors that died for good."""
        handled = 0
        for done in [f for f in self._serving if f.done()]:
            at = self._serving.pop(done)
            try:
                handled += done.result()
            except Exception as exc:  # died for good (node gone), or its loop could not start
                log.warning("queue worker actor %d stopped: %s", at, str(exc).splitlines()[0])
                if not stopping and self._replaced < REPLACEMENTS * self.count:
                    self._replaced += 1
                    self.actors[at] = self._spawn(ray, 1, first=at)[0]
                    self._serve(at)
        return handled

    def close(self) -> None:
        """Kill the actors; disconnect from Ray if this pool connected."""
        if not self.actors and not self._started_ray:
            return
        ray = import_ray()
        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False


@contextlib.contextmanager
def _own_signal_handlers() -> Iterator[None]:
    """Keep this process's SIGINT/SIGTERM handlers across ``ray.init`` (a driver's handlers
    are replaced by Ray's, which kill the process instead of letting the workers finish the
    runs in hand)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)
