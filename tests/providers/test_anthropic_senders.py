"""AnthropicProvider's senders: llmkit's own requests, the SDK, Bedrock and Vertex, on MockTransports.

No network: Bedrock gets fake AWS keys and a region as arguments (its requests are
signed, never sent), Vertex a fake access token; their replies come from a
MockTransport, Bedrock streams as AWS event stream frames built here.
"""

from __future__ import annotations

import base64
import json
import struct
import subprocess
import sys
import zlib
from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.providers import AnthropicProvider
from llmkit.providers._codecs import anthropic_messages as codec
from llmkit.types import FinishReason, Message, Request

HI = [Message.user("hi")]
REPLY = {
    "id": "msg_1",
    "type": "message",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "Hello"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 1},
}
EVENTS = [
    {
        "type": "message_start",
        "message": {"id": "msg_2", "model": "claude", "usage": {"input_tokens": 3}},
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]
BEDROCK = {"aws_region": "us-east-1", "aws_access_key": "AKIAFAKEKEY", "aws_secret_key": "fake"}
VERTEX = {"region": "us-east5", "project_id": "my-project", "access_token": "fake-token"}


def recording(seen: list[httpx2.Request], reply: Any) -> httpx2.AsyncClient:
    def serve(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return reply(request) if callable(reply) else reply

    return httpx2.AsyncClient(transport=httpx2.MockTransport(serve))


def sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


# -- llmkit's own sender ----------------------------------------------------------------


async def test_the_default_sender_builds_url_headers_and_body_itself() -> None:
    seen: list[httpx2.Request] = []
    anthropic = AnthropicProvider(
        api_key="secret-key",
        base_url="https://gateway.example/anthropic/",
        http_client=recording(seen, httpx2.Response(200, json=REPLY)),
        retry=None,
    )
    assert anthropic.sender == "httpx2"
    request = Request("claude-haiku-4-5", HI, max_tokens=50, extra={"betas": ["b-one", "b-two"]})
    reply = await anthropic.complete(request)
    assert (reply.text, reply.finish_reason, reply.id) == ("Hello", FinishReason.STOP, "msg_1")
    (sent,) = seen
    assert str(sent.url) == "https://gateway.example/anthropic/v1/messages"
    assert sent.headers["x-api-key"] == "secret-key"
    assert "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["anthropic-beta"] == "b-one,b-two"
    assert sent.headers["user-agent"].startswith("llmkit/")
    assert not any(name.startswith("x-stainless") for name in sent.headers)  # not the SDK
    body = json.loads(sent.content)
    assert "betas" not in body  # a header, never a body field
    assert body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert "secret-key" not in repr(anthropic)


async def test_a_stream_is_asked_for_in_the_body_and_read_as_sse() -> None:
    seen: list[httpx2.Request] = []
    reply = httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse(EVENTS))
    anthropic = AnthropicProvider(api_key="k", http_client=recording(seen, reply), retry=None)
    result = await anthropic.stream(Request("claude", HI)).collect()
    assert (result.text, result.id, result.usage.output_tokens) == ("Hello", "msg_2", 2)
    assert json.loads(seen[0].content)["stream"] is True
    assert "anthropic-beta" not in seen[0].headers  # no betas asked for, no header


async def test_an_error_status_is_the_codecs_error_with_headers_observed() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    reply = httpx2.Response(529, headers={"retry-after": "7", "request-id": "req_9"}, json=body)
    anthropic = AnthropicProvider(api_key="k", http_client=recording([], reply), retry=None)
    observed: list[Any] = []
    anthropic._observe_headers = observed.append  # type: ignore[method-assign]
    with pytest.raises(errors.OverloadedError) as caught:
        await anthropic.complete(Request("claude", HI))
    assert (caught.value.status_code, caught.value.request_id) == (529, "req_9")
    assert observed[0]["retry-after"] == "7"


@pytest.mark.parametrize(
    ("failure", "cls"),
    [
        (httpx2.ConnectError, errors.APIConnectionError),
        (httpx2.ReadTimeout, errors.APITimeoutError),
    ],
)
@pytest.mark.parametrize("sender", ["httpx2", "sdk"])
async def test_transport_failures_become_llmkit_errors_on_both_senders(
    failure: type[Exception], cls: type[errors.LLMError], sender: str
) -> None:
    def fail(request: httpx2.Request) -> httpx2.Response:
        raise failure("boom", request=request)  # type: ignore[call-arg]

    anthropic = AnthropicProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fail)),
        retry=None,
        sender=sender,
    )
    with pytest.raises(cls, match="Anthropic"):
        await anthropic.complete(Request("claude", HI))
    with pytest.raises(cls):
        await anthropic.stream(Request("claude", HI)).collect()


