"""The queue area's forward-only migrations, one module each: ``NNNN_name.py``.

Each carries its own frozen DDL (never :mod:`evopipe.queue.tables`); the composition root
hands :data:`MIGRATIONS` to the store (see :mod:`evopipe.app.schema`).
"""

from evopipe.store.migrate import MigrationSet

MIGRATIONS = MigrationSet("queue", __name__)

__all__ = ["MIGRATIONS"]
