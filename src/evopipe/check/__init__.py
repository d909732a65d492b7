"""Validation of pipelines: one small rule per function, registered in :data:`RULES`.

>>> from evopipe.check import check_text
>>> [d.rule for d in check_text("apiVersion: evopipe/v1\nname: x\nsteps: []\n")]
['bad-type']
"""

from evopipe.check.api import (
    UnknownProfileError,
    check_file,
    check_pipeline,
    check_text,
    has_errors,
)
from evopipe.check.options import CheckOptions, GeneratedOptions
from evopipe.check.registry import PROFILES, Example, Rule
from evopipe.check.rules import RULES, RULES_BY_NAME
from evopipe.check.validity import Validity, assess

__all__ = [
    "PROFILES",
    "RULES",
    "RULES_BY_NAME",
    "CheckOptions",
    "Example",
    "GeneratedOptions",
    "Rule",
    "UnknownProfileError",
    "Validity",
    "assess",
    "check_file",
    "check_pipeline",
    "check_text",
    "has_errors",
]