async def test_both_senders_send_the_same_body_and_betas() -> None:
    bodies: dict[str, Any] = {}
    for sender in ("httpx2", "sdk"):
        seen: list[httpx2.Request] = []
        anthropic = AnthropicProvider(
            api_key="k",
            http_client=recording(seen, httpx2.Response(200, json=REPLY)),
            retry=None,
            sender=sender,
        )
        request = Request("claude", HI, temperature=0.2, extra={"betas": "one-beta"})
        assert (await anthropic.complete(request)).text == "Hello"
        assert seen[0].headers["anthropic-beta"] == "one-beta"
        assert seen[0].url.path == "/v1/messages"
        bodies[sender] = json.loads(seen[0].content)
    assert bodies["httpx2"] == bodies["sdk"]


def test_the_default_sender_imports_no_sdk() -> None:
    code = """
import asyncio, json, sys
import httpx2
from llmkit.providers import AnthropicProvider
from llmkit.types import Message, Request

def serve(request):
    return httpx2.Response(200, json={"content": [{"type": "text", "text": "ok"}],
                                      "stop_reason": "end_turn"})

async def main():
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(serve))
    provider = AnthropicProvider(api_key="k", http_client=client, retry=None)
    print((await provider.complete(Request("m", [Message.user("hi")]))).text)

asyncio.run(main())
print(json.dumps(sorted(m for m in ("anthropic", "httpx") if m in sys.modules)))
"""
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.split() == ["ok", "[]"]


# -- refusals -----------------------------------------------------------------------------


def test_a_refusal_stop_fills_refusal_and_finishes_content_filter() -> None:
    body = {
        **REPLY,
        "content": [],
        "stop_reason": "refusal",
        "stop_details": {"type": "refusal", "category": "cyber", "explanation": "Not this one."},
    }
    reply = codec.parse_reply(body)
    assert reply.refusal == "Not this one."
    assert reply.finish_reason is FinishReason.CONTENT_FILTER
    assert reply.raw_finish_reason == "refusal"
    plain = codec.parse_reply({**REPLY, "stop_reason": "refusal"})
    assert plain.refusal == codec.REFUSAL and plain.text == "Hello"
    assert codec.parse_reply(REPLY).refusal is None


async def test_a_streamed_refusal_reaches_the_response() -> None:
    events = [
        EVENTS[0],
        {"type": "message_delta", "delta": {"stop_reason": "refusal"}, "usage": {}},
        {"type": "message_stop"},
    ]
    reply = httpx2.Response(200, content=sse(events))
    anthropic = AnthropicProvider(api_key="k", http_client=recording([], reply), retry=None)
    result = await anthropic.stream(Request("claude", HI)).collect()
    assert result.refusal == codec.REFUSAL
    assert result.finish_reason is FinishReason.CONTENT_FILTER
    assert result.text == ""


# -- Bedrock and Vertex -----------------------------------------------------------------


