"""The Python API: ``evopipe.load(path)`` → a handle you can run.

>>> import evopipe
>>> handle = evopipe.load("examples/summarise.yaml")          # doctest: +SKIP
>>> result = handle.run_sync({"text": "..."}, model="fake")    # doctest: +SKIP
>>> result.status, result.outputs                              # doctest: +SKIP

``await handle.run(...)`` is the async form. Without ``db`` a run is kept in memory (no store
file is written); pass ``db=".evopipe/evopipe.db"`` (or a ``postgresql://`` URL) to journal it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.engine.events import EventBus, Subscriber
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.policy import Policy
from evopipe.engine.runner import resume_run, run_pipeline
from evopipe.engine.types import ModelSource, RunOptions, RunResult, Services
from evopipe.spec.canonical import spec_hash
from evopipe.spec.loader import load_file, loads
from evopipe.spec.pipeline import Pipeline


@dataclass
class PipelineHandle:
    """A loaded, validated pipeline plus how to run it."""

    pipeline: Pipeline
    path: Path | None = None
    models: ModelSource | None = None
    subscribers: list[Subscriber] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.pipeline.name

    @property
    def spec_hash(self) -> str:
        return spec_hash(self.pipeline)

    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
        db: str | None = None,
        store: Any = None,
        trust: bool = False,
        policy: Policy | None = None,
        cache: bool = True,
        hooks: Mapping[str, Any] | None = None,
        options: RunOptions | None = None,
    ) -> RunResult:
        """Run with ``inputs``. ``db`` opens a store (closed afterwards); ``store`` uses yours;
        neither keeps the journal in memory."""
        opts = options or RunOptions(
            model=model, cache=cache, source=str(self.path) if self.path else None
        )
        if db is not None and store is None:
            from evopipe.store import Store, resolve_db_url

            with Store.open(resolve_db_url(db)) as opened:
                return await self._run(inputs, opened, trust, policy, hooks, opts)
        return await self._run(inputs, store or MemoryJournal(), trust, policy, hooks, opts)

    async def _run(
        self,
        inputs: Mapping[str, Any] | None,
        store: Any,
        trust: bool,
        policy: Policy | None,
        hooks: Mapping[str, Any] | None,
        options: RunOptions,
    ) -> RunResult:
        services = self.services(store, trust=trust, policy=policy, hooks=hooks)
        return await run_pipeline(self.pipeline, inputs or {}, services=services, options=options)

    def services(
        self,
        store: Any = None,
        *,
        trust: bool = False,
        policy: Policy | None = None,
        hooks: Mapping[str, Any] | None = None,
    ) -> Services:
        models = self.models
        if models is None:
            from evopipe.models import ModelHub

            models = ModelHub()
        chosen = policy or (Policy.trusting() if trust else Policy.untrusted())
        base_dir = self.path.parent.resolve() if self.path else Path.cwd()
        return Services(
            models=models,
            store=store,
            bus=EventBus(list(self.subscribers)),
            policy=chosen,
            base_dir=base_dir,
            hooks=dict(hooks or {}),
        )

    def run_sync(self, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> RunResult:
        """Blocking form of :meth:`run` (not from inside a running event loop)."""
        return asyncio.run(self.run(inputs, **kwargs))

    async def resume(self, run_id: str, *, store: Any, trust: bool = False) -> RunResult:
        """Resume a journaled run of this pipeline (refused if the spec changed since)."""
        services = self.services(store, trust=trust)
        return await resume_run(run_id, services=services, pipeline=self.pipeline)


def load(path: str | Path, *, models: ModelSource | None = None) -> PipelineHandle:
    """Load and validate a pipeline file (raises :class:`~evopipe.spec.errors.SpecError`)."""
    p = Path(path)
    return PipelineHandle(load_file(p).pipeline, p, models)


def load_text(text: str, *, models: ModelSource | None = None) -> PipelineHandle:
    """Like :func:`load`, from YAML text."""
    return PipelineHandle(loads(text).pipeline, None, models)
