"""The pipeline format: typed models, YAML loading with locations, templates, canonical hash.

This layer imports nothing else of evopipe's.
"""

from evopipe.spec.base import OutputContract, Retry, StepBase
from evopipe.spec.canonical import canonical_data, canonical_json, spec_hash, to_yaml
from evopipe.spec.catalog import KindInfo
from evopipe.spec.errors import (
    ConditionError,
    Diagnostic,
    EvopipeError,
    SpecError,
    TemplateError,
)
from evopipe.spec.kinds import KIND_MODELS, UNSAFE_KINDS
from evopipe.spec.loader import Loaded, Source, format_where, load_file, loads, parse_yaml
from evopipe.spec.pipeline import Defaults, Limits, Persona, Pipeline, Step

__all__ = [
    "KIND_MODELS",
    "UNSAFE_KINDS",
    "ConditionError",
    "Defaults",
    "Diagnostic",
    "EvopipeError",
    "KindInfo",
    "Limits",
    "Loaded",
    "OutputContract",
    "Persona",
    "Pipeline",
    "Retry",
    "Source",
    "SpecError",
    "Step",
    "StepBase",
    "TemplateError",
    "canonical_data",
    "canonical_json",
    "format_where",
    "load_file",
    "loads",
    "parse_yaml",
    "spec_hash",
    "to_yaml",
]
