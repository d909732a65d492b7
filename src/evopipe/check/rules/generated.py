"""Rules of the ``generated`` profile: machine-written pipelines must be typed, bounded, small.

Each rule reads its knob from :class:`~evopipe.check.options.GeneratedOptions`.
"""

from __future__ import annotations

from collections.abc import Iterator

from evopipe.check.context import Context
from evopipe.check.registry import Rule, edited, example, with_fix
from evopipe.check.scopes import Scope
from evopipe.spec.errors import Diagnostic


def output_contract_required(ctx: Context) -> Iterator[Diagnostic]:
    """(generated) Every llm/extract step declares an output contract."""
    kinds = ctx.options.generated.contract_kinds
    for at in ctx.analysis.steps:
        if at.step.kind in kinds and at.step.output is None:
            yield ctx.diag(
                "output-contract-required",
                f"{at.step.kind} step {at.step.id!r} has no output contract",
                (*at.where, "kind"),
                hint="add `output: {schema: {...}}` so that later steps read typed fields",
            )


def description_required(ctx: Context) -> Iterator[Diagnostic]:
    """(generated) The pipeline says what it does in `description`."""
    if ctx.options.generated.require_description and not ctx.pipeline.description.strip():
        yield ctx.diag(
            "description-required",
            "the pipeline has no description",
            ("name",),
            key=True,
            hint="add `description:` saying what the pipeline does and returns",
        )


def budget_required(ctx: Context) -> Iterator[Diagnostic]:
    """(generated) `limits` bound the run's cost or tokens."""
    limits = ctx.pipeline.limits
    if ctx.options.generated.require_budget and (
        limits.max_cost_usd is None and limits.max_tokens is None
    ):
        where = ("limits",) if "limits" in ctx.pipeline.model_fields_set else ("name",)
        yield ctx.diag(
            "budget-required",
            "the run is unbounded: set limits.max_cost_usd or limits.max_tokens",
            where,
            key=True,
            hint="generated pipelines must carry a budget",
        )


def _body_depth(scope: Scope) -> int:
    depth = 0
    while not scope.isolated and scope.parent is not None:
        depth += 1
        scope = scope.parent
    return depth


def body_nesting(ctx: Context) -> Iterator[Diagnostic]:
    """(generated) map/loop bodies nest at most `max_map_nesting` deep."""
    cap = ctx.options.generated.max_map_nesting
    for at in ctx.analysis.steps:
        if at.step.kind_info.body and _body_depth(at.scope) + 1 > cap:
            yield ctx.diag(
                "body-nesting",
                f"{at.step.kind} step {at.step.id!r} nests bodies {_body_depth(at.scope) + 1} "
                f"deep, over {cap}",
                (*at.where, "kind"),
                hint="flatten the pipeline: fan out once, then aggregate",
            )


_CAPITAL = example(
    """
    apiVersion: evopipe/v1
    name: answer
    description: Name the capital of France.
    limits: {max_cost_usd: 0.05}
    steps:
      - id: answer
        kind: llm
        prompt: What is the capital of France?
        output: {schema: {type: string}}
    """
)
"""A good generated pipeline; the description and budget rules' mistakes are made in it."""

RULES = (
    Rule(
        "output-contract-required",
        "(generated) Every llm/extract step declares an output contract.",
        output_contract_required,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: answer
                description: Answer a question in one sentence.
                limits: {max_cost_usd: 0.05}
                inputs:
                  question: {type: string}
                steps:
                  - id: answer
                    kind: llm
                    prompt: "Answer in one sentence: {{ inputs.question }}"
                """,
                9,
                11,
            ),
            (
                '{{ inputs.question }}"\n',
                '{{ inputs.question }}"\n'
                "    output:\n"
                "      schema: {type: string, maxLength: 300}\n",
            ),
        ),
        profiles=frozenset({"generated"}),
    ),
    Rule(
        "description-required",
        "(generated) The pipeline says what it does in `description`.",
        description_required,
        edited(_CAPITAL, ("description: Name the capital of France.\n", ""), line=2, column=1),
        _CAPITAL,
        profiles=frozenset({"generated"}),
    ),
    Rule(
        "budget-required",
        "(generated) `limits` bound the run's cost or tokens.",
        budget_required,
        edited(_CAPITAL, ("max_cost_usd: 0.05", "timeout_s: 60"), line=4, column=1),
        edited(_CAPITAL, ("max_cost_usd: 0.05", "timeout_s: 60, max_tokens: 2000")),
        profiles=frozenset({"generated"}),
    ),
    Rule(
        "body-nesting",
        "(generated) map/loop bodies nest at most `max_map_nesting` (default 2) deep.",
        body_nesting,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: grid
                description: Label every cell of a list of tables.
                limits: {max_cost_usd: 0.5}
                inputs:
                  tables: {type: array}
                steps:
                  - id: tables
                    kind: map
                    over: "{{ inputs.tables }}"
                    steps:
                      - id: rows
                        kind: map
                        over: "{{ item.rows }}"
                        steps:
                          - id: cells
                            kind: map
                            over: "{{ item.cells }}"
                            steps:
                              - id: label
                                kind: set
                                values: {cell: "{{ item }}"}
                """,
                17,
                19,
            ),
            ("every cell", "every row"),
            (
                "- id: cells\n"
                "            kind: map\n"
                '            over: "{{ item.cells }}"\n'
                "            steps:\n"
                "              - id: label\n"
                "                kind: set\n"
                '                values: {cell: "{{ item }}"}\n',
                '- id: label\n            kind: set\n            values: {row: "{{ item }}"}\n',
            ),
        ),
        profiles=frozenset({"generated"}),
    ),
)
