"""Model settings: default model, named endpoints, price overrides, limits.

Read from ``evopipe.toml`` in the project directory and the user's
``~/.config/evopipe/config.toml`` (or ``$EVOPIPE_CONFIG``); the project file wins. Nothing is read
at import time: call :func:`load_config`. API keys are never part of the config — an endpoint
names the environment variable (``api_key_env``) and the key is read from the environment only
when a client is built, so ``repr`` of these objects can never show one.

```toml
default_model = "ollama:qwen3"

[endpoints.ollama]              # ids ollama:<model>, via the OpenAI-compatible adapter
base_url = "http://localhost:11434/v1"
api_key_env = "OLLAMA_API_KEY"  # optional for local servers
models = ["qwen3"]
concurrency = 2
requests_per_minute = 120

[endpoints.openai]              # same name as a built-in provider: limits/base URL for it
concurrency = 8

[prices."ollama:qwen3"]         # USD per million tokens
input_per_mtok = 0.0
output_per_mtok = 0.0
```
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.models.base import ModelError

PROJECT_FILE = "evopipe.toml"
CONFIG_ENV = "EVOPIPE_CONFIG"
FALLBACK_DEFAULT_MODEL = "local:smollm2-135m"


class ModelConfigError(ModelError):
    """The model configuration is malformed (file and key named in the message)."""


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """A named endpoint. ``adapter`` picks the client; unset, an endpoint named like a built-in
    provider (``openai``, ``anthropic``, ``google``) configures that provider, any other name is
    an OpenAI-compatible server."""

    name: str
    adapter: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    models: tuple[str, ...] = ()
    concurrency: int | None = None
    requests_per_minute: float | None = None
    timeout_s: float | None = None

    def api_key(self, env: Mapping[str, str]) -> str | None:
        """The key from the environment (never stored on this object)."""
        return env.get(self.api_key_env) if self.api_key_env else None


@dataclass(frozen=True, slots=True)
class PriceOverride:
    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True, slots=True)
class ModelsConfig:
    default_model: str | None = None
    endpoints: Mapping[str, EndpointConfig] = field(default_factory=dict)
    prices: Mapping[str, PriceOverride] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path)
    local_model_path: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    sources: tuple[str, ...] = ()


def user_config_path(env: Mapping[str, str]) -> Path:
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "evopipe" / "config.toml"


def load_config(
    project_dir: str | Path | None = None,
    *,
    user_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> ModelsConfig:
    """Merge the user file then the project file (``project_dir/evopipe.toml``) over defaults."""
    env = os.environ if env is None else env
    base_dir = Path(project_dir) if project_dir is not None else Path.cwd()
    paths = [Path(user_path) if user_path is not None else user_config_path(env)]
    paths.append(base_dir / PROJECT_FILE)
    merged: dict[str, Any] = {}
    sources: list[str] = []
    for path in paths:
        if path.is_file():
            _merge(merged, _read(path))
            sources.append(str(path))
    return config_from_dict(merged, base_dir=base_dir, env=env, sources=tuple(sources))


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelConfigError(f"{path}: cannot read model config: {exc}") from exc


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def config_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    sources: tuple[str, ...] = (),
) -> ModelsConfig:
    where = ", ".join(sources) or "config"
    endpoints = {
        name: _endpoint(name, raw, where) for name, raw in dict(data.get("endpoints", {})).items()
    }
    prices = {mid: _price(mid, raw, where) for mid, raw in dict(data.get("prices", {})).items()}
    default = data.get("default_model")
    if default is not None and not isinstance(default, str):
        raise ModelConfigError(f"{where}: default_model must be a string")
    return ModelsConfig(
        default_model=default,
        endpoints=endpoints,
        prices=prices,
        base_dir=base_dir or Path.cwd(),
        local_model_path=data.get("local_model_path"),
        env=os.environ if env is None else env,
        sources=sources,
    )


_ENDPOINT_KEYS: dict[str, type | tuple[type, ...]] = {
    "adapter": str,
    "base_url": str,
    "api_key_env": str,
    "models": list,
    "concurrency": int,
    "requests_per_minute": (int, float),
    "timeout_s": (int, float),
}


def _endpoint(name: str, raw: Any, where: str) -> EndpointConfig:
    if not isinstance(raw, Mapping):
        raise ModelConfigError(f"{where}: [endpoints.{name}] must be a table")
    for key, value in raw.items():
        expected = _ENDPOINT_KEYS.get(key)
        if expected is None:
            if key in ("api_key", "key"):
                raise ModelConfigError(
                    f"{where}: [endpoints.{name}] must not hold a key; set api_key_env to the "
                    "name of an environment variable instead"
                )
            raise ModelConfigError(
                f"{where}: [endpoints.{name}] unknown setting {key!r}; "
                f"expected one of {', '.join(_ENDPOINT_KEYS)}"
            )
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ModelConfigError(f"{where}: [endpoints.{name}] {key} has the wrong type")
    return EndpointConfig(
        name=name,
        adapter=raw.get("adapter"),
        base_url=raw.get("base_url"),
        api_key_env=raw.get("api_key_env"),
        models=tuple(str(m) for m in raw.get("models", [])),
        concurrency=raw.get("concurrency"),
        requests_per_minute=raw.get("requests_per_minute"),
        timeout_s=raw.get("timeout_s"),
    )


def _price(model_id: str, raw: Any, where: str) -> PriceOverride:
    try:
        return PriceOverride(float(raw["input_per_mtok"]), float(raw["output_per_mtok"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelConfigError(
            f'{where}: [prices."{model_id}"] needs numeric input_per_mtok and output_per_mtok'
        ) from exc
