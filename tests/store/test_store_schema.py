"""The schema is pinned: a change to the tables must be deliberate (a new migration)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from evopipe.app.schema import MIGRATIONS
from evopipe.store import MigrationError, SchemaTooNewError, Store, tables
from evopipe.store.migrate import CORE, MigrationSet, discover, upgrade

PINNED: dict[str, list[tuple[str, str, bool]]] = {
    "schema_migrations": [
        ("area", "VARCHAR(64)", False),
        ("version", "INTEGER", False),
        ("name", "VARCHAR(200)", False),
        ("applied_at", "FLOAT", False),
    ],
    "runs": [
        ("run_id", "VARCHAR(64)", False),
        ("pipeline_name", "VARCHAR(200)", False),
        ("spec_hash", "VARCHAR(128)", False),
        ("spec_json", "TEXT", False),
        ("inputs_json", "TEXT", False),
        ("parent_run_id", "VARCHAR(64)", True),
        ("status", "VARCHAR(32)", False),
        ("error", "TEXT", True),
        ("outputs_json", "TEXT", True),
        ("usage_json", "TEXT", True),
        ("created_at", "FLOAT", False),
        ("updated_at", "FLOAT", False),
        ("finished_at", "FLOAT", True),
        ("cancel_requested", "BOOLEAN", False),
    ],
    "events": [
        ("run_id", "VARCHAR(64)", False),
        ("seq", "INTEGER", False),
        ("type", "VARCHAR(64)", False),
        ("step_id", "VARCHAR(200)", True),
        ("attempt", "INTEGER", False),
        ("payload", "TEXT", False),
        ("ts", "FLOAT", False),
    ],
    "approvals": [
        ("run_id", "VARCHAR(64)", False),
        ("step_id", "VARCHAR(200)", False),
        ("approved", "BOOLEAN", False),
        ("comment", "TEXT", True),
        ("decided_by", "VARCHAR(200)", True),
        ("decided_at", "FLOAT", False),
    ],
    "response_cache": [
        ("key", "VARCHAR(128)", False),
        ("value", "TEXT", False),
        ("created_at", "FLOAT", False),
    ],
    "blobs": [
        ("sha256", "VARCHAR(64)", False),
        ("size", "INTEGER", False),
        ("data", "BLOB", False),
        ("created_at", "FLOAT", False),
    ],
    "blob_refs": [
        ("sha256", "VARCHAR(64)", False),
        ("owner", "VARCHAR(200)", False),
    ],
}
PINNED_PRIMARY_KEYS = {
    "schema_migrations": ["area", "version"],
    "runs": ["run_id"],
    "events": ["run_id", "seq"],
    "approvals": ["run_id", "step_id"],
    "response_cache": ["key"],
    "blobs": ["sha256"],
    "blob_refs": ["sha256", "owner"],
}


def _columns(db: Path, table: str) -> list[tuple[str, str, bool]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    conn.close()
    return [(r[1], r[2], not r[3]) for r in rows]


def _primary_key(db: Path, table: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    conn.close()
    return [r[1] for r in sorted((r for r in rows if r[5]), key=lambda r: r[5])]


def test_core_schema_is_pinned(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    Store.open(str(db)).close()
    for table, columns in PINNED.items():
        assert _columns(db, table) == columns, table
        assert _primary_key(db, table) == PINNED_PRIMARY_KEYS[table], table


def test_tables_module_matches_the_pin() -> None:
    """``tables.py`` and the pin agree, so editing one without the other fails here."""
    assert set(PINNED) == {t.name for t in tables.schema.metadata.sorted_tables}
    engine = create_engine("sqlite://")
    for table in tables.schema.metadata.sorted_tables:
        got = [
            (c.name, c.type.compile(dialect=engine.dialect), bool(c.nullable))
            for c in table.columns
        ]
        assert got == PINNED[table.name], table.name
    engine.dispose()


def _recorded(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT area, version, name FROM schema_migrations ORDER BY rowid")
        recorded = rows.fetchall()
    conn.close()
    return recorded


def test_core_migrations_come_first_and_are_recorded_by_area(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    Store.open(str(db)).close()
    migrations = CORE.migrations()
    assert [(m.version, m.name) for m in migrations] == [
        (1, "core"),
        (2, "drop_runs_last_seq"),
        (3, "conversations"),
    ]
    ledger = [("ledger", 100, "area_ledger")]
    assert _recorded(db) == ledger + [("store", m.version, m.name) for m in migrations]
    Store.open(str(db), migrations=MIGRATIONS).close()  # the other areas, later
    assert [(a, v) for a, v, _ in _recorded(db)][4:] == [
        ("genesis", 1),
        ("evaluate", 1),
        ("evolve", 1),
        ("orchestrate", 1),
        ("orchestrate", 2),
        ("queue", 1),
        ("queue", 2),
        ("memory", 1),
        ("nursery", 1),
        ("auth", 1),
        ("auth", 2),
    ]


def test_fewer_areas_than_recorded_is_not_too_new(tmp_path: Path) -> None:
    """A store opened by a face that hands fewer areas does not refuse the database."""
    db = tmp_path / "e.db"
    Store.open(str(db), migrations=MIGRATIONS).close()
    with Store.open(str(db)) as store:
        assert store.list_runs() == []


def test_the_first_release_refuses_a_database_with_the_area_ledger(tmp_path: Path) -> None:
    """The first release's runner refused any version it did not know (1-4); the ledger's
    marker row is one, so that release refuses a migrated database instead of using it."""
    db = tmp_path / "e.db"
    Store.open(str(db)).close()
    versions = {v for _, v, _ in _recorded(db)}
    assert versions - {1, 2, 3, 4} == {100}


def test_opening_twice_applies_nothing_new(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    Store.open(str(db)).close()
    with Store.open(str(db)) as store:
        assert store.list_runs() == []


def test_database_from_a_newer_evopipe_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    Store.open(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('genesis', 9, 'from_the_future', 0)")
    conn.close()
    Store.open(str(db)).close()  # genesis not handed: its rows are not this store's business
    with pytest.raises(SchemaTooNewError, match="genesis/0009_from_the_future"):
        Store.open(str(db), migrations=MIGRATIONS)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('store', 99, 'from_the_future', 0)")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="store/0099_from_the_future"):
        Store.open(str(db))


def test_a_newer_ledger_layout_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    Store.open(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('ledger', 101, 'next_layout', 0)")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="ledger/0101_next_layout"):
        Store.open(str(db))


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    Store.open(str(db)).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


@pytest.mark.postgres
def test_every_migration_applies_on_postgres_too(postgres_url: str) -> None:
    """Every area's migrations run on PostgreSQL."""
    from evopipe.store.testing import create_database

    url = create_database(postgres_url, "migrations")
    with Store.open(url, migrations=MIGRATIONS) as store:
        inspector = inspect(store.engine)
        names = set(inspector.get_table_names())
        columns = {t: [c["name"] for c in inspector.get_columns(t)] for t in PINNED}
        keys = {t: inspector.get_pk_constraint(t)["constrained_columns"] for t in PINNED}
    assert set(PINNED) <= names
    assert columns == {t: [c[0] for c in cols] for t, cols in PINNED.items()}
    assert keys == PINNED_PRIMARY_KEYS


