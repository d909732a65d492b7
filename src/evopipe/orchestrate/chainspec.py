"""Chains: workflow templates as YAML files — stages that each run a pipeline, in order.

.. code-block:: yaml

    apiVersion: evopipe/v1
    kind: Chain
    name: hotfix
    inputs: {change: {type: string}}
    stages:
      - id: test
        pipeline: unit-test.yaml           # a file (relative to the chain), library or NAME[@N]
        inputs: {code: "{{ inputs.change }}"}
      - id: deploy
        pipeline: deploy.yaml
        inputs: {build: "{{ stages.test.outputs.report }}"}
        side_effects: true
        compensate:                         # run, in reverse order, when a later stage fails
          pipeline: rollback.yaml
          inputs: {release: "{{ stages.deploy.outputs.release }}"}
    outputs: {release: "{{ stages.deploy.outputs.release }}"}

:func:`check_chain` checks a chain before it starts and reports located diagnostics
(``file:line:col``): every pipeline resolves; each stage gives every required input of its
pipeline and nothing it does not declare; each reference reads a chain input or an output of
an *earlier* stage that its pipeline declares; where both types are known, they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evopipe.check.contracts import missing_field
from evopipe.spec.errors import Diagnostic, SpecError
from evopipe.spec.loader import PathKey, Source, format_where, parse_yaml
from evopipe.spec.pipeline import Pipeline
from evopipe.spec.templates import Ref, references, single_expression

Resolve = Callable[[str], Pipeline]
"""Turns a stage's ``pipeline`` into a pipeline; raises an error whose text explains why not."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Compensation(_Strict):
    pipeline: str
    inputs: dict[str, Any] = Field(default_factory=dict)


