"""Release operations on registered pipelines: aliases, tags, the undoable change log and
canaries (``evopipe release ...``)."""

from __future__ import annotations

from typing import Any

from evopipe.app.group import OperationGroup
from evopipe.orchestrate.canary import Canaries, Canary
from evopipe.orchestrate.labels import Change, Labels


class Releases(OperationGroup):
    @property
    def labels(self) -> Labels:
        return Labels(self.app.store)

    @property
    def canaries(self) -> Canaries:
        return Canaries(self.app.store)

    def set_alias(self, name: str, alias: str, version: int, reason: str = "") -> Change:
        return self.labels.set_alias(name, alias, version, reason=reason)

    def remove_alias(self, name: str, alias: str, reason: str = "") -> Change:
        return self.labels.remove_alias(name, alias, reason=reason)

    def tag(self, name: str, version: int, tag: str, reason: str = "") -> Change:
        return self.labels.tag(name, version, tag, reason=reason)

    def untag(self, name: str, version: int, tag: str, reason: str = "") -> Change:
        return self.labels.untag(name, version, tag, reason=reason)

    def changes(self, name: str | None = None) -> list[Change]:
        return self.labels.changes(name)

    def undo(self, change_id: int, reason: str = "") -> Change:
        return self.labels.undo(change_id, reason=reason)

    def describe(self, name: str) -> dict[str, Any]:
        """Aliases, tags per version and the canary (with observed stats) of ``name``."""
        canary = self.canaries.get(name)
        data: dict[str, Any] = {
            "name": name,
            "aliases": self.labels.aliases(name),
            "tags": self.labels.tags(name),
            "canary": canary.to_json() if canary else None,
        }
        if canary is not None:
            n, rate, fitness = self.canaries.stats(name, canary.challenger)
            data["canary"]["observed"] = {"runs": n, "error_rate": rate, "fitness": fitness}
        return data

    def start_canary(self, name: str, version: int, **limits: Any) -> Canary:
        return self.canaries.start(name, version, **limits)

    def stop_canary(self, name: str, reason: str = "stopped by hand") -> None:
        self.canaries.stop(name, reason=reason)

    def observe(
        self, name: str, version: int, *, ok: bool, fitness: float | None = None
    ) -> Canary | None:
        """Record a routed run's outcome; returns the canary if this demoted it."""
        return self.canaries.observe(name, version, ok=ok, fitness=fitness)
