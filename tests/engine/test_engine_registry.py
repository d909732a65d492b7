"""The kind registry: built-in table, entry points, clear errors."""

from __future__ import annotations

from importlib import metadata

import pytest

from evopipe import steps
from evopipe.spec.kinds import KIND_MODELS
from evopipe.steps import KINDS, UnknownKindError, get_kind


def test_every_kind_of_the_format_is_registered_and_importable() -> None:
    assert set(KINDS) == set(KIND_MODELS)
    for name in KINDS:
        kind = get_kind(name)
        assert kind.kind == name
        assert kind.config_model is KIND_MODELS[name]
        assert callable(kind.run)


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(UnknownKindError, match=r"unknown step kind 'nope'.*llm"):
        get_kind("nope")


def test_third_party_kinds_come_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = metadata.EntryPoint(name="myset", value="evopipe.steps.set", group="evopipe.kinds")

    def entry_points(*, group: str) -> list[metadata.EntryPoint]:
        return [fake] if group == "evopipe.kinds" else []

    monkeypatch.setattr(steps.metadata, "entry_points", entry_points)
    get_kind.cache_clear()
    try:
        assert get_kind("myset").kind == "set"
    finally:
        get_kind.cache_clear()


def test_every_built_in_kind_declares_its_capabilities_on_its_model() -> None:
    from evopipe.spec.catalog import KindInfo, builtin_kinds_where

    for name, model in KIND_MODELS.items():
        assert "kind_info" in vars(model), f"{name} inherits the cautious default"
        assert isinstance(model.kind_info, KindInfo)
    assert builtin_kinds_where("needs_trust") == {"python", "shell", "http", "coding_agent"}
    assert builtin_kinds_where("calls_model") == {"llm", "extract", "generate", "agent", "session"}
    assert builtin_kinds_where("prompted") == {"llm", "extract"}
    assert builtin_kinds_where("container") == {"map", "loop", "pipeline", "generate"}
