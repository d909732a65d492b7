"""The conversation behind ``evopipe chat`` and the dashboard's chat page: the router agent.

A message is routed by the orchestrator (rules, keywords, retrieval, an optional model stage);
the reply says which pipeline would run and why, and proposes it — with the inputs it would
get, the first text input filled with the message. When nothing fits it proposes generating a
pipeline instead. Nothing with side effects happens until the proposal is confirmed: then the
face starts the run (the terminal in this process, the web page through the queue) and the
outcome is recorded. Every message, proposal and outcome is kept in the persisted conversation
of ``(owner, session)``, so two users never see each other's history and a conversation goes
on after a restart.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from evopipe.app.group import OperationGroup
from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.spec.pipeline import Pipeline

__all__ = ["Chat", "ChatError", "Proposal", "Reply"]

PENDING = "proposal"
"""The role of a stored proposal (its content is the proposal as JSON)."""


class ChatError(EvopipeError):
    """Nothing to confirm, or a confirmation that does not fit the proposal."""


@dataclass(frozen=True)
class Proposal:
    """What evopipe offers to do next, waiting for a yes."""

    action: str
    """``run`` (a pipeline) or ``generate`` (a new pipeline for the request)."""
    request: str
    target: str | None = None
    description: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    """The inputs the run would get (defaults, the message in the first text input)."""
    schema: dict[str, Any] = field(default_factory=dict)
    """The pipeline's input schema (a face renders a typed form from it)."""
    why: dict[str, Any] = field(default_factory=dict)
    """The routing decision: stage, choice, score, threshold, reason."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reply:
    text: str
    proposal: Proposal | None = None


def _explain(why: dict[str, Any]) -> str:
    parts = [f"chosen at the {why.get('stage')} stage"]
    if why.get("score") is not None:
        score = f"score {why['score']:.2f}"
        if why.get("threshold") is not None:
            score += f" against a threshold of {why['threshold']:.2f}"
        parts.append(score)
    if why.get("reason"):
        parts.append(str(why["reason"]))
    return "; ".join(parts)


def inputs_for(pipeline: Pipeline, message: str) -> dict[str, Any]:
    """Defaults of the pipeline's inputs, the first text input filled with ``message``."""
    values = {k: v["default"] for k, v in pipeline.inputs.items() if "default" in v}
    texts = [k for k, v in pipeline.inputs.items() if v.get("type") == "string"]
    if texts:
        values[texts[0]] = message
    return values


class Chat(OperationGroup):
    @property
    def _store(self) -> Any:
        return self.app.conversations

    def history(self, owner: str, session: str, limit: int = 200) -> list[dict[str, Any]]:
        """The conversation so far, oldest first (proposals decoded)."""
        out = []
        for m in self._store.messages(owner, session, limit=limit):
            content: Any = json.loads(m.content) if m.role == PENDING else m.content
            out.append({"role": m.role, "content": content, "run_id": m.run_id})
        return out

    def _record(self, owner: str, session: str, *messages: tuple[str, str], run: str = "") -> None:
        self._store.append(owner, session, list(messages), run_id=run or None)

    async def say(self, owner: str, session: str, text: str) -> Reply:
        """Route ``text`` and propose what to do (nothing runs yet)."""
        text = text.strip()
        if not text:
            raise ChatError("say what you need, e.g. “summarise this text: …”")
        outcome = await self.app.routing.route(text, key=owner)
        why = outcome.decision.to_json()
        why.pop("trail", None)
        if outcome.target is None:
            proposal = Proposal("generate", text, why=why)
            answer = (
                f"Nothing registered fits this request ({why.get('reason') or 'no match'}). "
                "I can generate a pipeline for it."
            )
        else:
            pipeline = self.app.pipelines.resolve(outcome.target).pipeline
            proposal = Proposal(
                "run",
                text,
                target=outcome.target,
                description=pipeline.description or "",
                inputs=inputs_for(pipeline, text),
                schema=dict(pipeline.inputs),
                why=why,
            )
            answer = f"I would run {outcome.target}: {_explain(why)}."
        self._record(
            owner,
            session,
            ("user", text),
            ("assistant", answer),
            (PENDING, json.dumps(proposal.to_json())),
        )
        return Reply(answer, proposal)

    def pending(self, owner: str, session: str) -> Proposal | None:
        """The proposal waiting for a yes (None once confirmed, declined or superseded)."""
        for m in reversed(self._store.messages(owner, session, limit=20)):
            if m.role == PENDING:
                return Proposal(**json.loads(m.content))
            if m.role == "outcome" or (m.role == "user" and m.content.startswith("/")):
                return None
        return None

    def decline(self, owner: str, session: str) -> None:
        self._record(owner, session, ("user", "/no"), ("outcome", "declined"))

    def confirm(self, owner: str, session: str, inputs: dict[str, Any] | None = None) -> Proposal:
        """Take the pending proposal (with ``inputs`` overriding its own): the face then does
        it and calls :meth:`ran`. Raises :class:`ChatError` when nothing waits."""
        proposal = self.pending(owner, session)
        if proposal is None:
            raise ChatError("there is nothing to confirm: say what you need first")
        taken = Proposal(**{**proposal.to_json(), "inputs": {**proposal.inputs, **(inputs or {})}})
        self._record(owner, session, ("user", "/yes"), ("outcome", f"confirmed {taken.action}"))
        return taken

    def ran(self, owner: str, session: str, run_id: str, summary: str) -> None:
        """Record a confirmed run's outcome."""
        self._record(owner, session, ("outcome", summary), run=run_id)

    async def generate(self, owner: str, session: str, request: str) -> Reply:
        """Generate (and register) a pipeline for ``request``; then propose running it."""
        try:
            made = await self.app.generations.generate(request, max_rounds=3)
        except EvopipeError as exc:
            answer = f"I could not generate a valid pipeline: {exc}"
            self._record(owner, session, ("outcome", answer))
            return Reply(answer)
        result = made.result
        pipeline = result.pipeline
        version = self.app.routing.register(pipeline.name, pipeline, reason="chat")
        target = f"{pipeline.name}@{version}"
        proposal = Proposal(
            "run",
            request,
            target=target,
            description=pipeline.description or "",
            inputs=inputs_for(pipeline, request),
            schema=dict(pipeline.inputs),
            why={"stage": "generated", "reason": f"generation {result.generation_id}"},
        )
        answer = f"I generated and registered {target}. Run it?"
        self._record(owner, session, ("assistant", answer), (PENDING, json.dumps(asdict(proposal))))
        return Reply(answer, proposal)
