"""What a run may touch outside itself: the sandbox policy.

A :class:`Policy` is a frozen value travelling in the services context. Generated and evolved
pipelines run under :meth:`Policy.untrusted` (the default): the ``python``, ``shell`` and ``http``
kinds are refused, templates stay in Jinja's sandbox, artifacts stay in the run's workspace.
A person who wrote a pipeline and means to run it with more reach says so explicitly
(``evopipe run --trust``, or allowlists in the config) and gets :meth:`Policy.trusting`.

Even a trusting policy only opens what it lists: ``python`` calls only functions in
``python_allow``; ``http`` reaches only hosts in ``http_allow_hosts``; a ``shell`` step inherits
only ``PATH``/``LANG`` plus the names in ``env_passthrough``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evopipe.spec.errors import EvopipeError

DEFAULT_MAX_OUTPUT_BYTES = 1_000_000
"""Cap on what a shell or http step may return (stdout, stderr, response body), per stream."""

DEFAULT_MAX_MAP_ITEMS = 10_000
"""Cap on the number of items a single ``map`` step fans out over."""

BASE_ENV = ("PATH", "LANG")
"""Environment variables every shell step inherits (never secrets)."""


_CONFIG_KEYS = frozenset(
    {
        "trusted",
        "python_allow",
        "http_allow_hosts",
        "shell_allowed",
        "env_passthrough",
        "max_output_bytes",
        "max_map_items",
        "agent_network",
        "http_private_networks",
        "python_process",
    }
)


def _names(section: Mapping[str, Any], key: str) -> frozenset[str]:
    value = section.get(key, ())
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise EvopipeError(f"policy config: {key} must be a list of strings, got {value!r}")
    return frozenset(str(v) for v in value)


class PolicyError(EvopipeError):
    """A step asked for something the run's policy does not allow."""

    def __init__(self, step_id: str, message: str, *, hint: str = "") -> None:
        self.step_id = step_id
        self.hint = hint
        text = f"step {step_id!r}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


