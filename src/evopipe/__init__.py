"""evopipe: pipelines that build pipelines.

The curated public API; a test pins these names. The pipeline format is imported eagerly (it is
light); everything else loads on first use, so ``import evopipe`` stays fast and has no side
effects.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evopipe.spec import (
    Diagnostic,
    EvopipeError,
    Pipeline,
    SpecError,
    load_file,
    loads,
    spec_hash,
    to_yaml,
)

if TYPE_CHECKING:
    from evopipe.app import App, PipelineHandle, Settings, load
    from evopipe.check import CheckOptions, check_file, check_pipeline, check_text
    from evopipe.engine import (
        RunOptions,
        RunResult,
        Services,
        resume_run,
        run_pipeline,
        run_pipeline_sync,
    )
    from evopipe.engine.policy import Policy, PolicyError
    from evopipe.evaluate import (
        Budget,
        EvalReport,
        build_metrics,
        compare,
        evaluate,
        gate,
        load_dataset,
    )
    from evopipe.genesis import GenerationError, GenerationResult, agenerate, generate
    from evopipe.models import (
        Message,
        ModelError,
        ModelHub,
        ModelRequest,
        ModelResponse,
        load_config,
    )
    from evopipe.spec.conditions import parse_condition
    from evopipe.store import Store, resolve_db_url

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "CheckOptions": "evopipe.check",
    "check_file": "evopipe.check",
    "check_pipeline": "evopipe.check",
    "check_text": "evopipe.check",
    "parse_condition": "evopipe.spec.conditions",
    "Message": "evopipe.models",
    "ModelError": "evopipe.models",
    "ModelHub": "evopipe.models",
    "ModelRequest": "evopipe.models",
    "ModelResponse": "evopipe.models",
    "load_config": "evopipe.models",
    "App": "evopipe.app",
    "Settings": "evopipe.app",
    "PipelineHandle": "evopipe.app",
    "RunOptions": "evopipe.engine",
    "RunResult": "evopipe.engine",
    "Services": "evopipe.engine",
    "load": "evopipe.app",
    "resume_run": "evopipe.engine",
    "run_pipeline": "evopipe.engine",
    "run_pipeline_sync": "evopipe.engine",
    "Policy": "evopipe.engine.policy",
    "PolicyError": "evopipe.engine.policy",
    "Store": "evopipe.store",
    "resolve_db_url": "evopipe.store",
    "GenerationError": "evopipe.genesis",
    "GenerationResult": "evopipe.genesis",
    "agenerate": "evopipe.genesis",
    "generate": "evopipe.genesis",
    "Budget": "evopipe.evaluate",
    "EvalReport": "evopipe.evaluate",
    "build_metrics": "evopipe.evaluate",
    "compare": "evopipe.evaluate",
    "evaluate": "evopipe.evaluate",
    "gate": "evopipe.evaluate",
    "load_dataset": "evopipe.evaluate",
}

__all__ = [
    "App",
    "Budget",
    "CheckOptions",
    "Diagnostic",
    "EvalReport",
    "EvopipeError",
    "GenerationError",
    "GenerationResult",
    "Message",
    "ModelError",
    "ModelHub",
    "ModelRequest",
    "ModelResponse",
    "Pipeline",
    "PipelineHandle",
    "Policy",
    "PolicyError",
    "RunOptions",
    "RunResult",
    "Services",
    "Settings",
    "SpecError",
    "Store",
    "__version__",
    "agenerate",
    "build_metrics",
    "check_file",
    "check_pipeline",
    "check_text",
    "compare",
    "evaluate",
    "gate",
    "generate",
    "load",
    "load_config",
    "load_dataset",
    "load_file",
    "loads",
    "parse_condition",
    "resolve_db_url",
    "resume_run",
    "run_pipeline",
    "run_pipeline_sync",
    "spec_hash",
    "to_yaml",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evopipe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
