"""Each codec writes every part kind in its host's format; parts a host cannot take
fail before sending, naming what it takes."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import pytest

from llmkit import Audio, CachePoint, ConfigurationError, Document, FileRef, Image, Message, Text
from llmkit.media_support import check
from llmkit.providers import AnthropicProvider, GroqProvider, OpenAIProvider
from llmkit.providers._codecs import anthropic_messages, cohere_chat, gemini_generate, ollama_chat
from llmkit.providers._codecs import openai_chat as oc
from llmkit.types import Request

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 8
PDF = b"%PDF-1.4 test"
B64_PNG = base64.b64encode(PNG).decode()


def _req(*parts: Any, model: str = "m") -> Request:
    return Request(model=model, messages=[Message.user("look", *parts)])


def test_openai_chat_image_audio_file_and_file_id() -> None:
    body = oc.to_params(
        _req(
            Image.from_bytes(PNG, detail="low"),
            Image.from_url("https://example.com/cat.png"),
            Audio.from_bytes(WAV),
            Document(data=PDF, filename="report.pdf"),
            FileRef("file-abc", "openai"),
            CachePoint(),
        ),
        oc.Dialect(name="openai"),
    )
    parts = body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "look"}
    assert parts[1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{B64_PNG}", "detail": "low"},
    }
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    assert parts[3]["input_audio"]["format"] == "wav"
    assert base64.b64decode(parts[3]["input_audio"]["data"]) == WAV
    assert parts[4]["file"]["filename"] == "report.pdf"
    assert parts[4]["file"]["file_data"].startswith("data:application/pdf;base64,")
    assert parts[5] == {"type": "file", "file": {"file_id": "file-abc"}}
    assert len(parts) == 6  # the CachePoint leaves no trace on OpenAI


def test_plain_strings_stay_strings_on_every_codec() -> None:
    request = Request(model="m", messages=[Message.user("hi")])
    assert oc.to_params(request, oc.Dialect())["messages"][0]["content"] == "hi"
    assert anthropic_messages.to_params(request)["messages"][0]["content"] == [
        {"type": "text", "text": "hi"}
    ]
    assert ollama_chat.to_params(request)["messages"][0] == {"role": "user", "content": "hi"}


def test_mistral_document_url_and_openrouter_cache_control() -> None:
    request = _req(Document.from_url("https://example.com/a.pdf"), CachePoint("1h"))
    mistral = oc.to_params(request, oc.Dialect(name="mistral"))["messages"][0]["content"]
    assert mistral[1] == {"type": "document_url", "document_url": "https://example.com/a.pdf"}
    openrouter = oc.to_params(
        _req(Image.from_bytes(PNG), CachePoint()), oc.Dialect(name="openrouter")
    )
    assert openrouter["messages"][0]["content"][1]["cache_control"] == {"type": "ephemeral"}


def test_anthropic_blocks_sources_and_cache_control() -> None:
    params = anthropic_messages.to_params(
        Request(
            model="claude",
            messages=[
                Message.system("You are terse.", CachePoint("1h")),
                Message.user(
                    Image.from_bytes(PNG),
                    Image.from_url("https://example.com/x.png"),
                    Document.from_text("plain words"),
                    Document.from_bytes(PDF),
                    FileRef("file_01", "anthropic", "image/png"),
                    CachePoint(),
                    "what are these?",
                ),
            ],
        )
    )
    assert params["system"] == [
        {
            "type": "text",
            "text": "You are terse.",
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    blocks = params["messages"][0]["content"]
    assert blocks[0]["source"] == {"type": "base64", "media_type": "image/png", "data": B64_PNG}
    assert blocks[1]["source"] == {"type": "url", "url": "https://example.com/x.png"}
    assert blocks[2] == {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
    }
    assert blocks[3]["source"]["media_type"] == "application/pdf"
    assert blocks[4] == {
        "type": "image",
        "source": {"type": "file", "file_id": "file_01"},
        "cache_control": {"type": "ephemeral"},
    }
    assert blocks[5] == {"type": "text", "text": "what are these?"}


def test_anthropic_tool_result_carries_an_image() -> None:
    params = anthropic_messages.to_params(
        Request(
            model="claude",
            messages=[
                Message.user("shot?"),
                Message.assistant(tool_calls=[__import__("llmkit").ToolCall("t1", "shot", {})]),
                Message.tool(["here", Image.from_bytes(PNG)], tool_call_id="t1"),
            ],
        )
    )
    result = params["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    assert [b["type"] for b in result["content"]] == ["text", "image"]


def test_gemini_inline_and_file_data() -> None:
    params = gemini_generate.to_params(
        _req(
            Audio.from_bytes(WAV),
            Document.from_bytes(PDF),
            FileRef(
                "https://generativelanguage.googleapis.com/v1beta/files/x", "gemini", "video/mp4"
            ),
            CachePoint(),
        )
    )
    parts = params["contents"][0]["parts"]
    assert parts[0] == {"text": "look"}
    assert parts[1]["inlineData"]["mimeType"] == "audio/wav"
    assert parts[2]["inlineData"]["mimeType"] == "application/pdf"
    assert parts[3] == {
        "fileData": {
            "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/x",
            "mimeType": "video/mp4",
        }
    }
    assert len(parts) == 4


def test_ollama_images_and_cohere_image_url() -> None:
    item = ollama_chat.to_params(_req(Image.from_bytes(PNG)))["messages"][0]
    assert item == {"role": "user", "content": "look", "images": [B64_PNG]}
    with pytest.raises(ConfigurationError, match="images as bytes"):
        ollama_chat.to_params(_req(Document.from_bytes(PDF)))
    cohere = cohere_chat.to_params(_req(Image.from_bytes(PNG)))["messages"][0]["content"]
    assert cohere[1]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    ("provider", "model", "part", "message"),
    [
        (
            "anthropic",
            "claude-sonnet-4-5",
            Audio.from_bytes(WAV),
            "anthropic cannot take an audio part",
        ),
        ("groq", "llama-4-scout", Document.from_bytes(PDF), "groq takes text, images"),
        ("deepseek", "deepseek-chat", Image.from_bytes(PNG), "deepseek takes text only"),
        ("openai", "gpt-4o", Audio.from_bytes(WAV), "cannot take an audio part"),
        (
            "anthropic",
            "claude",
            Image.from_bytes(b"\x00\x00\x01\x00", media_type="image/x-icon"),
            "not image/x-icon",
        ),
        ("groq", "llama-4-scout", Image.from_bytes(PNG + b"\x00" * (3 * 2**20 + 10)), "up to 3 MB"),
        ("anthropic", "claude", Image.from_bytes(PNG + b"\x00" * (5 * 2**20 + 10)), "up to 5 MB"),
        ("gemini", "gemini-2.5-flash", FileRef("file-1", "openai"), "uploaded to openai"),
    ],
)
def test_refused_before_sending(provider: str, model: str, part: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check(_req(part, model=model), provider)


def test_accepted_parts_pass_the_check() -> None:
    check(_req(Audio.from_bytes(WAV), model="gpt-4o-audio-preview"), "openai")
    check(_req(Document.from_bytes(PDF), Image.from_bytes(PNG), model="claude"), "anthropic")
    check(_req(Audio.from_bytes(WAV), model="anything"), "some-openai-compatible-server")


async def test_a_refused_part_never_reaches_the_host() -> None:
    sent: list[Any] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(500)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    provider = AnthropicProvider(api_key="k", http_client=client, retry=None, sender="httpx2")
    with pytest.raises(ConfigurationError, match="audio"):
        await provider.complete(_req(Audio.from_bytes(WAV), model="claude-sonnet-4-5"))
    with pytest.raises(ConfigurationError, match="audio"):
        await provider.stream(_req(Audio.from_bytes(WAV), model="claude-sonnet-4-5")).collect()
    groq = GroqProvider(api_key="k", http_client=client, retry=None, sender="httpx2")
    with pytest.raises(ConfigurationError, match="groq"):
        await groq.complete(_req(Audio.from_bytes(WAV), model="llama-4-scout"))
    assert sent == []
    await client.aclose()


async def test_never_download_refuses_a_url_the_host_will_not_fetch() -> None:
    provider = OpenAIProvider(api_key="k", retry=None)
    provider.media_download = "never"
    with pytest.raises(ConfigurationError, match="download='never'"):
        await provider.complete(
            _req(Document.from_url("https://example.com/a.pdf"), model="gpt-4o")
        )


def test_parts_reach_the_wire_through_the_provider() -> None:
    seen: list[Any] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        return httpx2.Response(
            200,
            json={
                "choices": [
                    {"message": {"role": "assistant", "content": "a cat"}, "finish_reason": "stop"}
                ]
            },
        )

    provider = OpenAIProvider(
        api_key="k",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        retry=None,
        sender="httpx2",
    )
    reply = provider.complete_sync(_req(Image.from_bytes(PNG), model="gpt-4o"))
    assert reply.text == "a cat"
    assert seen[0]["messages"][0]["content"][1]["type"] == "image_url"
    assert Text("look") in _req(Image.from_bytes(PNG)).messages[0].content
