"""The Python API: ``evopipe.load(path)`` → a handle you can run, composed by the same
:class:`~evopipe.app.App` as the CLI (config files honoured, secrets redacted).

>>> import evopipe
>>> handle = evopipe.load("examples/summarise.yaml")          # doctest: +SKIP
>>> result = handle.run_sync({"text": "..."}, model="fake")    # doctest: +SKIP
>>> result.status, result.outputs                              # doctest: +SKIP

``await handle.run(...)`` is the async form. Without ``db`` a run is kept in memory (no store
file is written); pass ``db=".evopipe/evopipe.db"`` (or a ``postgresql://`` URL) to journal it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.root import App
from evopipe.app.settings import Settings
from evopipe.engine.types import RunResult
from evopipe.spec.canonical import spec_hash
from evopipe.spec.loader import load_file, loads
from evopipe.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from evopipe.engine.events import Subscriber
    from evopipe.engine.policy import Policy
    from evopipe.engine.types import ModelSource
    from evopipe.store import Store


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

    def app(
        self,
        *,
        db: str | None = None,
        store: Store | None = None,
        trust: bool = False,
        cache: bool = True,
        policy: Policy | None = None,
        project_dir: str | Path | None = None,
    ) -> App:
        """The session a run of this handle uses (config from ``project_dir``, default cwd)."""
        settings = Settings.load(
            project_dir,
            db=db,
            persist=db is not None or store is not None,
            trust=trust,
            cache=cache,
        )
        return App(settings, models=self.models, store=store, policy=policy)

    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
        db: str | None = None,
        store: Store | None = None,
        trust: bool = False,
        policy: Policy | None = None,
        cache: bool = True,
        subscribers: Sequence[Subscriber] = (),
    ) -> RunResult:
        """Run with ``inputs``. ``db`` opens a store (closed afterwards); ``store`` uses yours;
        neither keeps the journal in memory."""
        target: Pipeline | Path = self.path if self.path is not None else self.pipeline
        async with self.app(db=db, store=store, trust=trust, cache=cache, policy=policy) as app:
            return await app.runs.run(
                target, inputs, model=model, subscribers=[*self.subscribers, *subscribers]
            )

    def run_sync(self, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> RunResult:
        """Blocking form of :meth:`run` (not from inside a running event loop)."""
        return asyncio.run(self.run(inputs, **kwargs))

    async def resume(
        self,
        run_id: str,
        *,
        store: Store,
        trust: bool = False,
        secrets: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Resume a journaled run of this pipeline (refused if the spec changed since);
        ``secrets`` gives its ``writeOnly`` inputs again (they were never stored)."""
        async with self.app(store=store, trust=trust) as app:
            return await app.runs.resume(run_id, inputs=secrets)


def load(path: str | Path, *, models: ModelSource | None = None) -> PipelineHandle:
    """Load and validate a pipeline file (raises :class:`~evopipe.spec.errors.SpecError`)."""
    p = Path(path)
    return PipelineHandle(load_file(p).pipeline, p, models)


def load_text(text: str, *, models: ModelSource | None = None) -> PipelineHandle:
    """Like :func:`load`, from YAML text."""
    return PipelineHandle(loads(text).pipeline, None, models)
