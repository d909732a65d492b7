"""SIGKILL a queue worker mid-run at random points: another worker takes the run over.

A driver process (``worker_driver.py``) forks one worker process per phase. The first worker of
a trial is always SIGKILLed after a seeded random number of step executions plus a random
delay; later ones sometimes. Each next worker can lease the run only once the dead worker's
lease expired, and resumes it from the journal. We check that the run finishes with outputs
equal to an uninterrupted run, that the journal holds exactly one ``step_succeeded`` per step,
and that no worker executed a step the journal already recorded as completed when it started.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from evopipe.app import App, Settings
from evopipe.spec.loader import loads
from evopipe.spec.pipeline import Pipeline

DRIVER = Path(__file__).with_name("worker_driver.py")
TRIALS = 12
DEPS = {
    "s01": [],
    "s02": ["s01"],
    "s03": ["s02"],
    "s04": ["s03"],
    "s05": ["s03"],
    "s06": ["s03"],
    "s07": ["s04", "s05", "s06"],
    "s08": ["s07"],
    "s09": ["s08"],
    "s10": ["s08"],
    "s11": ["s09", "s10"],
    "s12": ["s11"],
}
"""A 12-step DAG (a chain, a fan-out of three, a join, a fan-out of two, a join)."""


def _pipeline() -> Pipeline:
    steps = []
    for sid, deps in DEPS.items():
        refs = " ".join(f"{{{{ steps.{d}.output }}}}" for d in deps) or "{{ inputs.topic }}"
        steps.append({"id": sid, "kind": "llm", "model": "rec", "prompt": f"{sid}: {refs}"})
    doc = {
        "apiVersion": "evopipe/v1",
        "name": "crash12",
        "inputs": {"topic": {"type": "string"}},
        "steps": steps,
        "outputs": {"final": "{{ steps.s12.output }}", "middle": "{{ steps.s07.output }}"},
    }
    return loads(json.dumps(doc)).pipeline  # JSON is YAML


PIPELINE = _pipeline()


class Driver:
    def __init__(self, db: str, tmp: Path) -> None:
        self.side = tmp / "side.txt"
        self.side.touch()
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVER), db, str(self.side), str(tmp)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def work(self, phase: str, kill_after: int, delay: float) -> str:
        """``killed`` or ``exit=N`` of a worker process for ``phase``."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"work {phase} {kill_after} {delay:.4f}\n")
        self.proc.stdin.flush()
        word, outcome = self._read().split()
        assert word == "done", outcome
        return outcome

    def executed(self, phase: str) -> list[str]:
        return [
            line.split()[1]
            for line in self.side.read_text().splitlines()
            if line.split()[0] == phase
        ]

    def close(self) -> None:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def _completed(app: App, run_id: str) -> list[str]:
    """step_succeeded events of the run's journal, one entry per event."""
    if app.store.find_run(run_id) is None:
        return []
    return [e.step_id for e in app.store.load_events(run_id) if e.type == "step_succeeded"]


def test_sigkilled_workers_lose_nothing(db_url: str, tmp_path: Path) -> None:
    app = App(Settings.load(tmp_path, db=db_url, cache=False))
    driver = Driver(db_url, tmp_path)
    try:
        ref = asyncio.run(app.queue.submit(PIPELINE, {"topic": "durability"}))
        assert driver.work("ref", -1, 0.0) == "exit=0"
        assert app.queue.get(ref.run_id).outcome == "succeeded"
        expected = app.store.get_run(ref.run_id).outputs
        assert expected is not None
        assert set(expected) == {"final", "middle"}
        rng = random.Random(20261202)
        mid_run_kills = sum(_trial(app, driver, f"t{n:02d}", rng, expected) for n in range(TRIALS))
        print(f"worker crash: {TRIALS} trials, {mid_run_kills} SIGKILLs landed mid-run")
        assert mid_run_kills >= 10
    finally:
        driver.close()
        app.close()


def _trial(
    app: App, driver: Driver, name: str, rng: random.Random, expected: dict[str, object]
) -> int:
    queued = asyncio.run(app.queue.submit(PIPELINE, {"topic": "durability"}))
    run_id, kills, phases = queued.run_id, 0, []
    for attempt in range(8):
        phase = f"{name}p{attempt}"
        before = set(_completed(app, run_id))
        kill = attempt == 0 or (attempt < 3 and rng.random() < 0.4)
        kill_after = rng.randint(1, len(DEPS) - 1) if kill else -1
        outcome = driver.work(phase, kill_after, rng.uniform(0.0, 0.03))
        assert outcome in ("killed", "exit=0"), f"{phase}: worker failed ({outcome})"
        phases.append((phase, before))
        done = app.queue.get(run_id).status == "done"
        kills += outcome == "killed" and not done
        if done:
            break
    final = app.queue.get(run_id)
    assert (final.status, final.outcome) == ("done", "succeeded"), final
    assert final.attempts == len(phases)  # one lease per worker: none was doubled
    assert app.store.get_run(run_id).outputs == expected
    assert Counter(_completed(app, run_id)) == Counter(list(DEPS))  # each step succeeded once
    for phase, before in phases:
        again = before & set(driver.executed(phase))
        assert not again, f"{phase} re-ran completed steps {sorted(again)}"
    return kills
