"""Mutable state of one run tree (:class:`RunState`) and of one scope in it (:class:`Scope`).

A run tree has one :class:`RunState`: run id, services, the event sequence, caches of plans and
compiled templates, what resume replays. Each list of steps being executed — the pipeline's
top level, a map item, a loop iteration, a sub-pipeline — is a :class:`Scope` with its own
plan, namespace and records, sharing the run state (and, for inner step lists, the budget).
"""

from __future__ import annotations

import asyncio
import time
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evopipe.check.options import CheckOptions
from evopipe.engine.budget import Budget
from evopipe.engine.events import EventBus
from evopipe.engine.journal import ApprovalDecision, JournalWriter
from evopipe.engine.plan import Plan
from evopipe.engine.policy import Policy
from evopipe.engine.secrets import Masker
from evopipe.engine.types import Event, RunOptions, Services, StepRecord
from evopipe.models.base import UnknownModelError
from evopipe.spec.base import StepBase
from evopipe.spec.loader import load_file
from evopipe.spec.pipeline import Pipeline


@dataclass(frozen=True, slots=True)
class Replayed:
    """A step completed in an earlier life of this run (resume) or in another run (fork)."""

    record: StepRecord
    meta: Mapping[str, Any]


def check_options(services: Services, base_dir: Path) -> CheckOptions:
    """How the engine checks a pipeline before running it: models as the hub knows them,
    files relative to ``base_dir``, the run's trust policy."""
    models = services.models

    def known(model_id: str) -> bool:
        try:
            models.get(model_id)
        except UnknownModelError:
            return False
        except Exception:  # e.g. a missing API key: the id itself is known
            return True
        return True

    return CheckOptions(base_dir=base_dir, known_model=known, trusted=services.policy.trusted)


class RunState:
    """Shared by every scope of a run tree."""

    def __init__(
        self,
        run_id: str,
        services: Services,
        options: RunOptions,
        *,
        bus: EventBus,
        journal: JournalWriter | None = None,
        seq: int = 0,
    ) -> None:
        self.run_id = run_id
        self.services = services
        self.options = options
        self.bus = bus
        self.journal = journal
        self.seq = seq
        self.renderer = services.renderer
        self.executor = services.executor
        self.replay: dict[str, Replayed] = {}
        self.subrun_keys: dict[str, str] = {}
        self.approvals: dict[str, ApprovalDecision] = {}
        self.slots: asyncio.Semaphore | None = (
            asyncio.Semaphore(options.max_concurrency) if options.max_concurrency else None
        )
        self._workspace: Path | None = options.workspace
        self._loaded: dict[Path, Pipeline] = {}
        self.max_depth = 5
        self.killed = False
        self.masker: Masker | None = None
        """Masks the run's secret inputs in everything it emits (:mod:`evopipe.engine.secrets`)."""

    def emit(self, type: str, step_id: str | None, data: Mapping[str, Any]) -> None:
        self.seq += 1
        if self.masker is not None:  # the run has secret inputs: no event carries them
            data = self.masker.value(data)
        self.bus.publish(Event(type, self.run_id, self.seq, step_id, data, time.time()))

    def plan_for(self, pipeline: Pipeline, base_dir: Path | None = None) -> Plan:
        return self.services.plans.pipeline(
            pipeline, check_options(self.services, base_dir or self.services.base_dir)
        )

    def scope_plan(self, steps: list[StepBase], outer_ids: frozenset[str], where: str) -> Plan:
        return self.services.plans.scope(steps, outer_ids, where)

    def load_pipeline(self, path: Path) -> Pipeline:
        """A sub-pipeline file, loaded once per run."""
        pipeline = self._loaded.get(path)
        if pipeline is None:
            pipeline = load_file(path).pipeline
            self._loaded[path] = pipeline
        return pipeline

    @property
    def workspace(self) -> Path:
        if self._workspace is None:
            root = self.services.policy.workspace_root or (
                self.services.base_dir / ".evopipe" / "workspaces"
            )
            self._workspace = root / self.run_id
        self._workspace.mkdir(parents=True, exist_ok=True)
        return self._workspace


class Scope:
    """One list of steps being executed."""

    __slots__ = (
        "base_dir",
        "budget",
        "depth",
        "max_concurrency",
        "namespace",
        "pipeline",
        "plan",
        "policy",
        "prefix",
        "records",
        "state",
        "step_views",
    )

    def __init__(
        self,
        state: RunState,
        pipeline: Pipeline,
        plan: Plan,
        *,
        prefix: str,
        namespace: dict[str, Any],
        budget: Budget,
        depth: int,
        base_dir: Path,
        policy: Policy,
        max_concurrency: int | None,
        outer_steps: Mapping[str, Any] | None = None,
    ) -> None:
        self.state = state
        self.pipeline = pipeline
        self.plan = plan
        self.prefix = prefix
        self.budget = budget
        self.depth = depth
        self.base_dir = base_dir
        self.policy = policy
        self.max_concurrency = max_concurrency
        self.records: dict[str, StepRecord] = {}
        self.step_views: dict[str, dict[str, Any]] = {}
        steps: Mapping[str, Any] = self.step_views
        if outer_steps is not None:
            steps = ChainMap(self.step_views, outer_steps)  # type: ignore[arg-type]
        self.namespace = {**namespace, "steps": steps}

    def record(self, record: StepRecord) -> None:
        self.records[record.id] = record
        self.step_views[record.id] = {"output": record.output, "status": record.status}
