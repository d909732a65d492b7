"""Run operations: start (with or without waiting), resume, approve, cancel, get, list, an
event stream replayed from the journal, and retention.

A run's model settings belong to the run: ``--model`` is journaled with ``run_started``, and
``resume`` / ``approve`` continue on the same model unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from evopipe.app.group import OperationGroup
from evopipe.app.pipelines import UsageError
from evopipe.engine import RunOptions, RunResult, resume_run, run_pipeline
from evopipe.engine.control import Decision, record_decision, request_cancel
from evopipe.engine.events import Subscriber
from evopipe.engine.replay import ResumeRefused, stored_pipeline
from evopipe.engine.runner import new_run_id
from evopipe.engine.secrets import check_secrets_given
from evopipe.engine.types import Event
from evopipe.spec.loader import load_file
from evopipe.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from evopipe.app.root import App
    from evopipe.store.records import GcCounts, RunRecord

EXIT_CODES: dict[str, int] = {
    "succeeded": 0,
    "failed": 1,
    "waiting": 3,
    "budget_exceeded": 4,
    "cancelled": 5,
}
"""Process exit code per run status; 2 is a bad invocation or invalid input (nothing ran)."""
EXIT_BAD_INPUT = 2
ACTIVE = frozenset({"running", "queued", "pending"})


def parse_inputs(pairs: Sequence[str], inputs_file: Path | None = None) -> dict[str, Any]:
    """``--inputs FILE.json`` then ``-i key=value`` (a value that parses as JSON keeps its
    type: ``-i n=3`` is the integer 3, ``-i 'tags=["a"]'`` a list; otherwise a string;
    ``-i text=@article.txt`` is the text of that file)."""
    out: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            data = json.loads(inputs_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read inputs file {inputs_file}: {exc}") from None
        if not isinstance(data, dict):
            raise UsageError(f"inputs file {inputs_file} must hold a JSON object")
        out.update(data)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad input {pair!r}: expected key=value")
        out[key.strip()] = _input_value(raw)
    return out


def _input_value(raw: str) -> Any:
    if raw.startswith("@") and len(raw) > 1:
        try:
            return Path(raw[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read input file {raw[1:]}: {exc}") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


@dataclass
class RunHandle:
    """A run started without waiting: its id at once, its result when it ends."""

    run_id: str
    task: asyncio.Task[RunResult]

    def done(self) -> bool:
        return self.task.done()

    async def result(self) -> RunResult:
        return await asyncio.shield(self.task)


class _Notify:
    """Wakes :meth:`Runs.events` followers as soon as a run of this session emits."""

    def __init__(self, changed: asyncio.Event, started: asyncio.Event | None = None) -> None:
        self.changed = changed
        self.started = started

    def on_event(self, *, event: Event) -> None:
        self.changed.set()
        if self.started is not None and event.type == "run_started":
            self.started.set()


P = ParamSpec("P")


def _waiting(
    start: Callable[Concatenate[Runs, P], Awaitable[RunHandle]],
) -> Callable[Concatenate[Runs, P], Coroutine[Any, Any, RunResult]]:
    """``run``: :meth:`Runs.start` (same arguments), then wait for the result."""

    async def run(self: Runs, /, *args: P.args, **kwargs: P.kwargs) -> RunResult:
        return await (await start(self, *args, **kwargs)).result()

    run.__doc__ = "Run and wait for the result (the arguments of :meth:`start`)."
    return run


class Runs(OperationGroup):
    def __init__(self, app: App) -> None:
        super().__init__(app)
        self._tasks: dict[str, asyncio.Task[RunResult]] = {}
        self._changed: dict[str, asyncio.Event] = {}

    # -- starting ----------------------------------------------------------------------------

    async def start(
        self,
        target: str | Path | Pipeline,
        inputs: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
        fork_from: str | None = None,
        run_id: str | None = None,
        subscribers: Sequence[Subscriber] = (),
        workspace: Path | None = None,
    ) -> RunHandle:
        """Start a run in this event loop and return once it is journaled (its id is then
        visible to :meth:`get`, :meth:`events` and :meth:`cancel`). An invalid pipeline or bad
        inputs raise here, before anything runs."""
        resolved = self.app.pipelines.resolve(target)
        rid = run_id or new_run_id()
        started = asyncio.Event()
        notify = _Notify(self._signal(rid), started)
        base = resolved.path.parent if resolved.path is not None else None
        services = self.app.services(base_dir=base, subscribers=[*subscribers, notify])
        options = RunOptions(
            run_id=rid,
            model=model or self.app.settings.model,
            cache=self.app.settings.cache,
            fork_from=fork_from,
            source=resolved.source,
            workspace=workspace,
        )
        coro = run_pipeline(
            resolved.pipeline, dict(inputs or {}), services=services, options=options
        )
        return await self._launch(rid, coro, started)

    run = _waiting(start)

    def run_sync(
        self, target: str | Path | Pipeline, inputs: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> RunResult:
        """Blocking form of :meth:`run` (not from inside a running event loop)."""
        return asyncio.run(self.run(target, inputs, **kwargs))

    async def _launch(self, run_id: str, coro: Any, started: asyncio.Event) -> RunHandle:
        task: asyncio.Task[RunResult] = asyncio.ensure_future(coro)
        waiter = asyncio.ensure_future(started.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the caller went away: the run must not go on unowned
            task.cancel()
            await asyncio.wait({task})  # it journals itself as cancelled (resumable)
            raise
        finally:
            waiter.cancel()
        failed = task.exception() if task.done() and not task.cancelled() else None
        if failed is not None:
            raise failed
        self._tasks[run_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(run_id, None))
        return RunHandle(run_id, task)

    # -- continuing --------------------------------------------------------------------------

    async def resume(
        self,
        run_id: str,
        *,
        model: str | None = None,
        subscribers: Sequence[Subscriber] = (),
        inputs: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Continue a run from its journal (completed steps are not re-run), on the model it
        was started with unless ``model`` says otherwise. ``inputs`` gives its secret
        (``writeOnly``) inputs again: they were never stored."""
        journal = self.app.journal
        started = _run_started(journal, run_id)
        pipeline = _journaled_pipeline(started) or stored_pipeline(journal.get_run(run_id))
        base_dir = Path(started.get("base_dir") or self.app.project_dir)
        services = self.app.services(base_dir=base_dir, subscribers=subscribers)
        options = RunOptions(
            model=model or started.get("model") or self.app.settings.model,
            cache=self.app.settings.cache,
            workspace=Path(started["workspace"]) if started.get("workspace") else None,
        )
        return await resume_run(
            run_id, services=services, pipeline=pipeline, options=options, inputs=inputs
        )

    async def approve(
        self,
        run_id: str,
        decision: Decision,
        *,
        model: str | None = None,
        subscribers: Sequence[Subscriber] = (),
        inputs: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Record the decision on a waiting step (:meth:`decide`), then resume: exactly that
        step runs again (``inputs``: the run's secret inputs, as for :meth:`resume`)."""
        self.require_secrets(run_id, inputs)  # refused before the decision is recorded
        self.decide(run_id, decision)
        return await self.resume(run_id, model=model, subscribers=subscribers, inputs=inputs)

    def require_secrets(self, run_id: str, inputs: Mapping[str, Any] | None) -> None:
        """Refuse (:class:`ResumeRefused`) when ``inputs`` lacks a secret input of the run
        (stored masked, so the run cannot continue without it)."""
        try:
            check_secrets_given(self.app.journal.get_run(run_id).inputs, inputs or {}, run_id)
        except ValueError as exc:
            raise ResumeRefused(str(exc)) from None

    def decide(self, run_id: str, decision: Decision) -> dict[str, Any]:
        """Record the decision on a waiting step without resuming the run. Its ``values``
        answer the step's typed fields: checked and converted first, and refused whole
        (:class:`~evopipe.spec.fields.FieldValuesError`, nothing recorded) when they do not
        fit. Returns the values as recorded."""
        return record_decision(self.app.journal, run_id, decision)

    def cancel(self, run_id: str) -> None:
        """Ask the run to stop (within ``cancel_poll_s``, from any process sharing the store);
        its journal stays resumable."""
        request_cancel(self.app.journal, run_id)

    # -- reading -----------------------------------------------------------------------------

    def get(self, run_id: str) -> dict[str, Any]:
        """Status, inputs, outputs, usage and per-step summaries (``runs show --json``)."""
        from evopipe.store.summary import run_summary

        return run_summary(self.app.store, run_id)

    def list(self, *, limit: int = 50, status: str | None = None) -> list[RunRecord]:
        return self.app.store.list_runs(limit=limit, status=status)

    async def events(
        self,
        run_id: str,
        *,
        after: int = 0,
        follow: bool = True,
        poll_s: float = 0.2,
    ) -> AsyncIterator[Any]:
        """The run's events with ``seq > after``, in order, gap-free, replayed from the journal;
        with ``follow``, new ones as they are journaled until the run stops being active."""
        journal = self.app.journal
        journal.get_run(run_id)  # an unknown run raises here
        seq = after
        while True:
            batch = journal.load_events(run_id, seq)
            for event in batch:
                seq = event.seq
                yield event
            if batch:
                continue
            if not follow or journal.get_run(run_id).status not in ACTIVE:
                for event in journal.load_events(run_id, seq):  # written while we looked
                    yield event
                return
            await self._wait(run_id, poll_s)

    async def _wait(self, run_id: str, poll_s: float) -> None:
        changed = self._signal(run_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), poll_s)
        changed.clear()

    def _signal(self, run_id: str) -> asyncio.Event:
        return self._changed.setdefault(run_id, asyncio.Event())

    def gc(self, older_than: str) -> GcCounts:
        """Delete finished runs (and unreferenced blobs, stale cache) older than the age."""
        from evopipe.store.summary import collect_garbage

        return collect_garbage(self.app.store, older_than)

    async def drain(self, grace_s: float = 5.0) -> None:
        """Cancel this session's unfinished runs (journaled as cancelled, resumable)."""
        pending = {r: t for r, t in self._tasks.items() if not t.done()}
        for run_id in pending:
            request_cancel(self.app.journal, run_id)
        if pending:
            await asyncio.wait(pending.values(), timeout=grace_s)


def _run_started(journal: Any, run_id: str) -> dict[str, Any]:
    events = journal.load_events(run_id, 0)
    if events and events[0].type == "run_started":
        return dict(events[0].data)
    journal.get_run(run_id)  # unknown run: RunNotFound
    return {}


def _journaled_pipeline(started: Mapping[str, Any]) -> Pipeline | None:
    """The pipeline file the run was started from, if it is still there (an edit since is
    then refused by the engine rather than silently mixed in)."""
    source = started.get("source")
    if source and Path(source).is_file():
        return load_file(source).pipeline
    return None
