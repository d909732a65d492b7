"""The MCP server: evopipe's operations as tools, its pipelines and runs as resources, on the
official ``mcp`` SDK. A thin face: every tool calls :class:`evopipe.app.remote.Remote` and
nothing else; a refused operation comes back as an MCP tool error whose text lists evopipe's
diagnostics (``file:line:col: error[rule]: message``) and whose structured content carries
them as data.

Long work never holds a tool call open: ``run``, ``approve`` and ``evolve`` return an id at
once, and ``run_status`` / ``run_events`` / ``evolve_status`` poll it. The runs belong to the
server process's one :class:`~evopipe.app.App` and live in its event loop.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, TextContent, ToolAnnotations

from evopipe import __version__
from evopipe.app import Decision, EvopipeError
from evopipe.app.evolve import DEFAULT_OPERATORS, EvalSource, EvolveConfig
from evopipe.app.remote import Remote, error_json

INSTRUCTIONS = """\
evopipe runs, generates, validates and evolves multi-step LLM pipelines (YAML).
Typical flow: `generate` a pipeline from a request (or pick one from the resource
evopipe://pipelines), `validate` it, `run` it — run returns a run id at once — then poll
`run_status` (or page through `run_events`) until the status is no longer `running`. A run
`waiting` on an approval step continues with `approve`. `evolve` improves a pipeline on a
dataset in the background: poll `evolve_status`, inspect `lineage`.
"""

_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_STARTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)


def _text(data: Any) -> str:
    return data if isinstance(data, str) else json.dumps(data, indent=2, default=str)


def _failure(exc: EvopipeError) -> CallToolResult:
    data = error_json(exc)
    lines = [data["error"]]
    for d in data["diagnostics"]:
        line = f"{d['location']}: {d['severity']}[{d['rule']}]: {d['message']}"
        if line not in data["error"]:
            lines.append(line)
    return CallToolResult(
        content=[TextContent(type="text", text="\n".join(lines))],
        structured_content=data,
        is_error=True,
    )


async def answer(work: Callable[[], Any]) -> CallToolResult:
    """Run one operation: its JSON as the result, or evopipe's refusal as a tool error."""
    try:
        value = work()
        if inspect.isawaitable(value):
            value = await value
    except EvopipeError as exc:
        return _failure(exc)
    structured = value if isinstance(value, dict) else {"result": value}
    return CallToolResult(
        content=[TextContent(type="text", text=_text(value))],
        structured_content=structured,
    )


def build_server(remote: Remote) -> MCPServer:
    """An MCP server whose tools and resources act through ``remote`` (and its App)."""
    server: MCPServer = MCPServer(
        "evopipe",
        title="evopipe",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://github.com/evopipe/evopipe",
    )
    _pipeline_tools(server, remote)
    _run_tools(server, remote)
    _evolution_tools(server, remote)
    _resources(server, remote)
    return server


def _pipeline_tools(server: MCPServer, remote: Remote) -> None:
    @server.tool(annotations=_STARTS)
    async def generate(
        request: str, model: str | None = None, max_rounds: int = 3
    ) -> CallToolResult:
        """Generate a validated evopipe pipeline from a plain-language request. The YAML is in
        `spec`; pass it to `run` as `yaml`. Invalid after the repair rounds: an error with the
        diagnostics."""
        return await answer(lambda: remote.generate(request, model=model, max_rounds=max_rounds))

    @server.tool(annotations=_READ_ONLY)
    async def validate(
        path: str | None = None, yaml: str | None = None, profile: str = "default"
    ) -> CallToolResult:
        """Validate a pipeline file or directory (`path`, relative to the project) or YAML
        text (`yaml`) without running it: `valid` and every diagnostic with its rule and
        file:line:col."""
        return await answer(lambda: remote.validate(path=path, text=yaml, profile=profile))


def _run_tools(server: MCPServer, remote: Remote) -> None:
    @server.tool(annotations=_STARTS)
    async def run(
        pipeline: str | None = None,
        yaml: str | None = None,
        inputs: dict[str, Any] | None = None,
        model: str | None = None,
    ) -> CallToolResult:
        """Start a run and return its `run_id` at once (it keeps running in the server).
        `pipeline` is a file, a library pipeline (see evopipe://pipelines) or a registered
        NAME / NAME@N; or give the pipeline's YAML text as `yaml`. Poll `run_status`."""
        return await answer(
            lambda: remote.start_run(pipeline=pipeline, text=yaml, inputs=inputs, model=model)
        )

    @server.tool(annotations=_READ_ONLY)
    async def run_status(run_id: str) -> CallToolResult:
        """A run's status (`running`, `succeeded`, `failed`, `waiting`, `cancelled`,
        `budget_exceeded`), outputs, usage, per-step summaries and `waiting_on` steps."""
        return await answer(lambda: remote.run_status(run_id))

    @server.tool(annotations=_READ_ONLY)
    async def run_events(run_id: str, after: int = 0, limit: int = 100) -> CallToolResult:
        """A run's journaled events with seq > `after` (at most `limit`, 500 max); call
        again with `after` = `next_after` while `more` is true or the run is running."""
        return await answer(lambda: remote.run_events(run_id, after=after, limit=limit))

    @server.tool(annotations=_STARTS)
    async def approve(
        run_id: str,
        step_id: str,
        reject: bool = False,
        comment: str | None = None,
        decided_by: str | None = None,
        values: dict[str, str | int | float | bool] | None = None,
    ) -> CallToolResult:
        """Approve (or reject) the approval step a waiting run is paused on; the run resumes
        in the background at exactly that step. `values` answer the step's typed fields
        (`run_status` shows them under the waiting step). Poll `run_status`."""
        return await answer(
            lambda: remote.approve(
                run_id, Decision(step_id, not reject, comment, decided_by, values or {})
            )
        )

    @server.tool(annotations=ToolAnnotations(destructive_hint=True, idempotent_hint=True))
    async def cancel(run_id: str) -> CallToolResult:
        """Ask a running run to stop; its journal stays resumable."""
        return await answer(lambda: remote.cancel(run_id))


def _evolution_tools(server: MCPServer, remote: Remote) -> None:
    @server.tool(annotations=_STARTS)
    async def evolve(
        pipeline: str,
        dataset: str,
        metric: str,
        generations: int = 3,
        population: int = 4,
        offspring: int = 4,
        budget_calls: int | None = None,
        budget_usd: float | None = None,
        seed: int = 0,
        operators: list[str] | None = None,
        objectives: list[str] | None = None,
        model: str | None = None,
        mapping: dict[str, str] | None = None,
        expected: str | None = None,
        output: str | None = None,
    ) -> CallToolResult:
        """Evolve a pipeline file on a dataset (JSONL/CSV file or train/val/test directory)
        scored by `metric` (e.g. `exact`, `numeric`), in the background: returns the
        `evolution_id` at once. Poll `evolve_status`; see `lineage`."""

        def start() -> Any:
            config = EvolveConfig(
                generations=generations,
                population=population,
                offspring=offspring,
                objectives=tuple(objectives or ("quality", "cost")),
                budget_calls=budget_calls,
                budget_usd=budget_usd,
                seed=seed,
                operators=tuple(operators or DEFAULT_OPERATORS),
            )
            source = EvalSource(
                dataset=remote.resolve_path(dataset),
                metric=metric,
                model=model,
                mapping=dict(mapping or {}),
                expected=expected,
                output=output,
            )
            return remote.start_evolution(pipeline, source, config)

        return await answer(start)

    @server.tool(annotations=_READ_ONLY)
    async def evolve_status(evolution_id: str) -> CallToolResult:
        """An evolution's status (`running` with progress, `finished` with its summary:
        champion, Pareto front, calls, cost; `failed` with the error)."""
        return await answer(lambda: remote.evolution_status(evolution_id))

    @server.tool(annotations=_READ_ONLY)
    async def lineage(ident: str, format: str = "json") -> CallToolResult:
        """The genealogy of an evolution run or of one candidate (id prefix): operators,
        parents, fitness. `format`: json, tree or dot."""
        return await answer(lambda: remote.lineage(ident, format))

    @server.tool(annotations=_READ_ONLY)
    async def registry(name: str | None = None) -> CallToolResult:
        """Registered pipelines (name, versions, champion); with `name`, its versions with
        their evidence and the champion pointer's history."""
        return await answer(lambda: remote.registry(name))


def read(work: Callable[[], Any]) -> str:
    """A resource's text; evopipe's refusal as the SDK's resource error (its message kept)."""
    try:
        return _text(work())
    except EvopipeError as exc:
        raise ResourceError(str(exc)) from None


def _resources(server: MCPServer, remote: Remote) -> None:
    @server.resource("evopipe://pipelines", mime_type="application/json")
    def pipelines() -> str:
        """Pipelines a run can name: shipped with evopipe (library) and registered."""
        return read(remote.pipelines)

    @server.resource("evopipe://pipelines/{+name}", mime_type="application/yaml")
    def pipeline(name: str) -> str:
        """The YAML of a library pipeline or a registered one (NAME or NAME@N)."""
        return read(lambda: remote.pipeline_text(name))

    @server.resource("evopipe://runs", mime_type="application/json")
    def runs() -> str:
        """The 50 most recent runs."""
        return read(lambda: remote.runs(limit=50))

    @server.resource("evopipe://runs/{run_id}", mime_type="application/json")
    def run(run_id: str) -> str:
        """One run: status, outputs, usage, per-step summaries."""
        return read(lambda: remote.run_status(run_id))
