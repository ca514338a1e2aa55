"""Sending a conversation from the CLI: the one place commands call a model client.

The CLI's code is synchronous; requests run on llmkit's background event loop through
`llmkit._sync`, so a client's pooled connections survive from one chat turn to the next.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from llmkit import _sync
from llmkit.types import Message, Response, StreamEvent

__all__ = ["generate", "stream"]


def stream(
    client: Any,
    messages: Sequence[Message],
    on_event: Callable[[StreamEvent], None],
    **params: Any,
) -> Response:
    """Stream the reply to `messages`, calling `on_event` for each event; the whole reply."""
    holder: dict[str, Any] = {}

    def start() -> Any:
        holder["stream"] = client.stream(list(messages), **params)
        return holder["stream"]

    with _fallback_notes(client):
        for event in _sync.iterate(start):
            on_event(event)
    response: Response = holder["stream"].response
    return response


def generate(client: Any, messages: Sequence[Message], **params: Any) -> Response:
    """The whole reply to `messages`, in one piece."""
    with _fallback_notes(client):
        response: Response = client.generate_sync(list(messages), **params)
    return response


def fallback_note(event: Any) -> str:
    """One stderr line for a provider the client left: who, why, and who takes over."""
    from llmkit.config import hide_secrets

    reason = hide_secrets(event.reason or "")
    return f"note: {event.provider} failed ({reason}); trying {event.next_provider}"


@contextlib.contextmanager
def _fallback_notes(client: Any) -> Iterator[None]:
    """Within the block, each provider the client falls back from is noted on stderr.

    Without it, a failure on every provider shows only the last one's error (the
    fallback's missing key), hiding why the primary failed.
    """
    from llmkit.cli._common import note
    from llmkit.events import Hooks

    if not getattr(client, "fallbacks", ()):
        yield
        return
    if client.hooks is None:
        client.hooks = Hooks()
    hook = client.hooks.on_fallback(lambda event: note(fallback_note(event)))
    try:
        yield
    finally:
        client.hooks.remove("fallback", hook)
