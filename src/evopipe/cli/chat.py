"""``evopipe chat``: talk to evopipe in the terminal. Say what you need; the router says which
pipeline it would run and why, and asks before running anything; the run streams as it goes.

Commands: ``/help``, ``/runs``, ``/approve RUN STEP [NAME=VALUE ...] [--reject] [REASON]``,
``/history``, ``/quit`` (or Ctrl-D). The conversation is kept in the store (``--session``
names it), so it goes on after a restart; line editing and history come from readline where it
exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import re
import shlex
from collections.abc import Callable

import typer

from evopipe.app import App, Decision, EvopipeError
from evopipe.app.chat import Proposal
from evopipe.cli._options import DB_OPTION
from evopipe.cli._session import Commands, fail, open_app

HELP = """Say what you need in plain language, e.g. "summarise this text: ...".
Commands:
  /runs [N]                          the latest runs
  /approve RUN STEP [NAME=VALUE ...] [--reject] [WHY]
                                     decide a step waiting for approval, with the values
                                     it asks for (the run continues)
  /history                           this conversation so far
  /help                              this help
  /quit                              leave (Ctrl-D too)"""
_NAMED = re.compile(r"^[A-Za-z_]\w*=")
"""``NAME=VALUE`` after ``/approve RUN STEP``: a value for one of the step's fields."""
_SHOWN = {
    "step_succeeded": "done",
    "step_failed": "failed",
    "step_skipped": "skipped",
    "step_waiting": "waiting for approval",
}


class Repl:
    def __init__(self, app: App, owner: str, session: str, say: Callable[[str], None]) -> None:
        self.app, self.owner, self.session, self.say = app, owner, session, say

    async def ask(self, prompt: str) -> str | None:
        """A line from the terminal (None at end of input)."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, input, prompt)
        except EOFError:
            return None

    async def main(self) -> None:
        self.say(f"evopipe chat — session {self.session!r}; /help for commands, /quit to leave")
        while True:
            line = await self.ask("you> ")
            if line is None or line.strip() in ("/quit", "/exit"):
                self.say("bye")
                return
            try:
                await self.handle(line.strip())
            except EvopipeError as exc:
                self.say(f"error: {exc}")

    async def handle(self, line: str) -> None:
        if not line:
            return
        if line.startswith("/"):
            await self.command(line)
            return
        reply = await self.app.chat.say(self.owner, self.session, line)
        self.say(f"evopipe> {reply.text}")
        if reply.proposal is not None:
            await self.offer(reply.proposal)

    async def offer(self, proposal: Proposal) -> None:
        if proposal.action == "generate":
            question = "Generate and register a pipeline for it? [y/N] "
        else:
            shown = ", ".join(f"{k}={v!r}" for k, v in proposal.inputs.items()) or "no inputs"
            question = f"Run {proposal.target} with {shown}? [y/N] "
        answer = (await self.ask(question) or "").strip().lower()
        if answer not in ("y", "yes"):
            self.app.chat.decline(self.owner, self.session)
            self.say("evopipe> Not running anything.")
            return
        taken = self.app.chat.confirm(self.owner, self.session)
        if taken.action == "generate":
            self.say("evopipe> Generating (drafts are checked and repaired)…")
            reply = await self.app.chat.generate(self.owner, self.session, taken.request)
            self.say(f"evopipe> {reply.text}")
            if reply.proposal is not None:
                await self.offer(reply.proposal)
            return
        await self.run(taken)

    async def run(self, taken: Proposal) -> None:
        handle = await self.app.runs.start(str(taken.target), taken.inputs)
        self.say(f"evopipe> run {handle.run_id} started")
        asks: dict[str, str] = {}
        async for event in self.app.runs.events(handle.run_id):
            if event.type == "step_waiting" and event.step_id:
                asks[event.step_id] = _asked((event.data.get("meta") or {}).get("fields") or {})
            word = _SHOWN.get(event.type)
            if word is not None and event.step_id:
                ms = event.data.get("duration_ms")
                took = f" ({ms:.0f} ms)" if isinstance(ms, int | float) else ""
                self.say(f"  · {event.step_id}: {word}{took}")
        result = await handle.result()
        summary = result.status
        if result.status == "waiting":
            steps = ", ".join(
                s["id"]
                for s in self.app.runs.get(result.run_id)["steps"]
                if s["status"] == "waiting"
            )
            self.say(f"evopipe> waiting for approval at {steps}: /approve {result.run_id} STEP")
            for step, asked in asks.items():
                if asked:
                    self.say(f"  {step} asks for: {asked} (give them as NAME=VALUE)")
        elif result.ok:
            self.say(f"evopipe> {result.status}: {json.dumps(result.outputs, default=str)}")
        else:
            self.say(f"evopipe> {result.status}: {result.error}")
        self.app.chat.ran(self.owner, self.session, result.run_id, summary)

    async def command(self, line: str) -> None:
        words = shlex.split(line)
        name, args = words[0], words[1:]
        if name == "/help":
            self.say(HELP)
        elif name == "/runs":
            for r in self.app.runs.list(limit=int(args[0]) if args else 10):
                self.say(f"  {r.run_id}  {r.status:10} {r.pipeline_name}")
        elif name == "/history":
            for m in self.app.chat.history(self.owner, self.session, limit=40):
                content = m["content"]
                if m["role"] == "proposal":
                    content = f"proposed {content['action']} {content.get('target') or ''}"
                self.say(f"  {m['role']:9} {content}")
        elif name == "/approve" and len(args) >= 2:
            await self.approve(args)
        else:
            self.say(f"unknown command {line!r}; /help lists them")

    async def approve(self, args: list[str]) -> None:
        run_id, step = args[0], args[1]
        reject = "--reject" in args
        named = [a for a in args[2:] if _NAMED.match(a)]
        reason = " ".join(a for a in args[2:] if a != "--reject" and a not in named) or None
        values = dict(a.split("=", 1) for a in named)
        decision = Decision(step, not reject, reason, self.owner, values)
        result = await self.app.runs.approve(run_id, decision)
        self.say(f"evopipe> run {run_id} is {result.status}")
        self.app.chat.ran(self.owner, self.session, run_id, result.status)


def _asked(fields: dict[str, dict[str, object]]) -> str:
    """An approval step's fields in one line: ``audience (everyone|staff), priority (integer
    1..5, default 3)``."""
    parts = []
    for name, field in fields.items():
        kind = str(field.get("type", "string"))
        choices = field.get("choices")
        about = "|".join(str(c) for c in choices) if isinstance(choices, list) else kind
        if "min" in field or "max" in field:
            about += f" {_number(field.get('min'))}..{_number(field.get('max'))}"
        if "default" in field:
            about += f", default {field['default']}"
        elif not field.get("required", True):
            about += ", optional"
        parts.append(f"{name} ({about})")
    return ", ".join(parts)


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else ""


def chat_cmd(
    session: str = typer.Option("terminal", "--session", help="Conversation name (kept)."),
    user: str = typer.Option(None, "--user", help="Whose conversation (default: you)."),
    model: str = typer.Option(None, "--model", help="Model for the runs (and routing)."),
    db: str = DB_OPTION,
) -> None:
    """Talk to evopipe: it picks a pipeline, says why, and runs it when you confirm."""
    owner = user or getpass.getuser() or "local"
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    try:
        with open_app(db=db, model=model) as app:
            asyncio.run(Repl(app, owner, session, typer.echo).main())
    except EvopipeError as exc:
        fail(exc)


CLI: tuple[Commands, ...] = (Commands({"chat": chat_cmd}),)
