"""Operations for out-of-process clients (the MCP server, any agent host): plain JSON in and
out, and nothing that holds a call open for long. Runs, the resumption after an approval and
evolutions start in the background of this session's event loop and return their id at once;
the client polls them by id (agent hosts cut a tool call after about a minute).

One :class:`Remote` belongs to one long-lived :class:`~evopipe.app.App` in one event loop
(the server process owns both for its lifetime); :meth:`Remote.close` stops what is still
running (journaled as cancelled, resumable).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.evolve import EvalSource, EvolveArgs, EvolveConfig, Progress
from evopipe.app.generate import GenerationError
from evopipe.app.group import OperationGroup
from evopipe.app.pipelines import UsageError
from evopipe.engine.control import Decision
from evopipe.engine.types import Event
from evopipe.evolve.loop import new_run_id as new_evolution_id
from evopipe.evolve.repository import EvolutionRepository
from evopipe.spec.canonical import to_yaml
from evopipe.spec.errors import Diagnostic, EvopipeError, SpecError
from evopipe.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from evopipe.app.root import App

MAX_EVENTS = 500
"""The most events one :meth:`Remote.run_events` call returns (page on with ``after``)."""


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    """A diagnostic with its location spelled out (``file:line:col``) for a remote reader."""
    return {**d.to_json(), "path": d.path, "location": f"{d.path}:{d.line}:{d.column}"}


def error_json(exc: EvopipeError) -> dict[str, Any]:
    """What a remote client gets for a refused operation: the message, the error's kind and,
    for an invalid pipeline or generation, every located diagnostic."""
    diagnostics: list[Diagnostic] = []
    if isinstance(exc, SpecError | GenerationError):
        diagnostics = list(exc.diagnostics)
    return {
        "error": str(exc),
        "kind": type(exc).__name__,
        "diagnostics": [diagnostic_json(d) for d in diagnostics],
    }


class _FirstEvent:
    """Sets ``seen`` on the first event a resumed run emits (it is then journaled as running)."""

    def __init__(self) -> None:
        self.seen = asyncio.Event()

    def on_event(self, *, event: Event) -> None:
        self.seen.set()


@dataclass
class _Job:
    """An evolution running in the background."""

    task: asyncio.Task[Any] | None = None
    projection: dict[str, Any] | None = None
    progress: Progress | None = None


class Remote(OperationGroup):
    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._resumes: dict[str, asyncio.Task[Any]] = {}
        self._evolutions: dict[str, _Job] = {}

    # -- pipelines ---------------------------------------------------------------------------

    async def generate(
        self, request: str, *, model: str | None = None, max_rounds: int = 3
    ) -> dict[str, Any]:
        """A validated pipeline from a plain-language request (its YAML is ``spec``)."""
        outcome = await self.app.generations.generate(request, model=model, max_rounds=max_rounds)
        return outcome.to_json()

    def validate(
        self, *, path: str | None = None, text: str | None = None, profile: str = "default"
    ) -> dict[str, Any]:
        """Check a file (or a directory of them) or YAML text; every located diagnostic."""
        if (path is None) == (text is None):
            raise UsageError("give exactly one of path or yaml")
        if text is not None:
            validity = self.app.pipelines.assess(text, path="<yaml>", profile=profile)
            files = [("<yaml>", validity.valid, validity.diagnostics)]
        else:
            reports = self.app.pipelines.validate([self.resolve_path(path)], profile=profile)
            if not reports:
                raise UsageError(f"no pipeline files under {path}")
            files = [(r.path, r.valid, r.diagnostics) for r in reports]
        return {
            "valid": all(ok for _, ok, _ in files),
            "files": [
                {"path": p, "valid": ok, "diagnostics": [diagnostic_json(d) for d in diags]}
                for p, ok, diags in files
            ],
        }

    def pipelines(self) -> dict[str, Any]:
        """The pipelines a run can name: shipped with evopipe, and registered."""
        return {
            "library": library_names(),
            "registered": [e.to_json() for e in self.app.registry.list()],
        }

    def pipeline_text(self, name: str) -> str:
        """The YAML of a library pipeline, or of a registered one (``NAME``: its champion,
        ``NAME@N``: version N)."""
        resolved = self.app.pipelines.resolve(name)
        if resolved.origin == "library" and resolved.path is not None:
            return resolved.path.read_text(encoding="utf-8")
        if resolved.origin != "registry":
            raise UsageError(f"{name!r} is neither a library nor a registered pipeline")
        return to_yaml(resolved.pipeline)

    # -- runs ----------------------------------------------------------------------------------

    async def start_run(
        self,
        *,
        pipeline: str | None = None,
        text: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Start a run of a file, a library or registered pipeline, or YAML text; returns as
        soon as it is journaled. An invalid pipeline or bad inputs are refused here."""
        if (pipeline is None) == (text is None):
            raise UsageError("give exactly one of pipeline or yaml")
        target: str | Pipeline
        if text is not None:
            target = self.app.pipelines.assess(text, path="<yaml>").require()
        else:
            target = self.resolve_path(pipeline)
        handle = await self.app.runs.start(target, inputs, model=model)
        return self.run_status(handle.run_id)

    def run_status(self, run_id: str) -> dict[str, Any]:
        """Status, inputs, outputs, usage, per-step summaries, and the steps awaiting a
        decision when the run is waiting."""
        summary = self.app.runs.get(run_id)
        summary["waiting_on"] = [s["id"] for s in summary["steps"] if s["status"] == "waiting"]
        return summary

    async def run_events(
        self, run_id: str, *, after: int = 0, limit: int = MAX_EVENTS
    ) -> dict[str, Any]:
        """The run's journaled events with ``seq > after`` (at most ``limit``); ``next_after``
        continues the page."""
        limit = max(1, min(limit, MAX_EVENTS))
        events: list[dict[str, Any]] = []
        async for event in self.app.runs.events(run_id, after=after, follow=False):
            events.append(event.to_json())
            if len(events) > limit:
                break
        more = len(events) > limit
        events = events[:limit]
        return {
            "run_id": run_id,
            "status": self.app.runs.get(run_id)["status"],
            "events": events,
            "next_after": events[-1]["seq"] if events else after,
            "more": more,
        }

    async def approve(self, run_id: str, decision: Decision) -> dict[str, Any]:
        """Record the decision on a waiting step (with the typed ``values`` its fields ask
        for) and resume the run in the background (on its own model); returns once it runs
        again. A step not waiting, or values that do not fit, are refused here."""
        first = _FirstEvent()
        task = asyncio.ensure_future(self.app.runs.approve(run_id, decision, subscribers=[first]))
        await _started(task, first.seen.wait())
        self._keep(self._resumes, run_id, task)
        return self.run_status(run_id)

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask the run to stop; its journal stays resumable."""
        self.app.runs.cancel(run_id)
        return {"run_id": run_id, "cancel_requested": True}

    def runs(self, *, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.app.runs.list(limit=limit, status=status)]

    # -- evolution -----------------------------------------------------------------------------

    async def start_evolution(
        self, pipeline: str, source: EvalSource, config: EvolveConfig
    ) -> dict[str, Any]:
        """Start evolving ``pipeline`` in the background; returns its id once the dataset is
        loaded and the cost projected (a bad seed, dataset or metric is refused here)."""
        evo_id = new_evolution_id()
        projected = asyncio.Event()
        job = _Job()

        def on_projection(values: dict[str, Any]) -> None:
            job.projection = values
            projected.set()

        def on_progress(*, progress: Progress) -> None:
            job.progress = progress

        args = EvolveArgs(Path(self.resolve_path(pipeline)), source, config, run_id=evo_id)
        job.task = task = asyncio.ensure_future(
            self.app.evolutions.evolve(args, hooks=[on_progress], on_projection=on_projection)
        )
        task.add_done_callback(_observe)
        await _started(task, projected.wait())
        self._evolutions[evo_id] = job
        return self.evolution_status(evo_id)

    def evolution_status(self, evo_id: str) -> dict[str, Any]:
        """``running`` with the latest progress, ``finished`` with the summary, or ``failed``
        with the error that stopped it."""
        info = EvolutionRepository(self.app.store).get_run(evo_id)
        out: dict[str, Any] = {
            "evolution_id": evo_id,
            "pipeline": info["pipeline_name"],
            "status": info["status"],
            "summary": info["summary"],
        }
        job = self._evolutions.get(evo_id)
        if job is not None:
            out["projection"] = job.projection
            if job.progress is not None:
                p = job.progress
                out["progress"] = {
                    "generation": p.generation,
                    "evaluations": p.evaluations,
                    "best_id": p.best_id,
                    "best_quality": p.best_quality,
                    "calls": p.calls,
                    "cost_usd": p.cost_usd,
                }
            error = _error(job.task)
            if error is not None:
                out["status"] = "failed"
                out["error"] = str(error)
        return out

    def lineage(self, ident: str, fmt: str = "json") -> Any:
        text = self.app.evolutions.lineage(ident, fmt)
        return json.loads(text) if fmt == "json" else text

    def registry(self, name: str | None = None) -> Any:
        if name:
            return self.app.registry.show(name)
        return [e.to_json() for e in self.app.registry.list()]

    # -- lifecycle -----------------------------------------------------------------------------

    def resolve_path(self, value: str | None) -> str:
        """A client's relative path is relative to the project directory."""
        path = Path(str(value))
        if not path.is_absolute() and (self.app.project_dir / path).exists():
            return str(self.app.project_dir / path)
        return str(value)

    def _keep(self, table: dict[str, asyncio.Task[Any]], key: str, task: asyncio.Task[Any]) -> None:
        table[key] = task
        task.add_done_callback(lambda _t: table.pop(key, None))
        task.add_done_callback(_observe)

    async def close(self, grace_s: float = 5.0) -> None:
        """Stop background work: resumed runs are cancelled through the journal (resumable),
        evolutions at their next checkpoint; then the session's own runs are drained."""
        for run_id in self._resumes:
            self.app.runs.cancel(run_id)
        evolving = [j.task for j in self._evolutions.values() if j.task and not j.task.done()]
        for task in evolving:
            task.cancel()
        pending = [*self._resumes.values(), *evolving]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        await self.app.runs.drain(grace_s)


async def _started(task: asyncio.Task[Any], signal: Awaitable[Any]) -> None:
    """Wait until ``signal`` fires or ``task`` ends; an error of the task is raised here."""
    waiter = asyncio.ensure_future(signal)
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    error = _error(task)
    if error is not None:
        raise error


def _error(task: asyncio.Task[Any] | None) -> BaseException | None:
    if task is None or not task.done() or task.cancelled():
        return None
    return task.exception()


def _observe(task: asyncio.Task[Any]) -> None:
    """A background task's error is reported by the status operations, not as an
    unretrieved-exception warning."""
    _error(task)


def library_names() -> list[str]:
    """The pipelines shipped in ``evopipe/library``, as names a run accepts."""
    root = resources.files("evopipe.library")
    found: list[str] = []
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                pending.append((entry, f"{prefix}{entry.name}/"))
            elif entry.name.endswith(".yaml"):
                found.append(prefix + entry.name.removesuffix(".yaml"))
    return sorted(found)
