"""What a generation produces: the rounds it went through and the final artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evopipe.genesis.artifacts import referencing_schema_files
from evopipe.genesis.repairs import Applied
from evopipe.spec import Pipeline
from evopipe.spec.canonical import to_yaml
from evopipe.spec.errors import Diagnostic

Source = Literal["draft", "repair", "assemble"]


@dataclass
class Round:
    """One attempt: what the model (or the assembler) produced and what the checker said."""

    number: int
    source: Source
    draft: dict[str, Any] | None
    first_diagnostics: list[Diagnostic] = field(default_factory=list)
    repairs: list[Applied] = field(default_factory=list)
    repaired: dict[str, Any] | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    valid: bool = False
    duration_s: float = 0.0
    error: str | None = None
    pipeline: Pipeline | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "source": self.source,
            "draft": self.draft,
            "first_diagnostics": [d.to_json() for d in self.first_diagnostics],
            "repairs": [{"repair": a.repair, "notes": a.notes} for a in self.repairs],
            "repaired": self.repaired,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "valid": self.valid,
            "duration_s": round(self.duration_s, 4),
            "error": self.error,
        }


@dataclass
class GenerationResult:
    """A valid generated pipeline plus everything that led to it."""

    request: str
    model_id: str
    pipeline: Pipeline
    yaml: str
    schemas: dict[str, dict[str, Any]]
    readme: str
    rounds: list[Round]
    analysis: dict[str, Any] | None = None
    pattern: str | None = None
    retrieved: list[str] = field(default_factory=list)
    dry_run_outputs: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    generation_id: str | None = None

    @property
    def first_try_valid(self) -> bool:
        """The first draft was valid as the model wrote it (no repair of any kind)."""
        return bool(self.rounds) and not self.rounds[0].first_diagnostics and self.rounds[0].valid

    @property
    def rounds_needed(self) -> int:
        return len(self.rounds)

    @property
    def source(self) -> Source:
        return self.rounds[-1].source

    def write(self, path: str | Path) -> list[Path]:
        """Write the spec to ``path``, its contract schemas to ``<stem>.schemas/`` and a README
        to ``<stem>.README.md``; return the files written."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        written = [target]
        folder = target.with_name(f"{target.stem}.schemas")
        if self.schemas:
            folder.mkdir(exist_ok=True)
            for name, schema in self.schemas.items():
                file = folder / name
                file.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
                written.append(file)
        # the spec reads its contracts from those files, so editing one changes the pipeline
        text = to_yaml(referencing_schema_files(self.pipeline, folder.name)) if self.schemas else ""
        target.write_text(text or self.yaml, encoding="utf-8")
        readme = target.with_name(f"{target.stem}.README.md")
        readme.write_text(self.readme.replace(f"{self.pipeline.name}.yaml", target.name), "utf-8")
        written.append(readme)
        return written

    def to_json(self) -> dict[str, Any]:
        return {
            "generation_id": self.generation_id,
            "request": self.request,
            "model": self.model_id,
            "name": self.pipeline.name,
            "valid": True,
            "first_try_valid": self.first_try_valid,
            "rounds_needed": self.rounds_needed,
            "source": self.source,
            "pattern": self.pattern,
            "retrieved": self.retrieved,
            "duration_s": round(self.duration_s, 4),
            "spec": self.yaml,
            "rounds": [r.to_json() for r in self.rounds],
        }
