"""Which model ids exist, without importing the model layer (check sits below it).

The CLI builds a richer predicate from the model hub (configured endpoints included) and passes
it in :class:`~evopipe.check.options.CheckOptions`; this module is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

STATIC_PROVIDERS = frozenset(
    {"openai", "anthropic", "google", "local", "fake", "scripted", "replay", "sim", "function"}
)
"""Provider prefixes every installation knows."""


def provider_of(model_id: str) -> str:
    """``openai:gpt-5-mini`` → ``openai``; a bare id (``fake``) is its own provider."""
    return model_id.split(":", 1)[0].strip()


def known_model_predicate(providers: Iterable[str]) -> Callable[[str], bool]:
    """A predicate accepting ids whose provider prefix is one of ``providers``."""
    names = frozenset(providers)

    def known(model_id: str) -> bool:
        return bool(model_id) and provider_of(model_id) in names

    return known


static_known_model = known_model_predicate(STATIC_PROVIDERS)
"""Accepts the built-in provider prefixes only."""
