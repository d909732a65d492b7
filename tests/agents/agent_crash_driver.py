"""Driver for the agent crash test: runs (or resumes) one agent step durably, in its own process.

Usage: ``python agent_crash_driver.py run|resume DB SIDE_FILE WORKSPACE RUN_ID``. The model is
a deterministic function of the transcript: at turn ``i`` (< TURNS) it writes ``f<i>.txt``; at
turn TURNS it finishes. Every model call appends ``PHASE TURN`` to SIDE_FILE (before its
latency), so the test can tell which process executed which turn.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from evopipe.engine import RunOptions, Services
from evopipe.engine.policy import Policy
from evopipe.engine.runner import resume_run, run_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.spec.loader import loads
from evopipe.store import Store

TURNS = 6
LATENCY_S = 0.25
PIPELINE = """
apiVersion: evopipe/v1
name: agentcrash
steps:
  - id: ag
    kind: agent
    task: write six files
    tools: [write]
    limits: {max_turns: 20}
"""


def _note(path: Path, line: str) -> None:
    with path.open("a") as fh:
        fh.write(line)


def main() -> None:
    mode, db, side, workspace, run_id = sys.argv[1:6]
    side_file = Path(side)

    async def model(request: ModelRequest) -> object:
        turn = 1 + sum(1 for m in request.messages if m.role == "assistant")
        _note(side_file, f"{mode} {turn}\n")
        await asyncio.sleep(LATENCY_S)
        if turn >= TURNS:
            return {"tool_calls": [{"name": "finish", "arguments": {"answer": "six"}}]}
        args = {"path": f"f{turn}.txt", "content": f"turn {turn}\n"}
        return {"tool_calls": [{"name": "write", "arguments": args}]}

    hub = ModelHub(allow_network=False)
    hub.add(FunctionModel(model, model_id="crashmodel"))
    options = RunOptions(run_id=run_id, cache=False, workspace=Path(workspace), model="crashmodel")
    with Store.open(db) as store:
        services = Services(models=hub, store=store, policy=Policy.trusting())
        if mode == "run":
            pipeline = loads(PIPELINE).pipeline
            result = asyncio.run(run_pipeline(pipeline, {}, services=services, options=options))
        else:
            result = asyncio.run(resume_run(run_id, services=services, options=options))
    print(result.status, result.step("ag").output["resumed_turns"], flush=True)


if __name__ == "__main__":
    main()
