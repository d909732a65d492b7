"""The store as the composition root opens it: every area's tables and the secret redactor.

The store migrates only what it is handed (it never imports the areas above it); this is the
one place that lists every area's migrations (:data:`MIGRATIONS`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from evopipe.auth.migrations import MIGRATIONS as AUTH
from evopipe.evaluate.migrations import MIGRATIONS as EVALUATE
from evopipe.evolve.migrations import MIGRATIONS as EVOLVE
from evopipe.genesis.migrations import MIGRATIONS as GENESIS
from evopipe.memory.migrations import MIGRATIONS as MEMORY
from evopipe.nursery.migrations import MIGRATIONS as NURSERY
from evopipe.orchestrate.migrations import MIGRATIONS as ORCHESTRATE
from evopipe.queue.migrations import MIGRATIONS as QUEUE
from evopipe.store import SecretRedactor, Store, resolve_db_url
from evopipe.store.migrate import CORE, MigrationSet

MIGRATIONS: tuple[MigrationSet, ...] = (
    CORE,
    GENESIS,
    EVALUATE,
    EVOLVE,
    ORCHESTRATE,
    QUEUE,
    MEMORY,
    NURSERY,
    AUTH,
)
"""All areas' migration sets, in the order they are applied (the store's own first)."""


def open_store(
    db: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Store:
    """The store at ``db`` / ``$EVOPIPE_DB`` / ``.evopipe/evopipe.db`` (under ``cwd``) with every
    area's tables migrated, masking the values of secret-looking environment variables in every
    byte it writes."""
    env = os.environ if environ is None else environ
    redactor = SecretRedactor.from_environ(env)
    url = resolve_db_url(db, cwd=cwd, environ=env)
    return Store.open(url, redact=redactor if len(redactor) else None, migrations=MIGRATIONS)


__all__ = [
    "AUTH",
    "EVALUATE",
    "EVOLVE",
    "GENESIS",
    "MEMORY",
    "MIGRATIONS",
    "NURSERY",
    "ORCHESTRATE",
    "QUEUE",
    "open_store",
]
