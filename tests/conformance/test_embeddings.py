"""Every `embeddings` case of the conformance corpus, replayed through the host's `embed`.

The call is rebuilt from the recorded request (inputs, model, dimensions, kind),
sent by the matching provider to a MockTransport serving the recorded reply,
and the result is normalised to the corpus's embeddings shape (count,
dimensions, first and last four numbers within 1e-5, input tokens, model,
error). The body llmkit sent is checked against the recording too: same
number of inputs, same model, same dimensions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import pytest

from llmkit import errors
from llmkit.providers import (
    AzureOpenAIProvider,
    CohereProvider,
    GeminiProvider,
    MistralProvider,
    OllamaProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    OpenRouterProvider,
)
from llmkit.providers.voyage import VoyageProvider
from llmkit.types import Embeddings
from tests.conformance import harness

API = "embeddings"
MODES = (harness.Mode(), harness.Mode(client="httpx"))
_KINDS = {
    "search_query": "query",
    "query": "query",
    "RETRIEVAL_QUERY": "query",
    "search_document": "document",
    "document": "document",
    "RETRIEVAL_DOCUMENT": "document",
}


class _Perplexity(OpenAICompatibleProvider):
    name: ClassVar[str] = "perplexity"


def _provider(case: dict[str, Any], http_client: Any) -> Any:
    host = case["provider"]
    common: dict[str, Any] = {"api_key": "test-key", "http_client": http_client, "retry": None}
    if host == "google":
        return GeminiProvider(base_url="https://generativelanguage.googleapis.com", **common)
    if host == "cohere":
        return CohereProvider(base_url="https://api.cohere.com", **common)
    if host == "azure":  # the deployment path: .../openai/deployments/<name>/embeddings
        url = case["request"]["url"]
        return AzureOpenAIProvider(
            endpoint=url.split("/openai/")[0],
            deployment=url.split("/deployments/")[1].split("/")[0],
            api_version=url.split("api-version=")[1],
            **common,
        )
    if host == "ollama":
        return OllamaProvider(base_url=harness.base_url(case, "/api/embed"), **common)
    classes = {
        "openai": OpenAIProvider,
        "mistral": MistralProvider,
        "openrouter": OpenRouterProvider,
        "perplexity": _Perplexity,
        "voyage": VoyageProvider,
    }
    return classes[host](base_url=harness.base_url(case, "/embeddings"), **common)


def _texts(value: Any) -> list[str]:
    """The recorded inputs as texts; token-id inputs become one placeholder each."""
    if isinstance(value, str):
        return [value]
    if value and all(isinstance(x, int) for x in value):
        return ["<tokens>"]
    return [v if isinstance(v, str) else "<tokens>" for v in value]


def call_from_case(case: dict[str, Any]) -> dict[str, Any]:
    """`embed`'s arguments equivalent to the recorded request."""
    body = case["request"]["json"]
    if case["provider"] == "google":
        model = case["request"]["url"].split("/models/")[1].split(":")[0]
        requests = body["requests"]
        texts = ["".join(p.get("text", "") for p in r["content"]["parts"]) for r in requests]
        dimensions = requests[0].get("outputDimensionality")
        kind = requests[0].get("taskType")
    else:
        model = body["model"]
        texts = _texts(body["texts"] if case["provider"] == "cohere" else body["input"])
        dimensions = body.get("dimensions") or body.get("output_dimension")
        kind = body.get("input_type")
    return {"inputs": texts, "model": model, "kind": _KINDS.get(kind), "dimensions": dimensions}


def normalise(emb: Embeddings) -> dict[str, Any]:
    return {
        "count": len(emb.vectors),
        "dimensions": emb.dimensions,
        "first": list(emb.vectors[0][:4]) if emb.vectors else None,
        "last": list(emb.vectors[-1][-4:]) if emb.vectors else None,
        "usage": {"input_tokens": emb.usage.input_tokens},
        "model": emb.model,
        "error": None,
    }


def _close(got: list[Any] | None, want: list[Any] | None) -> bool:
    if got is None or want is None:
        return got == want
    return len(got) == len(want) and all(
        math.isclose(g, w, abs_tol=1e-5) for g, w in zip(got, want, strict=True)
    )


def _sent_inputs(case: dict[str, Any], sent: dict[str, Any]) -> int:
    if case["provider"] == "google":
        return len(sent["requests"])
    return len(sent["texts"] if case["provider"] == "cohere" else sent["input"])


@pytest.mark.parametrize(harness.ARGS, harness.cases(API, MODES))
async def test_case(path: Path, mode: harness.Mode) -> None:
    case = harness.load(path)
    expect = case["expect"]
    sent: list[Any] = []
    http_client = harness.client(case, mode, sent)
    call = call_from_case(case)
    provider = _provider(case, http_client)
    try:
        result = normalise(await provider.embed(**call))
    except errors.LLMError as error:
        result = {
            "count": 0, "dimensions": None, "first": None, "last": None,
            "usage": {"input_tokens": None}, "model": None,
            "error": {"status": error.status_code, "kind": harness.error_kind(error),
                      "message": error.message},
        }  # fmt: skip
    finally:
        await http_client.aclose()

    if expect["error"] is not None:  # llmkit may add how to fix it after the host's words
        assert result["error"] is not None
        message = result["error"].pop("message")
        want = dict(expect["error"])
        assert message.startswith(want.pop("message")), message
        assert result["error"] == want
    else:
        assert result["error"] is None
    assert result["count"] == expect["count"]
    assert result["dimensions"] == expect["dimensions"]
    assert _close(result["first"], expect["first"]), (result["first"], expect["first"])
    assert _close(result["last"], expect["last"]), (result["last"], expect["last"])
    assert result["usage"] == expect["usage"]
    if expect["model"] is not None or expect["error"] is not None:
        assert result["model"] == expect["model"]
    else:  # Gemini and Cohere name no model: llmkit reports the one it asked for
        assert result["model"] == call["model"]

    assert len(sent) == 1
    assert _sent_inputs(case, sent[0]) == len(call["inputs"])
    if case["provider"] == "google":
        assert sent[0]["requests"][0]["model"] == f"models/{call['model']}"
    else:
        assert sent[0]["model"] == call["model"]
    if call["dimensions"] is not None:
        body = sent[0]["requests"][0] if case["provider"] == "google" else sent[0]
        asked = {body.get(k) for k in ("dimensions", "output_dimension", "outputDimensionality")}
        assert call["dimensions"] in asked
