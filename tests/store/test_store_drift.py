"""Drift: the frozen migrations of every area build exactly the live table definitions.

A table definition changed without a migration makes :func:`schema_drift` report it; the
second test shows that on deliberately altered copies of live tables.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from evopipe.app.schema import MIGRATIONS
from evopipe.auth import tables as auth_tables
from evopipe.evaluate import tables as evaluate_tables
from evopipe.evolve import tables as evolve_tables
from evopipe.genesis import tables as genesis_tables
from evopipe.memory import tables as memory_tables
from evopipe.nursery import tables as nursery_tables
from evopipe.orchestrate import tables as orchestrate_tables
from evopipe.queue import tables as queue_tables
from evopipe.store import Store, conversation_tables
from evopipe.store import tables as core_tables
from evopipe.store.drift import schema_drift

SRC = Path(__file__).resolve().parents[2] / "src" / "evopipe"
LIVE: list[Table] = [
    table
    for module in (
        core_tables,
        conversation_tables,
        genesis_tables,
        evaluate_tables,
        evolve_tables,
        orchestrate_tables,
        queue_tables,
        memory_tables,
        nursery_tables,
        auth_tables,
    )
    for table in module.schema.metadata.sorted_tables
]
AREAS_ABOVE_THE_STORE = (
    *("genesis", "evaluate", "evolve", "orchestrate", "queue", "memory", "nursery", "auth"),
    "app",
)


def test_the_migrations_build_exactly_the_live_tables(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "fresh.db"), migrations=MIGRATIONS) as store:
        assert schema_drift(store.engine, LIVE) == []


def _altered(table: Table, *, drop: str, nullable: str, retype: str) -> Table:
    """A copy of ``table`` with one column dropped, one made nullable, one retyped, one
    column added and its indexes left out: what an edit of ``tables.py`` alone would be."""
    columns = []
    for col in table.columns:
        if col.name == drop:
            continue
        copy = col._copy()
        if col.name == nullable:
            copy.nullable = True
        if col.name == retype:
            copy.type = Text()
        columns.append(copy)
    return Table(table.name, MetaData(), *columns, Column("added", Integer, nullable=False))


def test_drift_is_reported_when_a_definition_changes_without_a_migration(
    tmp_path: Path,
) -> None:
    changed = _altered(core_tables.runs, drop="error", nullable="status", retype="pipeline_name")
    extra = Table("evo_notes", MetaData(), Column("id", String(64), primary_key=True))
    live = [t for t in LIVE if t.name != "runs"] + [changed, extra]
    with Store.open(str(tmp_path / "fresh.db"), migrations=MIGRATIONS) as store:
        drift = schema_drift(store.engine, live)
    assert drift == [
        "evo_notes: defined, not created by any migration",
        "runs.added: defined Integer NOT NULL, missing from the database",
        "runs.error: in the database Text NULL, not defined",
        "runs.pipeline_name: database String(200) NOT NULL, definition Text NOT NULL",
        "runs.status: database String(32) NOT NULL, definition String(32) NULL",
        "runs: index ix_runs_created_at is (('created_at',), False) in the database, None defined",
        "runs: index ix_runs_parent_run_id is (('parent_run_id',), False) in the database, "
        "None defined",
        "runs: index ix_runs_spec_hash is (('spec_hash',), False) in the database, None defined",
        "runs: index ix_runs_status is (('status',), False) in the database, None defined",
    ]


def test_a_table_no_area_defines_is_reported(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "fresh.db"), migrations=MIGRATIONS) as store:
        drift = schema_drift(store.engine, [t for t in LIVE if t.name != "registry_events"])
    assert drift == ["registry_events: in the database, not defined"]


@pytest.mark.postgres
def test_no_drift_on_postgres_either(postgres_url: str) -> None:
    from evopipe.store.testing import create_database

    url = create_database(postgres_url, "drift")
    with Store.open(url, migrations=MIGRATIONS) as store:
        assert schema_drift(store.engine, LIVE) == []
        changed = _altered(core_tables.events, drop="ts", nullable="type", retype="step_id")
        drift = schema_drift(store.engine, [t for t in LIVE if t.name != "events"] + [changed])
    assert "events.ts: in the database Float NULL, not defined" not in drift  # NOT NULL column
    assert "events.ts: in the database Float NOT NULL, not defined" in drift
    assert "events.type: database String(64) NOT NULL, definition String(64) NULL" in drift
    assert "events.step_id: database String(200) NULL, definition Text NULL" in drift


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_migrations_carry_their_own_ddl() -> None:
    """No migration module imports a live ``tables`` module (it would not be history)."""
    modules = sorted(SRC.glob("*/migrations/[0-9][0-9][0-9][0-9]_*.py"))
    assert {p.parent.parent.name for p in modules} == {
        "store",
        "genesis",
        "evaluate",
        "evolve",
        "orchestrate",
        "queue",
        "memory",
        "nursery",
        "auth",
    }
    for path in modules:
        live = {m for m in _imports(path) if m.endswith(".tables") or ".tables." in m}
        assert not live, f"{path.relative_to(SRC)} imports {live}"


def test_the_store_imports_no_area_above_it() -> None:
    for path in sorted((SRC / "store").rglob("*.py")):
        above = {m for m in _imports(path) if m.split(".")[:2][-1] in AREAS_ABOVE_THE_STORE}
        assert not above, f"{path.relative_to(SRC)} imports {above}"
