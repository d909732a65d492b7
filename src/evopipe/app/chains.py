"""Chain operations (``evopipe chain check|run|resume|show``): workflow templates whose stages
run pipelines through :attr:`App.runs`, durably, with compensation on failure."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.orchestrate.chains import ChainResult, ChainRunner, StageOutcome
from evopipe.orchestrate.chainspec import LoadedChain, check_chain, load_chain

__all__ = ["ChainResult", "Chains"]

if TYPE_CHECKING:
    from evopipe.app.root import App
    from evopipe.spec.pipeline import Pipeline


class _AppStages:
    """Runs a stage's pipeline as an ordinary journaled run of this session."""

    def __init__(self, app: App, model: str | None) -> None:
        self.app = app
        self.model = model

    async def run(
        self, pipeline: Pipeline, inputs: Mapping[str, Any], *, run_id: str
    ) -> StageOutcome:
        result = await self.app.runs.run(pipeline, inputs, model=self.model, run_id=run_id)
        return StageOutcome(result.status, result.outputs, result.run_id, result.error)

    async def resume(self, run_id: str) -> StageOutcome | None:
        """Continue the stage's run from its journal (a run that never started raises, and
        the chain runs the stage again)."""
        result = await self.app.runs.resume(run_id, model=self.model)
        return StageOutcome(result.status, result.outputs, result.run_id, result.error)


class Chains(OperationGroup):
    def check(self, path: str | Path) -> tuple[LoadedChain, dict[str, Pipeline]]:
        """Load and check a chain file: :class:`SpecError` with located diagnostics."""
        loaded = load_chain(path)
        base = Path(path).resolve().parent

        def resolve(target: str) -> Pipeline:
            local = base / target
            resolved = self.app.pipelines.resolve(str(local) if local.is_file() else target)
            return resolved.pipeline

        return loaded, check_chain(loaded, resolve)

    def _runner(self, model: str | None) -> ChainRunner:
        return ChainRunner(self.app.store, _AppStages(self.app, model))

    async def run(
        self,
        path: str | Path,
        inputs: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
        chain_id: str | None = None,
    ) -> ChainResult:
        loaded, pipelines = self.check(path)
        return await self._runner(model).start(loaded, pipelines, inputs or {}, chain_id=chain_id)

    async def resume(self, chain_id: str, *, model: str | None = None) -> ChainResult:
        """Continue a chain run from its journal (the chain file it was started from)."""
        runner = self._runner(model)
        row = runner.get(chain_id)
        loaded, pipelines = self.check(row["path"])
        return await runner.resume(chain_id, loaded, pipelines)

    def show(self, chain_id: str) -> dict[str, Any]:
        runner = self._runner(None)
        row = runner.get(chain_id)
        row.pop("inputs_json", None)
        return {**row, "events": runner.events(chain_id)}
