"""Canary: the configured share of keys goes to the challenger, sticky per key; a challenger
that breaches its error-rate or fitness threshold is demoted automatically."""

from __future__ import annotations

import pytest

from evopipe.orchestrate.canary import Canaries
from evopipe.orchestrate.labels import Labels
from evopipe.orchestrate.registry import RegistryError
from evopipe.store import Store


def test_ten_percent_configured_is_eight_to_twelve_percent_observed_and_sticky(
    registered: Store,
) -> None:
    canaries = Canaries(registered)
    canaries.start("summarise", 2, share=0.10)
    picks = [canaries.pick("summarise", f"user-{i}", champion=1) for i in range(2000)]
    share = sum(p.role == "challenger" for p in picks) / len(picks)
    assert 0.08 <= share <= 0.12, share
    assert {p.version for p in picks} == {1, 2}
    again = [canaries.pick("summarise", f"user-{i}", champion=1) for i in range(2000)]
    assert again == picks  # sticky per key


def test_a_failing_challenger_is_demoted_and_the_alias_moves_back(registered: Store) -> None:
    canaries = Canaries(registered)
    canaries.start("summarise", 3, share=0.2, max_error_rate=0.25, min_requests=10)
    assert Labels(registered).resolve("summarise", "canary") == 3
    demoted = None
    for i in range(10):
        assert demoted is None
        demoted = canaries.observe("summarise", 3, ok=i % 2 == 0)  # 50 % errors
    assert demoted is not None
    assert demoted.state == "demoted"
    assert "error rate 50.00% over 10 runs" in (demoted.reason or "")
    assert "canary" not in Labels(registered).aliases("summarise")
    assert canaries.pick("summarise", "anyone", champion=1).role == "champion"
    change = Labels(registered).changes("summarise")[-1]
    assert (change.action, change.reason) == ("remove_alias", demoted.reason)


def test_fitness_threshold_and_healthy_challenger(registered: Store) -> None:
    canaries = Canaries(registered)
    canaries.start("summarise", 2, min_fitness=0.7, min_requests=5)
    for _ in range(5):
        assert canaries.observe("summarise", 1, ok=False) is None  # champion outcomes don't count
    for _ in range(4):
        assert canaries.observe("summarise", 2, ok=True, fitness=0.9) is None
    assert canaries.observe("summarise", 2, ok=True, fitness=0.1) is None  # mean 0.74
    demoted = canaries.observe("summarise", 2, ok=True, fitness=0.0)  # mean 0.62
    assert demoted is not None
    assert "mean fitness 0.617" in (demoted.reason or "")


def test_bad_canaries_are_refused(registered: Store) -> None:
    with pytest.raises(RegistryError, match="share"):
        Canaries(registered).start("summarise", 2, share=1.5)
    with pytest.raises(RegistryError, match="no version"):
        Canaries(registered).start("summarise", 7)
