"""Running a chain durably: a journal of stage events per chain run, resumable after a kill.

Each chain run has a row in ``chain_runs`` and an append-only list of ``chain_events``
(``stage_started``, ``stage_succeeded`` with the outputs, ``stage_failed``,
``compensation_started`` / ``_succeeded`` / ``_failed``, ``chain_succeeded``,
``chain_failed``). :meth:`ChainRunner.resume` replays it: a stage that succeeded is never run
again, the stage that was in flight is continued (:meth:`StageRunner.resume`) or, when its
run never started, run again under a new run id; a chain that was
compensating goes on with the compensations not yet done. When a stage fails, the
compensations of the completed side-effecting stages run in reverse order, each recorded;
a compensation that fails is recorded and the others still run.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import insert, select, update

from evopipe.engine.templates import Renderer
from evopipe.orchestrate import tables as t
from evopipe.orchestrate.chainspec import Chain, LoadedChain, Stage
from evopipe.orchestrate.rows import with_json
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline
from evopipe.store import Transactional


class ChainError(EvopipeError):
    """Unknown chain run, or a run that cannot be resumed."""


@dataclass(frozen=True)
class StageOutcome:
    status: str
    outputs: Mapping[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


class StageRunner(Protocol):
    """Runs one stage's pipeline to its end; ``resume`` continues a run that was in flight
    when the chain was killed (None: there is nothing to continue, run it again)."""

    async def run(
        self, pipeline: Pipeline, inputs: Mapping[str, Any], *, run_id: str
    ) -> StageOutcome: ...

    async def resume(self, run_id: str) -> StageOutcome | None: ...


@dataclass
class ChainResult:
    chain_id: str
    status: str
    outputs: dict[str, Any]
    events: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "status": self.status,
            "outputs": self.outputs,
            "events": self.events,
        }


class ChainRunner:
    def __init__(self, store: Transactional, runner: StageRunner, *, clock: Any = time.time):
        self.store = store
        self.runner = runner
        self.clock = clock
        self._render = Renderer()

    async def start(
        self,
        loaded: LoadedChain,
        pipelines: Mapping[str, Pipeline],
        inputs: Mapping[str, Any],
        *,
        chain_id: str | None = None,
    ) -> ChainResult:
        """Run a checked chain (``pipelines`` from :func:`check_chain`) from its first stage."""
        chain = loaded.chain
        values = _with_defaults(chain, inputs)
        cid = chain_id or f"chain-{uuid.uuid4().hex[:12]}"
        now = self.clock()
        with self.store.begin() as conn:
            conn.execute(
                insert(t.chain_runs).values(
                    chain_id=cid,
                    name=chain.name,
                    path=str(loaded.path.resolve()) if loaded.path else "",
                    inputs_json=json.dumps(values, sort_keys=True, default=str),
                    status="running",
                    created_at=now,
                    updated_at=now,
                )
            )
        return await self._drive(cid, chain, pipelines, values)

    async def resume(
        self, chain_id: str, loaded: LoadedChain, pipelines: Mapping[str, Pipeline]
    ) -> ChainResult:
        row = self.get(chain_id)
        if row["name"] != loaded.chain.name:
            raise ChainError(f"{chain_id} ran chain {row['name']!r}, not {loaded.chain.name!r}")
        if row["status"] in ("succeeded", "failed"):
            return self._result(chain_id, row["status"], loaded.chain)
        return await self._drive(chain_id, loaded.chain, pipelines, json.loads(row["inputs_json"]))

    def get(self, chain_id: str) -> dict[str, Any]:
        with self.store.begin() as conn:
            row = conn.execute(
                select(t.chain_runs).where(t.chain_runs.c.chain_id == chain_id)
            ).first()
        if row is None:
            raise ChainError(f"no chain run {chain_id!r}")
        return dict(row._mapping)

    def events(self, chain_id: str) -> list[dict[str, Any]]:
        e = t.chain_events
        with self.store.begin() as conn:
            rows = conn.execute(select(e).where(e.c.chain_id == chain_id).order_by(e.c.seq)).all()
        return with_json(rows, "data_json", "data")

    # -- driving -------------------------------------------------------------------------------

    async def _drive(
        self, cid: str, chain: Chain, pipelines: Mapping[str, Pipeline], inputs: dict[str, Any]
    ) -> ChainResult:
        done = self._completed(cid)
        failed = any(e["action"] == "stage_failed" for e in self.events(cid))
        if not failed:
            for stage in chain.stages:
                if stage.id in done:
                    continue
                outcome = await self._stage(cid, stage, pipelines[stage.id], inputs, done)
                if outcome.ok:
                    done[stage.id] = dict(outcome.outputs)
                    self._record(
                        cid,
                        stage.id,
                        "stage_succeeded",
                        outcome.run_id,
                        {"outputs": done[stage.id]},
                    )
                    continue
                data = {"status": outcome.status, "error": outcome.error}
                self._record(cid, stage.id, "stage_failed", outcome.run_id, data)
                failed = True
                break
        if failed:
            await self._compensate(cid, chain, pipelines, inputs, done)
            return self._finish(cid, chain, "failed")
        return self._finish(cid, chain, "succeeded")

    async def _stage(
        self,
        cid: str,
        stage: Stage,
        pipeline: Pipeline,
        inputs: dict[str, Any],
        done: dict[str, dict[str, Any]],
    ) -> StageOutcome:
        """Run a stage — or continue its run from the engine's journal when the chain was
        killed while it was in flight (its completed steps are then not run again)."""
        events = self.events(cid)
        last = events[-1] if events else None
        if last and last["stage"] == stage.id and last["action"] == "stage_started":
            try:
                resumed = await self.runner.resume(last["run_id"])
            except EvopipeError:
                resumed = None
            if resumed is not None:
                return resumed
        ns = {"inputs": inputs, "stages": _stages_ns(done)}
        run_id = f"{cid}-{stage.id}-{len(events)}"
        self._record(cid, stage.id, "stage_started", run_id, {})
        try:
            values = self._render.render(stage.inputs, ns, f"stages.{stage.id}.inputs")
            return await self.runner.run(pipeline, values, run_id=run_id)
        except EvopipeError as exc:
            return StageOutcome("failed", run_id=run_id, error=str(exc))

    async def _compensate(
        self,
        cid: str,
        chain: Chain,
        pipelines: Mapping[str, Pipeline],
        inputs: dict[str, Any],
        done: dict[str, dict[str, Any]],
    ) -> None:
        self._set_status(cid, "compensating")
        finished = {
            e["stage"]
            for e in self.events(cid)
            if e["action"] in ("compensation_succeeded", "compensation_failed")
        }
        for stage in reversed(chain.stages):
            comp = stage.compensate
            if stage.id not in done or not stage.side_effects or comp is None:
                continue
            if stage.id in finished:
                continue
            run_id = f"{cid}-{stage.id}-undo-{len(self.events(cid))}"
            self._record(cid, stage.id, "compensation_started", run_id, {})
            ns = {"inputs": inputs, "stages": _stages_ns(done)}
            try:
                values = self._render.render(comp.inputs, ns, f"stages.{stage.id}.compensate")
                outcome = await self.runner.run(
                    pipelines[f"{stage.id}.compensate"], values, run_id=run_id
                )
            except EvopipeError as exc:
                outcome = StageOutcome("failed", run_id=run_id, error=str(exc))
            action = "compensation_succeeded" if outcome.ok else "compensation_failed"
            data = {
                "status": outcome.status,
                "error": outcome.error,
                "outputs": dict(outcome.outputs),
            }
            self._record(cid, stage.id, action, outcome.run_id, data)

    def _finish(self, cid: str, chain: Chain, status: str) -> ChainResult:
        self._record(cid, "", f"chain_{status}", None, {})
        self._set_status(cid, status)
        return self._result(cid, status, chain)

    def _result(self, cid: str, status: str, chain: Chain) -> ChainResult:
        outputs: dict[str, Any] = {}
        if status == "succeeded":
            ns = {
                "inputs": json.loads(self.get(cid)["inputs_json"]),
                "stages": _stages_ns(self._completed(cid)),
            }
            outputs = self._render.render(dict(chain.outputs), ns, "outputs")
        return ChainResult(cid, status, outputs, self.events(cid))

    def _completed(self, cid: str) -> dict[str, dict[str, Any]]:
        return {
            e["stage"]: e["data"]["outputs"]
            for e in self.events(cid)
            if e["action"] == "stage_succeeded"
        }

    def _record(self, cid: str, stage: str, action: str, run_id: str | None, data: Any) -> None:
        e = t.chain_events
        with self.store.begin() as conn:
            seq = len(conn.execute(select(e.c.seq).where(e.c.chain_id == cid)).all())
            conn.execute(
                insert(e).values(
                    chain_id=cid,
                    seq=seq,
                    stage=stage,
                    action=action,
                    run_id=run_id,
                    data_json=json.dumps(data, sort_keys=True, default=str),
                    at=self.clock(),
                )
            )

    def _set_status(self, cid: str, status: str) -> None:
        with self.store.begin() as conn:
            conn.execute(
                update(t.chain_runs)
                .where(t.chain_runs.c.chain_id == cid)
                .values(status=status, updated_at=self.clock())
            )


def _stages_ns(done: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {sid: {"outputs": dict(outputs)} for sid, outputs in done.items()}


def _with_defaults(chain: Chain, inputs: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(inputs)
    for name, schema in chain.inputs.items():
        if name not in values:
            if "default" not in schema:
                raise ChainError(f"chain {chain.name} needs input {name!r}")
            values[name] = schema["default"]
    unknown = sorted(set(values) - set(chain.inputs))
    if unknown:
        raise ChainError(f"chain {chain.name} declares no input {', '.join(map(repr, unknown))}")
    return values
