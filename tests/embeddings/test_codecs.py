"""The embedding codecs: request bodies per host, vectors (float, base64, int8), errors."""

from __future__ import annotations

import base64
import struct

import pytest

from llmkit.errors import InvalidRequestError, InvalidResponseError, ModelNotFoundError
from llmkit.providers._codecs import (
    cohere_embed,
    gemini_embed,
    ollama_embed,
    openai_embeddings,
    voyage_embed,
)


def _b64(fmt: str, values: list[float] | list[int]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}{fmt}", *values)).decode()


def test_openai_vectors_float_base64_and_int8_in_index_order() -> None:
    body = {
        "data": [
            {"index": 1, "embedding": _b64("f", [0.5, -1.25])},
            {"index": 0, "embedding": [0.1, 0.2]},
        ],
        "model": "m-2",
        "usage": {"prompt_tokens": 5},
    }
    emb = openai_embeddings.parse_reply(body, provider="openai", model="m")
    assert emb.vectors == ((0.1, 0.2), (0.5, -1.25))
    assert (emb.model, emb.usage.input_tokens, emb.dimensions) == ("m-2", 5, 2)
    ints = {"data": [{"embedding": _b64("b", [-128, 0, 127])}], "usage": {"total_tokens": 3}}
    pplx = openai_embeddings.parse_reply(ints, provider="perplexity", model="pplx")
    assert pplx.vectors == ((-128, 0, 127),) and pplx.usage.input_tokens == 3
    with pytest.raises(InvalidResponseError, match="without `data`"):
        openai_embeddings.parse_reply({"object": "list"}, provider="openai")


def test_openai_params_and_kind_prefixes() -> None:
    body = openai_embeddings.to_params(["a"], model="m", dimensions=256, encoding_format="base64")
    assert body == {"model": "m", "input": ["a"], "dimensions": 256, "encoding_format": "base64"}
    assert openai_embeddings.kind_prefix("nomic-embed-text", "query") == "search_query: "
    assert openai_embeddings.kind_prefix("intfloat/e5-large-v2", "document") == "passage: "
    assert openai_embeddings.kind_prefix("text-embedding-3-small", "query") == ""


def test_gemini_task_type_or_prefix_per_model() -> None:
    old = gemini_embed.to_params(["hi"], model="gemini-embedding-001", kind="query", dimensions=768)
    assert old["requests"] == [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hi"}]},
         "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 768}
    ]  # fmt: skip
    new = gemini_embed.to_params(["hi"], model="gemini-embedding-2", kind="document")
    assert new["requests"][0]["content"]["parts"][0]["text"] == "title: none | text: hi"
    assert "taskType" not in new["requests"][0]
    reply = {
        "embeddings": [{"values": [1.0]}, {"values": [2.0]}],
        "usageMetadata": {"promptTokenCount": 4},
    }
    emb = gemini_embed.parse_reply(reply, model="gemini-embedding-2")
    assert emb.vectors == ((1.0,), (2.0,)) and emb.usage.input_tokens == 4
    single = gemini_embed.parse_reply({"embedding": {"values": [3.0]}}, model="m")
    assert single.vectors == ((3.0,),)


def test_cohere_input_types_and_embedding_types() -> None:
    body = cohere_embed.to_params(["a"], model="embed-v4.0", kind="query", dimensions=512)
    assert body["input_type"] == "search_query" and body["output_dimension"] == 512
    assert cohere_embed.to_params(["a"], model="m")["input_type"] == "search_document"
    reply = {"embeddings": {"int8": [[1, -2]]}, "meta": {"billed_units": {"input_tokens": 2}}}
    emb = cohere_embed.parse_reply(reply, model="m", embedding_types=("int8",))
    assert emb.vectors == ((1, -2),) and emb.usage.input_tokens == 2
    assert cohere_embed.parse_reply({"embeddings": [[0.5]]}, model="m").vectors == ((0.5,),)
    error = cohere_embed.error_from_body(404, {"message": "model 'x' not found"}, model="x")
    assert isinstance(error, ModelNotFoundError)


def test_ollama_and_voyage() -> None:
    assert ollama_embed.to_params(["a"], model="nomic-embed-text", dimensions=64) == {
        "model": "nomic-embed-text", "input": ["a"], "truncate": False, "dimensions": 64,
    }  # fmt: skip
    emb = ollama_embed.parse_reply(
        {"model": "nomic-embed-text", "embeddings": [[0.1]], "prompt_eval_count": 2}, model="x"
    )
    assert (emb.model, emb.usage.input_tokens) == ("nomic-embed-text", 2)
    body = voyage_embed.to_params(["a"], model="voyage-3.5", kind="query", dimensions=512)
    assert body["input_type"] == "query" and body["output_dimension"] == 512
    error = voyage_embed.error_from_body(400, {"detail": "Model x is not supported."})
    assert isinstance(error, InvalidRequestError) and error.message == "Model x is not supported."
