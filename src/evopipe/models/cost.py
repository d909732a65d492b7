"""Per-call cost in USD from ``genai-prices`` (offline, bundled data) or config overrides.

An unknown model costs ``None`` (never a silent 0) and logs ONE warning per model per
:class:`PriceBook` (one book lives on each hub). Local and test models cost 0.0 explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import genai_prices

from evopipe.models.base import Usage
from evopipe.models.config import PriceOverride

log = logging.getLogger("evopipe.models.cost")

_PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic", "google": "google"}


class PriceBook:
    def __init__(self, overrides: Mapping[str, PriceOverride] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._warned: set[str] = set()

    def cost(self, model_id: str, usage: Usage, *, provider: str, model_ref: str) -> float | None:
        """USD for ``usage`` on ``model_id`` (``provider:model_ref``), or ``None`` if unknown."""
        price = self._lookup(model_id, usage, provider=provider, model_ref=model_ref)
        if price is None:
            self._warn_once(model_id)
        return price

    def known(self, model_id: str, *, provider: str, model_ref: str) -> bool:
        """Whether ``model_id`` has a price (an override or the bundled data)."""
        usage = Usage(1, 1)
        return self._lookup(model_id, usage, provider=provider, model_ref=model_ref) is not None

    def _lookup(
        self, model_id: str, usage: Usage, *, provider: str, model_ref: str
    ) -> float | None:
        override = self._overrides.get(model_id)
        if override is not None:
            return (
                usage.input_tokens * override.input_per_mtok
                + usage.output_tokens * override.output_per_mtok
            ) / 1_000_000
        provider_id = _PROVIDER_IDS.get(provider)
        if provider_id is not None:
            try:
                calc = genai_prices.calc_price(
                    genai_prices.Usage(
                        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens
                    ),
                    model_ref,
                    provider_id=provider_id,
                )
                return float(calc.total_price)
            except LookupError:
                pass
        return None

    def _warn_once(self, model_id: str) -> None:
        if model_id in self._warned:
            return
        self._warned.add(model_id)
        log.warning(
            "no price known for model %s: its cost is reported as null; add "
            '[prices."%s"] to evopipe.toml to set one',
            model_id,
            model_id,
        )
