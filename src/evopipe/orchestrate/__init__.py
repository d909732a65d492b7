"""Orchestration: the registry of promoted versions (name → versions → champion pointer)."""

from evopipe.orchestrate.registry import (
    Registry,
    RegistryError,
    Version,
    resolve_champion,
)

__all__ = ["Registry", "RegistryError", "Version", "resolve_champion"]
