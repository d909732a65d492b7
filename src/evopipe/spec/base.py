"""The pieces of the pipeline format shared by every step kind."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from evopipe.spec.catalog import KindInfo

STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Step ids are identifiers so that templates can say ``steps.<id>.output``."""

JsonSchema = dict[str, Any]


class Strict(BaseModel):
    """Base of every format model: unknown keys are rejected, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Retry(Strict):
    """How a failing step is retried: backoff on retryable errors, then fallback models."""

    max_attempts: int = Field(default=3, ge=1, le=20, description="Attempts per model.")
    backoff_s: float = Field(default=0.5, ge=0, description="First backoff delay in seconds.")
    max_backoff_s: float = Field(default=30.0, ge=0, description="Upper bound of one delay.")
    jitter: bool = Field(default=True, description="Randomise delays (full jitter).")
    fallback_models: list[str] = Field(
        default_factory=list, description="Models tried in order once attempts run out."
    )


class OutputContract(Strict):
    """What a step's output must look like; checked at run time and statically."""

    schema_: JsonSchema | None = Field(
        default=None, alias="schema", description="Inline JSON Schema."
    )
    schema_file: str | None = Field(default=None, description="Path to a JSON Schema file.")
    on_invalid: Literal["retry", "fail", "continue"] = Field(
        default="retry", description="What to do when the output violates the schema."
    )
    max_retries: int = Field(default=2, ge=0, le=10, description="Re-asks when on_invalid=retry.")


class StepBase(Strict):
    """Fields every step has, whatever its kind."""

    kind_info: ClassVar[KindInfo] = KindInfo()
    """The kind's capabilities (see :class:`~evopipe.spec.catalog.KindInfo`); each kind's
    model declares its own, the cautious default is for plugins that declare none."""

    id: str = Field(pattern=STEP_ID_PATTERN, description="Unique id within its scope.")
    kind: str = Field(description="The step kind.")
    description: str | None = None
    needs: list[str] = Field(
        default_factory=list,
        description="Explicit dependencies; those implied by template references are added.",
    )
    when: str | None = Field(default=None, description="Condition; the step is skipped if false.")
    retry: Retry | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    cache: bool | None = Field(default=None, description="Use the response cache (default: auto).")
    output: OutputContract | None = None

    def templates(self) -> dict[str, str]:
        """Every template string in this step's own config, keyed by its dotted location."""
        found: dict[str, str] = {}
        for name in type(self).model_fields:
            if name in _NON_TEMPLATE_FIELDS or name in self.nested_fields():
                continue
            _collect(getattr(self, name), name, found)
        return found

    @classmethod
    def nested_fields(cls) -> tuple[str, ...]:
        """Names of fields holding inner steps or sub-pipelines (their own scope)."""
        return ()

    def conditions(self) -> dict[str, str]:
        """Every condition expression of this step, keyed by its location."""
        return {"when": self.when} if self.when else {}


_NON_TEMPLATE_FIELDS = frozenset(
    {"id", "kind", "description", "needs", "when", "retry", "timeout_s", "cache", "output"}
)
_TEMPLATE_MARK = re.compile(r"{{|{%")


def _collect(value: Any, where: str, found: dict[str, str]) -> None:
    if isinstance(value, str):
        if _TEMPLATE_MARK.search(value):
            found[where] = value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect(getattr(value, name), f"{where}.{name}", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(item, f"{where}.{key}", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _collect(item, f"{where}[{i}]", found)
