"""The composition root: one place where a session is put together.

``App`` builds, from :class:`~evopipe.app.settings.Settings`, the store (always with the
environment-secret redactor and every area's migrations), the model hub (from the config files,
with the store's response cache), the policy, the genesis hook, and the engine's
:class:`~evopipe.engine.Services`. Every face (CLI, HTTP, chat, MCP) and the Python API go
through it, so a setting means the same thing everywhere.

>>> from evopipe.app import App, Settings
>>> with App(Settings.load(persist=False, default_model="fake")) as app:  # doctest: +SKIP
...     result = app.runs.run_sync("examples/kinds/llm.yaml", {"text": "hi"})
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from evopipe.app.settings import Settings
from evopipe.engine import Services
from evopipe.engine.events import EventBus, RedactingSubscriber, Subscriber
from evopipe.engine.journal import MemoryJournal
from evopipe.engine.policy import Policy
from evopipe.spec.errors import EvopipeError
from evopipe.store import SecretRedactor

T = TypeVar("T")

if TYPE_CHECKING:
    from evopipe.app.auth import Auth
    from evopipe.app.catalog import Catalog
    from evopipe.app.chains import Chains
    from evopipe.app.chat import Chat
    from evopipe.app.dashboard import Dashboard
    from evopipe.app.evaluate import Evaluations
    from evopipe.app.evolution_jobs import EvolutionJobs
    from evopipe.app.evolve import Evolutions
    from evopipe.app.generate import Generations
    from evopipe.app.journal_tails import JournalTails
    from evopipe.app.memory import Memory
    from evopipe.app.models import Models
    from evopipe.app.nursery import Nursery
    from evopipe.app.pipelines import Pipelines
    from evopipe.app.queue import Queue
    from evopipe.app.registry import RegistryOps
    from evopipe.app.releases import Releases
    from evopipe.app.reports import Reports
    from evopipe.app.routing import Routing
    from evopipe.app.runs import Runs
    from evopipe.app.schedules import Scheduling
    from evopipe.check import CheckOptions
    from evopipe.engine.executor import Executor
    from evopipe.engine.types import ModelSource
    from evopipe.models import ModelHub
    from evopipe.models.cache import CachePolicy
    from evopipe.store import Store


class Operations(Generic[T]):
    """A group of operations on an :class:`App`, built on first use (its module is imported
    then, so ``import evopipe.app`` stays light): ``app.runs``, ``app.pipelines``, ..."""

    def __init__(self, target: str) -> None:
        self.module, _, self.cls = target.partition(":")
        self.name = self.cls

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, app: None, owner: type) -> Operations[T]: ...
    @overload
    def __get__(self, app: App, owner: type) -> T: ...
    def __get__(self, app: App | None, owner: type) -> Operations[T] | T:
        if app is None:
            return self
        group = app._ops.get(self.name)
        if group is None:
            factory = getattr(importlib.import_module(self.module), self.cls)
            group = app._ops[self.name] = factory(app)
        return cast(T, group)


class App:
    """A composed session. Use as a context manager (or call :meth:`close`)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        models: ModelSource | None = None,
        store: Store | None = None,
        policy: Policy | None = None,
    ) -> None:
        """``models``, ``store`` and ``policy`` inject ready-made parts (tests, embedding
        programs); an injected store is not closed by :meth:`close`."""
        self.settings = settings if settings is not None else Settings.load()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.redactor = SecretRedactor.from_environ(self.environ)
        self._store = store
        self._owns_store = False
        self._memory: MemoryJournal | None = None
        self._injected_models = models
        self._hubs: dict[CachePolicy, ModelHub] = {}
        self._policy: Policy | None = policy
        self._generator: Any = None
        self._ops: dict[str, Any] = {}
        self._otel: Subscriber | None = None
        self._executor: Executor | None = None

    # -- parts -------------------------------------------------------------------------------

    @property
    def project_dir(self) -> Path:
        return self.settings.project_path

    @property
    def store(self) -> Store:
        """The store, opened on first use (an in-memory database when not persisting)."""
        if self._store is None:
            from evopipe.app.schema import open_store

            db = self.settings.db if self.settings.persist else "sqlite:///:memory:"
            self._store = open_store(db, environ=self.environ, cwd=self.project_dir)
            self._owns_store = True
        return self._store

    @property
    def journal(self) -> Any:
        """Where runs are journaled: the store, or memory when not persisting."""
        if self.settings.persist or self._store is not None:
            return self.store
        if self._memory is None:
            self._memory = MemoryJournal()
        return self._memory

    def models(self, cache_policy: CachePolicy = "auto") -> ModelSource:
        """The model hub (config files honoured; responses cached in the store unless the
        settings say ``cache=False``). One hub per cache policy (``auto``, ``always``)."""
        if self._injected_models is not None:
            return self._injected_models
        hub = self._hubs.get(cache_policy)
        if hub is None:
            from evopipe.models import ModelHub, load_config

            config = load_config(
                self.project_dir, user_path=self.settings.user_config, env=self.environ
            )
            if self.settings.default_model:
                config = replace(config, default_model=self.settings.default_model)
            use_cache = self.settings.cache and cache_policy != "off"
            cache = self.store.response_cache() if use_cache else None
            hub = ModelHub(config, cache=cache, cache_policy=cache_policy)
            self._hubs[cache_policy] = hub
        return hub

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = Policy.load(
                self.project_dir, trust=self.settings.trust, env=self.environ
            )
        return self._policy

    @property
    def executor(self) -> Executor:
        """Where this session's steps run (``settings.executor``), made on first use and
        shared by every run, evaluation and evolution of the session."""
        if self._executor is None:
            from evopipe.app.executors import make_executor

            self._executor = make_executor(self)
        return self._executor

    def check_options(self, base_dir: Path | None = None) -> CheckOptions:
        """How every face decides validity: the hub's providers, the policy's trust; relative
        paths from ``base_dir`` (None: the checked file's directory)."""
        from evopipe.check import CheckOptions
        from evopipe.check.models_known import known_model_predicate

        try:
            providers = getattr(self.models("off"), "providers", None)
        except EvopipeError:  # a broken config: accept the built-in provider prefixes
            providers = None
        known = known_model_predicate({*providers, "function"}) if providers else None
        return CheckOptions(
            base_dir=base_dir,
            known_model=known,
            trusted=self.policy.trusted,
        )

    def services(
        self,
        *,
        base_dir: Path | None = None,
        subscribers: Sequence[Subscriber] = (),
        policy: Policy | None = None,
        cache_policy: CachePolicy = "auto",
        journaled: bool = True,
        journal: Any = None,
    ) -> Services:
        """The engine's context for a run, an evaluation or an evolution (the one place
        ``Services`` is built): redacted subscribers, the genesis hook, this app's policy.
        Runs are journaled in :attr:`journal` (or ``journal``) unless ``journaled`` is False."""
        watchers = [*subscribers, *self._observers()]
        if journaled:
            from evopipe.app.failed_runs import FailedRunFiler

            watchers.append(FailedRunFiler(self))
        bus = EventBus([RedactingSubscriber(s, self.redactor) for s in watchers])
        return Services(
            models=self.models(cache_policy),
            store=(journal or self.journal) if journaled else None,
            bus=bus,
            policy=policy or self.policy,
            base_dir=(base_dir or self.project_dir).resolve(),
            hooks={"generator": self._generate_hook, "conversations": self.conversations},
            executor=self.executor,
        )

    def _observers(self) -> list[Subscriber]:
        """Subscribers every run of this session gets: OpenTelemetry spans when ``otel`` is on
        (a clear error if its extra is missing)."""
        if not self.settings.otel:
            return []
        if self._otel is None:
            from evopipe.app.integrations import otel_subscriber

            self._otel = otel_subscriber(self.environ)
        return [self._otel]

    @property
    def conversations(self) -> Any:
        """Conversations of the ``session`` kind (and of a chat face): in the store, or in
        memory when not persisting (:mod:`evopipe.engine.conversations`)."""
        found = self._ops.get("conversations")
        if found is None:
            found = self._ops["conversations"] = _open_conversations(self)
        return found

    async def _generate_hook(self, **kwargs: Any) -> Any:
        """The ``generate`` kind's hook (genesis is imported on first use)."""
        if self._generator is None:
            from evopipe.genesis.hook import make_generator

            self._generator = make_generator(self.models(), store=self.store)
        return await self._generator(**kwargs)

    # -- operations --------------------------------------------------------------------------

    runs: Operations[Runs] = Operations("evopipe.app.runs:Runs")
    pipelines: Operations[Pipelines] = Operations("evopipe.app.pipelines:Pipelines")
    generations: Operations[Generations] = Operations("evopipe.app.generate:Generations")
    evaluations: Operations[Evaluations] = Operations("evopipe.app.evaluate:Evaluations")
    evolutions: Operations[Evolutions] = Operations("evopipe.app.evolve:Evolutions")
    registry: Operations[RegistryOps] = Operations("evopipe.app.registry:RegistryOps")
    queue: Operations[Queue] = Operations("evopipe.app.queue:Queue")
    auth: Operations[Auth] = Operations("evopipe.app.auth:Auth")
    journal_tails: Operations[JournalTails] = Operations("evopipe.app.journal_tails:JournalTails")
    evolution_jobs: Operations[EvolutionJobs] = Operations(
        "evopipe.app.evolution_jobs:EvolutionJobs"
    )
    model_ops: Operations[Models] = Operations("evopipe.app.models:Models")
    memory: Operations[Memory] = Operations("evopipe.app.memory:Memory")
    nursery: Operations[Nursery] = Operations("evopipe.app.nursery:Nursery")
    routing: Operations[Routing] = Operations("evopipe.app.routing:Routing")
    releases: Operations[Releases] = Operations("evopipe.app.releases:Releases")
    chains: Operations[Chains] = Operations("evopipe.app.chains:Chains")
    scheduling: Operations[Scheduling] = Operations("evopipe.app.schedules:Scheduling")
    catalog: Operations[Catalog] = Operations("evopipe.app.catalog:Catalog")
    reports: Operations[Reports] = Operations("evopipe.app.reports:Reports")
    dashboard: Operations[Dashboard] = Operations("evopipe.app.dashboard:Dashboard")
    chat: Operations[Chat] = Operations("evopipe.app.chat:Chat")

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close what this app opened (an injected store stays open)."""
        if self._store is not None and self._owns_store:
            self._store.close()
            self._store = None
            self._owns_store = False
        self._hubs.clear()
        if self._executor is not None:
            from evopipe.app.executors import close_executor

            close_executor(self._executor)
            self._executor = None

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> App:
        return self

    async def __aexit__(self, *exc: object) -> None:
        runs = self._ops.get("runs")
        if runs is not None:
            await runs.drain()
        self.close()


def _open_conversations(app: App) -> Any:
    if app.settings.persist or app._store is not None:
        from evopipe.store.conversations import StoreConversations

        return StoreConversations(app.store)
    from evopipe.engine.conversations import MemoryConversations

    return MemoryConversations()
