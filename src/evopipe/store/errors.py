"""Errors raised by the store. All derive from :class:`evopipe.spec.errors.EvopipeError`."""

from __future__ import annotations

from evopipe.spec.errors import EvopipeError


class StoreError(EvopipeError):
    """The store could not do what was asked (bad URL, unusable database, ...)."""


class RunNotFoundError(StoreError):
    """No run with this id exists in the store."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id!r} in the store")
        self.run_id = run_id


class DuplicateRunError(StoreError):
    """A run with this id already exists."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"a run with id {run_id!r} already exists in the store")
        self.run_id = run_id


class JournalGapError(StoreError):
    """A batch of events would leave a gap or a duplicate in a run's journal."""


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer evopipe than this one."""


class MigrationError(StoreError):
    """A migration module is malformed or failed to apply."""
