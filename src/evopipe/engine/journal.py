"""The journal: what the engine needs of a store, an in-memory store, and the writer.

:class:`JournalStore` is the contract with ``evopipe.store.Store`` (which implements it on
SQLite/PostgreSQL); :class:`MemoryJournal` implements it in memory for tests and
unjournaled-but-resumable in-process use.

The :class:`JournalWriter` is an event subscriber. It buffers a run's events and commits them
in groups: once per turn of the event loop (every event produced before the engine next waits on
anything goes into one transaction), or at every step completion with ``durability="step"``.
Because events are committed in ``seq`` order, the journal on disk is always a gap-free prefix
of the run; a crash loses at most the steps completed since the last commit, and those re-run on
resume with the same idempotency key (at-least-once for side effects, like every durable
engine's in-flight step).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from evopipe.engine.types import Event
from evopipe.spec.errors import EvopipeError

Durability = Literal["turn", "step"]

_STEP_END = frozenset({"step_succeeded", "step_failed", "step_skipped", "step_waiting"})


class JournalError(EvopipeError):
    """The journal is missing, inconsistent or could not be written."""


class RunNotFound(JournalError):
    """No run with this id in the store."""


@dataclass(frozen=True)
class RunInfo:
    """A run row as the engine reads it."""

    run_id: str
    pipeline_name: str
    spec_hash: str
    spec_json: str
    inputs: dict[str, Any]
    status: str
    parent_run_id: str | None = None
    last_seq: int = 0


def decision_payload(
    approved: bool, comment: str | None, by: str | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The data of an ``approval_decided`` event (``values`` only when some were given)."""
    data: dict[str, Any] = {"approved": bool(approved), "comment": comment, "decided_by": by}
    if values:
        data["values"] = dict(values)
    return data


@dataclass(frozen=True)
class ApprovalDecision:
    approved: bool
    comment: str | None = None
    decided_by: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    """Typed values the approver gave (already checked against the step's ``fields``)."""


class JournalStore(Protocol):
    """What the engine needs of a store. ``evopipe.store.Store`` implements it.

    - ``append_events`` must reject a batch whose first ``seq`` is not ``last_seq + 1`` (no gaps,
      no duplicates) and commit the whole batch atomically.
    - ``load_events`` returns objects with ``seq``, ``type``, ``step_id``, ``data``, ``ts``.
    - ``set_run_status`` is called with ``running`` when a run (re)starts and with the final
      status at the end; ``outputs``/``usage`` are plain JSON data.
    """

    def create_run(
        self,
        run_id: str,
        *,
        pipeline_name: str,
        spec_hash: str,
        spec_json: str,
        inputs: dict[str, Any],
        parent_run_id: str | None = None,
    ) -> None: ...

    def get_run(self, run_id: str) -> Any: ...

    def append_events(self, run_id: str, events: Sequence[Event]) -> object: ...

    def load_events(self, run_id: str, after_seq: int = 0) -> Sequence[Any]: ...

    def set_run_status(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        outputs: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None: ...

    def request_cancel(self, run_id: str) -> None: ...

    def cancel_requested(self, run_id: str) -> bool: ...

    def clear_cancel(self, run_id: str) -> None: ...

    def record_approval(
        self,
        run_id: str,
        step_id: str,
        approved: bool,
        comment: str | None = None,
        by: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a decision and append an ``approval_decided`` event (approved, comment,
        decided_by, values) to the journal in the same transaction."""
        ...


@dataclass
class _MemRun:
    info: RunInfo
    events: list[Event] = field(default_factory=list)
    cancel: bool = False
    outputs: Mapping[str, Any] | None = None
    error: str | None = None


class MemoryJournal:
    """An in-memory :class:`JournalStore` (tests; runs that need resume within a process)."""

    def __init__(self) -> None:
        self._runs: dict[str, _MemRun] = {}

    def create_run(
        self,
        run_id: str,
        *,
        pipeline_name: str,
        spec_hash: str,
        spec_json: str,
        inputs: dict[str, Any],
        parent_run_id: str | None = None,
    ) -> None:
        if run_id in self._runs:
            raise JournalError(f"run {run_id!r} already exists")
        info = RunInfo(
            run_id, pipeline_name, spec_hash, spec_json, dict(inputs), "running", parent_run_id
        )
        self._runs[run_id] = _MemRun(info)

    def _run(self, run_id: str) -> _MemRun:
        try:
            return self._runs[run_id]
        except KeyError:
            raise RunNotFound(f"no run {run_id!r}") from None

    def get_run(self, run_id: str) -> RunInfo:
        run = self._run(run_id)
        last = run.events[-1].seq if run.events else 0
        return RunInfo(**{**run.info.__dict__, "last_seq": last})

    def append_events(self, run_id: str, events: Sequence[Event]) -> None:
        run = self._run(run_id)
        expected = (run.events[-1].seq if run.events else 0) + 1
        for ev in events:
            if ev.seq != expected:
                raise JournalError(f"run {run_id!r}: event seq {ev.seq}, expected {expected}")
            expected += 1
        run.events.extend(events)

    def load_events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        return [e for e in self._run(run_id).events if e.seq > after_seq]

    def set_run_status(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        outputs: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        run = self._run(run_id)
        run.info = RunInfo(**{**run.info.__dict__, "status": status})
        run.error = error
        run.outputs = outputs

    def request_cancel(self, run_id: str) -> None:
        self._run(run_id).cancel = True

    def cancel_requested(self, run_id: str) -> bool:
        return self._run(run_id).cancel

    def clear_cancel(self, run_id: str) -> None:
        self._run(run_id).cancel = False

    def record_approval(
        self,
        run_id: str,
        step_id: str,
        approved: bool,
        comment: str | None = None,
        by: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        run = self._run(run_id)
        seq = (run.events[-1].seq if run.events else 0) + 1
        data = decision_payload(approved, comment, by, values)
        run.events.append(Event("approval_decided", run_id, seq, step_id, data, time.time()))

    def run_ids(self) -> list[str]:
        return list(self._runs)


class JournalWriter:
    """Event subscriber committing one run's events to a :class:`JournalStore` in groups."""

    def __init__(
        self,
        store: JournalStore,
        run_id: str,
        *,
        durability: Durability = "turn",
        max_batch: int = 2048,
    ) -> None:
        self._store = store
        self._run_id = run_id
        self._buffer: list[Event] = []
        self._scheduled = False
        self._step_mode = durability == "step"
        self._max_batch = max_batch
        self.error: BaseException | None = None
        self.commits = 0
        self.commit_s = 0.0

    def on_event(self, *, event: Event) -> None:
        if event.run_id != self._run_id:
            return
        self._buffer.append(event)
        if len(self._buffer) >= self._max_batch or (self._step_mode and event.type in _STEP_END):
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self._flush_soon)
            except RuntimeError:  # no loop: commit now
                self.flush()

    def _flush_soon(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Commit buffered events now (also called at the end of a run)."""
        if not self._buffer or self.error is not None:
            return
        batch, self._buffer = self._buffer, []
        t0 = time.perf_counter()
        try:
            self._store.append_events(self._run_id, batch)
        except Exception as exc:  # surfaced by the run at its end
            self.error = exc
        self.commits += 1
        self.commit_s += time.perf_counter() - t0

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise JournalError(f"journal write failed: {self.error}") from self.error
