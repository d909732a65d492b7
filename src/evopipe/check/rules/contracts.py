"""Contract rules: output contracts and input schemas are valid JSON Schemas that exist."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

from evopipe.check.context import Context
from evopipe.check.contracts import load_schema_file, schema_problem
from evopipe.check.registry import Example, Rule, edited, example, with_fix
from evopipe.spec.errors import Diagnostic
from evopipe.spec.loader import PathKey


def contract_invalid(ctx: Context) -> Iterator[Diagnostic]:
    """An output contract or an input's schema is not a valid JSON Schema (or a contract gives
    both `schema` and `schema_file`, or neither)."""
    for scope in ctx.analysis.scopes:
        if scope.isolated:
            base = scope.where[:-1]
            for name, schema in scope.pipeline.inputs.items():
                yield from _invalid(ctx, schema, (*base, "inputs", name), f"input {name!r}")
    for at in ctx.analysis.steps:
        contract = at.step.output
        if contract is None:
            continue
        where = (*at.where, "output")
        if contract.schema_ is not None and contract.schema_file is not None:
            yield ctx.diag(
                "contract-invalid",
                "an output contract has either `schema` or `schema_file`, not both",
                (*where, "schema_file"),
                key=True,
            )
        elif contract.schema_ is None and contract.schema_file is None:
            yield ctx.diag(
                "contract-invalid",
                "an output contract needs `schema` (inline) or `schema_file`",
                where,
            )
        elif contract.schema_ is not None:
            what = f"the output contract of {at.step.id!r}"
            yield from _invalid(ctx, contract.schema_, (*where, "schema"), what)
        elif contract.schema_file is not None:
            loaded = load_schema_file(ctx, contract.schema_file)
            if not isinstance(loaded, Exception):
                what = f"schema file {contract.schema_file!r}"
                problem = schema_problem(loaded)
                if problem is not None:
                    yield ctx.diag(
                        "contract-invalid",
                        f"{what} is not a valid JSON Schema: {problem[0]}",
                        (*where, "schema_file"),
                    )


def _invalid(ctx: Context, schema: Any, where: PathKey, what: str) -> Iterator[Diagnostic]:
    problem = schema_problem(schema)
    if problem is not None:
        message, inner = problem
        yield ctx.diag(
            "contract-invalid",
            f"{what} is not a valid JSON Schema: {message}",
            (*where, *inner),
            hint="see https://json-schema.org/understanding-json-schema/",
        )


def contract_file_missing(ctx: Context) -> Iterator[Diagnostic]:
    """An output contract's `schema_file` does not exist or cannot be read as JSON/YAML."""
    for at in ctx.analysis.steps:
        contract = at.step.output
        if contract is None or contract.schema_file is None:
            continue
        loaded = load_schema_file(ctx, contract.schema_file)
        if isinstance(loaded, Exception):
            reason = "does not exist" if isinstance(loaded, FileNotFoundError) else "cannot be read"
            yield ctx.diag(
                "contract-file-missing",
                f"schema file {contract.schema_file!r} {reason} (looked in {ctx.base_dir})",
                (*at.where, "output", "schema_file"),
                hint="paths are relative to the pipeline file's directory",
            )


def extract_without_contract(ctx: Context) -> Iterator[Diagnostic]:
    """An `extract` step has no output contract (structured output needs a schema)."""
    for at in ctx.analysis.steps:
        if at.step.kind_info.requires_contract and at.step.output is None:
            yield ctx.diag(
                "extract-without-contract",
                f"extract step {at.step.id!r} has no output contract",
                (*at.where, "kind"),
                hint="add `output: {schema: {...}}`, or use kind `llm` for free text",
            )


_OTTERS = example(
    """
    apiVersion: evopipe/v1
    name: otters
    steps:
      - id: facts
        kind: extract
        prompt: List three facts about otters.
    """,
    5,
    11,
)
"""An extract step without an output contract; the other examples give it one."""


def _with_contract(contract: str, line: int = 0, column: int = 0) -> Example:
    """The otters pipeline with ``contract`` (YAML, dedented) as its step's ``output``."""
    body = textwrap.indent(textwrap.dedent(contract).lstrip("\n"), "      ")
    return edited(_OTTERS, ("otters.\n", f"otters.\n    output:\n{body}"), line=line, column=column)


RULES = (
    Rule(
        "contract-invalid",
        "An output contract or an input's schema is not a valid JSON Schema (or a contract "
        "gives both `schema` and `schema_file`, or neither).",
        contract_invalid,
        *with_fix(
            _with_contract(
                """
                schema:
                  type: list
                  items: {type: string}
                """,
                9,
                15,
            ),
            ("type: list", "type: array"),
        ),
    ),
    Rule(
        "contract-file-missing",
        "An output contract's `schema_file` does not exist or cannot be read as JSON/YAML.",
        contract_file_missing,
        *with_fix(
            _with_contract("schema_file: schemas/facts.json\n", 8, 20),
            files={"schemas/facts.json": '{"type": "array", "items": {"type": "string"}}\n'},
        ),
    ),
    Rule(
        "extract-without-contract",
        "An `extract` step has no output contract (structured output needs a schema).",
        extract_without_contract,
        _OTTERS,
        _with_contract("schema: {type: array, items: {type: string}, minItems: 3}\n"),
    ),
)
