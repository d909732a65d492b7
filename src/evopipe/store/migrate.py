"""The migration runner: apply the migrations it is handed, area by area, in order.

Each area (the store's core, genesis, evaluate, evolve, orchestrate, ...) owns a package of
frozen migrations, ``NNNN_name.py`` modules each carrying its own DDL, described by a
:class:`MigrationSet`. The store knows only its own set (:data:`CORE`); the composition root
hands it the others (``Store.open(url, migrations=...)``), so the store never imports an area
above it.

The ledger ``schema_migrations`` records ``(area, version)``. Forward-only: a database that
records a migration of a handed area that the handed set does not know was written by a newer
evopipe and is refused with :class:`SchemaTooNewError`; rows of areas not handed are left alone
(a store opened with fewer areas is not "too new").

Databases of the first release kept one global numbering (0001 core ... 0004 evolution) in a
ledger without ``area``. The runner converts that ledger in place (its rows move to the area
``legacy``) and each set says, in ``legacy``, which of those rows stand for its own migrations,
so they are recorded as applied instead of being run again.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import (
    Connection,
    Engine,
    inspect,
    select,
)

from evopipe.store.columns import Schema
from evopipe.store.errors import MigrationError, SchemaTooNewError

_MODULE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)$")
_AREA_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
LEGACY_AREA = "legacy"
"""Where the rows of a first-release ledger (one global numbering) are kept."""
LEDGER_AREA = "ledger"
"""The ledger's own layout marker: its version (100) is unknown to the first release, which
therefore refuses a converted database instead of writing into tables it does not know."""
_LEDGER_VERSION = (LEDGER_AREA, 100, "area_ledger")
_RESERVED = frozenset({LEGACY_AREA, LEDGER_AREA})
_PG_LOCK = 7_461_505  # pg_advisory_xact_lock key serialising migrations across processes

# frozen: the ledger as this runner creates it (tables.py holds the live one)
_LEDGER = Schema().table("""
    schema_migrations: the migration ledger, kept by evopipe.store.migrate
    area        str(64)
    version     int
    name        str(200)
    applied_at  float
    primary key pk_schema_migrations (area, version)
""")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration module, found by its file name; imported only when it must be applied
    (so opening an up-to-date database imports no migration module)."""

    version: int
    name: str
    module: str
    area: str = "store"

    @property
    def label(self) -> str:
        return f"{self.area}/{self.version:04d}_{self.name}"

    def load(self) -> Callable[[Connection], None]:
        """Import the module, check ``NAME`` and return its ``upgrade``."""
        try:
            module = importlib.import_module(self.module)
        except Exception as exc:
            raise MigrationError(f"cannot import migration {self.module}: {exc}") from exc
        name = getattr(module, "NAME", None)
        upgrade = getattr(module, "upgrade", None)
        if not isinstance(name, str) or not callable(upgrade):
            raise MigrationError(
                f"migration module {self.module} must define NAME: str and upgrade(conn)"
            )
        if name != self.name:
            raise MigrationError(
                f"migration module {self.module} has NAME {name!r}; its file name says "
                f"{self.name!r}"
            )
        return cast(Callable[[Connection], None], upgrade)


