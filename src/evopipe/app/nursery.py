"""Nursery and factory operations: certify a pipeline in stages (``evopipe nursery run``), and
mass-produce pipelines from a demand list (``evopipe factory run``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evopipe.app.evaluate import DatasetSource, EvalRequest
from evopipe.app.group import OperationGroup
from evopipe.engine import RunOptions
from evopipe.evaluate.runner import EvalSettings
from evopipe.nursery.certify import certify
from evopipe.nursery.factory import Factory, Item, OnItem, read_demands
from evopipe.nursery.records import Certification, certifications
from evopipe.nursery.stages import NurseryConfig
from evopipe.spec import Pipeline

__all__ = [
    "Certification",
    "Item",
    "Nursery",
    "NurseryConfig",
    "NurseryRequest",
    "read_demands",
]


@dataclass(frozen=True)
class NurseryRequest:
    """What to certify a pipeline on."""

    dataset: DatasetSource
    metrics: str = "exact"
    model: str | None = None
    mapping: Sequence[str] = ()
    expected: str | None = None
    output: str | None = None
    config: NurseryConfig = field(default_factory=NurseryConfig)


class Nursery(OperationGroup):
    async def run(self, pipeline: str | Path | Pipeline, req: NurseryRequest) -> Certification:
        """Smoke → dataset → robustness (injected faults) → certified; recorded either way; a
        certified pipeline enters the pattern DB."""
        resolved = self.app.pipelines.resolve(pipeline)
        evals = self.app.evaluations
        services = evals.services(resolved.path.parent if resolved.path else None)
        ereq = EvalRequest(
            dataset=req.dataset,
            metrics=req.metrics,
            model=req.model,
            mapping=req.mapping,
            expected=req.expected,
            output=req.output,
            split=req.config.split,
            seed=req.config.seed,
        )
        settings = EvalSettings(
            output=req.output,
            run_options=RunOptions(model=req.model or self.app.settings.model, cache=True),
            seed=req.config.seed,
        )
        return await certify(
            resolved.pipeline,
            evals.dataset(ereq),
            evals._metrics(ereq, services),
            services=services,
            store=self.app.store,
            config=req.config,
            settings=settings,
        )

    async def factory(
        self,
        demands: Path | Sequence[str],
        *,
        model: str | None = None,
        certify_with: NurseryRequest | None = None,
        on_item: OnItem | None = None,
    ) -> list[Item]:
        """Generate and register a pipeline per request not yet served (resumable: run the
        same demand file again after a kill); ``certify_with`` gates each by the nursery."""
        requests = read_demands(demands) if isinstance(demands, Path) else list(demands)

        async def generate(request: str) -> Pipeline:
            outcome = await self.app.generations.generate(request, model=model)
            return outcome.result.pipeline

        async def gate(pipeline: Pipeline) -> bool:
            assert certify_with is not None
            return (await self.run(pipeline, certify_with)).certified

        factory = Factory(self.app.store, generate, gate if certify_with else None)
        return await factory.run(requests, on_item)

    def demand(self, limit: int = 50) -> list[tuple[str, int]]:
        """The requests the router could not serve, most asked first: ``evopipe factory run
        --from-misses`` builds pipelines for them, and once one is registered the router finds
        it (the factory's items are keyed by request, so a request is served once)."""
        from evopipe.orchestrate import decisions

        return decisions.misses(self.app.store, limit)

    def certifications(self, limit: int = 50) -> list[Certification]:
        return certifications(self.app.store, limit)
