"""Operations as a tenant: what a remote face (the HTTP server) may do on behalf of a
:class:`~evopipe.app.auth.Principal`.

Every read checks that the resource belongs to the principal's tenant, and answers
:class:`NotFound` — exactly as for a resource that does not exist — when it does not, so one
tenant learns nothing of another's. Every write needs a role and records the tenant.
Remote callers name pipelines, never server files: a library pipeline, a registered name
(``NAME`` / ``NAME@N``) of their tenant, or a spec posted as YAML text.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.pipelines import UsageError, library_path
from evopipe.auth import ownership
from evopipe.check.validity import Validity
from evopipe.evaluate.dataset import from_rows
from evopipe.spec.errors import EvopipeError
from evopipe.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from evopipe.app.auth import Principal
    from evopipe.app.root import App

__all__ = ["Conflict", "NotFound", "TargetSpec", "Tenant", "library_names"]

GENERATION, EVOLUTION, REGISTRY = "generation", "evolution", "registry"


class NotFound(EvopipeError):
    """No such resource in this tenant (it may not exist at all, or belong to another)."""


class Conflict(EvopipeError):
    """The operation clashes with the resource's state (a name another tenant owns, ...)."""


@dataclass(frozen=True)
class TargetSpec:
    """What to run: exactly one of a library pipeline, a registered name, or YAML text."""

    pipeline: str | None = None
    spec: str | None = None


def library_names() -> list[str]:
    """The pipelines shipped with evopipe, by the name ``evopipe run`` takes."""
    root = resources.files("evopipe.library")
    out: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        for entry in sorted(node.iterdir(), key=lambda e: e.name):
            if entry.is_dir() and not entry.name.startswith(("_", ".")):
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".yaml"):
                out.append(f"{prefix}{entry.name[: -len('.yaml')]}")

    walk(root, "")
    return out


class Tenant:
    """The application's operations, scoped to one principal's tenant."""

    def __init__(self, app: App, principal: Principal) -> None:
        self.app = app
        self.principal = principal

    @property
    def name(self) -> str:
        return self.principal.tenant

    def _owns(self, kind: str, ident: str) -> bool:
        return ownership.owner(self.app.store, kind, ident) == self.name

    def _claim(self, kind: str, ident: str) -> None:
        if not ownership.claim(self.app.store, kind, ident, self.name):
            raise Conflict(f"{kind} {ident!r} belongs to another tenant")

    # -- pipelines ---------------------------------------------------------------------------

    def pipelines(self) -> dict[str, Any]:
        """Library pipelines and this tenant's registered names."""
        return {
            "library": library_names(),
            "registered": [e.to_json() for e in self.registry_list()],
        }

    def validate(self, text: str, *, profile: str = "default") -> Validity:
        """The one validity check on posted YAML (diagnostics carry line and column)."""
        return self.app.pipelines.assess(text, path="<posted>", profile=profile)

    def resolve(self, target: TargetSpec) -> Pipeline:
        """The pipeline to run (checked); a server file path is refused."""
        if (target.pipeline is None) == (target.spec is None):
            raise UsageError("give exactly one of 'pipeline' (a name) or 'spec' (YAML text)")
        if target.spec is not None:
            return self.validate(target.spec).require()
        name = str(target.pipeline)
        if Path(name).is_absolute() or ".." in Path(name).parts or name.endswith(".yaml"):
            raise UsageError(f"{name!r}: name a library or registered pipeline, not a file")
        if library_path(name) is not None and not Path(name).exists():
            return self.app.pipelines.resolve(name).pipeline
        if not self._owns(REGISTRY, name.partition("@")[0]):
            raise NotFound(f"no library pipeline or registered name {name!r}")
        return self.app.pipelines.resolve(name).pipeline

    # -- registry ----------------------------------------------------------------------------

    def registry_list(self) -> list[Any]:
        return [e for e in self.app.registry.list() if self._owns(REGISTRY, e.name)]

    def registry_show(self, name: str) -> dict[str, Any]:
        if not self._owns(REGISTRY, name):
            raise NotFound(f"nothing is registered under {name!r}")
        try:
            return self.app.registry.show(name)
        except EvopipeError as exc:
            raise NotFound(str(exc)) from None

    def rollback(self, name: str) -> dict[str, Any]:
        self.principal.require("editor")
        self.registry_show(name)
        version = self.app.registry.rollback(name)
        return {"name": name, "champion": version.version}

    async def promote(self, candidate: str, *, confidence: float | None = None) -> dict[str, Any]:
        """Promote a candidate of one of this tenant's evolutions (with evidence)."""
        self.principal.require("editor")
        evolutions = ownership.owned(self.app.store, EVOLUTION, self.name)
        if not any(self._candidate_in(candidate, e) for e in evolutions):
            raise NotFound(f"no candidate {candidate!r} in this tenant's evolutions")
        decision = await self.app.evolutions.promote(
            candidate, approved_by=self.principal.key_id, confidence=confidence
        )
        data = decision.to_json()
        if data.get("name"):
            self._claim(REGISTRY, str(data["name"]))
        return data

    def _candidate_in(self, candidate: str, evolution_id: str) -> bool:
        try:
            text = self.app.evolutions.lineage(evolution_id, "json")
        except EvopipeError:
            return False
        return len(candidate) >= 6 and f'"{candidate}' in text

    # -- generations -------------------------------------------------------------------------

    async def generate(self, request: str, *, model: str | None, max_rounds: int) -> dict[str, Any]:
        self.principal.require("editor")
        outcome = await self.app.generations.generate(request, model=model, max_rounds=max_rounds)
        data = outcome.to_json()
        if data.get("generation_id"):
            self._claim(GENERATION, str(data["generation_id"]))
        return data

    def generations(self, limit: int = 50) -> list[dict[str, Any]]:
        owned = ownership.owned(self.app.store, GENERATION, self.name)
        rows = self.app.generations.list(limit=max(limit * 4, 200))
        return [r.to_json() for r in rows if r.generation_id in owned][:limit]

    def generation(self, generation_id: str) -> dict[str, Any]:
        if not self._owns(GENERATION, generation_id):
            raise NotFound(f"no generation {generation_id!r}")
        return self.app.generations.get(generation_id)

    # -- evaluations -------------------------------------------------------------------------

    async def evaluate(
        self,
        target: TargetSpec,
        rows: list[dict[str, Any]],
        *,
        metrics: str,
        split: str = "all",
        model: str | None = None,
        budget_usd: float | None = None,
    ) -> dict[str, Any]:
        """Evaluate a pipeline on posted rows; the report is returned (and recorded)."""
        from evopipe.app.evaluate import EvalRequest

        self.principal.require("editor")
        pipeline = self.resolve(target)
        dataset = from_rows(rows, source="<posted>")
        req = EvalRequest(
            dataset=dataset,
            metrics=metrics,
            split=split,
            model=model,
            budget_usd=budget_usd,
            project=0,
        )
        outcome = await self.app.evaluations.evaluate(req, pipeline)
        return outcome.report.to_json()

    # -- evolutions --------------------------------------------------------------------------

    def lineage(self, evolution_id: str) -> Any:
        import json

        if not self._owns(EVOLUTION, evolution_id):
            raise NotFound(f"no evolution {evolution_id!r}")
        return json.loads(self.app.evolutions.lineage(evolution_id, "json"))
