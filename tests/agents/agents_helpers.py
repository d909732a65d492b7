"""Running agent pipelines through the real engine with test models (helpers for tests/agents)."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evopipe.engine import EventBus, RunOptions, Services
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.policy import Policy
from evopipe.engine.runner import run_pipeline
from evopipe.engine.types import RunResult
from evopipe.models import ModelHub
from evopipe.models.base import Model
from evopipe.models.config import ModelsConfig
from evopipe.models.testing import ScriptedModel
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "agent_tasks"
LEAN_PYTEST = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"
"""Set by an autouse fixture (conftest.py): children's pytest loads no plugin of this venv."""
POLICY = Policy.trusting(env_passthrough=[LEAN_PYTEST])
"""The trusting policy of these tests (shell commands see :data:`LEAN_PYTEST`)."""


def spec(text: str) -> Pipeline:
    body = textwrap.dedent(text).strip("\n")
    if not body.startswith("apiVersion"):
        body = "apiVersion: evopipe/v1\nname: t\n" + body
    return loads(body).pipeline


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """One scripted function call."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def scripted(*responses: Any, model_id: str = "agentmodel") -> ScriptedModel:
    return ScriptedModel(list(responses), model_id=model_id)


def services(
    model: Model | None = None, *, policy: Policy | None = None, store: Any = None, **kw: Any
) -> Services:
    hub = ModelHub(ModelsConfig(default_model="fake"), allow_network=False)
    if model is not None:
        hub.add(model)
    return Services(
        models=hub,
        store=store if store is not None else MemoryJournal(),
        bus=kw.get("bus") or EventBus([]),
        policy=policy or POLICY,
        base_dir=kw.get("base_dir") or Path.cwd(),
        hooks=kw.get("hooks") or {},
    )


async def run_agent(
    pipeline: Pipeline | str,
    workspace: Path,
    model: Model | None = None,
    *,
    policy: Policy | None = None,
    inputs: dict[str, Any] | None = None,
    model_id: str | None = "agentmodel",
    **kw: Any,
) -> RunResult:
    if isinstance(pipeline, str):
        pipeline = spec(pipeline)
    svc = services(model, policy=policy, **kw)
    options = RunOptions(
        workspace=workspace, model=model_id, cache=False, run_id=kw.pop("run_id", None)
    )
    return await run_pipeline(pipeline, inputs or {}, services=svc, options=options)


def repo(tmp_path: Path, task: str) -> Path:
    """A copy of a fixture repository (``before/``) to work in."""
    dest = tmp_path / "repo"
    shutil.copytree(FIXTURES / task / "before", dest)
    return dest


def python_bin() -> str:
    """The directory of a python with pytest (this one), for the commands' PATH."""
    import sys

    return str(Path(sys.executable).parent)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def alive(pid: int) -> bool:
    """Is process ``pid`` running (a zombie counts as gone)?"""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def files_of(root: Path, skip: Sequence[str] = ("__pycache__", ".pytest_cache")) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(s in p.parts for s in skip)
    }