@dataclass(frozen=True, slots=True)
class MigrationSet:
    """An area's migrations: the ``NNNN_name.py`` modules of ``package``, numbered from 1.

    ``legacy`` maps a version of this area to the first-release ledger row ``(version, name)``
    that already applied it (e.g. ``{1: (2, "generations")}``).
    """

    area: str
    package: str
    legacy: Mapping[int, tuple[int, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _AREA_RE.match(self.area) or self.area in _RESERVED:
            raise MigrationError(f"invalid migration area name {self.area!r}")

    def migrations(self) -> list[Migration]:
        return discover(self.package, area=self.area)


CORE = MigrationSet("store", "evopipe.store.migrations", legacy={1: (1, "core")})
"""The store's own migrations, always applied first."""


def discover(package: str, *, area: str = "store") -> list[Migration]:
    """All migration modules of ``package`` (``NNNN_name.py``), sorted by number."""
    pkg = importlib.import_module(package)
    found: dict[int, Migration] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        match = _MODULE_RE.match(info.name)
        if match is None:
            continue
        module_name = f"{package}.{info.name}"
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"two migrations share number {version:04d}: "
                f"{found[version].module} and {module_name}"
            )
        found[version] = Migration(version, match.group(2), module_name, area)
    return [found[v] for v in sorted(found)]


def _lock(conn: Connection) -> None:
    """Serialise migrating processes (SQLite already holds its write lock: BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")


def ensure_ledger(conn: Connection) -> None:
    """Create ``schema_migrations``, or convert a first-release one (no ``area`` column)."""
    _lock(conn)
    inspector = inspect(conn)
    if not inspector.has_table(_LEDGER.name):
        _LEDGER.create(conn)
        conn.execute(_LEDGER.insert().values(_ledger_row(_LEDGER_VERSION)))
        return
    if "area" in {c["name"] for c in inspector.get_columns(_LEDGER.name)}:
        return
    conn.exec_driver_sql("ALTER TABLE schema_migrations RENAME TO schema_migrations_v1")
    _LEDGER.create(conn)
    conn.exec_driver_sql(
        "INSERT INTO schema_migrations (area, version, name, applied_at) "
        f"SELECT '{LEGACY_AREA}', version, name, applied_at FROM schema_migrations_v1"
    )
    conn.exec_driver_sql("DROP TABLE schema_migrations_v1")
    conn.execute(_LEDGER.insert().values(_ledger_row(_LEDGER_VERSION)))


def _ledger_row(row: tuple[str, int, str], applied_at: float | None = None) -> dict[str, object]:
    area, version, name = row
    when = time.time() if applied_at is None else applied_at
    return {"area": area, "version": version, "name": name, "applied_at": when}


def applied(conn: Connection) -> dict[tuple[str, int], tuple[str, float]]:
    """``(area, version) → (name, applied_at)`` of every recorded migration."""
    c = _LEDGER.c
    rows = conn.execute(select(c.area, c.version, c.name, c.applied_at)).all()
    return {(str(a), int(v)): (str(n), float(t)) for a, v, n, t in rows}


def _sets(handed: Sequence[MigrationSet]) -> list[MigrationSet]:
    out: dict[str, MigrationSet] = {CORE.area: CORE}
    for one in handed:
        seen = out.get(one.area)
        if seen is not None and seen != one:
            raise MigrationError(f"two migration sets for the area {one.area!r}: {seen}, {one}")
        out[one.area] = one
    return list(out.values())


def _refuse_unknown(
    done: Mapping[tuple[str, int], tuple[str, float]], known: Mapping[str, list[Migration]]
) -> None:
    for area, migrations in known.items():
        versions = {m.version for m in migrations}
        unknown = sorted(v for (a, v) in done if a == area and v not in versions)
        if unknown:
            names = ", ".join(f"{area}/{v:04d}_{done[(area, v)][0]}" for v in unknown)
            raise SchemaTooNewError(
                f"the database has migrations this evopipe does not know ({names}); "
                "it was written by a newer evopipe — upgrade evopipe to open it"
            )


def _claim_legacy(
    conn: Connection, sets: Sequence[MigrationSet], known: Mapping[str, list[Migration]]
) -> None:
    """Record as applied the migrations a first-release ledger row already stands for."""
    done = applied(conn)
    for one in sets:
        names = {m.version: m.name for m in known[one.area]}
        for version, (old_version, old_name) in one.legacy.items():
            row = done.get((LEGACY_AREA, old_version))
            if row is None or row[0] != old_name or (one.area, version) in done:
                continue
            if version not in names:
                raise MigrationError(f"{one.area}: legacy claim of unknown version {version}")
            entry = (one.area, version, names[version])
            conn.execute(_LEDGER.insert().values(_ledger_row(entry, row[1])))


def upgrade(engine: Engine, sets: Sequence[MigrationSet] = ()) -> list[Migration]:
    """Apply every migration of :data:`CORE` and of ``sets`` that the database lacks, each in
    its own transaction, area by area in the order handed. Returns the migrations applied.

    Raises :class:`SchemaTooNewError` if the database records a migration of a handed area
    that this code does not know.
    """
    areas = _sets(sets)
    known = {one.area: one.migrations() for one in areas}
    ledger = Migration(_LEDGER_VERSION[1], _LEDGER_VERSION[2], __name__, LEDGER_AREA)
    with engine.begin() as conn:
        ensure_ledger(conn)
        _refuse_unknown(applied(conn), {**known, LEDGER_AREA: [ledger]})
        _claim_legacy(conn, areas, known)
        done = set(applied(conn))
    ran: list[Migration] = []
    for one in areas:
        for migration in known[one.area]:
            if (one.area, migration.version) in done:
                continue
            if _apply(engine, migration):
                ran.append(migration)
    return ran


def _apply(engine: Engine, migration: Migration) -> bool:
    """Run one migration and record it in the same transaction (unless another process just
    did); False if it was already recorded."""
    upgrade_fn = migration.load()
    with engine.begin() as conn:
        _lock(conn)
        if (migration.area, migration.version) in applied(conn):
            return False
        try:
            upgrade_fn(conn)
        except Exception as exc:
            raise MigrationError(f"migration {migration.label} failed: {exc}") from exc
        entry = (migration.area, migration.version, migration.name)
        conn.execute(_LEDGER.insert().values(_ledger_row(entry)))
    return True
