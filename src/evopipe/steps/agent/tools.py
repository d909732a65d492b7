"""The agent's tool table: name → description, JSON Schema of arguments, gate, handler.

Gates are checked once, before the first model call (:func:`check_gates`): ``write``/``edit``
need a trusting policy, ``run`` needs shell steps allowed (and a non-empty allowlist). ``finish``
is always offered: its ``answer`` ends the loop (with an output contract, its schema is the
contract's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evopipe.engine.policy import Policy, PolicyError
from evopipe.models.base import ToolSpec
from evopipe.steps.agent import files
from evopipe.steps.agent.commands import check_allowed, parse_command, run_command
from evopipe.steps.agent.files import ToolFailed

Gate = Literal["read", "write", "run"]
FINISH = "finish"


@dataclass
class Workbench:
    """What tool handlers act on: one per agent attempt."""

    root: Path
    policy: Policy
    commands: Sequence[str]
    timeout_s: float
    net_prefix: Sequence[str] = ()
    changed: set[str] = field(default_factory=set)


Handler = Callable[[Workbench, dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    gate: Gate
    handler: Handler

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


def _obj(props: dict[str, Any], required: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(required),
        "additionalProperties": False,
    }


_STR = {"type": "string"}


async def _list(wb: Workbench, a: dict[str, Any]) -> str:
    return files.list_files(wb.root, str(a.get("path", ".")))


async def _read(wb: Workbench, a: dict[str, Any]) -> str:
    return files.read_file(wb.root, a["path"], int(a.get("start_line", 1)), a.get("end_line"))


async def _grep(wb: Workbench, a: dict[str, Any]) -> str:
    return files.grep(wb.root, a["pattern"], str(a.get("path", ".")), str(a.get("glob", "*")))


async def _write(wb: Workbench, a: dict[str, Any]) -> str:
    out = files.write_file(wb.root, a["path"], a["content"])
    wb.changed.add(a["path"])
    return out


async def _edit(wb: Workbench, a: dict[str, Any]) -> str:
    out = files.edit_file(wb.root, a["path"], a["old"], a["new"])
    wb.changed.add(a["path"])
    return out


async def _run(wb: Workbench, a: dict[str, Any]) -> str:
    argv = parse_command(a["command"])
    check_allowed(argv, wb.commands)
    result = await run_command(
        argv, cwd=wb.root, policy=wb.policy, timeout_s=wb.timeout_s, prefix=wb.net_prefix
    )
    return result.observation()


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "list",
            "List files and directories under a directory of the workspace (recursive).",
            _obj({"path": _STR}, []),
            "read",
            _list,
        ),
        Tool(
            "read",
            "Read a text file (numbered lines); optionally a line range.",
            _obj(
                {"path": _STR, "start_line": {"type": "integer"}, "end_line": {"type": "integer"}},
                ["path"],
            ),
            "read",
            _read,
        ),
        Tool(
            "grep",
            "Search files for a regular expression; `glob` filters file names (e.g. *.py).",
            _obj({"pattern": _STR, "path": _STR, "glob": _STR}, ["pattern"]),
            "read",
            _grep,
        ),
        Tool(
            "write",
            "Create or overwrite a file with the given content.",
            _obj({"path": _STR, "content": _STR}, ["path", "content"]),
            "write",
            _write,
        ),
        Tool(
            "edit",
            "Replace the one occurrence of `old` in a file by `new`.",
            _obj({"path": _STR, "old": _STR, "new": _STR}, ["path", "old", "new"]),
            "write",
            _edit,
        ),
        Tool(
            "run",
            "Run an allowed command (no shell) in the workspace; shows exit code and output.",
            _obj({"command": _STR}, ["command"]),
            "run",
            _run,
        ),
    )
}


def finish_spec(answer_schema: dict[str, Any] | None) -> ToolSpec:
    schema = answer_schema or {"type": "string"}
    return ToolSpec(
        FINISH,
        "Finish the task and give your final answer.",
        _obj({"answer": schema}, ["answer"]),
    )


def check_gates(
    step_id: str, names: Sequence[str], policy: Policy, commands: Sequence[str]
) -> None:
    """Refuse, before anything runs, tools the policy does not grant."""
    gates = {TOOLS[n].gate for n in names}
    if "write" in gates and not policy.trusted:
        raise PolicyError(
            step_id,
            "agent tools 'write'/'edit' are not allowed in an untrusted pipeline",
            hint="run a pipeline you wrote yourself with `evopipe run --trust`",
        )
    if "run" in gates:
        policy.check_shell(step_id)
        if not commands:
            raise PolicyError(step_id, "agent tool 'run' needs a non-empty `commands` allowlist")


async def call_tool(wb: Workbench, name: str, args: dict[str, Any], enabled: Sequence[str]) -> str:
    """Run one tool; :class:`ToolFailed` for anything the model got wrong."""
    tool = TOOLS.get(name)
    if tool is None or name not in enabled:
        offered = ", ".join([*enabled, FINISH])
        raise ToolFailed(f"unknown tool {name!r} (tools: {offered})")
    missing = [k for k in tool.parameters["required"] if k not in args]
    unknown = [k for k in args if k not in tool.parameters["properties"]]
    if missing or unknown:
        raise ToolFailed(
            f"{name}: "
            + "; ".join(
                ([f"missing argument(s) {', '.join(missing)}"] if missing else [])
                + ([f"unknown argument(s) {', '.join(unknown)}"] if unknown else [])
            )
        )
    try:
        return await tool.handler(wb, args)
    except (TypeError, ValueError, KeyError) as exc:
        raise ToolFailed(f"{name}: bad arguments: {exc}") from None
