"""SIGKILL a process in the middle of an agent step, resume it: completed turns are not
repeated (their effects are already in the workspace, their messages come from the journal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from evopipe.store import Store

DRIVER = Path(__file__).with_name("agent_crash_driver.py")


def _turns(side: Path, phase: str) -> list[int]:
    if not side.exists():
        return []
    rows = (line.split() for line in side.read_text().splitlines())
    return [int(turn) for p, turn in rows if p == phase]


def _driver(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, str(DRIVER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_sigkill_then_resume_does_not_repeat_completed_turns(tmp_path: Path) -> None:
    db, side, ws = str(tmp_path / "j.db"), tmp_path / "side.txt", tmp_path / "ws"
    ws.mkdir()
    first = _driver("run", db, str(side), str(ws), "crash-1")
    deadline = time.monotonic() + 60
    while len(_turns(side, "run")) < 4 and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.01)
    time.sleep(0.1)  # inside the 4th call
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    with Store.open(db) as store:
        journaled = [e.data["turn"] for e in store.load_events("crash-1") if e.type == "agent_turn"]
    assert journaled == [1, 2, 3], journaled  # the 4th turn was in flight
    assert sorted(p.name for p in ws.glob("f*.txt")) == ["f1.txt", "f2.txt", "f3.txt"]

    second = _driver("resume", db, str(side), str(ws), "crash-1")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.split() == ["succeeded", "3"]
    assert _turns(side, "resume") == [4, 5, 6]  # completed turns 1-3 were not repeated
    assert sorted(p.name for p in ws.glob("f*.txt")) == [f"f{i}.txt" for i in range(1, 6)]
    with Store.open(db) as store:
        events = [e for e in store.load_events("crash-1") if e.type == "agent_turn"]
    assert [e.data["turn"] for e in events] == [1, 2, 3, 4, 5, 6]
