"""The public entry points' types, pinned (written by hand; generate.py leaves this file alone).

Checked by `mypy --strict typing_tests`, never run.
"""

from __future__ import annotations

from typing import assert_type

import llmkit
from llmkit.clients import EventRewriter, ModelClient
from llmkit.providers import Dialect
from llmkit.registry import Registry
from llmkit.types import StreamEvent


async def entry_points() -> None:
    client = llmkit.client("deepseek@fake")
    assert_type(client, ModelClient)
    assert_type(llmkit.load(), Registry)
    assert_type(llmkit.load().client("deepseek@fake"), ModelClient)
    assert_type(llmkit.__version__, str)
    stream = client.stream("hi")
    assert_type(stream, llmkit.ResponseStream)
    reply = await client.generate("hi")
    assert_type(reply, llmkit.Response)
    assert_type(Dialect(name="together"), Dialect)


class Upper:
    """A rewriter written against the exported protocol."""

    def feed(self, event: StreamEvent) -> list[StreamEvent]:
        return [event]

    def flush(self) -> list[StreamEvent]:
        return []


def rewriter() -> EventRewriter:
    return Upper()
