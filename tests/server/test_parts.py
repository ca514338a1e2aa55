"""Audio, file and `input_image` content parts through the gateway: a real uvicorn, the
official `openai` SDK as the client, loopback hosts recording what they receive.

What each host gets is asserted byte for byte (base64 decoded again); refusals are
400s naming the part's path; a part the routed host cannot take is a 400
`unsupported_content` (llmkit's own check before sending), never a 500.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")

from llmkit import errors as E  # noqa: E402
from llmkit.fallback import all_failed  # noqa: E402
from llmkit.server.errors import classify  # noqa: E402
from llmkit.server.wire import WireError, parse_chat  # noqa: E402
from llmkit.types import Audio, Document, Image, Text  # noqa: E402
from tests.server.harness import Gateway, Upstream  # noqa: E402

WAV = b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(range(256)) * 4
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(255, -1, -1)) * 2
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(200))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64_uri(uri: str) -> tuple[str, bytes]:
    head, _, body = uri.partition(",")
    return head, base64.b64decode(body, validate=True)


def sdk(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0, timeout=20)


def anthropic_reply(body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """Anthropic's Messages answer for a Claude model; None: the OpenAI-wire default."""
    if not str(body.get("model", "")).startswith("claude"):
        return None
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [{"type": "text", "text": "A one-page PDF."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 4},
    }
    return 200, message, {}


