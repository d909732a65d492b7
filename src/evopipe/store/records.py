"""Plain records the store reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Protocol

RUN_STATUSES: tuple[str, ...] = (
    "pending",
    "running",
    "waiting",
    "succeeded",
    "failed",
    "budget_exceeded",
    "cancelled",
)
"""Every status a run may have."""

TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"succeeded", "failed", "budget_exceeded", "cancelled"}
)
"""Statuses of finished runs (the ones ``gc`` may delete)."""


class FieldsJson:
    """Mixin of a flat record dataclass: :meth:`to_json` gives its fields by name, values as
    they are (no copy or conversion of nested values, unlike :func:`dataclasses.asdict`)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class EventRecord(NamedTuple):
    """One event to append to a run's journal. ``step_id`` is None for run-level events."""

    type: str
    step_id: str | None
    attempt: int
    payload: dict[str, Any]


class SequencedEvent(Protocol):
    """An event that carries its own ``seq`` (the engine's ``evopipe.engine.Event``).

    The store checks that such a batch continues the journal exactly (``last_seq + 1``, ...)
    and refuses it otherwise, so a gap or a duplicate can never be committed. ``attempt`` is
    taken from ``data["attempt"]`` (or ``data["attempts"]``) when present.
    """

    @property
    def type(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def step_id(self) -> str | None: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def ts(self) -> float: ...


class StoredEvent(NamedTuple):
    """One event read back from the journal; ``seq`` starts at 1 and has no gaps.

    It reads like the engine's ``Event`` (``run_id``, ``seq``, ``type``, ``step_id``, ``data``,
    ``ts``), so the engine can replay it directly.
    """

    seq: int
    type: str
    step_id: str | None
    attempt: int
    payload: dict[str, Any]
    ts: float
    run_id: str = ""

    @property
    def data(self) -> dict[str, Any]:
        """The payload (the engine's name for it)."""
        return self.payload

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "run_id": self.run_id,
            "step_id": self.step_id,
            "attempt": self.attempt,
            "ts": self.ts,
            "data": self.payload,
        }


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of ``runs``, decoded. Times are timezone-aware UTC datetimes."""

    run_id: str
    pipeline_name: str
    spec_hash: str
    spec_json: str
    inputs: dict[str, Any]
    parent_run_id: str | None
    status: str
    error: str | None
    outputs: dict[str, Any] | None
    usage: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    cancel_requested: bool
    last_seq: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (without the spec text)."""
        return {
            "run_id": self.run_id,
            "pipeline_name": self.pipeline_name,
            "spec_hash": self.spec_hash,
            "status": self.status,
            "parent_run_id": self.parent_run_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error": self.error,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "usage": self.usage,
            "events": self.last_seq,
        }


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """A human decision on an ``approval`` step."""

    run_id: str
    step_id: str
    approved: bool
    comment: str | None
    by: str | None
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class GcCounts:
    """What ``Store.gc`` deleted."""

    runs: int = 0
    events: int = 0
    approvals: int = 0
    blobs: int = 0
    cache_entries: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)
