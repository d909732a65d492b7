"""Fixtures of the evaluation tests."""

from __future__ import annotations

import pytest
from eval_helpers import CALC, CLASSIFY, pipeline

from evopipe.spec import Pipeline


@pytest.fixture
def calc() -> Pipeline:
    return pipeline(CALC)


@pytest.fixture
def classify() -> Pipeline:
    return pipeline(CLASSIFY)
