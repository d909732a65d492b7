"""The kind catalog: every step kind's config model and its capabilities, declared once.

A kind's facts live on its config model as ``kind_info: ClassVar[KindInfo]`` (built-ins in
:mod:`evopipe.spec.kinds`); every other layer — the checker's rules, the engine's plan and
policy, genesis repairs, evolve's validity check, the docs generator — reads them from here
instead of keeping its own list of kind names.

Third-party kinds come through entry points in the group ``evopipe.kinds``: the name is the
kind, the value a module exposing ``config_model`` (a :class:`~evopipe.spec.base.StepBase`
subclass with a ``kind_info``) and — for the engine — ``kind`` and ``async run(ctx, config)``::

    [project.entry-points."evopipe.kinds"]
    shout = "mypkg.shout"

This layer only reads ``config_model`` (it never imports the engine itself). Entry points are
read when a document names a kind that is not built in, once per process (the lookups are
cached; :func:`clear_cache` forgets them, for tests that install a kind on the fly).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.spec.base import StepBase

ENTRY_POINT_GROUP = "evopipe.kinds"
"""Entry point group of third-party step kinds (name = kind, value = module)."""


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What a step kind is and needs: read by the checker, the engine, genesis and evolve.

    The defaults describe the cautious case (an unknown plugin that declares nothing):
    side effects, trust required. Built-in kinds state every flag they set.
    """

    calls_model: bool = False
    """Calls a model: retried by default (3 attempts), resolves a model id per attempt,
    inherits ``defaults.timeout_s`` (llm, extract, generate)."""
    prompted: bool = False
    """Sends its own prompt to a model and answers with the reply: output contracts shape the
    request, genesis writes contracts for it, prompt operators edit it (llm, extract)."""
    requires_contract: bool = False
    """Needs an output contract with a schema (extract: structured output)."""
    container: bool = False
    """Runs other steps (map, loop, pipeline, generate): holds no concurrency slot meanwhile."""
    body: bool = False
    """Repeats a body of inner steps or a sub-pipeline (map per item, loop per iteration)."""
    instant: bool = False
    """Never awaits anything (set, switch, tool): recorded by one journal event, no retries."""
    side_effects: bool = True
    """Acts outside the run (files, processes, network): re-running it is not free."""
    needs_trust: bool = True
    """Refused under the untrusted policy (generated and evolved pipelines)."""

    def flags(self) -> list[str]:
        """Names of the flags that are set (for docs and listings)."""
        return [f.name for f in fields(self) if getattr(self, f.name)]


PURE = KindInfo(side_effects=False, needs_trust=False)
"""A kind with no effect outside the run, allowed everywhere (the common case)."""


class UnknownKindError(EvopipeError):
    """No built-in model or entry point defines this kind."""


def builtin_models() -> dict[str, type[StepBase]]:
    """Built-in kind name → config model (a copy)."""
    from evopipe.spec.kinds import KIND_MODELS

    return dict(KIND_MODELS)


def config_model(name: str) -> type[StepBase]:
    """The config model of a kind, built in or from an entry point."""
    from evopipe.spec.kinds import KIND_MODELS

    model = KIND_MODELS.get(name)
    if model is not None:
        return model
    value = _plugin_modules().get(name)
    if value is None:
        raise UnknownKindError(f"unknown step kind {name!r} (known kinds: {known_text()})")
    return _plugin_model(name, value)


def lookup(name: str) -> type[StepBase] | None:
    """The config model of a kind, or None when no model or entry point defines it."""
    try:
        return config_model(name)
    except UnknownKindError:
        return None


def kind_info(name: str) -> KindInfo | None:
    """The capabilities of a kind, or None when no model or entry point defines it."""
    model = lookup(name)
    return None if model is None else model.kind_info


def is_prompted(kind: object) -> bool:
    """Is ``kind`` (a raw value from a document) a prompted kind (llm, extract, plugins)?"""
    info = kind_info(kind) if isinstance(kind, str) else None
    return info is not None and info.prompted


def known_kinds() -> list[str]:
    """Every kind name a document may use: built-ins first, then entry points, sorted."""
    from evopipe.spec.kinds import KIND_MODELS

    plugins = sorted(k for k in _plugin_modules() if k not in KIND_MODELS)
    return [*sorted(KIND_MODELS), *plugins]


def known_text() -> str:
    return ", ".join(known_kinds())


def builtin_kinds_where(flag: str) -> frozenset[str]:
    """Built-in kinds whose :class:`KindInfo` sets ``flag`` (e.g. ``"prompted"``)."""
    return frozenset(k for k, m in builtin_models().items() if getattr(m.kind_info, flag))


def clear_cache() -> None:
    """Forget the entry points read so far (a test that installs a kind calls this)."""
    _plugin_modules.cache_clear()
    _plugin_model.cache_clear()


@cache
def _plugin_modules() -> dict[str, str]:
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


@cache
def _plugin_model(name: str, value: str) -> type[StepBase]:
    from evopipe.spec.base import StepBase

    try:
        module = importlib.import_module(value)
    except ImportError as exc:
        raise UnknownKindError(
            f"step kind {name!r} is registered as {value!r} but cannot be imported: {exc}"
        ) from None
    found: Any = getattr(module, "config_model", None)
    if not (isinstance(found, type) and issubclass(found, StepBase)):
        raise UnknownKindError(
            f"step kind {name!r}: {value!r} has no `config_model` (a StepBase subclass)"
        )
    return found
