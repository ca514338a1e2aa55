"""Sending a conversation from the CLI: the one place commands call a model client.

The CLI's code is synchronous; requests run on llmkit's background event loop through
`llmkit._sync`, so a client's pooled connections survive from one chat turn to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

    for event in _sync.iterate(start):
        on_event(event)
    response: Response = holder["stream"].response
    return response


def generate(client: Any, messages: Sequence[Message], **params: Any) -> Response:
    """The whole reply to `messages`, in one piece."""
    response: Response = client.generate_sync(list(messages), **params)
    return response
