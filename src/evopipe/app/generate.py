"""Generation operations: request → validated pipeline (genesis), optionally written and run;
the stored generations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.engine import RunResult
from evopipe.genesis.errors import GenerationError

__all__ = ["GenerateOutcome", "GenerationError", "Generations"]

if TYPE_CHECKING:
    from evopipe.genesis.records import GenerationRow
    from evopipe.genesis.result import GenerationResult


@dataclass
class GenerateOutcome:
    """What a generation did: the result, files written, the optional run."""

    result: GenerationResult
    written: list[Path] = field(default_factory=list)
    run: RunResult | None = None

    def to_json(self) -> dict[str, Any]:
        data = self.result.to_json()
        data["written"] = [str(p) for p in self.written]
        if self.run is not None:
            data["run"] = self.run.to_json()
        return data


class Generations(OperationGroup):
    async def generate(
        self,
        request: str,
        *,
        model: str | None = None,
        output: Path | None = None,
        run: bool = False,
        inputs: Mapping[str, Any] | None = None,
        max_rounds: int = 3,
        retrieval_fallback: bool = False,
        use_memory: bool = True,
    ) -> GenerateOutcome:
        """Generate (recorded in the store), write the files only when valid, optionally run
        it. A generated pipeline runs under the untrusted policy unless the session trusts.
        ``use_memory``: retrieve stored pipelines and the failure museum's lessons too (failed
        rounds are filed in the museum either way)."""
        from evopipe.genesis.driver import agenerate

        services = self.app.services(
            base_dir=output.parent if output else None, journal=self.app.store
        )
        memory = self.app.memory
        try:
            result = await agenerate(
                request,
                model=model or self.app.settings.model,
                services=services,
                max_rounds=max_rounds,
                retrieval_fallback=retrieval_fallback,
                memory=memory.for_genesis(request) if use_memory else (),
                lessons=memory.lessons(request) if use_memory else (),
            )
        except GenerationError as exc:
            memory.file_rounds(request, exc.rounds)
            raise
        memory.file_rounds(request, result.rounds)
        memory.reused(result.pattern)
        outcome = GenerateOutcome(result)
        if output is not None:
            outcome.written = result.write(output)
        if run:
            target = outcome.written[0] if outcome.written else result.pipeline
            outcome.run = await self.app.runs.run(target, inputs, model=model)
        return outcome

    def list(self, *, limit: int = 50) -> list[GenerationRow]:
        from evopipe.genesis import records

        return records.list_generations(self.app.store, limit)

    def get(self, generation_id: str) -> dict[str, Any]:
        """Request, each round's draft and diagnostics, the final spec."""
        from evopipe.genesis import records

        return records.get_generation(self.app.store, generation_id)
