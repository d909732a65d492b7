"""Rules about what a pipeline may use: personas, models, and kinds the policy refuses."""

from __future__ import annotations

from collections.abc import Iterator

from evopipe.check.context import Context
from evopipe.check.models_known import STATIC_PROVIDERS, static_known_model
from evopipe.check.registry import Rule, example, with_fix
from evopipe.spec.errors import Diagnostic
from evopipe.spec.loader import PathKey


def unknown_persona(ctx: Context) -> Iterator[Diagnostic]:
    """A step names a persona that `personas` does not define."""
    for at in ctx.analysis.steps:
        persona = vars(at.step).get("persona")
        personas = at.scope.pipeline.personas
        if isinstance(persona, str) and persona not in personas:
            defined = ", ".join(sorted(personas)) or "none"
            yield ctx.diag(
                "unknown-persona",
                f"step {at.step.id!r} uses unknown persona {persona!r}",
                (*at.where, "persona"),
                hint=f"define it under `personas` (defined: {defined})",
            )


def persona_tools(ctx: Context) -> Iterator[Diagnostic]:
    """A persona lists `tools`, which no step kind gives to the model (they would do nothing)."""
    for scope in ctx.analysis.scopes:
        if not scope.isolated:
            continue
        for name, persona in scope.pipeline.personas.items():
            if persona.tools:
                yield ctx.diag(
                    "persona-tools-unsupported",
                    f"persona {name!r} lists tools {persona.tools}, but no step kind passes a "
                    "persona's tools to its model: they would silently do nothing",
                    (*scope.where[:-1], "personas", name, "tools"),
                    hint="remove `tools` from the persona; use `tool` steps for deterministic work",
                )


def _model_uses(ctx: Context) -> Iterator[tuple[str, PathKey]]:
    for scope in ctx.analysis.scopes:
        if scope.isolated:
            base = scope.where[:-1]
            pipeline = scope.pipeline
            if pipeline.defaults.model:
                yield pipeline.defaults.model, (*base, "defaults", "model")
            for name, persona in pipeline.personas.items():
                if persona.model:
                    yield persona.model, (*base, "personas", name, "model")
    for at in ctx.analysis.steps:
        model = vars(at.step).get("model")
        if isinstance(model, str):
            yield model, (*at.where, "model")
        if at.step.retry is not None:
            for j, fallback in enumerate(at.step.retry.fallback_models):
                yield fallback, (*at.where, "retry", "fallback_models", j)


def unknown_model(ctx: Context) -> Iterator[Diagnostic]:
    """A model id has no known provider prefix or configured endpoint."""
    known = ctx.options.known_model or static_known_model
    for model, where in _model_uses(ctx):
        if "{{" in model or known(model):
            continue
        yield ctx.diag(
            "unknown-model",
            f"unknown model {model!r}",
            where,
            hint="model ids are `provider:model` with a provider among "
            f"{', '.join(sorted(STATIC_PROVIDERS))} or an endpoint from your config",
        )


def unsafe_kind(ctx: Context) -> Iterator[Diagnostic]:
    """A `shell`, `python` or `http` step (any kind needing trust) under the untrusted policy
    (the default)."""
    if ctx.options.trusted:
        return
    for at in ctx.analysis.steps:
        if at.step.kind_info.needs_trust:
            yield ctx.diag(
                "unsafe-kind",
                f"step {at.step.id!r} has kind {at.step.kind!r}, refused under the untrusted "
                "policy",
                (*at.where, "kind"),
                hint="use `tool` steps for deterministic work, or validate/run with --trust "
                "if you wrote this pipeline yourself",
            )


_GATED_TOOLS = ("write", "edit", "run")


def unsafe_agent_tools(ctx: Context) -> Iterator[Diagnostic]:
    """An `agent` step offers write/edit/run tools (or verify commands) under the untrusted
    policy."""
    if ctx.options.trusted:
        return
    for at in ctx.analysis.steps:
        if at.step.kind != "agent":
            continue
        tools = vars(at.step).get("tools") or []
        gated = [t for t in _GATED_TOOLS if t in tools]
        if vars(at.step).get("verify"):
            gated.append("verify")
        if gated:
            yield ctx.diag(
                "unsafe-agent-tools",
                f"agent step {at.step.id!r} uses {', '.join(gated)}, refused under the "
                "untrusted policy",
                (*at.where, "tools" if gated[0] != "verify" else "verify"),
                hint="keep to list/read/grep, or validate/run with --trust if you wrote this "
                "pipeline yourself",
            )


RULES = (
    Rule(
        "unknown-persona",
        "A step names a persona that `personas` does not define.",
        unknown_persona,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: ahoy
                personas:
                  captain: {system: You are a ship's captain. Be brief.}
                steps:
                  - id: greet
                    kind: llm
                    persona: pirate
                    prompt: Greet the crew.
                """,
                8,
                14,
            ),
            ("persona: pirate", "persona: captain"),
        ),
    ),
    Rule(
        "persona-tools-unsupported",
        "A persona lists `tools`, which no step kind gives to the model (they would do nothing).",
        persona_tools,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: helper
                personas:
                  clerk: {system: You file reports., tools: [search]}
                steps:
                  - {id: file, kind: llm, persona: clerk, prompt: File the report.}
                """,
                4,
                45,
            ),
            (
                "clerk: {system: You file reports., tools: [search]}",
                "clerk: {system: You file reports.}",
            ),
        ),
    ),
    Rule(
        "unknown-model",
        "A model id has no known provider prefix or configured endpoint.",
        unknown_model,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: hello
                defaults:
                  model: gpt-5-mini
                steps:
                  - id: greet
                    kind: llm
                    prompt: Say hello.
                """,
                4,
                10,
            ),
            ("model: gpt-5-mini", "model: openai:gpt-5-mini"),
        ),
    ),
    Rule(
        "unsafe-kind",
        "A `shell`, `python` or `http` step under the untrusted policy (the default; "
        "`--trust` allows them).",
        unsafe_kind,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: listing
                steps:
                  - id: files
                    kind: shell
                    command: [ls, -l]
                """,
                5,
                11,
            ),
            trusted=True,
        ),
    ),
    Rule(
        "unsafe-agent-tools",
        "An `agent` step offers `write`, `edit` or `run` (or `verify` commands) under the "
        "untrusted policy (`--trust` allows them).",
        unsafe_agent_tools,
        *with_fix(
            example(
                """
                apiVersion: evopipe/v1
                name: fixer
                steps:
                  - id: fix
                    kind: agent
                    task: Fix the bug.
                    tools: [read, edit]
                """,
                7,
                12,
            ),
            ("task: Fix the bug.", "task: Find the bug."),
            ("tools: [read, edit]", "tools: [read, grep]"),
        ),
    ),
)