def _frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event stream message (prelude, string headers, payload, CRCs)."""
    encoded = b""
    for name, value in headers.items():
        key, text = name.encode(), value.encode()
        encoded += bytes([len(key)]) + key + bytes([7]) + struct.pack(">H", len(text)) + text
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def bedrock_stream(events: list[dict[str, Any]]) -> bytes:
    headers = {
        ":event-type": "chunk",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return b"".join(
        _frame(
            headers,
            json.dumps({"bytes": base64.b64encode(json.dumps(e).encode()).decode()}).encode(),
        )
        for e in events
    )


async def test_bedrock_signs_and_routes_through_the_sdk_with_the_same_codec() -> None:
    seen: list[httpx2.Request] = []
    anthropic = AnthropicProvider(
        platform="bedrock",
        platform_options=BEDROCK,
        http_client=recording(seen, httpx2.Response(200, json=REPLY)),
        retry=None,
    )
    assert anthropic.sender == "sdk" and anthropic.has_api_key
    reply = await anthropic.complete(
        Request("anthropic.claude-haiku-4-5", HI, extra={"betas": ["b1"]})
    )
    assert (reply.text, reply.usage.input_tokens) == ("Hello", 3)
    (sent,) = seen
    assert str(sent.url) == (
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-haiku-4-5/invoke"
    )
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAFAKEKEY/")
    body = json.loads(sent.content)
    assert "model" not in body and body["anthropic_version"]
    assert body["anthropic_beta"] == ["b1"]
    assert body["messages"] == codec.to_params(Request("m", HI))["messages"]


async def test_a_bedrock_stream_of_event_stream_frames_is_read_by_the_codec() -> None:
    seen: list[httpx2.Request] = []
    reply = httpx2.Response(200, content=bedrock_stream(EVENTS))
    anthropic = AnthropicProvider(
        platform="bedrock", platform_options=BEDROCK, http_client=recording(seen, reply), retry=None
    )
    result = await anthropic.stream(Request("anthropic.claude", HI)).collect()
    assert (result.text, result.finish_reason, result.usage.output_tokens) == (
        "Hello",
        FinishReason.STOP,
        2,
    )
    assert seen[0].url.path == "/model/anthropic.claude/invoke-with-response-stream"


async def test_a_bedrock_exception_frame_is_an_llmkit_error() -> None:
    throttled = _frame(
        {
            ":message-type": "exception",
            ":exception-type": "throttlingException",
            ":content-type": "application/json",
        },
        json.dumps({"message": "Too many requests, please wait"}).encode(),
    )
    reply = httpx2.Response(200, content=bedrock_stream(EVENTS[:3]) + throttled)
    anthropic = AnthropicProvider(
        platform="bedrock", platform_options=BEDROCK, http_client=recording([], reply), retry=None
    )
    with pytest.raises(errors.RateLimitError, match="Too many requests") as caught:
        await anthropic.stream(Request("anthropic.claude", HI)).collect()
    assert caught.value.partial is not None and caught.value.partial.text == "Hel"


async def test_a_bedrock_error_status_keeps_its_message() -> None:
    reply = httpx2.Response(403, json={"message": "The security token included is invalid."})
    anthropic = AnthropicProvider(
        platform="bedrock", platform_options=BEDROCK, http_client=recording([], reply), retry=None
    )
    with pytest.raises(errors.PermissionDeniedError, match="security token"):
        await anthropic.complete(Request("anthropic.claude", HI))


async def test_vertex_routes_through_the_sdk_with_google_auth() -> None:
    seen: list[httpx2.Request] = []
    anthropic = AnthropicProvider(
        platform="vertex",
        platform_options=VERTEX,
        http_client=recording(seen, httpx2.Response(200, content=sse(EVENTS))),
        retry=None,
    )
    result = await anthropic.stream(Request("claude-haiku-4-5", HI)).collect()
    assert result.text == "Hello"
    (sent,) = seen
    assert str(sent.url) == (
        "https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/us-east5/"
        "publishers/anthropic/models/claude-haiku-4-5:streamRawPredict"
    )
    assert sent.headers["authorization"] == "Bearer fake-token"
    assert "model" not in json.loads(sent.content)


async def test_cloud_platforms_refuse_what_they_cannot_do() -> None:
    with pytest.raises(errors.ConfigurationError, match="platform"):
        AnthropicProvider(platform="azure")  # type: ignore[arg-type]
    with pytest.raises(errors.ConfigurationError, match="sender"):
        AnthropicProvider(platform="bedrock", platform_options=BEDROCK, sender="httpx2")
    bedrock = AnthropicProvider(platform="bedrock", platform_options=BEDROCK)
    with pytest.raises(errors.ConfigurationError, match="list_models"):
        await bedrock.list_models()
    with pytest.raises(errors.ConfigurationError, match="count_tokens"):
        await bedrock.count_tokens(Request("anthropic.claude", HI))
    assert "platform='bedrock'" in repr(bedrock)


async def test_a_missing_cloud_setting_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLOUD_ML_REGION", raising=False)
    anthropic = AnthropicProvider(platform="vertex", platform_options={"access_token": "t"})
    with pytest.raises(errors.ConfigurationError, match="Vertex"):
        await anthropic.complete(Request("claude", HI))