@dataclass(frozen=True, slots=True)
class Policy:
    """The sandbox a run executes in. Immutable; derive a changed copy with :meth:`replace`."""

    trusted: bool = False
    python_allow: frozenset[str] = frozenset()
    http_allow_hosts: frozenset[str] = frozenset()
    shell_allowed: bool = False
    env_passthrough: frozenset[str] = frozenset()
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_map_items: int = DEFAULT_MAX_MAP_ITEMS
    workspace_root: Path | None = field(default=None)
    agent_network: bool = False
    """Commands an ``agent`` step runs may reach the network (else: a new network namespace)."""
    http_private_networks: bool = False
    """``http`` steps may connect to addresses that are not public (loopback, private,
    link-local: an internal service). Off, an allowlisted name resolving to one is refused —
    the defence against DNS rebinding onto metadata services and internal networks."""
    python_process: bool = False
    """``python`` steps call plain (sync) functions in a child process, killed when the step
    times out or is cancelled (else: a worker thread, which runs on until the function
    returns). Coroutine functions always run on the run's event loop."""

    @classmethod
    def untrusted(cls, *, workspace_root: Path | None = None) -> Policy:
        """The default: no python, shell or http; only the safe kinds run."""
        return cls(workspace_root=workspace_root)

    @classmethod
    def trusting(
        cls,
        *,
        python_allow: Iterable[str] = (),
        http_allow_hosts: Iterable[str] = (),
        shell_allowed: bool = True,
        env_passthrough: Iterable[str] = (),
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        max_map_items: int = DEFAULT_MAX_MAP_ITEMS,
        workspace_root: Path | None = None,
        agent_network: bool = False,
        http_private_networks: bool = False,
        python_process: bool = False,
    ) -> Policy:
        """A policy for pipelines a person wrote and chose to trust (``--trust``)."""
        return cls(
            trusted=True,
            python_allow=frozenset(python_allow),
            http_allow_hosts=frozenset(h.lower().rstrip(".") for h in http_allow_hosts),
            shell_allowed=shell_allowed,
            env_passthrough=frozenset(env_passthrough),
            max_output_bytes=max_output_bytes,
            max_map_items=max_map_items,
            workspace_root=workspace_root,
            agent_network=agent_network,
            http_private_networks=http_private_networks,
            python_process=python_process,
        )

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any] | None,
        *,
        trust: bool = False,
        workspace_root: Path | None = None,
    ) -> Policy:
        """Build the policy from the ``policy:`` section of the user's config file.

        ``trust`` is the CLI's ``--trust``; without it (or ``trusted: true`` in the config)
        the allowlists are ignored and the result is :meth:`untrusted`. Unknown keys are an
        error naming them, so a typo never silently widens or narrows the sandbox.
        """
        section = dict(config or {})
        unknown = sorted(set(section) - _CONFIG_KEYS)
        if unknown:
            raise EvopipeError(
                f"unknown key(s) in the policy config: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(_CONFIG_KEYS))})"
            )
        max_output = int(section.get("max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES))
        max_items = int(section.get("max_map_items", DEFAULT_MAX_MAP_ITEMS))
        if not (trust or section.get("trusted") is True):
            return cls(
                max_output_bytes=max_output, max_map_items=max_items, workspace_root=workspace_root
            )
        return cls.trusting(
            python_allow=_names(section, "python_allow"),
            http_allow_hosts=_names(section, "http_allow_hosts"),
            shell_allowed=bool(section.get("shell_allowed", True)),
            env_passthrough=_names(section, "env_passthrough"),
            max_output_bytes=max_output,
            max_map_items=max_items,
            workspace_root=workspace_root,
            agent_network=section.get("agent_network") is True,
            http_private_networks=section.get("http_private_networks") is True,
            python_process=section.get("python_process") is True,
        )

    @classmethod
    def load(
        cls,
        project_dir: Path | None = None,
        *,
        trust: bool = False,
        env: Mapping[str, str] | None = None,
        workspace_root: Path | None = None,
    ) -> Policy:
        """The policy from the ``[policy]`` tables of the config files (the user's
        ``~/.config/evopipe/config.toml`` or ``$EVOPIPE_CONFIG``, then the project's
        ``evopipe.toml``, which wins key by key) and the CLI's ``--trust``."""
        from evopipe.models.config import PROJECT_FILE, user_config_path

        env = os.environ if env is None else env
        section: dict[str, Any] = {}
        for path in (user_config_path(env), (project_dir or Path.cwd()) / PROJECT_FILE):
            if path.is_file():
                try:
                    data = tomllib.loads(path.read_text(encoding="utf-8"))
                except (OSError, tomllib.TOMLDecodeError) as exc:
                    raise EvopipeError(f"{path}: cannot read the config: {exc}") from None
                table = data.get("policy", {})
                if not isinstance(table, dict):
                    raise EvopipeError(f"{path}: [policy] must be a table")
                section.update(table)
        return cls.from_config(section, trust=trust, workspace_root=workspace_root)

    def replace(self, **changes: object) -> Policy:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def as_untrusted(self) -> Policy:
        """The policy a generated pipeline runs under: this one with every unsafe door shut.

        Resource caps are kept (never raised), so a child cannot exceed its parent.
        """
        return Policy(
            trusted=False,
            max_output_bytes=self.max_output_bytes,
            max_map_items=self.max_map_items,
            workspace_root=self.workspace_root,
        )

    # -- checks used by the unsafe kinds ------------------------------------------------------

    def require_trusted(self, step_id: str, kind: str) -> None:
        """Refuse an unsafe kind under an untrusted policy."""
        if not self.trusted:
            raise PolicyError(
                step_id,
                f"kind {kind!r} is not allowed in an untrusted pipeline "
                "(generated and evolved pipelines are untrusted)",
                hint="run a pipeline you wrote yourself with `evopipe run --trust`",
            )

    def check_python(self, step_id: str, function: str) -> None:
        self.require_trusted(step_id, "python")
        if function not in self.python_allow:
            raise PolicyError(
                step_id,
                f"python function {function!r} is not in the allowlist",
                hint="add it to `policy.python_allow` in the config",
            )

    def check_shell(self, step_id: str) -> None:
        self.require_trusted(step_id, "shell")
        if not self.shell_allowed:
            raise PolicyError(step_id, "shell steps are disabled by the policy")

    def check_http_host(self, step_id: str, host: str) -> None:
        self.require_trusted(step_id, "http")
        if host.lower().rstrip(".") not in self.http_allow_hosts:
            raise PolicyError(
                step_id,
                f"host {host!r} is not in the http allowlist",
                hint="add it to `policy.http_allow_hosts` in the config",
            )
