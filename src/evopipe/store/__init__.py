"""Durable storage: the run journal, approvals, cancel flags, blobs and the response cache.

SQLite (WAL) by default, PostgreSQL by URL; SQLAlchemy 2 Core for the schema and frozen,
forward-only migrations, the raw driver on the hot path. Each area owns its migrations (a
:class:`MigrationSet`); the store runs its own and those it is handed
(``Store.open(url, migrations=...)``), and imports no area above it.

>>> from evopipe.store import Store, EventRecord
>>> with Store.open("sqlite:///:memory:") as store:
...     store.create_run("r1", pipeline_name="demo", spec_hash="h", spec_json="{}", inputs={})
...     store.append_events("r1", [EventRecord("run_started", None, 0, {})])
1
"""

from evopipe.store.errors import (
    DuplicateRunError,
    JournalGapError,
    MigrationError,
    RunNotFoundError,
    SchemaTooNewError,
    StoreError,
)
from evopipe.store.extras import ResponseCache, run_owner
from evopipe.store.migrate import MigrationSet
from evopipe.store.records import (
    RUN_STATUSES,
    TERMINAL_STATUSES,
    ApprovalRecord,
    EventRecord,
    GcCounts,
    RunRecord,
    SequencedEvent,
    StoredEvent,
)
from evopipe.store.redact import SecretRedactor
from evopipe.store.store import Store, Transactional
from evopipe.store.url import DEFAULT_DB_PATH, ENV_VAR, resolve_db_url

__all__ = [
    "DEFAULT_DB_PATH",
    "ENV_VAR",
    "RUN_STATUSES",
    "TERMINAL_STATUSES",
    "ApprovalRecord",
    "DuplicateRunError",
    "EventRecord",
    "GcCounts",
    "JournalGapError",
    "MigrationError",
    "MigrationSet",
    "ResponseCache",
    "RunNotFoundError",
    "RunRecord",
    "SchemaTooNewError",
    "SecretRedactor",
    "SequencedEvent",
    "Store",
    "StoreError",
    "StoredEvent",
    "Transactional",
    "resolve_db_url",
    "run_owner",
]
