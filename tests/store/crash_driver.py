"""Driver for the crash-safety test: runs a 12-step pipeline durably in forked children.

Usage: ``python crash_driver.py DB SIDE_FILE WORKDIR``. It imports evopipe once, then reads
commands from stdin, one per line::

    go MODE RUN_ID PHASE KILL_AFTER DELAY_S     MODE is run|resume

For each command it forks a child that opens the store and runs (or resumes) the pipeline
through the public Python API. If KILL_AFTER >= 0, the parent waits until the child has started
KILL_AFTER step executions, sleeps DELAY_S more and SIGKILLs it (unless it already exited). It
answers ``done killed|exit=N ELAPSED_S``. Every execution of a step by the
test model appends ``PHASE STEP_ID TIME`` to SIDE_FILE (before the step's simulated latency), so the
test can tell which process executed which step.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from evopipe.engine import RunOptions, Services
from evopipe.engine.runner import resume_run, run_pipeline
from evopipe.models import ModelHub
from evopipe.models.base import ModelRequest
from evopipe.models.testing import FunctionModel
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline
from evopipe.store import Store
from evopipe.store.migrate import CORE

PIPELINE = """
apiVersion: evopipe/v1
name: crash12
inputs: {topic: {type: string}}
steps:
  - {id: s01, kind: llm, model: rec, prompt: "s01: {{ inputs.topic }}"}
  - {id: s02, kind: llm, model: rec, prompt: "s02: {{ steps.s01.output }}"}
  - {id: s03, kind: llm, model: rec, prompt: "s03: {{ steps.s02.output }}"}
  - {id: s04, kind: llm, model: rec, prompt: "s04: {{ steps.s03.output }}"}
  - {id: s05, kind: llm, model: rec, prompt: "s05: {{ steps.s03.output }}"}
  - {id: s06, kind: llm, model: rec, prompt: "s06: {{ steps.s03.output }}"}
  - id: s07
    kind: llm
    model: rec
    prompt: "s07: {{ steps.s04.output }} {{ steps.s05.output }} {{ steps.s06.output }}"
  - {id: s08, kind: llm, model: rec, prompt: "s08: {{ steps.s07.output }}"}
  - {id: s09, kind: llm, model: rec, prompt: "s09: {{ steps.s08.output }}"}
  - {id: s10, kind: llm, model: rec, prompt: "s10: {{ steps.s08.output }}"}
  - {id: s11, kind: llm, model: rec, prompt: "s11: {{ steps.s09.output }} {{ steps.s10.output }}"}
  - {id: s12, kind: llm, model: rec, prompt: "s12: {{ steps.s11.output }}"}
outputs:
  final: "{{ steps.s12.output }}"
  middle: "{{ steps.s07.output }}"
"""
STEP_LATENCY_S = 0.004


def _child(
    db: str, side: Path, work: Path, mode: str, run_id: str, phase: str, pipeline: Pipeline
) -> None:
    async def record(request: ModelRequest) -> str:
        prompt = request.messages[-1].content
        step = prompt.split(":", 1)[0]
        with side.open("a") as fh:
            fh.write(f"{phase} {step} {time.monotonic():.6f}\n")
        await asyncio.sleep(STEP_LATENCY_S)
        return f"{step}[{hashlib.sha256(prompt.encode()).hexdigest()[:10]}]"

    hub = ModelHub(allow_network=False)
    hub.add(FunctionModel(record, model_id="rec"))
    options = RunOptions(run_id=run_id, cache=False, workspace=work / "ws")
    with Store.open(db) as store:
        services = Services(models=hub, store=store, base_dir=work)
        if mode == "run":
            result = asyncio.run(
                run_pipeline(pipeline, {"topic": "durability"}, services=services, options=options)
            )
        else:
            result = asyncio.run(resume_run(run_id, services=services, options=options))
    if result.status != "succeeded":
        raise SystemExit(f"run {run_id} ended {result.status}: {result.error}")


def _executions(side: Path, phase: str) -> int:
    prefix = phase + " "
    return sum(1 for line in side.read_text().splitlines() if line.startswith(prefix))


def _go(db: str, side: Path, work: Path, pipeline: Pipeline, args: list[str]) -> str:
    mode, run_id, phase = args[0], args[1], args[2]
    kill_after, extra_delay = int(args[3]), float(args[4])
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: run, then leave without running the parent's cleanup
        code = 0
        try:
            _child(db, side, work, mode, run_id, phase, pipeline)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    if kill_after >= 0:
        # wait until the child has started `kill_after` step executions, then a bit more
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                return f"done exit={code} {time.perf_counter() - start:.4f}"
            if _executions(side, phase) >= kill_after:
                break
            time.sleep(0.0005)
        time.sleep(extra_delay)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    outcome = "killed" if code == -signal.SIGKILL else f"exit={code}"
    return f"done {outcome} {time.perf_counter() - start:.4f}"


def main() -> None:
    db, side, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    # warm up in the parent so that each forked child only does the run itself
    CORE.migrations()
    Store.open(db).close()
    pipeline = loads(PIPELINE).pipeline
    ModelHub(allow_network=False)
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] != "go":
            print(f"error unknown command {parts[0]}", flush=True)
            continue
        print(_go(db, side, work, pipeline, parts[1:]), flush=True)


if __name__ == "__main__":
    main()
