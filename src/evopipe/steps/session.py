"""``session``: one turn of a persisted, multi-turn conversation.

The conversation ``(user, session)`` is read from the run's conversation store
(``Services.hooks["conversations"]``, see :mod:`evopipe.engine.conversations`): its last
``max_history`` messages go to the model before the new prompt; the prompt and the reply are
then appended together. Conversations outlive runs, so the next run (or a later step of this
one) continues where this left off; two users never see each other's messages::

    - id: reply
      kind: session
      user: "{{ inputs.user }}"
      session: support
      prompt: "{{ inputs.message }}"

Output: the reply text (or, with an ``output`` contract, the parsed value). A step re-run after
a crash that already stored its turn returns the stored reply without calling the model.
"""

from __future__ import annotations

import json

from evopipe.engine.conversations import ConversationError, ConversationStore
from evopipe.engine.llmcall import contract_schema, structured_call
from evopipe.models.base import Message, ModelRequest
from evopipe.spec.kinds import SessionStep
from evopipe.steps.base import StepContext, StepFailed, StepResult

kind = "session"
config_model = SessionStep


def conversations(ctx: StepContext) -> ConversationStore:
    store = ctx.services.hooks.get("conversations")
    if not isinstance(store, ConversationStore):
        raise StepFailed(
            ctx.step_id,
            "no conversation store: the session kind needs Services.hooks['conversations'] "
            "(the application wires the run store's conversations there)",
        )
    return store


async def run(ctx: StepContext, config: SessionStep) -> StepResult:
    store = conversations(ctx)
    user = str(ctx.render(config.user, where="user"))
    session = str(ctx.render(config.session, where="session"))
    prompt = ctx.render(config.prompt, where="prompt")
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, ensure_ascii=False)
    schema = contract_schema(ctx, config.output)
    try:
        done = store.turn(user, session, ctx.idempotency_key)
        if done:
            reply = done[-1].content
            output = json.loads(reply) if schema is not None else reply
            return StepResult(output=output, meta={"replayed": True, "history": 0})
        history = store.messages(user, session, limit=config.max_history)
    except ConversationError as exc:
        raise StepFailed(ctx.step_id, str(exc)) from None
    messages: list[Message] = []
    if config.system:
        messages.append(Message("system", str(ctx.render(config.system, where="system"))))
    for m in history:
        if m.role in ("user", "assistant"):
            messages.append(Message("user" if m.role == "user" else "assistant", m.content))
    messages.append(Message("user", text))
    request = ModelRequest(
        tuple(messages),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        output_schema=schema,
    )
    if schema is not None and config.output is not None:
        value, response = await structured_call(ctx, request, config.output, schema)
        reply, output = json.dumps(value, ensure_ascii=False), value
    else:
        response = await ctx.complete(request)
        reply = output = response.text
    store.append(
        user,
        session,
        [("user", text), ("assistant", reply)],
        run_id=ctx.run_id,
        turn_key=ctx.idempotency_key,
    )
    return StepResult(output=output, meta={"history": len(history)})
