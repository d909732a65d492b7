"""Routing decisions, recorded: stage, candidates with scores, threshold, choice and reason."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, insert, select

from evopipe.orchestrate import tables as t
from evopipe.orchestrate.routing import Decision
from evopipe.orchestrate.rows import inserted_id, with_json
from evopipe.store import Transactional


def record(store: Transactional, decision: Decision, *, version: int | None = None) -> int:
    """Store ``decision`` (with its whole trail); returns its id."""
    data = decision.to_json()
    with store.begin() as conn:
        result = conn.execute(
            insert(t.route_decisions).values(
                request=decision.request.text,
                stage=decision.stage,
                choice=decision.choice,
                version=version,
                score=data["score"],
                threshold=data["threshold"],
                reason=decision.final.reason,
                candidates_json=json.dumps(data["trail"]),
                at=time.time(),
            )
        )
        return inserted_id(result)


def recent(store: Transactional, limit: int = 50) -> list[dict[str, Any]]:
    """The last ``limit`` decisions, newest first, each with its trail."""
    d = t.route_decisions
    with store.begin() as conn:
        rows = conn.execute(select(d).order_by(d.c.id.desc()).limit(limit)).all()
    return with_json(rows, "candidates_json", "trail")


def misses(store: Transactional, limit: int = 50) -> list[tuple[str, int]]:
    """Requests the router found no pipeline for, most asked first (then most recent), with
    how often: the demand the factory has not served yet."""
    d = t.route_decisions
    asked = func.count().label("n")
    query = (
        select(d.c.request, asked)
        .where(d.c.choice.is_(None))
        .group_by(d.c.request)
        .order_by(asked.desc(), func.max(d.c.id).desc())
        .limit(limit)
    )
    with store.begin() as conn:
        return [(str(r[0]), int(r[1])) for r in conn.execute(query).all()]
