"""The MCP server, driven by the SDK's own client in-process: tools and resources listed, a
pipeline generated (fake model), run in the background and polled to completion, an approval
given, an evolution started and polled, and evopipe's diagnostics returned as tool errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from interop_needs import need_module

need_module("mcp", reason="the mcp extra is not installed")

from mcp import Client, MCPError

from evopipe.app import App, Settings
from evopipe.app.remote import Remote
from evopipe.mcp import build_server
from evopipe.orchestrate.registry import Registry
from evopipe.spec import loads

TOOLS = {
    "generate",
    "validate",
    "run",
    "run_status",
    "run_events",
    "approve",
    "cancel",
    "evolve",
    "evolve_status",
    "lineage",
    "registry",
}
KINDS = Path(__file__).resolve().parents[2] / "examples" / "kinds"
BROKEN = """apiVersion: evopipe/v1
kind: Pipeline
name: broken
outputs: {x: "{{ steps.one.output }}"}
steps:
  - {id: one, kind: llm, prompt: "Hi {{ steps.nowhere.output }}"}
"""
ECHO = """apiVersion: evopipe/v1
kind: Pipeline
name: echo
inputs: {text: {type: string}}
outputs: {answer: "{{ steps.say.output.answer }}"}
steps:
  - {id: say, kind: set, values: {answer: "{{ inputs.text }}"}}
