"""Evolutions started by a remote face: run in this session's event loop, their progress
kept as a numbered sequence that a stream replays from any point (``after=seq``).

The dataset is posted as rows; it is written under ``.evopipe/datasets/`` (named by its
content hash) so that ``resume`` and ``promote`` can rebuild the evaluator from the run's
record, exactly as for ``evopipe evolve DATA.jsonl``. Progress lives in this process: after a
restart the evolution's checkpoint remains (``evopipe evolve --resume``), its stream does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.app.tenancy import EVOLUTION, NotFound, TargetSpec, Tenant
from evopipe.auth import ownership
from evopipe.evolve.config import EvolveConfig, Progress
from evopipe.evolve.source import EvalSource
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["EvolutionJob", "EvolutionJobs"]


@dataclass
class EvolutionJob:
    run_id: str
    tenant: str
    progress: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    outcome: dict[str, Any] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def to_json(self) -> dict[str, Any]:
        return {
            "evolution_id": self.run_id,
            "done": self.done,
            "progress_events": len(self.progress),
            "last": self.progress[-1] if self.progress else None,
            "outcome": self.outcome or None,
        }


class EvolutionJobs(OperationGroup):
    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._jobs: dict[str, EvolutionJob] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _dataset(self, rows: Sequence[Mapping[str, Any]]) -> str:
        text = "".join(json.dumps(dict(r), sort_keys=True) + "\n" for r in rows)
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        folder = self.app.project_dir / ".evopipe" / "datasets"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{digest}.jsonl"
        if not path.exists():
            path.write_text(text, encoding="utf-8")
        return str(path)

    async def start(
        self,
        tenant: Tenant,
        target: TargetSpec,
        rows: Sequence[Mapping[str, Any]],
        *,
        metric: str,
        config: EvolveConfig,
        model: str | None = None,
    ) -> EvolutionJob:
        """Start; return once the evolution has its id (its first progress event)."""
        from evopipe.app.evolve import EvolveArgs

        tenant.principal.require("editor")
        seed = tenant.resolve(target)
        source = EvalSource(dataset=self._dataset(rows), metric=metric, model=model)
        first: asyncio.Future[EvolutionJob] = asyncio.get_running_loop().create_future()
        holder: dict[str, EvolutionJob] = {}

        def hook(*, progress: Progress) -> None:
            job = holder.get("job")
            if job is None:
                job = holder["job"] = EvolutionJob(progress.run_id, tenant.name)
                self._jobs[job.run_id] = job
                ownership.claim(self.app.store, EVOLUTION, job.run_id, tenant.name)
                if not first.done():
                    first.set_result(job)
            job.progress.append({"seq": len(job.progress) + 1, **asdict(progress)})
            job.changed.set()

        args = EvolveArgs(pipeline=seed, source=source, config=config)
        task = asyncio.ensure_future(self.app.evolutions.evolve(args, hooks=[hook]))
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._finish(t, holder, first))
        return await first

    def _finish(self, task: asyncio.Task[Any], holder: dict[str, EvolutionJob], first: Any) -> None:
        self._tasks.discard(task)
        job = holder.get("job")
        error = None if task.cancelled() else task.exception()
        if job is None:
            if not first.done():
                first.set_exception(error or EvopipeError("the evolution stopped before it began"))
            return
        if error is not None:
            job.outcome = {"status": "failed", "error": str(error)}
        elif task.cancelled():
            job.outcome = {"status": "cancelled"}
        else:
            result = task.result()
            job.outcome = {
                "status": "finished",
                "champion_id": result.champion_id,
                "generations": result.generations,
                "stop_reason": result.stop_reason,
            }
        job.done = True
        job.changed.set()

    def get(self, tenant: Tenant, evolution_id: str) -> EvolutionJob:
        job = self._jobs.get(evolution_id)
        if job is not None and job.tenant == tenant.name:
            return job
        try:
            tenant.lineage(evolution_id)  # another tenant's: NotFound
        except EvopipeError:
            raise NotFound(f"no evolution {evolution_id!r}") from None
        # started elsewhere (the CLI) or before a restart: its checkpoint, no live progress
        return EvolutionJob(evolution_id, tenant.name, done=True, outcome={"status": "unknown"})

    async def events(
        self, tenant: Tenant, evolution_id: str, *, after: int = 0, poll_s: float = 1.0
    ) -> AsyncIterator[dict[str, Any]]:
        """Progress events with ``seq > after``, then new ones until the evolution ends."""
        job = self.get(tenant, evolution_id)
        seen = after
        while True:
            for item in job.progress[seen:]:
                seen = item["seq"]
                yield item
            if job.done:
                return
            job.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(job.changed.wait(), poll_s)

    async def drain(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
