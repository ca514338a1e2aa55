"""`set_provider` with media in the history: each host gets its own format, or a clear
error before sending."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llmkit import Audio, ConfigurationError, Document, Message
from llmkit.clients import ClaudeClient
from llmkit.providers import AnthropicProvider, OpenRouterProvider

PDF = b"%PDF-1.4 report"
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt "

ANTHROPIC_REPLY = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude",
    "content": [{"type": "text", "text": "a report"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 5, "output_tokens": 2},
}
CHAT_REPLY = {
    "choices": [
        {"message": {"role": "assistant", "content": "still a report"}, "finish_reason": "stop"}
    ]
}


def _client(sent: list[Any]) -> httpx2.AsyncClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        reply = ANTHROPIC_REPLY if request.url.path.endswith("/messages") else CHAT_REPLY
        return httpx2.Response(200, json=reply)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


async def test_history_is_re_encoded_for_the_new_host() -> None:
    sent: list[Any] = []
    http = _client(sent)
    client = ClaudeClient(
        provider=AnthropicProvider(api_key="k", http_client=http, retry=None, sender="httpx2")
    )
    history = [Message.user("What is this?", Document.from_bytes(PDF))]
    reply = await client.generate(history)
    assert sent[-1]["messages"][0]["content"][1]["type"] == "document"
    client.set_provider(
        OpenRouterProvider(api_key="k", http_client=http, retry=None, sender="httpx2")
    )
    await client.generate([*history, reply.to_message(), Message.user("Sure?")])
    part = sent[-1]["messages"][0]["content"][1]
    assert part["type"] == "file" and part["file"]["file_data"].startswith("data:application/pdf")


async def test_a_part_the_new_host_cannot_take_fails_before_sending() -> None:
    sent: list[Any] = []
    http = _client(sent)
    client = ClaudeClient(
        provider=OpenRouterProvider(api_key="k", http_client=http, retry=None, sender="httpx2")
    )
    history = [Message.user("Transcribe", Audio.from_bytes(WAV))]
    await client.generate(history)
    assert sent[-1]["messages"][0]["content"][1]["type"] == "input_audio"
    client.set_provider(
        AnthropicProvider(api_key="k", http_client=http, retry=None, sender="httpx2")
    )
    with pytest.raises(ConfigurationError, match="anthropic cannot take an audio part"):
        await client.generate(history)
    assert len(sent) == 1