def config(up: Upstream, server: str = "") -> str:
    """`oa`: llmkit's OpenAI provider (media rules checked) and `an`: its Anthropic provider,
    both pointed at the loopback host."""
    return f"""
providers:
  oa: {{type: openai, base_url: "{up.url}", api_key: "${{OA_KEY:-oa-secret}}"}}
  an: {{type: anthropic, base_url: "{up.url[: -len("/v1")]}", api_key: "${{AN_KEY:-an-secret}}"}}
{server}"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Upstream, Gateway]]:
    """One host and one gateway for the refusals (none of which reaches the host)."""
    with Upstream() as up, Gateway(config(up), tmp=tmp_path_factory.mktemp("parts")) as gw:
        yield up, gw


def post(gw: Gateway, model: str, content: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
    return httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=20)


def test_audio_file_and_input_image_reach_an_openai_host(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(config(up), tmp=tmp_path) as gw:
        reply = sdk(gw).chat.completions.create(
            model="oa/gpt-4o-audio-preview",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Transcribe, then summarise the report."},
                        {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "wav"}},
                        {"type": "input_audio", "input_audio": {"data": b64(MP3), "format": "mp3"}},
                        {
                            "type": "file",
                            "file": {
                                "filename": "report.pdf",
                                "file_data": "data:application/pdf;base64," + b64(PDF),
                            },
                        },
                        # Responses-API style, as some clients send it to chat
                        {
                            "type": "input_image",
                            "image_url": "data:image/png;base64," + b64(PNG),
                            "detail": "low",
                        },
                    ],
                }
            ],
        )
        assert reply.choices[0].message.content == "Hello from upstream"
        sent = up.bodies[-1]["messages"][0]["content"]
        assert [p["type"] for p in sent] == [
            "text",
            "input_audio",
            "input_audio",
            "file",
            "image_url",
        ]
        assert sent[0]["text"] == "Transcribe, then summarise the report."
        assert sent[1]["input_audio"]["format"] == "wav"
        assert base64.b64decode(sent[1]["input_audio"]["data"], validate=True) == WAV
        assert sent[2]["input_audio"]["format"] == "mp3"
        assert base64.b64decode(sent[2]["input_audio"]["data"], validate=True) == MP3
        assert sent[3]["file"]["filename"] == "report.pdf"
        assert unb64_uri(sent[3]["file"]["file_data"]) == ("data:application/pdf;base64", PDF)
        assert unb64_uri(sent[4]["image_url"]["url"]) == ("data:image/png;base64", PNG)
        assert sent[4]["image_url"]["detail"] == "low"


def test_a_file_part_streams_and_input_image_by_url(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(config(up), tmp=tmp_path) as gw:
        stream = sdk(gw).chat.completions.create(
            model="oa/gpt-4o",
            stream=True,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "input_image", "image_url": {"url": "https://example.com/a.png"}},
                        {"type": "file", "file": {"filename": "notes.pdf", "file_data": b64(PDF)}},
                    ],
                }
            ],
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "Hello from upstream"
        sent = up.bodies[-1]["messages"][0]["content"]
        assert sent[0] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
        # bare base64 (no data: prefix): the media type from the bytes
        assert unb64_uri(sent[1]["file"]["file_data"]) == ("data:application/pdf;base64", PDF)


def test_anthropic_host_gets_document_and_image_blocks(tmp_path: Path) -> None:
    with Upstream(anthropic_reply) as up, Gateway(config(up), tmp=tmp_path) as gw:
        reply = sdk(gw).chat.completions.create(
            model="an/claude-sonnet-4-5",
            max_tokens=64,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What are these?"},
                        {
                            "type": "file",
                            "file": {
                                "filename": "report.pdf",
                                "file_data": "data:application/pdf;base64," + b64(PDF),
                            },
                        },
                        {
                            "type": "file",
                            "file": {"filename": "n.txt", "file_data": b64("naïve\n".encode())},
                        },
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64," + b64(PNG)},
                        },
                    ],
                }
            ],
        )
        assert reply.choices[0].message.content == "A one-page PDF."
        blocks = up.bodies[-1]["messages"][0]["content"]
        assert blocks[0] == {"type": "text", "text": "What are these?"}
        pdf = blocks[1]
        assert pdf["type"] == "document" and pdf["source"]["type"] == "base64"
        assert pdf["source"]["media_type"] == "application/pdf"
        assert base64.b64decode(pdf["source"]["data"], validate=True) == PDF
        assert blocks[2] == {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "naïve\n"},
        }
        # a data: URL image goes as bytes (Anthropic takes no data: URLs as a url source)
        image = blocks[3]
        assert image["type"] == "image" and image["source"]["type"] == "base64"
        assert image["source"]["media_type"] == "image/png"
        assert base64.b64decode(image["source"]["data"], validate=True) == PNG


@pytest.mark.parametrize(
    ("part", "param", "words"),
    [
        (
            {"type": "input_audio", "input_audio": {"data": "not*base64!", "format": "wav"}},
            "messages[0].content[1].input_audio.data",
            "base64",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": b64(WAV)[:-2], "format": "wav"}},
            "messages[0].content[1].input_audio.data",
            "base64",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}},
            "messages[0].content[1].input_audio.data",
            "empty",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "flac"}},
            "messages[0].content[1].input_audio.format",
            "wav or mp3",
        ),
        (
            {"type": "input_audio", "input_audio": b64(WAV)},
            "messages[0].content[1].input_audio",
            "object",
        ),
        (
            {"type": "file", "file": {"file_id": "file-abc123"}},
            "messages[0].content[1].file.file_id",
            "no Files API",
        ),
        (
            {"type": "file", "file": {"filename": "x.pdf"}},
            "messages[0].content[1].file.file_data",
            "required",
        ),
        (
            {"type": "file", "file": {"file_data": "data:application/pdf,%PDF-1.4"}},
            "messages[0].content[1].file.file_data",
            "base64 data: URI",
        ),
        (
            {"type": "file", "file": {"file_data": "https://example.com/a.pdf"}},
            "messages[0].content[1].file.file_data",
            "not a URL",
        ),
        (
            # binary bytes with no media type and no file name: nothing to go by
            {"type": "file", "file": {"file_data": b64(b"\x00\x01\x02\xff" * 8)}},
            "messages[0].content[1].file.file_data",
            "media type",
        ),
        (
            {"type": "input_image", "file_id": "file-abc123"},
            "messages[0].content[1].file_id",
            "no Files API",
        ),
        (
            {"type": "input_image", "image_url": {"detail": "low"}},
            "messages[0].content[1].image_url.url",
            "URL",
        ),
        (
            {"type": "input_image", "image_url": "file:///etc/passwd"},
            "messages[0].content[1].image_url.url",
            "http(s) URL",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}},
            "messages[0].content[1].image_url.url",
            "base64",
        ),
        ({"type": "video", "video": {}}, "messages[0].content[1].type", "input_audio"),
    ],
)
def test_bad_parts_are_400s_with_their_path(
    shared: tuple[Upstream, Gateway], part: dict[str, Any], param: str, words: str
) -> None:
    up, gw = shared
    reply = post(gw, "oa/gpt-4o-audio-preview", [{"type": "text", "text": "hi"}, part])
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert words in error["message"]
    assert up.bodies == []  # refused before any host was called


def test_sdk_sees_a_file_id_refusal_as_bad_request(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(config(up), tmp=tmp_path) as gw:
        with pytest.raises(openai.BadRequestError) as caught:
            sdk(gw).chat.completions.create(
                model="oa/gpt-4o",
                messages=[
                    {"role": "user", "content": [{"type": "file", "file": {"file_id": "file-x"}}]}
                ],
            )
        assert caught.value.param == "messages[0].content[0].file.file_id"
        assert "file_data" in caught.value.message
        assert up.bodies == []


def test_a_part_the_host_cannot_take_is_a_400_not_a_500(tmp_path: Path) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "wav"}}
    with Upstream(anthropic_reply) as up, Gateway(config(up), tmp=tmp_path) as gw:
        client = sdk(gw)
        # gpt-4o takes no audio (llmkit/data/media.json); only the -audio models do
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model="oa/gpt-4o", messages=[{"role": "user", "content": [audio]}]
            )
        assert caught.value.status_code == 400
        assert caught.value.code == "unsupported_content"
        assert "cannot take an audio part with gpt-4o" in caught.value.message
        # streamed: refused before the first byte, so a plain 400 too
        streamed = post(gw, "oa/gpt-4o", [audio], stream=True)
        assert streamed.status_code == 400
        assert streamed.json()["error"]["code"] == "unsupported_content"
        # Anthropic takes no audio at all; nor a Word file
        assert post(gw, "an/claude-sonnet-4-5", [audio], max_tokens=8).status_code == 400
        docx = {
            "type": "file",
            "file": {
                "filename": "a.docx",
                "file_data": "data:application/vnd.openxmlformats-officedocument"
                ".wordprocessingml.document;base64," + b64(b"PK\x03\x04" + bytes(40)),
            },
        }
        refused = post(gw, "an/claude-sonnet-4-5", [docx], max_tokens=8)
        assert refused.status_code == 400, refused.text
        assert "application/pdf, text/plain" in refused.json()["error"]["message"]
        assert up.bodies == []  # nothing reached the host
        metrics = httpx.get(gw.url + "/metrics").text
        assert "UnsupportedContentError" in metrics


def test_every_fallback_refusing_the_part_is_a_400_too() -> None:
    refusal = E.UnsupportedContentError("anthropic cannot take an audio part", provider="an")
    status, body, _ = classify(all_failed([("oa", refusal), ("an", refusal)]))
    assert status == 400 and body["error"]["code"] == "unsupported_content"
    # one host down among them: still the upstream's failure, not the caller's
    down = E.APIConnectionError("unreachable", provider="oa")
    assert classify(all_failed([("oa", down), ("an", refusal)]))[0] == 500
    # other settings problems stay the gateway's own (500)
    assert classify(E.ConfigurationError("No API key for groq"))[0] == 500


def test_body_cap_applies_to_media(tmp_path: Path) -> None:
    server = "server:\n  max_body_bytes: 20000\n"
    big = {"type": "input_audio", "input_audio": {"data": b64(WAV * 20), "format": "wav"}}
    small = {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "wav"}}
    with Upstream() as up, Gateway(config(up, server), tmp=tmp_path) as gw:
        too_big = post(gw, "oa/gpt-4o-audio-preview", [big])
        assert too_big.status_code == 413
        assert too_big.json()["error"]["code"] == "request_too_large"
        assert up.bodies == []
        assert post(gw, "oa/gpt-4o-audio-preview", [small]).status_code == 200
        assert len(up.bodies) == 1


def parts_of(content: list[dict[str, Any]]) -> Any:
    call = parse_chat(
        {"model": "m", "messages": [{"role": "user", "content": content}]}, max_messages=8
    )
    return call.messages[0].content


def test_file_parts_become_the_part_their_media_type_says() -> None:
    got = parts_of(
        [
            {"type": "text", "text": "look"},
            {
                "type": "file",
                "file": {"filename": "shot.png", "file_data": "data:;base64," + b64(PNG)},
            },
            {"type": "file", "file": {"file_data": "data:audio/mp3;base64," + b64(MP3)}},
            {
                "type": "file",
                "file": {"filename": "t.csv", "file_data": b64(b"a,b\n1,2\n")},
            },
            {
                "type": "file",
                "file": {"file_data": "data:application/octet-stream;base64," + b64(PDF)},
            },
        ]
    )
    assert got[0] == Text("look")
    assert isinstance(got[1], Image) and (got[1].media_type, got[1].data) == ("image/png", PNG)
    assert got[1].filename == "shot.png"
    assert isinstance(got[2], Audio) and got[2].media_type == "audio/mpeg" and got[2].data == MP3
    assert isinstance(got[3], Document) and got[3].media_type == "text/csv"
    assert isinstance(got[4], Document) and got[4].media_type == "application/pdf"
    assert got[4].data == PDF


def test_text_only_content_stays_a_string() -> None:
    assert parts_of([{"type": "text", "text": "a"}, {"type": "input_text", "text": "b"}]) == "ab"
    with pytest.raises(WireError) as caught:
        parts_of([{"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "ogg"}}])
    assert caught.value.param == "messages[0].content[0].input_audio.format"
    assert json.dumps(classify(caught.value)[1])  # an OpenAI error body
