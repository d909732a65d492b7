"""The failure museum: failed runs, rejected offspring and failed generation rounds, clustered
by cause so that the next repair or reflection starts from what went wrong before.

A cause is decided by the first rule of :data:`CAUSES` whose pattern matches the failure's text
(one line each; the order puts the specific before the general).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select

from evopipe.memory import tables as t

CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("rate-limit", re.compile(r"\b429\b|rate.?limit", re.I)),
    ("timeout", re.compile(r"time[sd]?.?out|deadline", re.I)),
    ("malformed-output", re.compile(r"malformed|not (valid )?json|json ?decode|truncated", re.I)),
    ("contract-violation", re.compile(r"schema|contract|required propert|validation", re.I)),
    ("tool-error", re.compile(r"\btool\b|subprocess|http ", re.I)),
    ("server-error", re.compile(r"\b5\d\d\b|server error", re.I)),
    ("budget", re.compile(r"budget|max_steps|max_tokens|limit exceeded", re.I)),
    ("invalid-spec", re.compile(r"unknown (step|kind|reference)|undefined|unresolved|cycle", re.I)),
    ("wrong-answer", re.compile(r"\bwrong\b|expected|mismatch|score", re.I)),
)
OTHER = "other"


def classify(message: str) -> str:
    """The cause of a failure from its text (``other`` when no rule matches)."""
    for cause, pattern in CAUSES:
        if pattern.search(message):
            return cause
    return OTHER


@dataclass(frozen=True)
class Cluster:
    cause: str
    count: int
    origins: dict[str, int]
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def lesson(self) -> str:
        """One paragraph for a repair or reflection prompt."""
        shown = "; ".join(str(e["message"])[:160] for e in self.examples[:3])
        return f"Seen {self.count} time(s) before ({self.cause}): {shown}"


@dataclass(frozen=True)
class FailureMuseum:
    """Failures filed in the store, read back clustered by cause."""

    store: Any

    def record(
        self,
        *,
        origin: str,
        subject: str,
        message: str,
        example: Mapping[str, Any] | None = None,
        cause: str | None = None,
    ) -> str:
        """File one failure (its cause classified from ``message`` unless given); its id."""
        fid = uuid.uuid4().hex
        with self.store.begin() as conn:
            conn.execute(
                insert(t.memory_failures).values(
                    failure_id=fid,
                    cause=cause or classify(message),
                    origin=origin[:32],
                    subject=subject[:200],
                    message=message[:2000],
                    example_json=json.dumps(dict(example or {}), default=str)[:20_000],
                    created_at=time.time(),
                )
            )
        return fid

    def clusters(self, examples: int = 3) -> list[Cluster]:
        """Every cause with its count, origins and most recent examples, largest first."""
        c = t.memory_failures.c
        with self.store.begin() as conn:
            counts = conn.execute(
                select(c.cause, c.origin, func.count()).group_by(c.cause, c.origin)
            ).all()
        by_cause: dict[str, dict[str, int]] = {}
        for cause, origin, n in counts:
            by_cause.setdefault(cause, {})[origin] = int(n)
        out = [
            Cluster(cause, sum(o.values()), o, self._examples(cause, examples))
            for cause, o in by_cause.items()
        ]
        return sorted(out, key=lambda k: (-k.count, k.cause))

    def cluster(self, cause: str, examples: int = 3) -> Cluster | None:
        return next((k for k in self.clusters(examples) if k.cause == cause), None)

    def relevant(self, message: str) -> Cluster | None:
        """The cluster of the cause ``message`` would be filed under (None if empty)."""
        return self.cluster(classify(message))

    def _examples(self, cause: str, limit: int) -> list[dict[str, Any]]:
        c = t.memory_failures.c
        with self.store.begin() as conn:
            rows = conn.execute(
                select(c.origin, c.subject, c.message, c.example_json)
                .where(c.cause == cause)
                .order_by(c.created_at.desc())
                .limit(limit)
            ).all()
        return [
            {
                "origin": r.origin,
                "subject": r.subject,
                "message": r.message,
                "example": json.loads(r.example_json),
            }
            for r in rows
        ]
