"""The conformance corpus's structured-output cases, replayed through `output=`.

Every case whose request asked for a schema (OpenAI `response_format`,
Anthropic `output_config`, Gemini `responseJsonSchema`) and got JSON text
back, or whose reply answered through a `final_result` tool (pydantic-ai's
tool mode), is served from its recorded response through the real provider
and codec; the typed call must return that JSON as `reply.output` (prompted
reading for text answers, tool mode for `final_result`), and a streamed case's
`partial_output` must only ever grow into it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from llmkit.clients import ModelClient
from llmkit.output.plan import OUTPUT_TOOL
from llmkit.providers import CohereProvider, OpenAICompatibleProvider
from llmkit.providers.anthropic import AnthropicProvider
from llmkit.providers.gemini import GeminiProvider
from tests.conformance import harness
from tests.output.test_partial import is_prefix


class Replay(ModelClient):
    """No family rewrites: the recorded model, sent as is."""

    family = "gpt4"


def _asked_for_schema(body: dict[str, Any]) -> bool:
    config = body.get("generationConfig") or {}
    return bool(
        (body.get("response_format") or {}).get("type") == "json_schema"
        or (body.get("output_config") or {}).get("format")
        or config.get("responseJsonSchema")
        or config.get("responseSchema")
    )


def _json_text(text: str) -> Any:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def expected(case: dict[str, Any]) -> tuple[str, Any] | None:
    """(`mode`, the output the typed call must give) for a structured-output case, else None."""
    if case["response"]["status"] != 200:
        return None
    finals = [c for c in case["expect"]["tool_calls"] if c["name"] == OUTPUT_TOOL]
    if finals:
        return "tool", finals[0]["arguments"]
    value = _json_text(case["expect"]["text"])
    if value is not None and _asked_for_schema(case["request"].get("json") or {}):
        return "prompted", value
    return None


def cases() -> list[Any]:
    out = []
    for api in ("openai-chat", "anthropic-messages", "gemini", "cohere-chat"):
        for path in harness.case_files(api):
            if expected(harness.load(path)) is not None:
                out.append(pytest.param(path, id=path.stem))
    if not out:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no conformance corpus"))]
    return out


def provider_for(case: dict[str, Any], client: httpx2.AsyncClient) -> Any:
    api = case["api"]
    if api == "anthropic-messages":
        return AnthropicProvider(api_key="k", http_client=client, retry=None)
    if api == "gemini":
        return GeminiProvider(api_key="k", http_client=client, retry=None)
    if api == "cohere-chat":
        return CohereProvider(api_key="k", http_client=client, retry=None)
    base = harness.base_url(case, "/chat/completions")
    return OpenAICompatibleProvider(api_key="k", base_url=base, http_client=client, retry=None)


def model_of(case: dict[str, Any]) -> str:
    body = case["request"].get("json") or {}
    if "model" in body:
        return str(body["model"])
    return case["request"]["url"].split("/models/")[1].split(":")[0]  # Gemini names it in the URL


@pytest.mark.parametrize("path", cases())
async def test_recorded_structured_answers_come_back_as_the_output(path: Path) -> None:
    case = harness.load(path)
    found = expected(case)
    assert found is not None
    mode, value = found
    http = httpx2.AsyncClient(
        transport=httpx2.MockTransport(harness.handler(case, 7, check_path=False))
    )
    client = Replay(provider_for(case, http), model=model_of(case))
    output_type = dict[str, Any] if isinstance(value, dict) else list[Any]
    if not case["stream"]:
        reply = await client.generate("replay", output=output_type, output_mode=mode)
        assert reply.output == value
        return
    stream = client.stream("replay", output=output_type, output_mode=mode)
    partials = [e.partial_output async for e in stream if e.partial_output is not None]
    assert partials, "a streamed answer shows its partial output"
    assert all(is_prefix(p, value) for p in partials)
    assert stream.response.output == value
