"""Agent benchmark: the shipped agents on the fixture repository tasks, scripted vs local model.

For every task under ``tests/fixtures/agent_tasks`` the refactoring agent
(``library/agents/refactor.yaml``) runs once with the task's scripted model (the reference:
what a model that uses the tools well achieves through this engine) and once with the embedded
local model ``local:smollm2-135m`` (text protocol: it has no function calling), with bounded
limits. The code-analysis agent runs once per model on one repository. Recorded per run:
solved (the expected diff was kept, or — for the breaking task — the change was reverted),
stop reason, turns, tool calls, replies that parsed into a valid action, tokens, wall time.

Writes ``bench/results/agents.json``. The local model is slow (~10 tokens/s on 2 shared
cores): run it in the background, e.g.

    nohup .venv/bin/python bench/agents.py > /tmp/agents-bench.log 2>&1 &
    .venv/bin/python bench/agents.py --scripted-only     # seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from evopipe.engine import RunOptions, Services
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.policy import Policy
from evopipe.engine.runner import run_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import Model, ModelRequest, ModelResponse, ModelWrapper
from evopipe.models.testing import ScriptedModel
from evopipe.spec.loader import load_file
from evopipe.spec.pipeline import Pipeline
from evopipe.steps.agent.protocol import parse_reply
from evopipe.steps.agent.snapshot import unified_diff

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "tests" / "fixtures" / "agent_tasks"
LIBRARY = ROOT / "src" / "evopipe" / "library" / "agents"
RESULTS = ROOT / "bench" / "results" / "agents.json"
LOCAL = "local:smollm2-135m"
LOCAL_LIMITS = {"max_turns": 8, "max_tool_calls": 12, "max_wall_s": 300.0}
ANALYSIS_TASK = "fix_off_by_one"


class Counting(ModelWrapper):
    """Wraps a model; counts replies that parse into an action of the agent's protocol."""

    def __init__(self, inner: Model) -> None:
        super().__init__(inner)
        self.replies = 0
        self.valid = 0
        self.actions: list[str] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.complete(request)
        mode = "functions" if request.tools else "text"
        self.replies += 1
        parsed = parse_reply(mode, response, self.replies)
        self.valid += int(parsed.error is None)
        self.actions += [f"{a.name}({_brief(a.args)})" for a in parsed.actions] or ["<no action>"]
        return response


def _brief(args: dict[str, Any]) -> str:
    """The first argument of an action, shortened (what the model tried to do)."""
    for key, value in args.items():
        return f"{key}={str(value)[:40]!r}"
    return ""


def bounded(pipeline: Pipeline, limits: dict[str, Any], max_tokens: int) -> Pipeline:
    """The pipeline with tighter agent limits and a per-call output cap (local model)."""
    steps = []
    for step in pipeline.steps:
        if step.kind == "agent":
            merged = step.limits.model_copy(update=limits)  # type: ignore[attr-defined]
            step = step.model_copy(update={"limits": merged, "max_tokens": max_tokens})
        steps.append(step)
    return pipeline.model_copy(update={"steps": steps})


async def run_one(
    pipeline: Pipeline, repo: Path, model: Model, inputs: dict[str, Any], policy: Policy
) -> tuple[Any, float]:
    hub = ModelHub(allow_network=False)
    hub.add(model)
    services = Services(models=hub, store=MemoryJournal(), policy=policy, base_dir=ROOT)
    options = RunOptions(workspace=repo, model=model.id, cache=False)
    start = time.perf_counter()
    result = await run_pipeline(pipeline, inputs, services=services, options=options)
    return result, time.perf_counter() - start


def _files(root: Path) -> dict[str, str]:
    skip = ("__pycache__", ".pytest_cache")
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(s in p.parts for s in skip)
    }


async def refactor_task(task: Path, model: Model, limits: dict[str, Any] | None) -> dict[str, Any]:
    meta = yaml.safe_load((task / "task.yaml").read_text())
    pipeline = load_file(LIBRARY / "refactor.yaml").pipeline
    if limits is not None:
        pipeline = bounded(pipeline, limits, 256)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(task / "before", repo)
        counting = Counting(model)
        result, wall = await run_one(
            pipeline, repo, counting, {"request": meta["request"]}, Policy.trusting()
        )
        final = _files(repo)
    out = result.outputs if result.ok else {}
    record = result.steps[0].output if result.steps and result.ok else None
    if meta["expect"] == "solved":
        solved = out.get("kept") is True and final == _files(task / "after")
        solved = solved and out.get("diff") == unified_diff(task / "after", task / "before")
    else:
        solved = out.get("reverted") is True and final == _files(task / "before")
    return {
        "expect": meta["expect"],
        "solved": bool(solved),
        "status": result.status,
        "error": (result.error or "")[:300] or None,
        "stopped": out.get("stopped"),
        "kept": out.get("kept"),
        "reverted": out.get("reverted"),
        "turns": record["turns"] if record else None,
        "tool_calls": record["tool_calls"] if record else None,
        "replies": counting.replies,
        "valid_action_replies": counting.valid,
        "actions": counting.actions,
        "tokens": result.usage.input_tokens + result.usage.output_tokens,
        "wall_s": round(wall, 2),
    }


