"""The factory registers one pipeline per need, never a duplicate, and resumes after a kill."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nursery_helpers import STURDY, shout

from evopipe.app.schema import open_store
from evopipe.nursery.factory import Factory, FactoryError, batch_id, read_demands
from evopipe.orchestrate.registry import Registry
from evopipe.spec import Pipeline, spec_hash

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    s = open_store("sqlite:///:memory:", environ={})
    yield s
    s.close()


def _named(request: str) -> Pipeline:
    return shout(STURDY, name=request.split()[0].lower())


async def test_duplicates_against_the_registry_and_within_the_batch(store) -> None:  # type: ignore[no-untyped-def]
    registry = Registry(store)
    existing = _named("alpha one")
    registry.add_version("alpha", spec_hash(existing), existing, {})
    calls: list[str] = []

    async def generate(request: str) -> Pipeline:
        calls.append(request)
        return _named(request)

    items = await Factory(store, generate).run(["alpha one", "beta two", "beta two again"])
    assert [i.status for i in items] == ["duplicate", "done", "duplicate"]
    assert [n for n, _, _ in registry.names()] == ["alpha", "beta"]
    assert all(len(registry.versions(n)) == 1 for n in ("alpha", "beta"))
    again = await Factory(store, generate).run(["alpha one", "beta two", "beta two again"])
    assert [i.status for i in again] == ["duplicate", "done", "duplicate"]
    assert len(calls) == 3  # finished items are not generated again


async def test_a_failed_item_is_retried_and_a_refused_one_is_not_registered(store) -> None:  # type: ignore[no-untyped-def]
    from evopipe.genesis import GenerationError

    flaky = {"n": 0}

    async def generate(request: str) -> Pipeline:
        flaky["n"] += 1
        if request.startswith("gamma") and flaky["n"] == 1:
            raise GenerationError("no valid pipeline", diagnostics=[])
        return _named(request)

    async def refuse_delta(pipeline: Pipeline) -> bool:
        return pipeline.name != "delta"

    factory = Factory(store, generate, refuse_delta)
    first = await factory.run(["gamma", "delta"])
    assert [i.status for i in first] == ["failed", "refused"]
    second = await factory.run(["gamma", "delta"])
    assert [i.status for i in second] == ["done", "refused"]
    assert [n for n, _, _ in Registry(store).names()] == ["gamma"]


def test_demand_files(tmp_path: Path) -> None:
    text = tmp_path / "d.txt"
    text.write_text("# needs\nfirst need\n\nsecond need\n", encoding="utf-8")
    assert read_demands(text) == ["first need", "second need"]
    listed = tmp_path / "d.yaml"
    listed.write_text("- first need\n- second need\n", encoding="utf-8")
    assert read_demands(listed) == read_demands(text)
    assert batch_id(read_demands(text)) == batch_id(["first need", "second need"])
    (tmp_path / "bad.yaml").write_text("need: 1\n", encoding="utf-8")
    with pytest.raises(FactoryError, match=r"bad\.yaml:1:1"):
        read_demands(tmp_path / "bad.yaml")
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(FactoryError, match="no request"):
        read_demands(tmp_path / "empty.txt")


NEEDS = [
    "Summarise long news articles into five bullet points",
    "Translate product descriptions into German",
    "Extract invoice number, date, vendor and total from invoice text",
    "Classify customer support tickets by intent",
    "Write release notes from a git changelog",
    "Detect the sentiment of app store reviews",
]


def _statuses(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute("SELECT status FROM factory_items ORDER BY idx")]
    except sqlite3.OperationalError:  # tables not created yet
        return []


def _factory(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("EVOPIPE_DB", None)
    cmd = [sys.executable, "-m", "evopipe", "factory", "run", "needs.txt", "--db", "f.db",
           "--model", "sim:latency_ms=150"]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def test_factory_resumes_after_sigkill_and_never_registers_twice(tmp_path: Path) -> None:
    (tmp_path / "needs.txt").write_text("\n".join(NEEDS) + "\n", encoding="utf-8")
    db = tmp_path / "f.db"
    proc = _factory(tmp_path)
    deadline = time.monotonic() + 120
    while _statuses(db).count("done") < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()
    killed = _statuses(db)
    assert 2 <= killed.count("done") < len(NEEDS), killed  # killed mid-batch
    proc = _factory(tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    final = _statuses(db)
    assert len(final) == len(NEEDS)
    assert set(final) <= {"done", "duplicate"}
    with sqlite3.connect(db) as conn:
        versions = conn.execute(
            "SELECT name, COUNT(*) FROM registry_versions GROUP BY name"
        ).fetchall()
        registered = conn.execute("SELECT COUNT(DISTINCT candidate_id) FROM registry_versions")
        distinct = registered.fetchone()[0]
    assert versions
    assert all(n == 1 for _, n in versions), versions
    assert distinct == len(versions) == final.count("done")
