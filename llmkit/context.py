"""Context windows: refuse a request that cannot fit, or truncate it when asked to.

`fit_request(request, context_window=..., count=...)` runs before a request
is sent. The prompt (counted by `llmkit.tokens`) plus `max_tokens` must fit
the model's window. When it does not, it raises `ContextLengthExceededError`
with the numbers, unless a truncation strategy was chosen:

- `"keep_newest"` (`KeepNewest`): keep the system prompt and the newest turns,
  drop the oldest;
- `"drop_middle"` (`DropMiddle`): keep the system prompt, the first turn (the
  task, usually) and the newest turns, drop the middle.

Both drop whole units: an assistant turn that called tools travels with its
tool results, and the kept conversation starts with a user turn. What was
dropped comes back in a `Truncation`.

A count that is an estimate refuses only when it exceeds the window by more
than `ESTIMATE_MARGIN`: an estimate may be high, and refusing a request that
fits would be worse than letting the host judge it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Protocol

from attrs import evolve, frozen

from llmkit.errors import ConfigurationError, ContextLengthExceededError
from llmkit.tokens import TokenCount
from llmkit.types import Message, Request, Role, ToolSpec

__all__ = [
    "ESTIMATE_MARGIN",
    "STRATEGIES",
    "ContextStrategy",
    "DropMiddle",
    "KeepNewest",
    "Truncation",
    "fit_request",
    "group_turns",
    "resolve_strategy",
]

ESTIMATE_MARGIN = 0.15
"""How far an estimated count may exceed the window before llmkit refuses on its own."""

Counter = Callable[[Sequence[Message]], TokenCount]


@frozen
class Truncation:
    """What a strategy kept and what it dropped."""

    strategy: str
    messages: tuple[Message, ...]
    """The messages that will be sent."""
    dropped: tuple[Message, ...]
    """The messages that were left out, in their original order."""
    tokens_before: int
    tokens_after: int

    def describe(self) -> str:
        """A one-line summary, without message contents."""
        roles: dict[str, int] = {}
        for message in self.dropped:
            roles[str(message.role)] = roles.get(str(message.role), 0) + 1
        what = ", ".join(f"{n} {role}" for role, n in roles.items())
        return (
            f"{self.strategy} dropped {len(self.dropped)} messages ({what}): "
            f"{self.tokens_before} -> {self.tokens_after} prompt tokens"
        )


def group_turns(messages: Sequence[Message]) -> list[tuple[Message, ...]]:
    """Split messages into units that are kept or dropped whole.

    An assistant turn with tool calls and the tool results after it form one
    unit; every other message is a unit of its own.
    """
    units: list[list[Message]] = []
    for message in messages:
        if message.role is Role.TOOL and units and _takes_results(units[-1]):
            units[-1].append(message)
        else:
            units.append([message])
    return [tuple(unit) for unit in units]


def _takes_results(unit: list[Message]) -> bool:
    return bool(unit[0].tool_calls) or unit[0].role is Role.TOOL


def _split_system(messages: Sequence[Message]) -> tuple[list[Message], list[tuple[Message, ...]]]:
    """Leading system messages, and the rest as units."""
    head = 0
    while head < len(messages) and messages[head].role is Role.SYSTEM:
        head += 1
    return list(messages[:head]), group_turns(messages[head:])


class ContextStrategy(Protocol):
    """Chooses which messages to drop so that the prompt fits `limit` tokens."""

    name: str

    def fit(self, messages: Sequence[Message], limit: int, count: Counter) -> Truncation | None:
        """A truncation whose prompt fits `limit` tokens, or None if none can."""
        ...


def _flatten(units: Sequence[tuple[Message, ...]]) -> list[Message]:
    return [message for unit in units for message in unit]


def _starts_with_user(units: Sequence[tuple[Message, ...]]) -> bool:
    return not units or units[0][0].role is Role.USER


class KeepNewest:
    """Keep the system prompt and the newest turns; drop the oldest whole turns."""

    name = "keep_newest"

    def fit(self, messages: Sequence[Message], limit: int, count: Counter) -> Truncation | None:
        """Drop the oldest units until the prompt fits `limit`."""
        system, units = _split_system(messages)
        before = count(messages)
        for start in range(len(units)):
            kept = units[start:]
            if not _starts_with_user(kept):
                continue
            candidate = system + _flatten(kept)
            after = count(candidate)
            if after <= limit:
                dropped = _flatten(units[:start])
                return Truncation(self.name, tuple(candidate), tuple(dropped), before, after)
        return None


class DropMiddle:
    """Keep the system prompt, the first turn and the newest turns; drop the middle."""

    name = "drop_middle"

    def fit(self, messages: Sequence[Message], limit: int, count: Counter) -> Truncation | None:
        """Drop units after the first one until the prompt fits `limit`."""
        system, units = _split_system(messages)
        before = count(messages)
        if not units:
            return None
        first, rest = units[0], units[1:]
        for cut in range(len(rest) + 1):
            kept = rest[cut:]
            # The turn after the gap must not repeat the first turn's role.
            if kept and kept[0][0].role is first[0].role:
                continue
            candidate = system + list(first) + _flatten(kept)
            after = count(candidate)
            if after <= limit:
                dropped = _flatten(rest[:cut])
                return Truncation(self.name, tuple(candidate), tuple(dropped), before, after)
        return None


STRATEGIES: dict[str, type[KeepNewest] | type[DropMiddle]] = {
    KeepNewest.name: KeepNewest,
    DropMiddle.name: DropMiddle,
}


def resolve_strategy(value: str | ContextStrategy | None) -> ContextStrategy | None:
    """A strategy from its name (`keep_newest`, `drop_middle`), an object, or None (refuse)."""
    if value is None or not isinstance(value, str):
        return value
    try:
        return STRATEGIES[value]()
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise ConfigurationError(
            f"Unknown context strategy {value!r}; use one of {known}, None, or a ContextStrategy"
        ) from None


def _exceeds(count: TokenCount, limit: int) -> bool:
    if count.exact:
        return count > limit
    return count * (1 - ESTIMATE_MARGIN) > limit


def fit_request(
    request: Request,
    *,
    context_window: int | None,
    count: Counter,
    strategy: ContextStrategy | None = None,
    provider: str | None = None,
) -> tuple[Request, Truncation | None]:
    """`request` as it will be sent, checked (and truncated, with a strategy) to fit the window.

    Args:
        request: the request about to be sent.
        context_window: the model's window in tokens; None (unknown) skips the check.
        count: counts the prompt tokens of a list of messages.
        strategy: what to drop when the prompt is too long; None refuses instead.
        provider: the provider's name, for the error.

    Raises:
        ContextLengthExceededError: the request cannot fit (even truncated).
    """
    if context_window is None:
        return request, None
    reserve = request.max_tokens or 0
    limit = context_window - reserve
    if upper_bound(request.messages, request.tools) <= limit:
        return request, None  # fits for certain: no tokenizer needed on the hot path
    prompt = count(request.messages)
    if not _exceeds(prompt, limit):
        return request, None
    if strategy is not None and limit > 0:
        truncation = strategy.fit(request.messages, limit, count)
        if truncation is not None:
            return evolve(request, messages=truncation.messages), truncation
    raise _too_long(request, prompt, context_window, provider, strategy)


_MESSAGE_OVERHEAD_BOUND = 32
"""More tokens than any chat format wraps one message in (role markers, separators)."""


def upper_bound(messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
    """Tokens the messages cannot exceed under any byte-level tokenizer: one token per byte at most.

    Every tokenizer llmkit counts with (tiktoken's BPE, `tokenizer.json` BPE with
    byte fallback, the hosts' own) spends at least one byte of text per token, so the
    UTF-8 size plus a generous per-message allowance bounds the count from above.
    """
    total = 16
    for message in messages:
        total += _MESSAGE_OVERHEAD_BOUND + len(message.text.encode())
        if not isinstance(message.content, str):
            from llmkit.parts_tokens import part_tokens

            total += sum(2 * part_tokens(p, "") + 1600 for p in message.content)
        total += len(message.name or "") + len(message.tool_call_id or "")
        if message.reasoning:
            total += len(message.reasoning.encode())
        for call in message.tool_calls:
            total += _MESSAGE_OVERHEAD_BOUND + len(call.name) + len(json.dumps(call.arguments))
            total += len(call.raw_arguments or "")
    for tool in tools:
        schema = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
        total += _MESSAGE_OVERHEAD_BOUND + len(json.dumps(schema))
    return total


def _too_long(
    request: Request,
    prompt: TokenCount,
    window: int,
    provider: str | None,
    strategy: ContextStrategy | None,
) -> ContextLengthExceededError:
    reserve = request.max_tokens or 0
    how = "exact" if prompt.exact else "estimated"
    size = f"prompt {int(prompt)} tokens ({how}, {prompt.method})"
    if reserve:
        size += f" + max_tokens {reserve} = {int(prompt) + reserve}"
    lower = " or lower max_tokens" if reserve else ""
    fix = (
        f"even after {strategy.name} truncation; shorten the newest turns{lower}"
        if strategy is not None
        else f"shorten the conversation{',' if reserve else ''}{lower.replace(' or', '')}"
        f"{',' if reserve else ''} or pass "
        "context_strategy='keep_newest' (or 'drop_middle') to the client"
    )
    return ContextLengthExceededError(
        f"The request does not fit {request.model}'s context window of {window} tokens: "
        f"{size}; {fix}",
        provider=provider,
        model=request.model,
        body={
            "prompt_tokens": int(prompt),
            "prompt_tokens_exact": prompt.exact,
            "max_tokens": reserve,
            "context_window": window,
        },
    )
