"""Schedules: a cron expression in a time zone, a target pipeline and its inputs, a policy for
missed runs and a policy for overlapping runs. Stored in the ``schedules`` table.

Cron expressions are parsed by ``croniter`` (five fields, or six with seconds last). Nominal
times are computed in the schedule's time zone, so ``0 9 * * *`` in ``Europe/Paris`` follows
daylight saving.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import delete, insert, select

from evopipe.orchestrate import tables as t
from evopipe.spec.errors import EvopipeError
from evopipe.store import Transactional

Missed = Literal["skip", "run_once", "all"]
Overlap = Literal["skip", "buffer_one", "buffer_all", "cancel_other", "allow_all"]
MISSED: tuple[str, ...] = get_args(Missed)
OVERLAP: tuple[str, ...] = get_args(Overlap)


class ScheduleError(EvopipeError):
    """A bad schedule (cron expression, time zone, policy) or an unknown one."""


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    target: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    tz: str = "UTC"
    missed: Missed = "skip"
    max_catchup: int = 10
    """At most this many missed runs are caught up (``missed="all"``)."""
    catchup_window_s: float = 86_400.0
    """Missed nominal times older than this are never caught up."""
    overlap: Overlap = "skip"

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 200:
            raise ScheduleError("a schedule needs a name of at most 200 characters")
        if not croniter.is_valid(self.cron):
            raise ScheduleError(f"schedule {self.name}: bad cron expression {self.cron!r}")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"schedule {self.name}: unknown time zone {self.tz!r}") from None
        if self.missed not in MISSED:
            raise ScheduleError(f"schedule {self.name}: missed policy must be one of {MISSED}")
        if self.overlap not in OVERLAP:
            raise ScheduleError(f"schedule {self.name}: overlap policy must be one of {OVERLAP}")
        if self.max_catchup < 0 or self.catchup_window_s < 0:
            raise ScheduleError(f"schedule {self.name}: catch-up limits must be >= 0")

    def times(self, after: float, until: float) -> Iterator[float]:
        """Nominal times in ``(after, until]`` (epoch seconds)."""
        start = datetime.fromtimestamp(after, ZoneInfo(self.tz))
        it = croniter(self.cron, start)
        while True:
            nxt = float(it.get_next(float))
            if nxt > until:
                return
            yield nxt

    def next_time(self, after: float) -> float:
        return float(
            croniter(self.cron, datetime.fromtimestamp(after, ZoneInfo(self.tz))).get_next(float)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cron": self.cron,
            "tz": self.tz,
            "target": self.target,
            "inputs": dict(self.inputs),
            "missed": self.missed,
            "max_catchup": self.max_catchup,
            "catchup_window_s": self.catchup_window_s,
            "overlap": self.overlap,
        }


class Schedules:
    """The stored schedules."""

    def __init__(self, store: Transactional, *, clock: Any = time.time) -> None:
        self.store = store
        self.clock = clock

    def add(self, schedule: Schedule, *, replace: bool = False) -> Schedule:
        """Store ``schedule``; its first nominal time is the first one after now."""
        now = self.clock()
        with self.store.begin() as conn:
            exists = conn.execute(
                select(t.schedules.c.name).where(t.schedules.c.name == schedule.name)
            ).first()
            if exists and not replace:
                raise ScheduleError(f"a schedule named {schedule.name!r} exists (remove it first)")
            conn.execute(delete(t.schedules).where(t.schedules.c.name == schedule.name))
            data = schedule.to_json()
            data["inputs_json"] = json.dumps(data.pop("inputs"), sort_keys=True)
            conn.execute(insert(t.schedules).values(**data, created_at=now, checked_until=now))
        return schedule

    def remove(self, name: str) -> None:
        with self.store.begin() as conn:
            gone = conn.execute(delete(t.schedules).where(t.schedules.c.name == name)).rowcount
        if not gone:
            raise ScheduleError(f"no schedule named {name!r}")

    def list(self) -> list[tuple[Schedule, float]]:
        """Every schedule with the time it was last checked up to."""
        with self.store.begin() as conn:
            rows = conn.execute(select(t.schedules).order_by(t.schedules.c.name)).all()
        return [(_schedule(r._mapping), float(r._mapping["checked_until"])) for r in rows]

    def get(self, name: str) -> Schedule:
        for schedule, _ in self.list():
            if schedule.name == name:
                return schedule
        raise ScheduleError(f"no schedule named {name!r}")


def _schedule(m: Mapping[str, Any]) -> Schedule:
    return Schedule(
        name=m["name"],
        cron=m["cron"],
        target=m["target"],
        inputs=json.loads(m["inputs_json"]),
        tz=m["tz"],
        missed=m["missed"],
        max_catchup=int(m["max_catchup"]),
        catchup_window_s=float(m["catchup_window_s"]),
        overlap=m["overlap"],
    )
