"""The migration runner: discover ``migrations/NNNN_name.py``, apply the missing ones in order.

Forward-only. A database that records a migration this code does not know was written by a
newer evopipe: opening it is refused with :class:`SchemaTooNewError`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Engine, select

from evopipe.store import tables
from evopipe.store.errors import MigrationError, SchemaTooNewError

_MODULE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)$")
_PACKAGE = "evopipe.store.migrations"


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration module, found by its file name; imported only when it must be applied
    (so opening an up-to-date database imports no area's table definitions)."""

    version: int
    name: str
    module: str

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


def discover(package: str = _PACKAGE) -> list[Migration]:
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
        found[version] = Migration(version, match.group(2), module_name)
    return [found[v] for v in sorted(found)]


def applied_versions(conn: Connection) -> dict[int, str]:
    """Versions recorded in ``schema_migrations`` (creating that table if needed)."""
    tables.schema_migrations.create(conn, checkfirst=True)
    rows = conn.execute(
        select(tables.schema_migrations.c.version, tables.schema_migrations.c.name)
    ).all()
    return {int(v): str(n) for v, n in rows}


def upgrade(engine: Engine, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply every known migration the database lacks, each in its own transaction.

    Returns the migrations applied. Raises :class:`SchemaTooNewError` if the database records a
    migration this code does not know.
    """
    known = discover() if migrations is None else migrations
    with engine.begin() as conn:
        done = applied_versions(conn)
    unknown = sorted(set(done) - {m.version for m in known})
    if unknown:
        names = ", ".join(f"{v:04d}_{done[v]}" for v in unknown)
        raise SchemaTooNewError(
            f"the database has migrations this evopipe does not know ({names}); "
            "it was written by a newer evopipe — upgrade evopipe to open it"
        )
    applied: list[Migration] = []
    for migration in known:
        if migration.version in done:
            continue
        upgrade_fn = migration.load()
        with engine.begin() as conn:
            try:
                upgrade_fn(conn)
            except Exception as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} failed: {exc}"
                ) from exc
            conn.execute(
                tables.schema_migrations.insert().values(
                    version=migration.version, name=migration.name, applied_at=time.time()
                )
            )
        applied.append(migration)
    return applied