async def analysis_task(model: Model, limits: dict[str, Any] | None) -> dict[str, Any]:
    pipeline = load_file(LIBRARY / "code_analysis.yaml").pipeline
    if limits is not None:
        pipeline = bounded(pipeline, limits, 384)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(TASKS / ANALYSIS_TASK / "before", repo)
        counting = Counting(model)
        result, wall = await run_one(pipeline, repo, counting, {}, Policy.untrusted())
    issues = result.outputs.get("issues") if result.ok else None
    return {
        "repository": ANALYSIS_TASK,
        "schema_valid_report": result.ok,
        "issues": len(issues) if isinstance(issues, list) else None,
        "finds_the_bug_in_pages_py": bool(issues)
        and any(i.get("file") == "pages.py" for i in issues or []),
        "error": (result.error or "")[:300] or None,
        "replies": counting.replies,
        "valid_action_replies": counting.valid,
        "actions": counting.actions,
        "tokens": result.usage.input_tokens + result.usage.output_tokens,
        "wall_s": round(wall, 2),
    }


ANALYSIS_SCRIPT: list[Any] = [
    {"tool_calls": [{"name": "list", "arguments": {}}]},
    {"tool_calls": [{"name": "read", "arguments": {"path": "pages.py"}}]},
    {
        "tool_calls": [
            {
                "name": "finish",
                "arguments": {
                    "answer": {
                        "summary": "one bug",
                        "issues": [
                            {
                                "file": "pages.py",
                                "line": 2,
                                "severity": "error",
                                "category": "bug",
                                "message": "floor division drops a partial last page",
                            }
                        ],
                    }
                },
            }
        ]
    },
]


def summary(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    solved = sum(r["solved"] for r in runs.values())
    replies = sum(r["replies"] for r in runs.values())
    valid = sum(r["valid_action_replies"] for r in runs.values())
    return {
        "solved": f"{solved}/{len(runs)}",
        "valid_action_reply_rate": round(valid / replies, 3) if replies else None,
        "wall_s": round(sum(r["wall_s"] for r in runs.values()), 1),
    }


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scripted-only", action="store_true")
    parser.add_argument("--tasks", nargs="*", default=None)
    args = parser.parse_args(argv)
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    tasks = sorted(p for p in TASKS.iterdir() if (p / "task.yaml").exists())
    if args.tasks:
        tasks = [t for t in tasks if t.name in args.tasks]
    doc: dict[str, Any] = {"scripted": {}, "local": {}}
    for task in tasks:
        script = ScriptedModel.from_file(task / "script.yaml", model_id="scripted")
        doc["scripted"][task.name] = await refactor_task(task, script, None)
        print("scripted", task.name, doc["scripted"][task.name]["solved"], flush=True)
    doc["scripted_analysis"] = await analysis_task(ScriptedModel(ANALYSIS_SCRIPT), None)
    if not args.scripted_only:
        hub = ModelHub(allow_network=False)
        local = hub.get(LOCAL)
        for task in tasks:
            doc["local"][task.name] = await refactor_task(task, local, LOCAL_LIMITS)
            print("local", task.name, json.dumps(doc["local"][task.name]), flush=True)
            _write(doc, tasks)
        doc["local_analysis"] = await analysis_task(local, LOCAL_LIMITS)
    _write(doc, tasks)


def _write(doc: dict[str, Any], tasks: list[Path]) -> None:
    out = {
        **doc,
        "summary": {
            "scripted": summary(doc["scripted"]),
            **({"local": summary(doc["local"])} if doc["local"] else {}),
        },
        "settings": {
            "local_model": LOCAL,
            "local_protocol": "text (no function calling)",
            "local_limits": LOCAL_LIMITS,
            "local_max_tokens_per_call": 256,
            "tasks": [t.name for t in tasks],
        },
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.system()} {platform.machine()}, python {platform.python_version()}",
    }
    RESULTS.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
