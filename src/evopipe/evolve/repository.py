"""Data access for evolution: candidates, evaluations, runs, proposals (SQLAlchemy Core).

Everything goes through ``store.begin()`` (one transaction per call, serialised with the
store's own work), so a checkpoint is durable as soon as the call returns.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from evopipe.evolve import tables as t
from evopipe.evolve.fitness import EvalRecord
from evopipe.evolve.genome import traits
from evopipe.spec import Pipeline
from evopipe.spec.canonical import spec_from_json, spec_to_json
from evopipe.spec.errors import EvopipeError
from evopipe.store import Transactional


class EvolutionNotFoundError(EvopipeError):
    """No evolution run or candidate with this id."""


@dataclass(frozen=True)
class Member:
    """A candidate's place in one run's genealogy (its DNA, less the evaluation)."""

    candidate_id: str
    seq: int
    generation: int
    parents: tuple[str, ...]
    operators: tuple[str, ...]
    diff: str
    status: str


@dataclass(frozen=True)
class Proposal:
    """One offspring slot of one generation: what the operator produced (checkpointed)."""

    generation: int
    slot: int
    operator: str
    parents: tuple[str, ...]
    outcome: str
    child_id: str | None
    spec: Pipeline | None
    feedback_id: str | None = None
    calls: int = 0
    cost_usd: float = 0.0


def _j(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class EvolutionRepository:
    def __init__(self, store: Transactional) -> None:
        self.store = store

    # -- specs and evaluations (global) ---------------------------------------------------

    def put_spec(self, cid: str, pipeline: Pipeline) -> None:
        with self.store.begin() as conn:
            if conn.execute(
                select(t.evo_specs.c.candidate_id).where(t.evo_specs.c.candidate_id == cid)
            ).first():
                return
            conn.execute(
                insert(t.evo_specs).values(
                    candidate_id=cid,
                    spec_json=spec_to_json(pipeline),
                    traits_json=_j(traits(pipeline).to_json()),
                )
            )

    def get_spec(self, cid: str) -> Pipeline:
        with self.store.begin() as conn:
            row = conn.execute(
                select(t.evo_specs.c.spec_json).where(t.evo_specs.c.candidate_id == cid)
            ).first()
        if row is None:
            raise EvolutionNotFoundError(f"no candidate {cid!r}")
        return spec_from_json(row[0])

    def find_candidate(self, prefix: str) -> str:
        """The full id of the one candidate whose id starts with ``prefix``."""
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.evo_specs.c.candidate_id)
                .where(t.evo_specs.c.candidate_id.startswith(prefix))
                .limit(2)
            ).all()
        if len(rows) != 1:
            what = "no candidate" if not rows else "more than one candidate"
            raise EvolutionNotFoundError(f"{what} with id starting {prefix!r}")
        return str(rows[0][0])

    def get_evaluation(self, cid: str, dataset_key: str, split: str) -> EvalRecord | None:
        with self.store.begin() as conn:
            row = conn.execute(
                select(t.evo_evaluations.c.record_json).where(
                    t.evo_evaluations.c.candidate_id == cid,
                    t.evo_evaluations.c.dataset_key == dataset_key,
                    t.evo_evaluations.c.split == split,
                )
            ).first()
        return None if row is None else EvalRecord.from_json(json.loads(row[0]))

    def put_evaluation(self, cid: str, dataset_key: str, record: EvalRecord) -> None:
        try:
            with self.store.begin() as conn:
                conn.execute(
                    insert(t.evo_evaluations).values(
                        candidate_id=cid,
                        dataset_key=dataset_key,
                        split=record.split,
                        record_json=_j(record.to_json()),
                        calls=record.calls,
                        cost_usd=record.cost_usd,
                        created_at=time.time(),
                    )
                )
        except IntegrityError:  # evaluated concurrently: the first record stands
            pass

    # -- runs -------------------------------------------------------------------------------

    def create_run(self, run_id: str, name: str, seed_id: str, config: dict[str, Any]) -> None:
        now = time.time()
        with self.store.begin() as conn:
            conn.execute(
                insert(t.evo_runs).values(
                    run_id=run_id,
                    pipeline_name=name,
                    seed_id=seed_id,
                    config_json=_j(config),
                    status="running",
                    created_at=now,
                    updated_at=now,
                )
            )

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.store.begin() as conn:
            row = conn.execute(select(t.evo_runs).where(t.evo_runs.c.run_id == run_id)).first()
        if row is None:
            raise EvolutionNotFoundError(f"no evolution run {run_id!r}")
        m = row._mapping
        return {
            "run_id": m["run_id"],
            "pipeline_name": m["pipeline_name"],
            "seed_id": m["seed_id"],
            "config": json.loads(m["config_json"]),
            "status": m["status"],
            "summary": json.loads(m["summary_json"]) if m["summary_json"] else None,
        }

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            conn.execute(
                update(t.evo_runs)
                .where(t.evo_runs.c.run_id == run_id)
                .values(status=status, summary_json=_j(summary), updated_at=time.time())
            )

    def add_member(self, run_id: str, member: Member) -> None:
        with self.store.begin() as conn:
            if _has_member(conn, run_id, member.candidate_id):
                return
            seq = conn.execute(
                select(func.count())
                .select_from(t.evo_members)
                .where(t.evo_members.c.run_id == run_id)
            ).scalar_one()
            conn.execute(
                insert(t.evo_members).values(
                    run_id=run_id,
                    candidate_id=member.candidate_id,
                    seq=int(seq),
                    generation=member.generation,
                    parents_json=_j(list(member.parents)),
                    operators_json=_j(list(member.operators)),
                    diff=member.diff,
                    status=member.status,
                )
            )

    def members(self, run_id: str) -> list[Member]:
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.evo_members)
                .where(t.evo_members.c.run_id == run_id)
                .order_by(t.evo_members.c.seq)
            ).all()
        return [
            Member(
                candidate_id=r._mapping["candidate_id"],
                seq=r._mapping["seq"],
                generation=r._mapping["generation"],
                parents=tuple(json.loads(r._mapping["parents_json"])),
                operators=tuple(json.loads(r._mapping["operators_json"])),
                diff=r._mapping["diff"],
                status=r._mapping["status"],
            )
            for r in rows
        ]

    def runs_with_candidate(self, cid: str) -> list[str]:
        """Ids of the runs this candidate belongs to, oldest first."""
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.evo_runs.c.run_id)
                .join(t.evo_members, t.evo_members.c.run_id == t.evo_runs.c.run_id)
                .where(t.evo_members.c.candidate_id == cid)
                .order_by(t.evo_runs.c.created_at, t.evo_runs.c.run_id)
            ).all()
        return [str(r[0]) for r in rows]

    # -- proposals and population checkpoints ----------------------------------------------

    def put_proposal(self, run_id: str, p: Proposal) -> None:
        with self.store.begin() as conn:
            conn.execute(
                insert(t.evo_proposals).values(
                    run_id=run_id,
                    generation=p.generation,
                    slot=p.slot,
                    operator=p.operator,
                    parents_json=_j(list(p.parents)),
                    outcome=p.outcome,
                    child_id=p.child_id,
                    spec_json=spec_to_json(p.spec) if p.spec is not None else None,
                    feedback_id=p.feedback_id,
                    calls=p.calls,
                    cost_usd=p.cost_usd,
                )
            )

    def proposals(self, run_id: str) -> dict[tuple[int, int], Proposal]:
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.evo_proposals).where(t.evo_proposals.c.run_id == run_id)
            ).all()
        found: dict[tuple[int, int], Proposal] = {}
        for r in rows:
            m = r._mapping
            found[(m["generation"], m["slot"])] = Proposal(
                generation=m["generation"],
                slot=m["slot"],
                operator=m["operator"],
                parents=tuple(json.loads(m["parents_json"])),
                outcome=m["outcome"],
                child_id=m["child_id"],
                spec=spec_from_json(m["spec_json"]) if m["spec_json"] else None,
                feedback_id=m["feedback_id"],
                calls=m["calls"],
                cost_usd=m["cost_usd"],
            )
        return found

    def put_population(self, run_id: str, generation: int, ids: list[str]) -> None:
        with self.store.begin() as conn:
            exists = conn.execute(
                select(t.evo_state.c.run_id).where(
                    t.evo_state.c.run_id == run_id, t.evo_state.c.generation == generation
                )
            ).first()
            if exists is None:
                conn.execute(
                    insert(t.evo_state).values(
                        run_id=run_id,
                        generation=generation,
                        population_json=_j(ids),
                        created_at=time.time(),
                    )
                )

    def populations(self, run_id: str) -> dict[int, list[str]]:
        with self.store.begin() as conn:
            rows = conn.execute(
                select(t.evo_state.c.generation, t.evo_state.c.population_json).where(
                    t.evo_state.c.run_id == run_id
                )
            ).all()
        return {int(g): list(json.loads(p)) for g, p in rows}


def _has_member(conn: Connection, run_id: str, cid: str) -> bool:
    return (
        conn.execute(
            select(t.evo_members.c.seq).where(
                t.evo_members.c.run_id == run_id, t.evo_members.c.candidate_id == cid
            )
        ).first()
        is not None
    )
