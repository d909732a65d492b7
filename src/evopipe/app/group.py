"""The base of every group of operations on an :class:`~evopipe.app.App`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evopipe.app.root import App


class OperationGroup:
    """A group of operations over one session (``app.runs``, ``app.registry``, ...): the app
    builds it on first use and it reaches every part through ``self.app``."""

    def __init__(self, app: App) -> None:
        self.app = app
