"""Errors genesis raises on purpose."""

from __future__ import annotations

from typing import Any

from evopipe.spec.errors import Diagnostic, EvopipeError


class GenerationError(EvopipeError):
    """No valid pipeline came out of generation; carries the last round's diagnostics and every
    round's record (drafts and diagnostics) for inspection."""

    def __init__(
        self, message: str, *, diagnostics: list[Diagnostic], rounds: list[Any] | None = None
    ) -> None:
        self.diagnostics = diagnostics
        self.rounds = rounds or []
        lines = [d.format() for d in diagnostics if d.severity == "error"][:20]
        super().__init__(message + ("\n" + "\n".join(lines) if lines else ""))


class MetaLimitExceeded(EvopipeError):
    """A meta limit over the generate-and-run tree was exceeded; ``rule`` names it
    (``depth-exceeded``, ``steps-exceeded``, ``tokens-exceeded``, ``timeout``)."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(f"{rule}: {message}")
