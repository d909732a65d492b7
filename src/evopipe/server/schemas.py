"""Request and response bodies (they make the published OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_NAME = Field(default=None, max_length=500)
_YAML = Field(default=None, max_length=500_000)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRequest(_Strict):
    """Exactly one of ``pipeline`` (a library or registered name) and ``spec`` (YAML)."""

    pipeline: str | None = _NAME
    spec: str | None = _YAML
    inputs: dict[str, Any] = Field(default_factory=dict)
    model: str | None = Field(default=None, max_length=500)
    key: str | None = Field(default=None, max_length=200, description="thread key")
    strategy: Literal["enqueue", "reject", "interrupt"] = "enqueue"


class WaitRequest(RunRequest):
    timeout_s: float = Field(default=60.0, gt=0, le=3600)


class Decision(_Strict):
    """The decision on a step waiting for approval."""

    step_id: str = Field(min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=4000)
    values: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        max_length=100,
        description="Answers to the step's typed fields (checked against them).",
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        max_length=100,
        description="The run's secret (writeOnly) inputs, given again: they were never stored.",
    )


class Run(BaseModel):
    run_id: str
    tenant: str
    status: str
    queue_status: str | None = None
    position: int | None = None
    pipeline_name: str | None = None
    error: str | None = None
    outputs: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    steps: list[dict[str, Any]] | None = None
    created_at: float | None = None
    finished_at: float | None = None


class RunWaited(BaseModel):
    done: bool
    run: Run


class RunPage(BaseModel):
    items: list[Run]
    next_cursor: str | None = None


class Validation(BaseModel):
    valid: bool
    name: str | None = None
    diagnostics: list[dict[str, Any]]


class ValidateRequest(_Strict):
    spec: str = Field(max_length=500_000)
    profile: Literal["default", "strict"] = "default"


class PipelineList(BaseModel):
    library: list[str]
    registered: list[dict[str, Any]]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    authentication: Literal["keys", "none (loopback only)"]


class TokenOut(BaseModel):
    token: str
    expires_at: float


class KeyRequest(_Strict):
    role: Literal["viewer", "runner", "editor", "admin"]
    name: str = Field(default="", max_length=200)


class KeyOut(BaseModel):
    key_id: str
    tenant: str
    role: str
    name: str
    created_at: float
    revoked_at: float | None = None


class KeyCreated(KeyOut):
    key: str = Field(description="the whole key: shown once, never again")


class GenerateRequest(_Strict):
    request: str = Field(min_length=1, max_length=20_000)
    model: str | None = Field(default=None, max_length=500)
    max_rounds: int = Field(default=3, ge=1, le=10)


class EvaluateRequest(_Strict):
    pipeline: str | None = _NAME
    spec: str | None = _YAML
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=1000)
    metrics: str = Field(default="exact", min_length=1, max_length=1000)
    split: Literal["train", "val", "test", "all"] = "all"
    model: str | None = Field(default=None, max_length=500)
    budget_usd: float | None = Field(default=None, ge=0)


class PromoteRequest(_Strict):
    candidate: str = Field(min_length=6, max_length=128)
    confidence: float | None = Field(default=None, gt=0, lt=1)


class Champion(BaseModel):
    name: str
    champion: int | None


class ModelInfo(BaseModel):
    id: str
    kind: str
    usable: bool
    detail: str
    default: bool = False


class Json(BaseModel):
    """An object whose fields are those of the matching CLI ``--json`` output."""

    model_config = ConfigDict(extra="allow")


class EvolveRequest(_Strict):
    pipeline: str | None = _NAME
    spec: str | None = _YAML
    rows: list[dict[str, Any]] = Field(min_length=2, max_length=5000)
    metric: str = Field(default="exact", min_length=1, max_length=1000)
    model: str | None = Field(default=None, max_length=500)
    generations: int = Field(default=3, ge=0, le=50)
    population: int = Field(default=4, ge=1, le=32)
    offspring: int = Field(default=4, ge=1, le=32)
    budget_calls: int | None = Field(default=None, ge=1)
    budget_usd: float | None = Field(default=None, gt=0)
    seed: int = Field(default=0, ge=0, le=2**31)


class Evolution(BaseModel):
    evolution_id: str
    done: bool
    progress_events: int
    last: dict[str, Any] | None = None
    outcome: dict[str, Any] | None = None
