"""Catalog operations (``evopipe catalog list|show|register``): the shipped library pipelines
and the registered ones, by category."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.orchestrate.catalog import Entry, category_of
from evopipe.orchestrate.labels import Labels
from evopipe.orchestrate.registry import Registry, RegistryError
from evopipe.spec.canonical import to_yaml

if TYPE_CHECKING:
    from evopipe.spec.pipeline import Pipeline


class Catalog(OperationGroup):
    def list(self, category: str | None = None) -> list[Entry]:
        from evopipe.genesis.patterns import load_patterns

        entries: dict[str, Entry] = {}
        registry = Registry(self.app.store)
        for p in load_patterns():
            entries[p.name] = _entry(p.name, p.pipeline, "library")
        for name, count, champion in registry.names():
            spec = (
                registry.version(name, champion).spec
                if champion
                else registry.versions(name)[-1].spec
            )
            origin = "both" if name in entries else "registry"
            entries[name] = _entry(name, spec, origin, versions=count, champion=champion)
        found = sorted(entries.values(), key=lambda e: (e.category, e.name))
        return [e for e in found if category is None or e.category == category]

    def categories(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.list():
            out[e.category] = out.get(e.category, 0) + 1
        return out

    def show(self, name: str) -> dict[str, Any]:
        """The entry, its YAML, and (when registered) aliases and tags."""
        for entry in self.list():
            if entry.name == name:
                data = entry.to_json()
                data["yaml"] = to_yaml(self._pipeline(entry))
                if entry.origin != "library":
                    labels = Labels(self.app.store)
                    data["aliases"] = labels.aliases(name)
                    data["version_tags"] = labels.tags(name)
                return data
        raise RegistryError(f"no pipeline {name!r} in the catalog")

    def register(self, name: str) -> int:
        """Register a library pipeline (as a new version, tagged with its category); it becomes
        the champion when the name has none."""
        entry = next((e for e in self.list() if e.name == name and e.origin != "registry"), None)
        if entry is None:
            raise RegistryError(f"no library pipeline {name!r}")
        pipeline = self._library(name)
        number = Registry(self.app.store).register(name, pipeline, {"origin": "library"})
        Labels(self.app.store).tag(name, number, entry.category, reason="catalog category")
        return number

    def register_file(self, path: str | Path) -> tuple[str, int]:
        """Register the pipeline in a file (checked under this session's policy), tagged with
        its category. Returns its name and version number."""
        pipeline = self.app.pipelines.resolve(str(path)).pipeline
        name = pipeline.name
        number = Registry(self.app.store).register(name, pipeline, {"origin": str(path)})
        category = category_of(name, pipeline.metadata)
        Labels(self.app.store).tag(name, number, category, reason="catalog category")
        return name, number

    def _pipeline(self, entry: Entry) -> Pipeline:
        if entry.origin == "library":
            return self._library(entry.name)
        champion = Registry(self.app.store).champion(entry.name)
        return champion.spec if champion else Registry(self.app.store).versions(entry.name)[-1].spec

    @staticmethod
    def _library(name: str) -> Pipeline:
        from evopipe.genesis.patterns import get_pattern

        return get_pattern(name).pipeline


def _entry(
    name: str, spec: Pipeline, origin: str, *, versions: int = 0, champion: int | None = None
) -> Entry:
    tags = spec.metadata.get("tags", [])
    return Entry(
        name=name,
        category=category_of(name, spec.metadata),
        description=spec.description,
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        origin=origin,
        inputs=tuple(spec.inputs),
        steps=len(spec.steps),
        versions=versions,
        champion=champion,
    )
