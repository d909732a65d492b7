"""Optional integrations switched on from the session: OpenTelemetry spans for every run
(``otel = true`` in ``evopipe.toml``, ``--otel``) and the evolution operators that need an
optional extra (``--operators ...,dspy_fewshot``).

Both live in :mod:`evopipe.interop`; this module is where the application layer plugs them in,
and where a missing extra becomes a clear error naming the ``pip install`` that fixes it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from evopipe.app.settings import SettingsError
from evopipe.evolve.config import EvolveConfigError
from evopipe.evolve.operators import Operator, OperatorContext, OperatorError
from evopipe.spec.pipeline import Pipeline

if TYPE_CHECKING:
    from evopipe.engine.events import Subscriber
    from evopipe.engine.types import ModelSource

EXPORTER_ENV = "OTEL_TRACES_EXPORTER"
_OTLP_ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def _need(extra: str, what: str, error: type[Exception]) -> None:
    raise error(f"{what} needs the {extra} extra: pip install 'evopipe[{extra}]'") from None


# -- OpenTelemetry ----------------------------------------------------------------------------


def otel_subscriber(environ: Mapping[str, str], tracer_provider: Any = None) -> Subscriber:
    """The event subscriber that turns runs into GenAI spans.

    Spans go to ``tracer_provider``; else to the process's provider when the host configured
    one (``opentelemetry-instrument``, an embedding program); else to a provider of this
    session exporting as ``OTEL_TRACES_EXPORTER`` says: ``console`` (JSON on stderr, the
    default), ``otlp`` (the default when an ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set; needs
    ``opentelemetry-exporter-otlp-proto-http``) or ``none``.
    """
    try:
        from opentelemetry import trace

        from evopipe.interop.otel import OtelSubscriber
    except ImportError:
        _need("otel", "otel = true (--otel)", SettingsError)
    if tracer_provider is None:
        configured = trace.get_tracer_provider()
        tracer_provider = configured if _is_sdk_provider(configured) else _own_provider(environ)
    return OtelSubscriber(tracer_provider)


def _is_sdk_provider(provider: Any) -> bool:
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(provider, TracerProvider)


def _own_provider(environ: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    default = "otlp" if any(environ.get(k) for k in _OTLP_ENDPOINT_ENVS) else "console"
    choice = (environ.get(EXPORTER_ENV) or default).strip().lower()
    if choice == "console":
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        return provider
    if choice == "none":
        return TracerProvider(shutdown_on_exit=False)
    if choice != "otlp":
        raise SettingsError(f"{EXPORTER_ENV}={choice!r}: use console, otlp or none")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found, unused-ignore]
            OTLPSpanExporter,
        )
    except ImportError:
        raise SettingsError(
            "the otlp span exporter needs: pip install opentelemetry-exporter-otlp-proto-http "
            f"(or set {EXPORTER_ENV}=console)"
        ) from None
    provider = TracerProvider()  # flushed when the process exits
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


# -- evolution operators that need an extra -----------------------------------------------------


class _Foreign(Protocol):
    """An operator from an extra, typed against its own view of the context."""

    name: str
    level: str
    needs_feedback: bool

    async def apply(self, parent: Pipeline, ctx: Any) -> Pipeline | None: ...


@dataclass
class _Contained:
    """A third-party operator whose errors (a model answer DSPy cannot parse, ...) make the
    proposal ``failed`` instead of ending the evolution."""

    inner: _Foreign
    name: str = ""
    level: str = ""
    needs_feedback: bool = False

    def __post_init__(self) -> None:
        self.name, self.level = self.inner.name, self.inner.level
        self.needs_feedback = self.inner.needs_feedback

    async def apply(self, parent: Pipeline, ctx: OperatorContext) -> Pipeline | None:
        try:
            return await self.inner.apply(parent, ctx)
        except OperatorError:
            raise
        except Exception as exc:  # anything the library raises is this proposal's failure
            raise OperatorError(f"{self.name}: {type(exc).__name__}: {exc}") from exc


def _dspy_fewshot(models: ModelSource, model_id: str) -> Operator:
    try:
        from evopipe.interop.dspy_bridge import DspyOptimise
    except ImportError:
        _need("dspy", "the dspy_fewshot operator", EvolveConfigError)
    return _Contained(DspyOptimise(models, model_id, name="dspy_fewshot"))


SUPPLIERS: dict[str, Callable[[ModelSource, str], Operator]] = {
    "dspy_fewshot": _dspy_fewshot,
}
"""Operator name → how to build it for a run from the session's models and the model id that
drives it (see ``evopipe.evolve.config.SUPPLIED_OPERATORS``)."""


def supplied_operators(
    names: Iterable[str], models: ModelSource, model_id: str | None
) -> dict[str, Operator]:
    """The operators among ``names`` that this layer builds (raises when an extra is missing)."""
    driver = model_id or models.default_model_id
    return {name: SUPPLIERS[name](models, driver) for name in names if name in SUPPLIERS}
