"""Crash safety: SIGKILL a durable run at random points, resume, and compare.

A driver process (``crash_driver.py``) imports evopipe once and forks one child per run or
resume, each a real OS process using the public API with a SQLite store. We kill children with
SIGKILL at seeded random points of their 12-step pipeline (after a random number of step
executions plus a random delay up to two step latencies; sometimes the resume is killed too),
resume until the run succeeds, and check that:

- the outputs equal those of an uninterrupted run;
- no step that the journal recorded as completed was executed again afterwards (the test model
  appends every execution to a side file);
- the journal's sequence numbers are 1..n without gaps.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evopipe.store import Store

DRIVER = Path(__file__).with_name("crash_driver.py")
STEPS = {f"s{i:02d}" for i in range(1, 13)}
TRIALS = 20
MID_RUN_KILLS = 20
MAX_TRIALS = 60


@dataclass
class Outcome:
    killed: bool
    code: int | None
    elapsed: float


class Driver:
    def __init__(self, tmp: Path) -> None:
        self.db = tmp / "crash.db"
        self.side = tmp / "side.txt"
        self.side.touch()
        self.child_s = 0.0
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVER), str(self.db), str(self.side), str(tmp)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._read() == "ready"
        self.store = Store.open(str(self.db))  # a reader; WAL lets it read while children write

    def _read(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def go(self, mode: str, run_id: str, phase: str, kill_after: int, delay: float) -> Outcome:
        """Run/resume in a fresh process; SIGKILL it ``delay`` s after its ``kill_after``-th
        step execution started (``kill_after < 0``: let it finish)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"go {mode} {run_id} {phase} {kill_after} {delay:.4f}\n")
        self.proc.stdin.flush()
        word, outcome, elapsed = self._read().split()
        assert word == "done", outcome
        killed = outcome == "killed"
        code = None if killed else int(outcome.removeprefix("exit="))
        self.child_s += float(elapsed)
        return Outcome(killed, code, float(elapsed))

    def executions(self) -> dict[str, list[tuple[str, float]]]:
        """phase -> [(step, monotonic time)] as the test model recorded them."""
        out: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for line in self.side.read_text().splitlines():
            phase, step, when = line.split()
            out[phase].append((step, float(when)))
        return out

    def close(self) -> None:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.store.close()
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def _journal(store: Store, run_id: str) -> tuple[str | None, set[str], list[int]]:
    """(status or None if the run does not exist, completed top-level steps, seqs)."""
    run = store.find_run(run_id)
    if run is None:
        return None, set(), []
    events = store.load_events(run_id)
    done = {e.step_id for e in events if e.type == "step_succeeded" and e.step_id in STEPS}
    return run.status, {s for s in done if s is not None}, [e.seq for e in events]


def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    driver = Driver(tmp_path)
    try:
        ref = driver.go("run", "reference", "ref", -1, 0.0)
        assert ref.code == 0, "the uninterrupted reference run failed (see stderr)"
        expected = driver.store.get_run("reference").outputs
        assert expected is not None
        assert set(expected) == {"final", "middle"}
        assert sorted(s for s, _ in driver.executions()["ref"]) == sorted(STEPS)

        rng = random.Random(20261122)
        mid_run_kills = trials = 0
        while (trials < TRIALS or mid_run_kills < MID_RUN_KILLS) and trials < MAX_TRIALS:
            trials += 1
            mid_run_kills += _trial(driver, f"t{trials:02d}", rng)
        print(
            f"crash-safety: {trials} trials, {mid_run_kills} kills mid-run, "
            f"{driver.child_s:.1f} s in children"
        )
        assert mid_run_kills >= MID_RUN_KILLS, f"only {mid_run_kills} kills landed mid-run"
    finally:
        driver.close()


def _trial(driver: Driver, run_id: str, rng: random.Random) -> int:
    """One trial; returns how many kills landed while the run was in progress."""
    phases: list[tuple[str, set[str]]] = []  # (phase, steps completed in journal before it)
    mid_run = 0
    mode = "run"
    for attempt in range(12):
        phase = f"{run_id}p{attempt}"
        status, completed, _ = _journal(driver.store, run_id)
        if status is None:
            mode = "run"  # killed before the run was created: start it again
        phases.append((phase, completed))
        # kill the first process always, a resume sometimes; then let it finish
        kill = attempt == 0 or (attempt < 3 and rng.random() < 0.4)
        # at a random step execution (1..12), up to ~2 step latencies later
        kill_after = rng.randint(1, len(STEPS)) if kill else -1
        outcome = driver.go(mode, run_id, phase, kill_after, rng.uniform(0.0, 0.008))
        assert outcome.killed or outcome.code == 0, f"{phase} failed with {outcome.code}"
        status, _, _ = _journal(driver.store, run_id)
        if outcome.killed and status is not None and status != "succeeded":
            mid_run += 1
        if status == "succeeded":
            break
        mode = "resume"
    else:
        raise AssertionError(f"{run_id} never finished")
    _check(driver, run_id, phases)
    return mid_run


def _check(driver: Driver, run_id: str, phases: list[tuple[str, set[str]]]) -> None:
    status, completed, seqs = _journal(driver.store, run_id)
    assert status == "succeeded"
    assert completed == STEPS
    assert seqs == list(range(1, len(seqs) + 1)), f"{run_id}: journal has gaps: {seqs}"
    assert driver.store.get_run(run_id).outputs == driver.store.get_run("reference").outputs
    executions = driver.executions()
    for phase, done_before in phases:
        ran_list = [step for step, _ in executions.get(phase, [])]
        ran = set(ran_list)
        assert len(ran_list) == len(ran), f"{phase} executed a step twice: {sorted(ran_list)}"
        again = ran & done_before
        assert not again, f"{phase} re-ran steps already journaled as completed: {sorted(again)}"
    every = [step for phase, _ in phases for step, _ in executions.get(phase, [])]
    assert set(every) == STEPS, f"{run_id}: some step never ran"
