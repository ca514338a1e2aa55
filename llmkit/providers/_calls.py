"""The thin async shell that runs one provider call under its policies.

Decisions live in `llmkit.retry` (and `llmkit.ratelimit`); this module only
loops, sleeps and hands over. A stream is retried only until its first event
has reached the caller; after that a failure propagates with the partial reply.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio

from llmkit.errors import LLMError
from llmkit.types import Request, Response, StreamEvent

if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider


async def complete(provider: BaseProvider, request: Request) -> Response:
    """`provider._complete(request)`, retried as `provider.retry` decides."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await provider._complete(request)
        except LLMError as error:
            wait = _retry_delay(provider, attempt, error, started)
            if wait is None:
                raise
        await anyio.sleep(wait)


async def stream(provider: BaseProvider, request: Request) -> AsyncIterator[StreamEvent]:
    """`provider._stream(request)`, retried as `provider.retry` decides until an event is out."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        delivered = False
        events = provider._stream(request)
        try:
            async for event in events:
                delivered = True
                yield event
            return
        except LLMError as error:
            wait = None if delivered else _retry_delay(provider, attempt, error, started)
            if wait is None:
                raise
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        await anyio.sleep(wait)


def _retry_delay(
    provider: BaseProvider, attempt: int, error: LLMError, started: float
) -> float | None:
    if provider.retry is None:
        return None
    return provider.retry.delay(attempt, error, elapsed=time.monotonic() - started)
