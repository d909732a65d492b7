"""The evolve area's forward-only migrations, one module each: ``NNNN_name.py``.

Each carries its own frozen DDL (never :mod:`evopipe.evolve.tables`); the composition root
hands :data:`MIGRATIONS` to the store (see :mod:`evopipe.app.schema`). Version 1 stands for
the first release's global migration 0004_evolution.
"""

from evopipe.store.migrate import MigrationSet

MIGRATIONS = MigrationSet("evolve", __name__, legacy={1: (4, "evolution")})

__all__ = ["MIGRATIONS"]