"""


@pytest.fixture
def files(project: Path) -> Path:
    (project / "echo.yaml").write_text(ECHO)
    return project


@asynccontextmanager
async def serving(project: Path) -> AsyncIterator[Client]:
    """The SDK's client connected in-process to a server over one App (as `evopipe mcp`
    composes them; the client's task groups must open and close in one task, so this is a
    context manager rather than a fixture)."""
    settings = Settings.load(project, environ={}, db=str(project / "s.db"), default_model="fake")
    async with App(settings) as app:
        remote = Remote(app)
        try:
            async with Client(build_server(remote)) as connected:
                yield connected
        finally:
            await remote.close()


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def poll(client: Client, tool: str, key: str, ident: str, until: str = "running") -> Any:
    for _ in range(400):
        status = await call(client, tool, **{key: ident})
        if status["status"] != until:
            return status
        await asyncio.sleep(0.025)
    raise AssertionError(f"{ident} still {until}")


async def test_the_client_lists_the_tools_and_resources(files: Path) -> None:
    async with serving(files) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        assert tools["run"].input_schema["properties"].keys() >= {"pipeline", "yaml", "inputs"}
        assert tools["run_status"].annotations is not None
        assert tools["run_status"].annotations.read_only_hint is True
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        assert resources == {"evopipe://pipelines", "evopipe://runs"}
        templates = (await client.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            "evopipe://pipelines/{+name}",
            "evopipe://runs/{run_id}",
        }


async def test_generate_then_run_and_poll_to_completion(files: Path) -> None:
    async with serving(files) as client:
        generated = await call(client, "generate", request="Summarise a text in three bullets")
        spec = yaml.safe_load(generated["spec"])
        inputs = {name: "Otters hold hands while they sleep." for name in spec.get("inputs", {})}
        started = await call(client, "run", yaml=generated["spec"], inputs=inputs)
        run_id = started["run_id"]
        assert started["pipeline_name"] == generated["name"]
        final = await poll(client, "run_status", "run_id", run_id)
        assert final["status"] == "succeeded", final
        assert final["outputs"]
        assert all(step["status"] == "succeeded" for step in final["steps"])

        first = await call(client, "run_events", run_id=run_id, limit=2)
        assert [e["seq"] for e in first["events"]] == [1, 2]
        assert first["events"][0]["type"] == "run_started"
        assert first["more"] is True
        rest = await call(client, "run_events", run_id=run_id, after=first["next_after"])
        seqs = [e["seq"] for e in first["events"] + rest["events"]]
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free, replayed from the journal
        assert rest["events"][-1]["type"] == "run_finished"
        assert rest["more"] is False

        page = await client.read_resource(f"evopipe://runs/{run_id}")
        assert json.loads(page.contents[0].text)["status"] == "succeeded"  # type: ignore[union-attr]
        listed = await client.read_resource("evopipe://runs")
        assert run_id in {r["run_id"] for r in json.loads(listed.contents[0].text)}  # type: ignore[union-attr]


async def test_a_waiting_run_is_approved_and_finishes(files: Path) -> None:
    async with serving(files) as client:
        started = await call(client, "run", pipeline=str(KINDS / "approval.yaml"))
        waiting = await poll(client, "run_status", "run_id", started["run_id"])
        assert waiting["status"] == "waiting"
        assert waiting["waiting_on"] == ["review"]
        review = next(s for s in waiting["steps"] if s["id"] == "review")
        assert set(review["asks"]) == {"audience", "pin_days"}  # the typed values it needs
        refused = await client.call_tool(
            "approve",
            {"run_id": started["run_id"], "step_id": "review", "values": {"pin_days": 99}},
        )
        assert refused.is_error
        assert "pin_days: 99 is above the maximum 30" in refused.content[0].text  # type: ignore[union-attr]
        resumed = await call(
            client,
            "approve",
            run_id=started["run_id"],
            step_id="review",
            decided_by="ann",
            values={"audience": "staff"},
        )
        assert resumed["status"] != "waiting"  # journaled as running again before the answer
        done = await poll(client, "run_status", "run_id", started["run_id"])
        assert done["status"] == "succeeded", done
        assert [s["id"] for s in done["steps"]] == ["draft", "review"]
        assert done["outputs"]["text"].startswith("fake-")
        assert done["outputs"]["audience"] == "staff"


async def test_diagnostics_come_back_as_tool_errors(files: Path) -> None:
    async with serving(files) as client:
        refused = await client.call_tool("run", {"yaml": BROKEN})
        assert refused.is_error
        data = refused.structured_content
        assert data is not None
        (diag,) = [d for d in data["diagnostics"] if d["severity"] == "error"]
        assert diag["rule"]
        assert diag["location"] == f"<yaml>:{diag['line']}:{diag['column']}"
        assert diag["line"] == 6
        text = refused.content[0].text  # type: ignore[union-attr]
        assert f"<yaml>:6:{diag['column']}: error[{diag['rule']}]" in text

        checked = await call(client, "validate", yaml=BROKEN)  # validation is not an error
        assert checked["valid"] is False
        assert checked["files"][0]["diagnostics"][0]["rule"] == diag["rule"]
        assert (await call(client, "validate", path="echo.yaml"))["valid"] is True

        unknown = await client.call_tool("run_status", {"run_id": "run_nope"})
        assert unknown.is_error
        assert "run_nope" in unknown.content[0].text  # type: ignore[union-attr]
        both = await client.call_tool("run", {"pipeline": "echo.yaml", "yaml": ECHO})
        assert both.is_error
        assert "exactly one" in both.content[0].text  # type: ignore[union-attr]
        missing = await client.call_tool("run", {"pipeline": "echo.yaml"})  # required input absent
        assert missing.is_error
        assert "text" in missing.content[0].text  # type: ignore[union-attr]


async def test_pipeline_resources_list_and_read(files: Path) -> None:
    settings = Settings.load(files, environ={}, db=str(files / "s.db"))
    with App(settings) as app:  # register a champion in the store the server will open
        registry = Registry(app.store)
        registry.set_champion("echo", registry.add_version("echo", "c1", loads(ECHO).pipeline, {}))
    async with serving(files) as client:
        listing = await client.read_resource("evopipe://pipelines")
        data = json.loads(listing.contents[0].text)  # type: ignore[union-attr]
        assert "patterns/summarise-text" in data["library"]
        assert data["registered"] == [{"name": "echo", "versions": 1, "champion": 1}]
        page = await client.read_resource("evopipe://pipelines/patterns/summarise-text")
        assert yaml.safe_load(page.contents[0].text)["name"] == "summarise-text"  # type: ignore[union-attr]
        champion = await client.read_resource("evopipe://pipelines/echo@1")
        assert loads(champion.contents[0].text).pipeline == loads(ECHO).pipeline  # type: ignore[union-attr]
        shown = await call(client, "registry", name="echo")
        assert shown["champion"] == 1
        ran = await call(client, "run", pipeline="echo", inputs={"text": "registered"})
        done = await poll(client, "run_status", "run_id", ran["run_id"])
        assert done["outputs"] == {"answer": "registered"}
        with pytest.raises(MCPError, match="neither a library nor a registered"):
            await client.read_resource("evopipe://pipelines/echo.yaml")


def _dataset(project: Path) -> Path:
    rows = [
        {"text": t, "answer": t, "split": split}
        for split, words in {"train": "ab", "val": "cd", "test": "ef"}.items()
        for t in words
    ]
    path = project / "echo.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


async def test_evolve_starts_in_the_background_and_is_polled(files: Path) -> None:
    async with serving(files) as client:
        _dataset(files)
        started = await call(
            client,
            "evolve",
            pipeline="echo.yaml",
            dataset="echo.jsonl",
            metric="exact",
            generations=1,
            offspring=2,
            operators=["params", "insert_verifier"],
            expected="answer",
            output="answer",
        )
        evo_id = started["evolution_id"]
        assert started["projection"]["evaluations_max"] == 3
        done = await poll(client, "evolve_status", "evolution_id", evo_id)
        assert done["status"] == "finished", done
        assert done["summary"]["seed_quality"] == 1.0
        genealogy = await call(client, "lineage", ident=evo_id)
        assert done["summary"]["seed_id"] in {n["id"] for n in genealogy["nodes"]}
        assert (await call(client, "registry"))["result"] == []

        bad = await client.call_tool(
            "evolve",
            {
                "pipeline": "echo.yaml",
                "dataset": "echo.jsonl",
                "metric": "exact",
                "operators": ["teleport"],
            },
        )
        assert bad.is_error
        assert "teleport" in bad.content[0].text  # type: ignore[union-attr]
