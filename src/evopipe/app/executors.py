"""Which executor runs a session's steps: a table from the ``executor`` setting.

``local`` (the default) runs steps in the run's own event loop; ``ray`` ships them to a Ray
cluster (``ray_address``; none: a Ray instance started in this process). Ray is imported
only when the first step is shipped, so a session that never uses it never needs it.
"""

from __future__ import annotations

from collections.abc import Callable

from evopipe.app.settings import Settings, SettingsError
from evopipe.engine.executor import Executor, LocalExecutor


def _local(settings: Settings) -> Executor:
    return LocalExecutor()


def _ray(settings: Settings) -> Executor:
    from evopipe.ray import RayExecutor, import_ray

    import_ray()  # fail now, with the install hint, rather than at the first step
    return RayExecutor(settings.ray_address)


EXECUTORS: dict[str, Callable[[Settings], Executor]] = {"local": _local, "ray": _ray}
"""Executor name → factory (the values of ``--executor``)."""


def make_executor(settings: Settings) -> Executor:
    """The executor the settings ask for."""
    factory = EXECUTORS.get(settings.executor)
    if factory is None:
        known = ", ".join(EXECUTORS)
        raise SettingsError(f"unknown executor {settings.executor!r} (known: {known})")
    return factory(settings)


def close_executor(executor: Executor | None) -> None:
    """Release what an executor holds (a Ray pool); the local one holds nothing."""
    close = getattr(executor, "close", None)
    if close is not None:
        close()