def _fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> str:
    name = "fake_migrations_" + tmp_path.name.replace("-", "_")
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for filename, text in files.items():
        (pkg / filename).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_discovery_orders_by_number_and_ignores_other_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = "NAME = '{}'\ndef upgrade(conn):\n    pass\n"
    pkg = _fake_package(
        tmp_path,
        monkeypatch,
        {"0003_c.py": ok.format("c"), "0001_a.py": ok.format("a"), "helpers.py": ""},
    )
    assert [(m.version, m.name) for m in discover(pkg)] == [(1, "a"), (3, "c")]


def test_malformed_migration_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = _fake_package(tmp_path, monkeypatch, {"0002_broken.py": "X = 1\n"})
    (migration,) = discover(pkg)
    with pytest.raises(MigrationError, match="0002_broken must define NAME"):
        migration.load()


def test_migration_name_must_match_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "NAME = 'other'\ndef upgrade(conn):\n    pass\n"
    pkg = _fake_package(tmp_path, monkeypatch, {"0002_thing.py": text})
    (migration,) = discover(pkg)
    with pytest.raises(MigrationError, match="has NAME 'other'; its file name says 'thing'"):
        migration.load()


def test_applied_migrations_are_not_imported_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening an up-to-date database imports no migration module."""
    db = tmp_path / "e.db"
    Store.open(str(db), migrations=MIGRATIONS).close()
    genesis = next(m for m in MIGRATIONS if m.area == "genesis")
    exploding = "raise RuntimeError('imported!')\n"
    files = {f"{m.version:04d}_{m.name}.py": exploding for m in genesis.migrations()}
    pkg = _fake_package(tmp_path, monkeypatch, files)
    engine = create_engine(f"sqlite:///{db}")
    try:
        assert upgrade(engine, [MigrationSet("genesis", pkg)]) == []
    finally:
        engine.dispose()


def test_a_handed_area_is_migrated_after_the_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "NAME = '{}'\ndef upgrade(conn):\n    conn.exec_driver_sql('{}')\n"
    files = {
        "0001_make.py": text.format("make", "CREATE TABLE things (x INTEGER)"),
        "0002_fill.py": text.format("fill", "INSERT INTO things VALUES (7)"),
    }
    pkg = _fake_package(tmp_path, monkeypatch, files)
    db = tmp_path / "e.db"
    store = Store.open(str(db), migrations=[MigrationSet("things", pkg)])
    with store, store.begin() as conn:
        assert conn.exec_driver_sql("SELECT x FROM things").all() == [(7,)]
    assert _recorded(db)[-2:] == [("things", 1, "make"), ("things", 2, "fill")]


def test_a_failing_migration_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "NAME = 'bad'\ndef upgrade(conn):\n    conn.exec_driver_sql('CREATE TABLE t (x INTEGER)')\n"
    )
    pkg = _fake_package(
        tmp_path, monkeypatch, {"0001_bad.py": text + "    raise ValueError('no')\n"}
    )
    db = tmp_path / "e.db"
    with pytest.raises(MigrationError, match="migration bad_area/0001_bad failed: no"):
        Store.open(str(db), migrations=[MigrationSet("bad_area", pkg)])
    assert [a for a, _, _ in _recorded(db)] == ["ledger", "store", "store", "store"]
    with sqlite3.connect(db) as conn:  # its DDL was rolled back with it
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchone() is None
    conn.close()


def test_bad_migration_sets_are_refused() -> None:
    with pytest.raises(MigrationError, match="invalid migration area name 'legacy'"):
        MigrationSet("legacy", "evopipe.store.migrations")
    with pytest.raises(MigrationError, match="two migration sets for the area 'store'"):
        upgrade(create_engine("sqlite://"), [MigrationSet("store", "somewhere.else")])


def test_unimportable_migration_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = _fake_package(tmp_path, monkeypatch, {"0005_oops.py": "import no_such_module_here\n"})
    (migration,) = discover(pkg)
    with pytest.raises(MigrationError, match=r"cannot import migration .*0005_oops"):
        migration.load()
