"""Routing operations (``evopipe route``): pick the pipeline for a request over the registry
and the shipped library, apply a canary, record the decision; on no match, optionally generate
a pipeline with genesis and offer it for registration.

The candidates are the registered names (their champion's description and tags) and the
library patterns; ``routes.yaml`` in the project adds explicit rules and fitted thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.app.pipelines import library_path
from evopipe.orchestrate import decisions
from evopipe.orchestrate.canary import Canaries
from evopipe.orchestrate.labels import Labels
from evopipe.orchestrate.registry import Registry
from evopipe.orchestrate.routes_file import ROUTES_FILE, Routes, load_routes
from evopipe.orchestrate.routing import Candidate, Decision, Router, RouteRequest

if TYPE_CHECKING:
    from evopipe.app.generate import GenerateOutcome
    from evopipe.engine.results import RunResult
    from evopipe.spec.pipeline import Pipeline


@dataclass
class RouteOutcome:
    decision: Decision
    decision_id: int
    target: str | None
    """What to run: ``NAME@N`` for a registered name, a library pipeline name, or None."""
    role: str | None = None
    """``champion`` / ``challenger`` when a canary applied."""
    generated: GenerateOutcome | None = None

    def to_json(self) -> dict[str, Any]:
        data = self.decision.to_json()
        data.update(decision_id=self.decision_id, target=self.target, role=self.role)
        if self.generated is not None:
            data["generated"] = self.generated.to_json()
        return data


class Routing(OperationGroup):
    def routes(self) -> Routes:
        return load_routes(self.app.project_dir / ROUTES_FILE)

    def candidates(self) -> list[Candidate]:
        """Registered champions first (they win over a library pattern of the same name)."""
        from evopipe.genesis.patterns import load_patterns

        out: list[Candidate] = []
        registry = Registry(self.app.store)
        labels = Labels(self.app.store)
        for name, _count, champion in registry.names():
            if champion is None:
                continue
            spec = registry.version(name, champion).spec
            tags = (*_meta_tags(spec), *labels.tags(name).get(champion, []))
            out.append(Candidate(name, spec.description, tuple(tags), "registry"))
        for p in load_patterns():
            out.append(Candidate(p.name, p.description, p.tags, "library"))
        return out

    def router(self, *, model: str | None = None) -> Router:
        routes = self.routes()
        chooser = None
        model_id = model or routes.intent_model
        if model_id:
            from evopipe.orchestrate.intent import ModelChooser

            chooser = ModelChooser(self.app.models().get(model_id))
        return Router(
            self.candidates(), routes.rules, thresholds=routes.thresholds, chooser=chooser
        )

    async def route(
        self,
        text: str,
        *,
        event: str | None = None,
        fields: Mapping[str, Any] | None = None,
        key: str | None = None,
        model: str | None = None,
        generate: bool = False,
        max_rounds: int = 2,
    ) -> RouteOutcome:
        """Decide (and record); a canary on the chosen name applies for ``key``. With
        ``generate``, a no-match request is handed to genesis (at most ``max_rounds``)."""
        router = self.router(model=model)
        try:
            decision = await router.route(RouteRequest(text, event, dict(fields or {}), key))
        finally:
            router.close()
        target, role, version = self._target(decision, key or text)
        decision_id = decisions.record(self.app.store, decision, version=version)
        outcome = RouteOutcome(decision, decision_id, target, role)
        if decision.choice is None and generate:
            outcome.generated = await self.app.generations.generate(
                text, model=model, max_rounds=max_rounds
            )
        return outcome

    async def run(
        self,
        text: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        model: str | None = None,
        **route: Any,
    ) -> tuple[RouteOutcome, RunResult | None]:
        """Route, then run the chosen pipeline; a run of a name under a canary is observed
        (its success counts for or against the challenger, which may be demoted)."""
        outcome = await self.route(text, key=key, model=model, **route)
        if outcome.target is None:
            return outcome, None
        result = await self.app.runs.run(outcome.target, inputs, model=model)
        name, _, number = outcome.target.partition("@")
        if outcome.role is not None and number.isdigit():
            Canaries(self.app.store).observe(name, int(number), ok=result.ok)
        return outcome, result

    def _target(self, decision: Decision, key: str) -> tuple[str | None, str | None, int | None]:
        name = decision.choice
        if name is None:
            return None, None, None
        champion = Registry(self.app.store).champion(name)
        if champion is None:  # a shipped library pattern
            return (name if library_path(name) else f"patterns/{name}"), None, None
        pick = Canaries(self.app.store).pick(name, key, champion.version)
        return f"{name}@{pick.version}", pick.role, pick.version

    def register(self, name: str, pipeline: Pipeline, *, reason: str = "generated") -> int:
        """Register a (generated) pipeline under ``name``; it becomes the champion when the name
        has none. Returns the version number."""
        return Registry(self.app.store).register(name, pipeline, {"origin": reason})

    def decisions(self, limit: int = 20) -> list[dict[str, Any]]:
        return decisions.recent(self.app.store, limit)


def _meta_tags(spec: Pipeline) -> list[str]:
    tags = spec.metadata.get("tags", [])
    return [str(t) for t in tags] if isinstance(tags, list) else []
