"""A third-party step kind, installed through a real entry point, in a pipeline file.

The test writes a tiny distribution into a temporary directory — a package and a
``*.dist-info`` with ``entry_points.txt`` — and puts that directory on ``sys.path``, so
``importlib.metadata`` finds it exactly as it finds an installed plugin.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from engine_helpers import Harness

from evopipe.check import check_pipeline
from evopipe.check.options import CheckOptions
from evopipe.engine.policy import Policy
from evopipe.engine.runner import run_pipeline
from evopipe.spec import catalog, loads
from evopipe.spec.errors import SpecError
from evopipe.steps import get_kind

PLUGIN = '''
"""A plugin kind: upper-cases a rendered text, `times` times joined by spaces."""
from typing import ClassVar, Literal

from evopipe.spec.base import StepBase
from evopipe.spec.catalog import PURE, KindInfo
from evopipe.steps.base import StepResult


class ShoutStep(StepBase):
    kind: Literal["shout"] = "shout"
    kind_info: ClassVar[KindInfo] = PURE
    text: str
    times: int = 1


class RawStep(StepBase):
    """Declares nothing: the cautious default (needs trust)."""
    kind: Literal["raw"] = "raw"
    text: str
    times: int = 1


kind = "shout"
config_model = ShoutStep


async def run(ctx, config):
    word = str(ctx.render(config.text, where="text")).upper()
    return StepResult(output=" ".join([word] * config.times))
'''

RAW = """
from shoutkind import RawStep as config_model, run

kind = "raw"
"""


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    site = tmp_path / "site"
    (site / "shoutkind").mkdir(parents=True)
    (site / "shoutkind" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    (site / "shoutkind" / "raw.py").write_text(RAW, encoding="utf-8")
    info = site / "shoutkind-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shoutkind\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[evopipe.kinds]\nshout = shoutkind\nraw = shoutkind.raw\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    catalog.clear_cache()
    get_kind.cache_clear()
    try:
        yield
    finally:
        catalog.clear_cache()
        get_kind.cache_clear()
        for name in [m for m in sys.modules if m.split(".")[0] == "shoutkind"]:
            del sys.modules[name]


SPEC = """\
apiVersion: evopipe/v1
name: shouting
inputs: {word: {type: string}}
steps:
  - id: loud
    kind: shout
    text: "{{ inputs.word }}"
    times: 2
  - id: after
    kind: set
    values: {v: "{{ steps.loud.output }}!"}
outputs: {out: "{{ steps.after.output.v }}"}
"""


@pytest.mark.usefixtures("plugin")
async def test_a_plugin_kind_validates_checks_and_runs_from_a_file(h: Harness) -> None:
    loaded = loads(SPEC, "shouting.yaml")
    step = loaded.pipeline.steps[0]
    assert type(step).__name__ == "ShoutStep"
    assert step.kind_info.needs_trust is False
    assert [d for d in check_pipeline(loaded.pipeline) if d.severity == "error"] == []
    result = await h.run(loaded.pipeline, {"word": "hey"})
    assert result.ok, result.error
    assert result.outputs == {"out": "HEY HEY!"}
    assert "shout" in catalog.known_kinds()


@pytest.mark.usefixtures("plugin")
def test_plugin_fields_are_validated_with_locations_and_kept_when_dumped() -> None:
    with pytest.raises(SpecError) as info:
        loads(SPEC.replace("times: 2", "times: many"), "shouting.yaml")
    (diag,) = info.value.diagnostics
    assert (diag.path, diag.line, diag.rule) == ("shouting.yaml", 8, "bad-type")
    assert diag.where == "steps[0].times"
    dumped = loads(SPEC).pipeline.model_dump(mode="json", by_alias=True)
    assert dumped["steps"][0]["text"] == "{{ inputs.word }}"
    assert dumped["steps"][0]["times"] == 2


@pytest.mark.usefixtures("plugin")
def test_unknown_kinds_are_located_and_list_the_plugins_too() -> None:
    with pytest.raises(SpecError) as info:
        loads(SPEC.replace("kind: shout", "kind: whisper"), "shouting.yaml")
    (diag,) = info.value.diagnostics
    assert (diag.rule, diag.line, diag.column) == ("unknown-kind", 6, 11)
    assert "'whisper'" in diag.message
    assert diag.where == "steps[0].kind"
    assert "shout" in diag.hint
    assert "llm" in diag.hint


@pytest.mark.usefixtures("plugin")
async def test_a_plugin_that_declares_nothing_needs_trust(h: Harness) -> None:
    text = textwrap.dedent(
        """\
        apiVersion: evopipe/v1
        name: raw
        steps:
          - {id: r, kind: raw, text: "hi"}
        """
    )
    pipeline = loads(text).pipeline
    rules = [d.rule for d in check_pipeline(pipeline) if d.severity == "error"]
    assert rules == ["unsafe-kind"]
    assert check_pipeline(pipeline, options=CheckOptions(trusted=True)) == []
    with pytest.raises(SpecError, match="unsafe-kind"):
        await h.run(pipeline)  # the services' policy is untrusted by default
    trusted = replace(h.services, policy=Policy.trusting())
    ran = await run_pipeline(pipeline, {}, services=trusted)
    assert ran.ok
    assert ran.steps[0].output == "HI"
    # The plan (checked once, under trust) is cached; the engine still refuses the step
    # under an untrusted policy, from the kind's declaration.
    untrusted = replace(trusted, policy=Policy.untrusted())
    refused = await run_pipeline(pipeline, {}, services=untrusted)
    assert refused.status == "failed"
    assert "kind 'raw' is not allowed in an untrusted pipeline" in str(refused.error)
