"""The files a Wave pipeline refers to, found in its ``.agents/`` directory: personas
(``personas/<name>.yaml`` settings and ``personas/<name>.md`` system prompt) and contract
schemas (``contracts/*.schema.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class WaveFiles:
    """Reads files next to a pipeline at ``<agents>/pipelines/<file>.yaml``."""

    def __init__(self, pipeline_path: str) -> None:
        path = Path(pipeline_path)
        self.agents = path.resolve().parent.parent if path.is_file() else None

    def _file(self, relative: str) -> Path | None:
        if self.agents is None:
            return None
        rel = relative.removeprefix("./").removeprefix(".agents/")
        candidate = self.agents / rel
        return candidate if candidate.is_file() else None

    def persona(self, name: str) -> tuple[str | None, dict[str, Any]]:
        """(system prompt, settings) of a persona; (None, {}) when its files are absent."""
        prompt = self._file(f"personas/{name}.md")
        settings = self._file(f"personas/{name}.yaml")
        data = yaml.safe_load(settings.read_text(encoding="utf-8")) if settings else None
        text = prompt.read_text(encoding="utf-8") if prompt else None
        return text, data if isinstance(data, dict) else {}

    def text(self, relative: str) -> str | None:
        found = self._file(relative)
        return found.read_text(encoding="utf-8") if found else None

    def schema(self, relative: str) -> dict[str, Any] | None:
        found = self._file(relative)
        if found is None:
            return None
        try:
            data = json.loads(found.read_text(encoding="utf-8"))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
