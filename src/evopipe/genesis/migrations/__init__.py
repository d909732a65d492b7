"""The genesis area's forward-only migrations, one module each: ``NNNN_name.py``.

Each carries its own frozen DDL (never :mod:`evopipe.genesis.tables`); the composition root
hands :data:`MIGRATIONS` to the store (see :mod:`evopipe.app.schema`). Version 1 stands for
the first release's global migration 0002_generations.
"""

from evopipe.store.migrate import MigrationSet

MIGRATIONS = MigrationSet("genesis", __name__, legacy={1: (2, "generations")})

__all__ = ["MIGRATIONS"]
