"""Data access for stored generations (:mod:`evopipe.genesis.tables`), through ``Store.begin()``."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from evopipe.genesis.tables import generation_rounds, generations
from evopipe.spec import spec_hash
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.genesis.result import GenerationResult, Round


class GenerationNotFoundError(EvopipeError):
    """No stored generation has this id (or id prefix)."""


@dataclass(frozen=True)
class GenerationRow:
    generation_id: str
    request: str
    model: str
    status: str
    name: str | None
    rounds: int
    first_try_valid: bool
    source: str | None
    created_at: float
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def save(
    store: Any,
    request: str,
    model_id: str,
    rounds: list[Round],
    result: GenerationResult | None,
    duration: float,
) -> str:
    """Store one generation and its rounds; return its id."""
    gid = uuid.uuid4().hex
    last = rounds[-1] if rounds else None
    row = {
        "generation_id": gid,
        "request": request,
        "model": model_id,
        "status": "succeeded" if result is not None else "failed",
        "name": result.pipeline.name if result else None,
        "spec_yaml": result.yaml if result else None,
        "spec_hash": spec_hash(result.pipeline) if result else None,
        "rounds": len(rounds),
        "first_try_valid": int(bool(result and result.first_try_valid)),
        "source": last.source if last else None,
        "pattern": result.pattern if result else None,
        "error": None
        if result
        else "; ".join(d.message for d in (last.diagnostics if last else [])),
        "duration_s": duration,
        "created_at": time.time(),
    }
    with store.begin() as conn:
        conn.execute(generations.insert().values(**row))
        for r in rounds:
            conn.execute(generation_rounds.insert().values(**_round_row(gid, r)))
    return gid


def _round_row(gid: str, r: Round) -> dict[str, Any]:
    data = r.to_json()
    return {
        "generation_id": gid,
        "number": r.number,
        "source": r.source,
        "valid": int(r.valid),
        "draft_json": json.dumps(r.draft) if r.draft is not None else None,
        "repaired_json": json.dumps(r.repaired) if r.repaired is not None else None,
        "repairs_json": json.dumps(data["repairs"]),
        "first_diagnostics_json": json.dumps(data["first_diagnostics"]),
        "diagnostics_json": json.dumps(data["diagnostics"]),
        "error": r.error,
        "duration_s": r.duration_s,
    }


def list_generations(store: Any, limit: int = 50) -> list[GenerationRow]:
    """The most recent generations, newest first."""
    query = select(generations).order_by(generations.c.created_at.desc()).limit(limit)
    with store.begin() as conn:
        rows = conn.execute(query).mappings().all()
    return [_row(r) for r in rows]


def _row(r: Any) -> GenerationRow:
    return GenerationRow(
        generation_id=r["generation_id"],
        request=r["request"],
        model=r["model"],
        status=r["status"],
        name=r["name"],
        rounds=r["rounds"],
        first_try_valid=bool(r["first_try_valid"]),
        source=r["source"],
        created_at=r["created_at"],
        duration_s=r["duration_s"],
    )


def get_generation(store: Any, generation_id: str) -> dict[str, Any]:
    """One generation with its rounds (id or unique prefix)."""
    query = select(generations).where(generations.c.generation_id.like(f"{generation_id}%"))
    with store.begin() as conn:
        found = conn.execute(query.limit(2)).mappings().all()
        if len(found) != 1:
            what = "no" if not found else "more than one"
            raise GenerationNotFoundError(f"{what} generation matches id {generation_id!r}")
        head = dict(found[0])
        rows = (
            conn.execute(
                select(generation_rounds)
                .where(generation_rounds.c.generation_id == head["generation_id"])
                .order_by(generation_rounds.c.number)
            )
            .mappings()
            .all()
        )
    head["first_try_valid"] = bool(head["first_try_valid"])
    head["round_records"] = [_round_json(r) for r in rows]
    return head


def _round_json(r: Any) -> dict[str, Any]:
    def load(text: str | None) -> Any:
        return json.loads(text) if text else None

    return {
        "number": r["number"],
        "source": r["source"],
        "valid": bool(r["valid"]),
        "draft": load(r["draft_json"]),
        "repaired": load(r["repaired_json"]),
        "repairs": load(r["repairs_json"]),
        "first_diagnostics": load(r["first_diagnostics_json"]),
        "diagnostics": load(r["diagnostics_json"]),
        "error": r["error"],
        "duration_s": r["duration_s"],
    }
