"""Request and response rewrites that several model families share.

Pure functions: values in, values out (`attrs.evolve`, never mutation). A
rewrite that depends on the host takes the provider's *name*, so its table
test needs no provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from attrs import evolve

from llmkit.parts import join_contents, prepend_text
from llmkit.types import Message, Request, Response, Role, ToolCall

__all__ = [
    "ensure_user_first",
    "fold_system_prompt",
    "merge_consecutive_turns",
    "mint_tool_call_ids",
    "with_extra",
]


def with_extra(request: Request, **fields: object) -> Request:
    """`request` with host body fields added; the caller's own `extra` still wins."""
    return evolve(request, extra={**fields, **request.extra})


def fold_system_prompt(request: Request) -> Request:
    """System messages folded into the first user turn, for chat templates with no system role.

    Mixtral's template raises on a `system` message; its own convention is
    `[INST] {system}\\n\\n{user} [/INST]`
    (https://github.com/theroyallab/tabbyAPI/issues/51). With no user turn, the
    system text becomes one.
    """
    systems = [m.text for m in request.messages if m.role is Role.SYSTEM]
    if not systems:
        return request
    instructions = "\n\n".join(s for s in systems if s)
    rest = [m for m in request.messages if m.role is not Role.SYSTEM]
    for index, message in enumerate(rest):
        if message.role is Role.USER:
            content = prepend_text(message.content, instructions)
            rest[index] = evolve(message, content=content)
            return evolve(request, messages=tuple(rest))
    return evolve(request, messages=(Message.user(instructions), *rest))


def _mergeable(a: Message, b: Message) -> bool:
    if a.role is not b.role or a.role is Role.TOOL:
        return False
    if a.role is Role.ASSISTANT:  # turns carrying calls or host data stay as the host sent them
        plain = not (a.tool_calls or a.provider_data or a.reasoning)
        return plain and not (b.reasoning or b.provider_data)
    return not (a.name or b.name)


def merge_consecutive_turns(messages: Sequence[Message]) -> tuple[Message, ...]:
    """Runs of same-role turns joined into one (text separated by a blank line).

    Tool results stay separate (each answers its own call); an assistant turn
    that carries reasoning or host data is never merged into, so it goes back intact.
    """
    out: list[Message] = []
    for message in messages:
        if out and _mergeable(out[-1], message):
            last = out[-1]
            content = join_contents(last.content, message.content)
            out[-1] = evolve(last, content=content, tool_calls=message.tool_calls)
        else:
            out.append(message)
    return tuple(out)


def ensure_user_first(messages: Sequence[Message]) -> tuple[Message, ...]:
    """An empty user turn put before a conversation whose first turn (after system) is not the user's."""
    leading = 0
    while leading < len(messages) and messages[leading].role is Role.SYSTEM:
        leading += 1
    if leading == len(messages) or messages[leading].role is Role.USER:
        return tuple(messages)
    return (*messages[:leading], Message.user(""), *messages[leading:])


def mint_tool_call_ids(response: Response) -> Response:
    """Ids for tool calls that came without one (Gemini may omit them), stable per reply."""
    if all(call.id for call in response.tool_calls):
        return response
    seed = response.id or response.text or "call"
    calls = tuple(
        call if call.id else evolve(call, id=_call_id(seed, index, call))
        for index, call in enumerate(response.tool_calls)
    )
    return evolve(response, tool_calls=calls)


def _call_id(seed: str, index: int, call: ToolCall) -> str:
    digest = hashlib.sha256(f"{seed}|{index}|{call.name}|{call.arguments}".encode()).hexdigest()
    return f"call_{digest[:24]}"
