"""Which executor runs a session's steps: a table from the ``executor`` setting.

``local`` (the default) runs steps in the run's own event loop; ``ray`` ships them to a Ray
cluster (``ray_address``; none: a Ray instance started in this process). With ``ray_models =
"worker"`` (the default) the Ray workers call models themselves, from the session's model
configuration and, when the store is a database they can open, its response cache. Ray is
imported only when the first step is shipped, so a session that never uses it never needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evopipe.app.settings import SettingsError
from evopipe.engine.executor import Executor, LocalExecutor

if TYPE_CHECKING:
    from evopipe.app.root import App
    from evopipe.models.cache import ResponseCacheBackend

RAY_MODELS = ("worker", "owner")
"""The values of ``ray_models``: where a step shipped to Ray calls its models."""


def _local(app: App) -> Executor:
    return LocalExecutor()


def _ray(app: App) -> Executor:
    from evopipe.ray import RayExecutor, import_ray

    import_ray()  # fail now, with the install hint, rather than at the first step
    return RayExecutor(app.settings.ray_address, models=worker_models(app))


EXECUTORS: dict[str, Callable[[App], Executor]] = {"local": _local, "ray": _ray}
"""Executor name → factory (the values of ``--executor``)."""


def make_executor(app: App) -> Executor:
    """The executor the app's settings ask for."""
    factory = EXECUTORS.get(app.settings.executor)
    if factory is None:
        known = ", ".join(EXECUTORS)
        raise SettingsError(f"unknown executor {app.settings.executor!r} (known: {known})")
    return factory(app)


def worker_models(app: App) -> Any:
    """What Ray workers need to call models themselves (``ray_models = "worker"``), or None
    when the owner makes every call (``owner``, or models injected into the app: they are
    live objects, not configuration)."""
    from evopipe.models import ModelHub
    from evopipe.ray.worker import WorkerModels

    settings = app.settings
    if settings.ray_models not in RAY_MODELS:
        raise SettingsError(
            f"unknown ray_models {settings.ray_models!r} (known: {', '.join(RAY_MODELS)})"
        )
    hub = app.models()
    if settings.ray_models == "owner" or not isinstance(hub, ModelHub):
        return None
    cache = None
    if settings.persist and settings.cache:
        from evopipe.store.url import resolve_db_url

        url = resolve_db_url(settings.db, cwd=app.project_dir, environ=app.environ)
        cache = partial(open_response_cache, url)
    return WorkerModels(hub.config, cache)


def open_response_cache(url: str) -> ResponseCacheBackend | None:
    """The response cache of the store at ``url``, opened on a Ray worker: PostgreSQL, or a
    SQLite file this worker's node can see (None, no cache, on a node without the file)."""
    from evopipe.app.schema import open_store

    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path == ":memory:" or not Path(path).is_file():
            return None
    return open_store(url).response_cache()


def close_executor(executor: Executor | None) -> None:
    """Release what an executor holds (a Ray pool); the local one holds nothing."""
    close = getattr(executor, "close", None)
    if close is not None:
        close()
