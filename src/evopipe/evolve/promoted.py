"""Promoted operators: an operator pipeline evolved with ``evopipe evolve --operator NAME`` and
promoted with ``evopipe promote`` becomes the champion under its pipeline's name (e.g.
``operator-reflect``); evolution then runs that champion in place of the shipped file.

A run records the candidate ids of the operator pipelines it used (``operator_pipelines`` in
its config), so a resumed run uses the same ones even if another champion was promoted since.
"""

from __future__ import annotations

from collections.abc import Mapping

from evopipe.evolve.meta import OPERATOR_PIPELINES
from evopipe.evolve.operator_runner import load_operator
from evopipe.evolve.repository import EvolutionRepository
from evopipe.orchestrate.registry import Registry
from evopipe.spec import Pipeline


def promoted_operators(registry: Registry) -> dict[str, Pipeline]:
    """Operator pipeline (file name) → the champion promoted under its pipeline name."""
    found: dict[str, Pipeline] = {}
    for file_name in sorted(set(OPERATOR_PIPELINES.values())):
        champion = registry.champion(load_operator(file_name).name)
        if champion is not None:
            found[file_name] = champion.spec
    return found


def recorded_operators(repo: EvolutionRepository, ids: Mapping[str, str]) -> dict[str, Pipeline]:
    """The operator pipelines a run recorded (file name → candidate id), from the store."""
    return {name: repo.get_spec(cid) for name, cid in ids.items()}
