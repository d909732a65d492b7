"""Evaluation: datasets, metrics, judges and multi-objective fitness.

``await evaluate(pipeline, dataset, metrics, services=..., split="val")`` runs a pipeline over a
split behind the response cache and returns an :class:`EvalReport` (quality with a bootstrap
CI, cost, tokens, latency, success rate, per-example results). :func:`gate` is the cheap
minibatch check; :func:`compare` the paired bootstrap between two pipelines.
"""

from evopipe.evaluate.caching import AlwaysCached, eval_services
from evopipe.evaluate.compare import (
    Comparison,
    GateResult,
    Projection,
    compare,
    gate,
    paired_scores,
    project_cost,
)
from evopipe.evaluate.dataset import (
    Dataset,
    DatasetError,
    Example,
    assign_splits,
    from_rows,
    load_dataset,
    parse_mapping,
)
from evopipe.evaluate.metrics import (
    METRICS,
    Case,
    Metric,
    MetricEnv,
    MetricError,
    Score,
    build_metric,
    build_metrics,
)
from evopipe.evaluate.recorder import EvalRecorder, MemoryRecorder, NullRecorder
from evopipe.evaluate.report import EvalReport, ExampleResult, Objectives, objectives
from evopipe.evaluate.runner import (
    Budget,
    BudgetError,
    EvalSettings,
    evaluate,
    pipeline_inputs,
    prediction_of,
    run_example,
)
from evopipe.evaluate.stats import (
    Interval,
    PairedResult,
    StatsError,
    bootstrap_ci,
    paired_bootstrap,
    percentile,
)

__all__ = [
    "METRICS",
    "AlwaysCached",
    "Budget",
    "BudgetError",
    "Case",
    "Comparison",
    "Dataset",
    "DatasetError",
    "EvalRecorder",
    "EvalReport",
    "EvalSettings",
    "Example",
    "ExampleResult",
    "GateResult",
    "Interval",
    "MemoryRecorder",
    "Metric",
    "MetricEnv",
    "MetricError",
    "NullRecorder",
    "Objectives",
    "PairedResult",
    "Projection",
    "Score",
    "StatsError",
    "assign_splits",
    "bootstrap_ci",
    "build_metric",
    "build_metrics",
    "compare",
    "eval_services",
    "evaluate",
    "from_rows",
    "gate",
    "load_dataset",
    "objectives",
    "paired_bootstrap",
    "paired_scores",
    "parse_mapping",
    "percentile",
    "pipeline_inputs",
    "prediction_of",
    "project_cost",
    "run_example",
]
