"""Evolution operators, one module each, registered by name in :data:`OPERATORS`."""

from __future__ import annotations

from evopipe.evolve.operators.base import (
    Level,
    Operator,
    OperatorContext,
    OperatorError,
    OperatorRunner,
)
from evopipe.evolve.operators.bootstrap import FewShotBootstrap
from evopipe.evolve.operators.clause import ClauseAssembly
from evopipe.evolve.operators.crossover import Crossover
from evopipe.evolve.operators.demo_select import DemoSelect
from evopipe.evolve.operators.format_constraint import FormatConstraint
from evopipe.evolve.operators.insert_ensemble import InsertEnsemble
from evopipe.evolve.operators.insert_json_repair import InsertJsonRepair
from evopipe.evolve.operators.insert_tool import InsertTool
from evopipe.evolve.operators.insert_verifier import InsertVerifier
from evopipe.evolve.operators.instruction import InstructionVariant
from evopipe.evolve.operators.model_switch import ModelSwitch
from evopipe.evolve.operators.parallelise import Parallelise
from evopipe.evolve.operators.params import ParameterTweak
from evopipe.evolve.operators.reflect import Reflect
from evopipe.evolve.operators.remove import RemoveStep
from evopipe.evolve.operators.tool_search import ToolSearch
from evopipe.evolve.operators.transplant import Transplant

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Reflect(),
        FewShotBootstrap(),
        InstructionVariant(),
        ParameterTweak(),
        DemoSelect(),
        ClauseAssembly(),
        FormatConstraint(),
        ModelSwitch(),
        InsertTool(direct=()),
        ToolSearch(),
        InsertVerifier(),
        InsertEnsemble(),
        InsertJsonRepair(),
        RemoveStep(),
        Parallelise(),
        Transplant(),
        Crossover(),
    )
}
"""Operator name → operator. The loop draws from the names enabled for a run.

``insert_tool`` is registered without its hand-written *direct* recipes (``count_listed``
reading the question): whole-input tool programs are found by ``tool_search``, whose grammar
has every generic tool (``count_listed`` included)."""

__all__ = ["OPERATORS", "Level", "Operator", "OperatorContext", "OperatorError", "OperatorRunner"]
