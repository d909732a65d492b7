"""Driver for the worker crash test: forks queue workers and SIGKILLs them mid-run.

Usage: ``python worker_driver.py DB SIDE_FILE WORKDIR``. It imports evopipe once, then reads
commands from stdin, one per line::

    work PHASE KILL_AFTER DELAY_S

For each command it forks a child: a queue worker (``app.queue.worker()``, lease 0.4 s,
heartbeat 0.1 s) on the store at DB that waits until it can lease a run (a dead worker's lease
must expire first), runs it and exits. If KILL_AFTER >= 0 the parent waits until the child's
model has started KILL_AFTER step executions, sleeps DELAY_S more and SIGKILLs it. It answers
``done killed|exit=N``. The test model appends ``PHASE STEP_ID`` to SIDE_FILE at every
execution, so the test knows which worker executed which step.
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

from evopipe.app import App, Settings
from evopipe.app.queue import QueueSettings
from evopipe.models import ModelHub
from evopipe.models.base import ModelRequest, ModelResponse, Usage
from evopipe.models.testing import FunctionModel

STEP_LATENCY_S = 0.02
LEASE = QueueSettings(lease_s=0.4, heartbeat_s=0.1, poll_s=0.05)


def recording_hub(side: Path, phase: str) -> ModelHub:
    async def record(request: ModelRequest) -> ModelResponse:
        prompt = request.messages[-1].content
        step = prompt.split(":", 1)[0]
        with side.open("a") as fh:
            fh.write(f"{phase} {step}\n")
        await asyncio.sleep(STEP_LATENCY_S)
        text = f"{step}[{hashlib.sha256(prompt.encode()).hexdigest()[:10]}]"
        return ModelResponse(text=text, model="rec", usage=Usage(1, 1), cost_usd=0.0001)

    hub = ModelHub(allow_network=False)
    hub.add(FunctionModel(record, model_id="rec"))
    return hub


async def _work(db: str, side: Path, work: Path, phase: str) -> None:
    settings = Settings.load(work, db=db, cache=False)
    with App(settings, models=recording_hub(side, phase)) as app:
        worker = app.queue.worker(settings=LEASE, owner=phase)
        deadline = time.monotonic() + 30
        while (done := await worker.run_once()) is None:
            if time.monotonic() > deadline:
                raise SystemExit("no run to lease within 30 s")
            await asyncio.sleep(0.05)
        if done.status != "done":
            raise SystemExit(f"run {done.run_id} left as {done.status}")


def _executions(side: Path, phase: str) -> int:
    prefix = phase + " "
    return sum(1 for line in side.read_text().splitlines() if line.startswith(prefix))


def _go(db: str, side: Path, work: Path, args: list[str]) -> str:
    phase, kill_after, extra_delay = args[0], int(args[1]), float(args[2])
    pid = os.fork()
    if pid == 0:  # the child: work, then leave without running the parent's cleanup
        code = 0
        try:
            asyncio.run(_work(db, side, work, phase))
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    if kill_after >= 0:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return f"done exit={os.waitstatus_to_exitcode(status)}"
            if _executions(side, phase) >= kill_after:
                break
            time.sleep(0.0005)
        time.sleep(extra_delay)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return "done killed" if code == -signal.SIGKILL else f"done exit={code}"


def main() -> None:
    db, side, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    with App(Settings.load(work, db=db)) as app:  # warm up: migrate, import the engine
        app.queue.list(limit=1)
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if parts and parts[0] == "work":
            print(_go(db, side, work, parts[1:]), flush=True)
        elif parts:
            print(f"error unknown command {parts[0]}", flush=True)


if __name__ == "__main__":
    main()
