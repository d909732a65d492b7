"""The pattern library: hand-written, tested pipelines that genesis retrieves and adapts.

Patterns ship as YAML files in ``evopipe/library/patterns/``; each carries a description and
``metadata.tags`` that feed retrieval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from evopipe.memory.patterns import walk_steps
from evopipe.spec import Pipeline, load_file
from evopipe.spec.kinds import LlmStep

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "library"
PATTERNS_DIR = LIBRARY_DIR / "patterns"


@dataclass(frozen=True)
class Pattern:
    """One library pipeline with the text retrieval indexes."""

    name: str
    path: Path
    pipeline: Pipeline
    text: str

    @property
    def description(self) -> str:
        return self.pipeline.description

    @property
    def tags(self) -> tuple[str, ...]:
        tags = self.pipeline.metadata.get("tags", [])
        return tuple(str(t) for t in tags) if isinstance(tags, list) else ()

    def outline(self) -> str:
        """A compact JSON sketch of the pattern (inputs, steps with the start of their prompt
        and their output fields, outputs): small enough for a 2k-token context."""
        steps = []
        for step in self.pipeline.steps:
            item: dict[str, object] = {"id": step.id, "kind": step.kind}
            if isinstance(step, LlmStep):
                item["prompt"] = " ".join(step.prompt.split())[:160]
            schema = step.output.schema_ if step.output else None
            if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
                item["output_fields"] = sorted(schema["properties"])
            steps.append(item)
        sketch = {
            "name": self.name,
            "inputs": {k: v.get("type", "string") for k, v in self.pipeline.inputs.items()},
            "steps": steps,
            "outputs": self.pipeline.outputs,
        }
        return json.dumps(sketch, ensure_ascii=False)

    def prompts(self) -> list[str]:
        """Prompt templates of every llm-like step, inner steps included."""
        return [s.prompt for s in walk_steps(self.pipeline.steps) if isinstance(s, LlmStep)]


@lru_cache(maxsize=4)
def load_patterns(directory: Path = PATTERNS_DIR) -> tuple[Pattern, ...]:
    """Every pattern in ``directory``, sorted by name (loaded once per directory)."""
    out: list[Pattern] = []
    for path in sorted(directory.glob("*.yaml")):
        loaded = load_file(path)
        out.append(
            Pattern(
                name=loaded.pipeline.name,
                path=path,
                pipeline=loaded.pipeline,
                text=loaded.source.text,
            )
        )
    return tuple(out)


def get_pattern(name: str, directory: Path = PATTERNS_DIR) -> Pattern:
    """The pattern called ``name`` (KeyError if there is none)."""
    for pattern in load_patterns(directory):
        if pattern.name == name:
            return pattern
    raise KeyError(name)
