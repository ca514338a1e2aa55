"""Each host's embed request as sent (URL, auth, body), over a MockTransport."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import httpx2
import pytest

from llmkit.errors import ConfigurationError
from llmkit.providers import AnthropicProvider, CohereProvider, GeminiProvider, OllamaProvider
from llmkit.providers.voyage import VoyageProvider
from llmkit.types import Message, Request


class Recorder:
    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(200, json=self.reply)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))

    @property
    def body(self) -> Any:
        return json.loads(self.requests[-1].content)


def _b64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


async def test_voyage_sends_its_own_names_and_decodes_base64() -> None:
    host = Recorder({"data": [{"index": 0, "embedding": _b64([0.5, 0.25])}], "model": "voyage-3.5",
                     "usage": {"total_tokens": 3}})  # fmt: skip
    provider = VoyageProvider(api_key="pa-test", http_client=host.client())
    emb = await provider.embed("hello", model="voyage-3.5", kind="query", dimensions=512)
    sent = host.requests[-1]
    assert str(sent.url) == "https://api.voyageai.com/v1/embeddings"
    assert sent.headers["authorization"] == "Bearer pa-test"
    assert host.body == {"input": ["hello"], "model": "voyage-3.5", "encoding_format": "base64",
                         "truncation": False, "input_type": "query", "output_dimension": 512}  # fmt: skip
    assert emb.vectors == ((0.5, 0.25),) and emb.usage.input_tokens == 3
    with pytest.raises(ConfigurationError, match="embeddings only"):
        await provider.complete(Request(model="voyage-3.5", messages=[Message.user("hi")]))


async def test_gemini_posts_batch_embed_contents_with_its_key_header() -> None:
    host = Recorder({"embeddings": [{"values": [1.0]}, {"values": [2.0]}]})
    provider = GeminiProvider(api_key="g-test", http_client=host.client())
    emb = await provider.embed(["a", "b"], model="gemini-embedding-001", kind="document")
    sent = host.requests[-1]
    assert sent.url.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert sent.headers["x-goog-api-key"] == "g-test"
    assert [r["taskType"] for r in host.body["requests"]] == ["RETRIEVAL_DOCUMENT"] * 2
    assert emb.vectors == ((1.0,), (2.0,)) and emb.model == "gemini-embedding-001"


async def test_cohere_posts_v2_embed() -> None:
    host = Recorder(
        {"embeddings": {"float": [[0.1, 0.2]]}, "meta": {"billed_units": {"input_tokens": 2}}}
    )
    provider = CohereProvider(api_key="co-test", http_client=host.client())
    emb = await provider.embed("hi", model="embed-v4.0", kind="query")
    sent = host.requests[-1]
    assert str(sent.url) == "https://api.cohere.com/v2/embed"
    assert sent.headers["authorization"] == "Bearer co-test"
    assert host.body["input_type"] == "search_query" and host.body["texts"] == ["hi"]
    assert emb.usage.input_tokens == 2


async def test_ollama_prefixes_the_kind_its_model_wants() -> None:
    host = Recorder({"model": "nomic-embed-text", "embeddings": [[0.3]], "prompt_eval_count": 4})
    provider = OllamaProvider(base_url="http://ollama.test:11434", http_client=host.client())
    emb = await provider.embed(["why?"], model="nomic-embed-text", kind="query")
    assert host.requests[-1].url.path == "/api/embed"
    assert host.body["input"] == ["search_query: why?"] and host.body["truncate"] is False
    assert emb.vectors == ((0.3,),)


async def test_a_host_without_embeddings_says_which_have_them() -> None:
    with pytest.raises(ConfigurationError, match=r"no embeddings endpoint.*Voyage"):
        await AnthropicProvider(api_key="sk-ant-test").embed("x", model="m")


def test_voyage_key_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOYAGE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="Set VOYAGE_API_KEY"):
        VoyageProvider().api_key()
    monkeypatch.setenv("VOYAGE_API_KEY", "pa-env")
    assert VoyageProvider().has_api_key
