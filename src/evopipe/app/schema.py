"""The database schema of a session: every area's migrations, handed to the store.

The store migrates only what it is handed (it never imports the areas above it); this is the
one place that lists them. Faces and services open the store through :func:`open_store`.
"""

from __future__ import annotations

from collections.abc import Mapping

from evopipe.evaluate.migrations import MIGRATIONS as EVALUATE
from evopipe.evolve.migrations import MIGRATIONS as EVOLVE
from evopipe.genesis.migrations import MIGRATIONS as GENESIS
from evopipe.orchestrate.migrations import MIGRATIONS as ORCHESTRATE
from evopipe.store import Store
from evopipe.store import service as store_service
from evopipe.store.migrate import CORE, MigrationSet

MIGRATIONS: tuple[MigrationSet, ...] = (CORE, GENESIS, EVALUATE, EVOLVE, ORCHESTRATE)
"""All areas' migration sets, in the order they are applied (the store's own first)."""


def open_store(db: str | None = None, *, environ: Mapping[str, str] | None = None) -> Store:
    """The store at ``--db`` / ``$EVOPIPE_DB`` / ``.evopipe/evopipe.db`` with every area's
    tables migrated, masking secret-looking environment values in all it writes."""
    return store_service.open_store(db, environ=environ, migrations=MIGRATIONS)


__all__ = ["EVALUATE", "EVOLVE", "GENESIS", "MIGRATIONS", "ORCHESTRATE", "open_store"]
