"""The project's routing configuration, ``routes.yaml``: explicit rules and fitted thresholds.

.. code-block:: yaml

    rules:
      - {target: deploy-service, event: push, fields: {branch: "^release/"}}
      - {target: bug-triage, keywords: [crash, exception, traceback]}
      - {target: translate-verify, pattern: "\\\\bin (french|german)\\\\b"}
    thresholds: {retrieval: 4.0, margin: 1.15, intent: 0.5, floor: 1.0}
    intent_model: fake        # the model of the intent stage (none: the stage is skipped)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evopipe.orchestrate.routing import Rule, Thresholds
from evopipe.spec.errors import Diagnostic, SpecError
from evopipe.spec.loader import format_where, parse_yaml

ROUTES_FILE = "routes.yaml"


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str
    event: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    keywords: list[str] = Field(default_factory=list)
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regular expression: {exc}") from None
        return value


class _ThresholdsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retrieval: float = Thresholds.retrieval
    margin: float = Thresholds.margin
    intent: float = Thresholds.intent
    floor: float = Thresholds.floor


class _RoutesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[_RuleModel] = Field(default_factory=list)
    thresholds: _ThresholdsModel = Field(default_factory=_ThresholdsModel)
    intent_model: str | None = None


@dataclass(frozen=True)
class Routes:
    rules: tuple[Rule, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    intent_model: str | None = None


def load_routes(path: Path) -> Routes:
    """The routes file at ``path``; empty routes when it does not exist."""
    if not path.is_file():
        return Routes()
    source = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    try:
        model = _RoutesModel.model_validate(source.data or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = tuple(err["loc"])
            line, col = source.locate(where)
            problems.append(
                Diagnostic(
                    "routes",
                    f"{format_where(where)}: {err['msg']}",
                    path=str(path),
                    line=line,
                    column=col,
                )
            )
        raise SpecError(problems) from None
    rules = tuple(
        Rule(r.target, r.event, dict(r.fields), tuple(k.lower() for k in r.keywords), r.pattern)
        for r in model.rules
    )
    th = model.thresholds
    return Routes(
        rules, Thresholds(th.retrieval, th.margin, th.intent, th.floor), model.intent_model
    )
