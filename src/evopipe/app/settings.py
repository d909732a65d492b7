"""Settings: everything a session needs to be composed, as plain serialisable data.

Sources, later ones winning: built-in defaults → the user's config file
(``~/.config/evopipe/config.toml`` or ``$EVOPIPE_CONFIG``) and the project's ``evopipe.toml``
(``default_model``, ``db``, ``otel``, ``executor``, ``ray_address``, ``ray_models``,
``embeddings``) → the environment
(``EVOPIPE_DB``, ``EVOPIPE_MODEL``, ``EVOPIPE_EXECUTOR``) → flags
(explicit keyword arguments of :meth:`Settings.load`).

Settings hold no secrets: API keys stay in the environment and are read only when a client is
built. A ``Settings`` pickles and round-trips through JSON, so a worker process (the HTTP
server's, Ray's) can rebuild the same session from it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from evopipe.spec.errors import EvopipeError

PROJECT_FILE = "evopipe.toml"
CONFIG_ENV = "EVOPIPE_CONFIG"
DB_ENV = "EVOPIPE_DB"
MODEL_ENV = "EVOPIPE_MODEL"
EXECUTOR_ENV = "EVOPIPE_EXECUTOR"
EMBEDDINGS_ENV = "EVOPIPE_EMBEDDINGS"


class SettingsError(EvopipeError):
    """A settings source is malformed (the file and key are named)."""


@dataclass(frozen=True)
class Settings:
    """What a session is composed from (see :class:`evopipe.app.App`)."""

    project_dir: str = "."
    """Where ``evopipe.toml`` is read, relative paths resolve and the default store lives."""
    db: str | None = None
    """Store URL or path; None: ``.evopipe/evopipe.db`` under ``project_dir``."""
    persist: bool = True
    """False: keep journals in memory and write no database (the Python API's default)."""
    default_model: str | None = None
    """Model for steps that pin none, below a pipeline's ``defaults.model`` (None: the config
    files' ``default_model``, else the embedded model)."""
    model: str | None = None
    """Model forced on every step that pins none, above ``defaults.model`` (``--model``)."""
    trust: bool = False
    """Trusting policy: python/shell/http steps allowed (``--trust``)."""
    cache: bool = True
    """Use the store's response cache (``--no-cache`` turns it off)."""
    user_config: str | None = None
    """The user's config file; None: ``$EVOPIPE_CONFIG`` or ``~/.config/evopipe/config.toml``."""
    otel: bool = False
    """OpenTelemetry GenAI spans for every run (``otel = true``, ``--otel``; the ``otel`` extra;
    see :func:`evopipe.app.integrations.otel_subscriber` for where they go)."""
    executor: str = "local"
    """Where steps run: ``local`` (this event loop) or ``ray`` (``--executor``; docs/ray.md)."""
    ray_address: str | None = None
    """The Ray cluster for ``executor = "ray"`` (``--ray-address``; None: ``$RAY_ADDRESS``,
    else a Ray instance started in this process)."""
    ray_models: str = "worker"
    """Where a step shipped to Ray calls its models: ``worker`` (on the Ray worker, from the
    session's model configuration; the owner counts the calls when the step returns) or
    ``owner`` (every call comes back to the run owner: the budget is checked before each call;
    one more actor call per model step). See docs/ray.md."""
    embeddings: str | None = None
    """A local embedding model for the pattern DB's search (``embeddings = "minilm"``,
    ``EVOPIPE_EMBEDDINGS``; the ``embed`` extra; :mod:`evopipe.memory.embeddings`)."""

    @classmethod
    def load(
        cls,
        project_dir: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **flags: Any,
    ) -> Settings:
        """Defaults, then config files, then the environment, then ``flags`` (a flag given as
        None counts as not given)."""
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(flags) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        base = Path(project_dir) if project_dir is not None else Path.cwd()
        user = flags.get("user_config") or env.get(CONFIG_ENV)
        values: dict[str, Any] = {"project_dir": str(base.resolve())}
        values.update(_from_files(base, user, env))
        if env.get(DB_ENV):
            values["db"] = env[DB_ENV]
        if env.get(MODEL_ENV):
            values["default_model"] = env[MODEL_ENV]
        if env.get(EXECUTOR_ENV):
            values["executor"] = env[EXECUTOR_ENV]
        if env.get(EMBEDDINGS_ENV):
            values["embeddings"] = env[EMBEDDINGS_ENV]
        values.update({k: v for k, v in flags.items() if v is not None})
        return cls(**values)

    @property
    def project_path(self) -> Path:
        return Path(self.project_dir)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_FILE_KEYS: dict[str, type] = {
    "default_model": str,
    "db": str,
    "otel": bool,
    "executor": str,
    "ray_address": str,
    "ray_models": str,
    "embeddings": str,
}


def _from_files(base: Path, user: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    """The keys of ``_FILE_KEYS`` from the user file, then the project file."""
    from evopipe.models.config import user_config_path

    paths = [Path(user).expanduser() if user else user_config_path(env), base / PROJECT_FILE]
    out: dict[str, Any] = {}
    for path in paths:
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read the config: {exc}") from None
        for key, kind in _FILE_KEYS.items():
            if key not in data:
                continue
            if not isinstance(data[key], kind):
                raise SettingsError(f"{path}: {key} must be a {kind.__name__}")
            value = data[key]
            if key == "db" and "://" not in value and not Path(value).is_absolute():
                value = str((path.parent / value).resolve())  # relative to its file
            out[key] = value
    return out
