"""Databases written by earlier releases open and migrate forward with their data intact.

``tests/fixtures/release-0.sql`` is a dump of a database made by the release before frozen
migrations (one global numbering 0001-0004, no ``area``), touching every table;
``release-lastseq.sql`` one made before ``runs.last_seq`` was dropped from the definitions.
``tests/fixtures/make_release_db.py`` says how they were made.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from test_store_drift import LIVE

from evopipe.app.schema import MIGRATIONS
from evopipe.evaluate.records import load_eval
from evopipe.evolve.repository import EvolutionRepository
from evopipe.genesis import records as generations
from evopipe.orchestrate import Registry
from evopipe.store import EventRecord, Store
from evopipe.store.drift import schema_drift
from evopipe.store.migrate import LEGACY_AREA, upgrade

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LEGACY_LEDGER = [(1, "core"), (2, "generations"), (3, "evaluation"), (4, "evolution")]


def _replay(name: str, tmp_path: Path) -> Path:
    db = tmp_path / f"{name}.db"
    conn = sqlite3.connect(db)
    conn.executescript((FIXTURES / f"{name}.sql").read_text(encoding="utf-8"))
    conn.close()
    return db


def _counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out = {n: conn.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0] for n in names}
    conn.close()
    return out


def _data(counts: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name != "schema_migrations"}


FIRST_RELEASE_AREAS = {"store", "genesis", "evaluate", "evolve", "orchestrate"}
NEW_AREA_TABLES = {
    "conversation_messages": 0,
    "run_queue": 0,
    "tenant_budgets": 0,
    "cost_ledger": 0,
    "api_keys": 0,
    "auth_secrets": 0,
    "tenant_resources": 0,
    "signed_out": 0,
    **dict.fromkeys(
        (
            "registry_aliases",
            "registry_tags",
            "registry_changes",
            "route_decisions",
            "chain_runs",
            "chain_events",
            "schedules",
            "schedule_fires",
            "concurrency_leases",
            "canaries",
            "canary_outcomes",
            "memory_patterns",
            "memory_failures",
            "memory_innovations",
            "nursery_certifications",
            "factory_items",
        ),
        0,
    ),
}
"""Tables created by migrations newer than the release fixtures: created empty."""


def _ledger(db: Path) -> list[tuple[str, int, str, float]]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT area, version, name, applied_at FROM schema_migrations").fetchall()
    conn.close()
    return sorted(rows)


def test_the_release_database_migrates_forward_with_its_data(tmp_path: Path) -> None:
    db = _replay("release-0", tmp_path)
    before = _counts(db)
    assert min(before.values()) > 0, before  # the fixture touches every table
    old_ledger = sqlite3.connect(db).execute(
        "SELECT version, name, applied_at FROM schema_migrations"
    )
    legacy = sorted(old_ledger.fetchall())
    assert [(v, n) for v, n, _ in legacy] == LEGACY_LEDGER

    with Store.open(str(db), migrations=MIGRATIONS) as store:
        assert schema_drift(store.engine, LIVE) == []
        runs = store.list_runs()
        gated = next(r for r in runs if r.pipeline_name == "gated")
        assert gated.status == "succeeded"
        approval = store.get_approval(gated.run_id, "gate")
        assert approval is not None
        assert (approval.approved, approval.by, approval.comment) == (True, "alice", "fine")
        assert next(e.type for e in store.load_events(gated.run_id)) == "run_started"
        assert gated.last_seq == len(store.load_events(gated.run_id))
        with store.begin() as conn:
            sha = conn.exec_driver_sql("SELECT sha256 FROM blobs").scalar_one()
        assert store.get_blob(sha) == b"an artifact of the gated run"
        rows = generations.list_generations(store)
        assert {r.status for r in rows} == {"succeeded"}
        assert len(rows) == 2
        with store.begin() as conn:
            eval_id = conn.exec_driver_sql("SELECT eval_id FROM eval_runs").scalar_one()
        evaluation = load_eval(store, eval_id)
        assert evaluation is not None
        assert len(evaluation["examples"]) == 2
        champion = Registry(store).champion("counter")
        assert champion is not None
        assert champion.version == 2
        repo = EvolutionRepository(store)
        assert repo.get_spec(champion.candidate_id) == champion.spec
        assert champion.candidate_id in {m.candidate_id for m in _members(store, repo)}
        # and it takes new work
        store.create_run("after", pipeline_name="p", spec_hash="h", spec_json="{}", inputs={})
        assert store.append_events("after", [EventRecord("run_started", None, 0, {})]) == 1

    after = _data(_counts(db))
    assert after == {
        **_data(before),
        **NEW_AREA_TABLES,
        "runs": before["runs"] + 1,
        "events": before["events"] + 1,
    }
    ledger = _ledger(db)
    applied = {(a, v): t for a, v, _, t in ledger}
    by_name = {n: t for v, n, t in legacy}
    assert applied[("genesis", 1)] == by_name["generations"]  # claimed, not run again
    assert applied[("evolve", 1)] == applied[("orchestrate", 1)] == by_name["evolution"]
    assert [(v, n) for a, v, n, _ in ledger if a == LEGACY_AREA] == LEGACY_LEDGER
    assert ("store", 2) in applied
    assert ("ledger", 100) in applied
    engine = create_engine(f"sqlite:///{db}")
    try:
        assert upgrade(engine, MIGRATIONS) == []  # converted once: nothing left to do
    finally:
        engine.dispose()
    assert _ledger(db) == ledger


def _members(store: Store, repo: EvolutionRepository) -> list:  # type: ignore[type-arg]
    with store.begin() as conn:
        run_id = conn.exec_driver_sql("SELECT run_id FROM evo_runs").scalar_one()
    return repo.members(run_id)


def test_a_release_database_opened_with_the_core_only_upgrades_the_rest_later(
    tmp_path: Path,
) -> None:
    db = _replay("release-0", tmp_path)
    with Store.open(str(db)) as store:
        assert len(store.list_runs()) == 6
    assert {a for a, *_ in _ledger(db)} == {LEGACY_AREA, "ledger", "store"}
    with Store.open(str(db), migrations=MIGRATIONS) as store:
        assert Registry(store).champion("counter") is not None
    areas = {a for a, *_ in _ledger(db)}
    assert areas == {
        *(LEGACY_AREA, "ledger", "store"),
        *("genesis", "evaluate", "evolve", "orchestrate", "queue", "memory", "nursery", "auth"),
    }


def test_a_database_from_before_last_seq_was_dropped_takes_new_runs(tmp_path: Path) -> None:
    db = _replay("release-lastseq", tmp_path)
    conn = sqlite3.connect(db)
    assert "last_seq" in [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    with pytest.raises(sqlite3.IntegrityError, match=r"NOT NULL constraint failed: runs.last_seq"):
        conn.execute(  # what every new run hit on such a database before 0002
            "INSERT INTO runs (run_id, pipeline_name, spec_hash, spec_json, inputs_json, status, "
            "created_at, updated_at, cancel_requested) VALUES ('x', 'p', 'h', '{}', '{}', "
            "'running', 0, 0, 0)"
        )
    conn.close()
    before = _counts(db)
    with Store.open(str(db), migrations=MIGRATIONS) as store:
        assert schema_drift(store.engine, LIVE) == []
        store.create_run("after", pipeline_name="p", spec_hash="h", spec_json="{}", inputs={})
        gated = next(r for r in store.list_runs() if r.pipeline_name == "gated")
        assert gated.last_seq == len(store.load_events(gated.run_id)) > 0
    assert _data(_counts(db)) == {**_data(before), **NEW_AREA_TABLES, "runs": before["runs"] + 1}


@pytest.mark.postgres
def test_a_first_release_database_on_postgres_migrates_forward(postgres_url: str) -> None:
    """The same conversion on PostgreSQL: a first-release ledger and tables (built here with the
    frozen 0001 migrations, so ``runs.last_seq`` is there too), then an open with every area."""
    import importlib

    from evopipe.store.testing import create_database
    from evopipe.store.url import sqlalchemy_url

    url = create_database(postgres_url, "first_release")
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
            "name VARCHAR(200) NOT NULL, applied_at FLOAT NOT NULL)"
        )
        for version, name in LEGACY_LEDGER:
            conn.exec_driver_sql(f"INSERT INTO schema_migrations VALUES ({version}, '{name}', 1)")
        for one in MIGRATIONS:
            if one.area in FIRST_RELEASE_AREAS:
                importlib.import_module(one.migrations()[0].module).upgrade(conn)
        conn.exec_driver_sql(
            "INSERT INTO runs (run_id, pipeline_name, spec_hash, spec_json, inputs_json, status, "
            "created_at, updated_at, cancel_requested, last_seq) VALUES ('old', 'p', 'h', '{}', "
            "'{}', 'succeeded', 1, 1, false, 0)"
        )
    engine.dispose()
    with Store.open(url, migrations=MIGRATIONS) as store:
        assert schema_drift(store.engine, LIVE) == []
        assert [r.run_id for r in store.list_runs()] == ["old"]
        store.create_run("new", pipeline_name="p", spec_hash="h", spec_json="{}", inputs={})
        with store.begin() as conn:
            rows = conn.exec_driver_sql("SELECT area, version FROM schema_migrations").all()
    assert sorted(rows) == sorted(
        [(LEGACY_AREA, v) for v, _ in LEGACY_LEDGER]
        + [("ledger", 100), ("store", 1), ("store", 2), ("store", 3)]
        + [(a, 1) for a in ("genesis", "evaluate", "evolve", "orchestrate")]
        + [("orchestrate", 2)]
        + [("queue", 1), ("queue", 2)]  # areas added since: migrated on this open
        + [("memory", 1), ("nursery", 1)]
        + [("auth", 1), ("auth", 2)]
    )
