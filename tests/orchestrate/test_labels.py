"""Aliases and tags on versions; every change logged and undoable."""

from __future__ import annotations

import pytest

from evopipe.orchestrate.labels import Labels
from evopipe.orchestrate.registry import Registry, RegistryError
from evopipe.store import Store


def test_aliases_point_at_versions_and_champion_is_an_alias(registered: Store) -> None:
    labels = Labels(registered)
    labels.set_alias("summarise", "stable", 2)
    assert labels.aliases("summarise") == {"stable": 2, "champion": 1}
    labels.set_alias("summarise", "champion", 3, reason="better on held-out")
    assert Registry(registered).champion("summarise").version == 3  # type: ignore[union-attr]
    assert labels.resolve("summarise", "champion") == 3
    with pytest.raises(RegistryError, match="no version 9"):
        labels.set_alias("summarise", "stable", 9)
    with pytest.raises(RegistryError, match="bad alias"):
        labels.set_alias("summarise", "Bad Alias", 1)


def test_every_change_can_be_undone_once(registered: Store) -> None:
    labels = Labels(registered)
    first = labels.set_alias("summarise", "stable", 2)
    second = labels.set_alias("summarise", "stable", 3)
    tag = labels.tag("summarise", 3, "nlp")
    champ = labels.set_alias("summarise", "champion", 2)
    assert labels.tags("summarise") == {3: ["nlp"]}
    assert labels.tagged("nlp") == [("summarise", 3)]

    labels.undo(champ.id)
    assert labels.resolve("summarise", "champion") == 1
    labels.undo(tag.id)
    assert labels.tags("summarise") == {}
    labels.undo(second.id)
    assert labels.resolve("summarise", "stable") == 2
    labels.undo(first.id)
    assert "stable" not in labels.aliases("summarise")
    with pytest.raises(RegistryError, match="already undone"):
        labels.undo(first.id)
    actions = [c.action for c in labels.changes("summarise")]
    assert actions == [
        "set_alias",
        "set_alias",
        "tag",
        "set_alias",
        "undo_alias",
        "untag",
        "undo_alias",
        "undo_alias",
    ]
    undo = labels.changes("summarise")[-1]
    assert (undo.before, undo.after) == (2, None)


def test_removing_an_alias_is_logged_and_undone(registered: Store) -> None:
    labels = Labels(registered)
    labels.set_alias("summarise", "beta", 2)
    removed = labels.remove_alias("summarise", "beta", reason="retired")
    assert "beta" not in labels.aliases("summarise")
    labels.undo(removed.id)
    assert labels.resolve("summarise", "beta") == 2
    with pytest.raises(RegistryError, match="moved"):
        labels.remove_alias("summarise", "champion")
