"""Step kinds: one module per kind behind :class:`~evopipe.steps.base.StepKind`, in a table.

The table :data:`KINDS` maps a kind name to the dotted name of its module. A module is imported
the first time a plan uses its kind, so importing :mod:`evopipe.steps` is cheap. To add a
built-in kind, write ``evopipe/steps/<name>.py`` exposing ``kind``, ``config_model`` and
``async run(ctx, config) -> StepResult`` and add **one line** here::

    "mykind": "evopipe.steps.mykind",

Third-party kinds register an entry point in the group ``evopipe.kinds`` whose name is the kind
and whose value is the module (``mykind = "mypkg.kinds.mykind"``); entry points are only read
when a plan meets a kind missing from this table. What a kind *is* (model kind, container,
instant, trust needed ...) is declared once, on its config model's ``kind_info``
(:mod:`evopipe.spec.catalog`); the same entry point gives pipeline files the kind's config.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib import metadata
from types import ModuleType
from typing import cast

from evopipe.spec.catalog import ENTRY_POINT_GROUP, UnknownKindError, known_text
from evopipe.steps.base import (
    ScopeResult,
    StepContext,
    StepFailed,
    StepKind,
    StepResult,
    StepServices,
)

KINDS: dict[str, str] = {
    "llm": "evopipe.steps.llm",
    "extract": "evopipe.steps.extract",
    "set": "evopipe.steps.set",
    "switch": "evopipe.steps.switch",
    "map": "evopipe.steps.map",
    "loop": "evopipe.steps.loop",
    "pipeline": "evopipe.steps.pipeline",
    "generate": "evopipe.steps.generate",
    "approval": "evopipe.steps.approval",
    "python": "evopipe.steps.python",
    "shell": "evopipe.steps.shell",
    "http": "evopipe.steps.http",
    "tool": "evopipe.steps.tool",
    "agent": "evopipe.steps.agent",
    "session": "evopipe.steps.session",
    "coding_agent": "evopipe.steps.coding_agent",
}
"""Kind name → implementation module (built-in kinds)."""


@cache
def get_kind(name: str) -> StepKind:
    """The implementation of a kind (imported once, then cached)."""
    module_name = KINDS.get(name) or _entry_point(name)
    if module_name is None:
        raise UnknownKindError(f"unknown step kind {name!r} (known kinds: {known_text()})")
    try:
        module: ModuleType = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UnknownKindError(
            f"step kind {name!r} is registered as {module_name!r} but cannot be imported: {exc}"
        ) from None
    for attr in ("kind", "config_model", "run"):
        if not hasattr(module, attr):
            raise UnknownKindError(f"kind module {module_name!r} lacks {attr!r}")
    return cast(StepKind, module)


def _entry_point(name: str) -> str | None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.value
    return None


__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "ScopeResult",
    "StepContext",
    "StepFailed",
    "StepKind",
    "StepResult",
    "StepServices",
    "UnknownKindError",
    "get_kind",
]
