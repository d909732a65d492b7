"""Registry operations: registered names, their versions and champion, the history of the
champion pointer, and rollback (``evopipe registry list|show``, ``evopipe rollback``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evopipe.app.group import OperationGroup
from evopipe.orchestrate.registry import Registry, Version


@dataclass(frozen=True)
class Entry:
    name: str
    versions: int
    champion: int | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "versions": self.versions, "champion": self.champion}


class RegistryOps(OperationGroup):
    @property
    def _registry(self) -> Registry:
        return Registry(self.app.store)

    def list(self) -> list[Entry]:
        return [Entry(n, c, champ) for n, c, champ in self._registry.names()]

    def show(self, name: str) -> dict[str, Any]:
        """Versions (with evidence), the champion, and the pointer's history."""
        registry = self._registry
        versions = registry.versions(name)
        if not versions:
            from evopipe.orchestrate.registry import RegistryError

            raise RegistryError(f"nothing is registered under {name!r}")
        champion = registry.champion(name)
        return {
            "name": name,
            "champion": champion.version if champion else None,
            "versions": [_version_json(v) for v in versions],
            "history": registry.history(name),
        }

    def rollback(self, name: str) -> Version:
        return self._registry.rollback(name)


def _version_json(v: Version) -> dict[str, Any]:
    return {
        "version": v.version,
        "candidate_id": v.candidate_id,
        "pipeline": v.spec.name,
        "evidence": v.evidence,
        "approved_by": v.approved_by,
        "created_at": v.created_at,
    }
