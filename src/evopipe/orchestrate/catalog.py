"""The catalog: shipped library pipelines and registered ones, browsable by category.

A pipeline's category is its ``metadata.category`` when it says one, else the category this
table gives its name, else ``general``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CATEGORIES: Mapping[str, str] = {
    "bug-triage": "development",
    "code-review-diff": "development",
    "feature-planning": "development",
    "cicd-workflow": "deployment",
    "incident-analysis": "monitoring",
    "experiment-design": "testing",
    "etl-validate": "data",
    "extract-structured-data": "data",
    "summarise-text": "text",
    "translate-verify": "text",
    "meeting-notes": "text",
    "document-qa": "text",
    "research-synthesis": "reasoning",
    "debate-ensemble": "reasoning",
    "classify-route": "reasoning",
    "generic-chain": "general",
    "onboarding-checklist": "people",
}


def category_of(name: str, metadata: Mapping[str, Any]) -> str:
    declared = metadata.get("category")
    if isinstance(declared, str) and declared:
        return declared
    return CATEGORIES.get(name, "general")


@dataclass(frozen=True)
class Entry:
    name: str
    category: str
    description: str
    tags: tuple[str, ...] = ()
    origin: str = "library"
    """``library`` (shipped), ``registry`` (registered), or ``both``."""
    inputs: tuple[str, ...] = ()
    steps: int = 0
    versions: int = 0
    champion: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        data["tags"] = list(self.tags)
        data["inputs"] = list(self.inputs)
        return {**data, **self.extra}
