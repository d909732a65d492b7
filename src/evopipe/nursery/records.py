"""Certifications in the store: each stage's gate, and whether a candidate is certified."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from evopipe.nursery import tables as t
from evopipe.nursery.stages import STAGES, StageResult


@dataclass(frozen=True)
class Certification:
    cert_id: str
    name: str
    candidate_id: str
    stages: tuple[StageResult, ...]
    created_at: float

    @property
    def certified(self) -> bool:
        return len(self.stages) == len(STAGES) and all(s.passed for s in self.stages)

    @property
    def status(self) -> str:
        return "certified" if self.certified else "refused"

    def to_json(self) -> dict[str, Any]:
        return {
            "cert_id": self.cert_id,
            "name": self.name,
            "candidate_id": self.candidate_id,
            "status": self.status,
            "stages": [s.to_json() for s in self.stages],
            "created_at": self.created_at,
        }


def save(store: Any, name: str, candidate_id: str, stages: Sequence[StageResult]) -> Certification:
    cert = Certification(uuid.uuid4().hex, name, candidate_id, tuple(stages), time.time())
    with store.begin() as conn:
        conn.execute(
            insert(t.nursery_certifications).values(
                cert_id=cert.cert_id,
                name=name,
                candidate_id=candidate_id,
                status=cert.status,
                stages_json=json.dumps([s.to_json() for s in stages], default=str),
                created_at=cert.created_at,
            )
        )
    return cert


def is_certified(store: Any, candidate_id: str) -> bool:
    """Whether a nursery run certified exactly this spec (its candidate id)."""
    c = t.nursery_certifications.c
    with store.begin() as conn:
        row = conn.execute(
            select(c.cert_id).where(c.candidate_id == candidate_id, c.status == "certified")
        ).first()
    return row is not None


def certifications(store: Any, limit: int = 50) -> list[Certification]:
    c = t.nursery_certifications.c
    with store.begin() as conn:
        rows = conn.execute(
            select(t.nursery_certifications).order_by(c.created_at.desc()).limit(limit)
        ).all()
    return [
        Certification(
            r.cert_id,
            r.name,
            r.candidate_id,
            tuple(StageResult(**s) for s in json.loads(r.stages_json)),
            float(r.created_at),
        )
        for r in rows
    ]
