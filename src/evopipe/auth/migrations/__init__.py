"""The auth area's forward-only migrations, one module each: ``NNNN_name.py``.

Each carries its own frozen DDL (never :mod:`evopipe.auth.tables`); the composition root hands
:data:`MIGRATIONS` to the store (see :mod:`evopipe.app.schema`).
"""

from evopipe.store.migrate import MigrationSet

MIGRATIONS = MigrationSet("auth", __name__)

__all__ = ["MIGRATIONS"]