class Stage(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    pipeline: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    side_effects: bool = False
    compensate: Compensation | None = None


class Chain(_Strict):
    api_version: Literal["evopipe/v1"] = Field(alias="apiVersion")
    kind: Literal["Chain"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    description: str = ""
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    stages: list[Stage] = Field(min_length=1)
    outputs: dict[str, Any] = Field(default_factory=dict)


class LoadedChain(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    chain: Chain
    source: Source
    path: Path | None = None


def load_chain_text(text: str, path: str = "<string>") -> LoadedChain:
    source = parse_yaml(text, path)
    try:
        chain = Chain.model_validate(source.data)
    except ValidationError as exc:
        raise SpecError(_schema_diagnostics(exc, source)) from None
    return LoadedChain(chain=chain, source=source)


def _schema_diagnostics(exc: ValidationError, source: Source) -> list[Diagnostic]:
    """Pydantic's errors on a chain file, located (chains have no unions to strip)."""
    out = []
    for err in exc.errors(include_url=False):
        where: PathKey = tuple(err["loc"])
        if err["type"] == "missing":
            rule, message, at = "chain-missing-field", f"missing field {where[-1]!r}", where[:-1]
        elif err["type"] == "extra_forbidden":
            rule, message, at = "chain-unknown-key", f"unknown key {where[-1]!r}", where
        else:
            rule, message, at = "chain-schema", f"{format_where(where)}: {err['msg']}", where
        line, col = source.locate(at, key=rule == "chain-unknown-key")
        out.append(
            Diagnostic(
                rule, message, path=source.path, line=line, column=col, where=format_where(where)
            )
        )
    return out


def load_chain(path: str | Path) -> LoadedChain:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        diagnostic = Diagnostic("chain-file", f"cannot read chain: {exc}", path=str(file))
        raise SpecError([diagnostic]) from None
    loaded = load_chain_text(text, str(file))
    return LoadedChain(chain=loaded.chain, source=loaded.source, path=file)


def check_chain(loaded: LoadedChain, resolve: Resolve) -> dict[str, Pipeline]:
    """The pipeline of each stage (and ``<id>.compensate``) once the chain is known to be
    well-wired; :class:`SpecError` with every problem found otherwise."""
    checker = _Checker(loaded)
    pipelines = checker.run(resolve)
    if checker.problems:
        raise SpecError(checker.problems)
    return pipelines


class _Checker:
    def __init__(self, loaded: LoadedChain) -> None:
        self.chain = loaded.chain
        self.source = loaded.source
        self.problems: list[Diagnostic] = []

    def report(self, rule: str, message: str, where: PathKey, hint: str = "") -> None:
        line, col = self.source.locate(where)
        self.problems.append(
            Diagnostic(
                rule,
                message,
                path=self.source.path,
                line=line,
                column=col,
                where=format_where(where),
                hint=hint,
            )
        )

    def run(self, resolve: Resolve) -> dict[str, Pipeline]:
        pipelines: dict[str, Pipeline] = {}
        seen: list[str] = []
        for i, stage in enumerate(self.chain.stages):
            at: PathKey = ("stages", i)
            if stage.id in seen:
                self.report(
                    "chain-duplicate-stage", f"stage id {stage.id!r} is used twice", (*at, "id")
                )
            pipeline = self._resolve(resolve, stage.pipeline, (*at, "pipeline"))
            if pipeline is not None:
                pipelines[stage.id] = pipeline
                self._inputs(stage.inputs, pipeline, at, seen, pipelines)
            if stage.compensate is not None:
                cat: PathKey = (*at, "compensate")
                if not stage.side_effects:
                    self.report(
                        "chain-compensate",
                        f"stage {stage.id} has a compensation but no side effects",
                        cat,
                        "set side_effects: true",
                    )
                comp = self._resolve(resolve, stage.compensate.pipeline, (*cat, "pipeline"))
                if comp is not None:
                    pipelines[f"{stage.id}.compensate"] = comp
                    self._inputs(stage.compensate.inputs, comp, cat, [*seen, stage.id], pipelines)
            seen.append(stage.id)
        for name, value in self.chain.outputs.items():
            self._refs(value, ("outputs", name), seen, pipelines, None)
        return pipelines

    def _resolve(self, resolve: Resolve, target: str, where: PathKey) -> Pipeline | None:
        try:
            return resolve(target)
        except Exception as exc:  # the resolver's own error says why
            self.report("chain-pipeline", f"cannot resolve pipeline {target!r}: {exc}", where)
            return None

    def _inputs(
        self,
        given: Mapping[str, Any],
        pipeline: Pipeline,
        at: PathKey,
        earlier: list[str],
        pipelines: Mapping[str, Pipeline],
    ) -> None:
        declared = pipeline.inputs
        for name in given:
            if name not in declared:
                self.report(
                    "chain-unknown-input",
                    f"pipeline {pipeline.name} declares no input {name!r}",
                    (*at, "inputs", name),
                    f"declared: {', '.join(sorted(declared)) or 'none'}",
                )
        for name, schema in declared.items():
            if name not in given and "default" not in schema:
                self.report(
                    "chain-missing-input",
                    f"pipeline {pipeline.name} needs input {name!r}",
                    (*at, "inputs") if "inputs" in _keys(self.source, at) else at,
                )
        for name, value in given.items():
            expected = declared.get(name, {}).get("type")
            self._refs(value, (*at, "inputs", name), earlier, pipelines, expected)

    def _refs(
        self,
        value: Any,
        where: PathKey,
        earlier: list[str],
        pipelines: Mapping[str, Pipeline],
        expected: Any,
    ) -> None:
        if not isinstance(value, str):
            return
        try:
            refs = references(value)
        except Exception as exc:
            self.report("chain-template", str(exc), where)
            return
        whole = single_expression(value) is not None and len(refs) == 1
        for ref in refs:
            found = self._ref_type(ref, where, earlier, pipelines)
            if whole and expected and found and not _compatible(found, expected):
                self.report(
                    "chain-type",
                    f"{ref.dotted()} is {found}, the input expects {expected}",
                    where,
                )

    def _ref_type(
        self, ref: Ref, where: PathKey, earlier: list[str], pipelines: Mapping[str, Pipeline]
    ) -> Any:
        """The JSON type ``ref`` reads when known; reports references that cannot resolve."""
        if ref.root == "inputs":
            name = str(ref.path[0]) if ref.path else ""
            if name not in self.chain.inputs:
                self.report(
                    "chain-reference", f"{ref.dotted()}: the chain has no input {name!r}", where
                )
                return None
            return self.chain.inputs[name].get("type") if len(ref.path) == 1 else None
        if ref.root != "stages" or len(ref.path) < 3 or ref.path[1] != "outputs":
            self.report(
                "chain-reference",
                f"{ref.dotted()}: use inputs.NAME or stages.ID.outputs.NAME",
                where,
            )
            return None
        stage, output = str(ref.path[0]), str(ref.path[2])
        if stage not in earlier:
            self.report("chain-reference", f"{ref.dotted()}: no earlier stage {stage!r}", where)
            return None
        pipeline = pipelines.get(stage)
        if pipeline is None:
            return None
        if output not in pipeline.outputs:
            self.report(
                "chain-reference",
                f"{ref.dotted()}: pipeline {pipeline.name} has no output {output!r}",
                where,
                f"outputs: {', '.join(sorted(pipeline.outputs)) or 'none'}",
            )
            return None
        return output_type(pipeline, output, tuple(ref.path[3:]))


def output_type(pipeline: Pipeline, output: str, path: tuple[str | int, ...] = ()) -> Any:
    """The JSON type of ``pipeline``'s output (or a field under it) when the output is one
    reference to a step output whose schema says; None when unknown."""
    template = pipeline.outputs.get(output)
    if not isinstance(template, str) or single_expression(template) is None:
        return None
    refs = references(template)
    if len(refs) != 1 or refs[0].root != "steps" or len(refs[0].path) < 2:
        return None
    step_id, *rest = refs[0].path
    if rest[:1] != ["output"]:
        return None
    try:
        step = pipeline.step(str(step_id))
    except KeyError:
        return None
    schema = step.output.schema_ if step.output else None
    if not isinstance(schema, dict):
        return "string" if step.kind == "llm" and not rest[1:] and not path else None
    full = (*rest[1:], *path)
    if missing_field(schema, tuple(full)) is not None:
        return None
    node: Any = schema
    for key in full:
        props = node.get("properties") if isinstance(node, dict) else None
        node = props.get(key) if isinstance(props, dict) else None
    return node.get("type") if isinstance(node, dict) else None


def _compatible(found: Any, expected: Any) -> bool:
    got = set(found) if isinstance(found, list) else {found}
    want = set(expected) if isinstance(expected, list) else {expected}
    if "number" in want:
        want.add("integer")
    return bool(got & want)


def _keys(source: Source, at: PathKey) -> set[str]:
    node: Any = source.data
    for part in at:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part]
        else:
            node = None
    return set(node) if isinstance(node, dict) else set()
