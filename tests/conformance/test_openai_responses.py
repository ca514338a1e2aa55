"""Every `openai-responses` case of the conformance corpus, replayed through the provider named
by it with `api="responses"` (OpenAI, Azure OpenAI, OpenRouter, DeepSeek; xAI through
`OpenAICompatibleProvider`), with llmkit's own `httpx2` sender and, where the provider
has one, the vendor SDK's, with equal results.

The llmkit `Request` is rebuilt from the recorded request body (instructions, input
items, tools, `text.format`, the rest in `extra`), so request building runs too: the
outgoing body must name the same model, carry the same input items (reasoning items
included) and ask for a stream exactly when the recording did. Streamed cases are
also served in 7-byte pieces.

One rule of llmkit differs from the corpus on purpose: a reply that is only a refusal
ends with `content_filter` (`Response.refusal`'s documented rule, as for Chat
Completions), where the corpus keeps `stop`; `raw_finish_reason` keeps `completed`,
and the comparison maps it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from llmkit import errors
from llmkit.providers import (
    AzureOpenAIProvider,
    DeepSeekProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    OpenRouterProvider,
)
from llmkit.types import Message, Request, Response, Role, ToolCall, ToolSpec
from tests.conformance import harness

PROVIDERS: dict[str, type[OpenAICompatibleProvider]] = {
    "openai": OpenAIProvider,
    "openrouter": OpenRouterProvider,
    "deepseek": DeepSeekProvider,
    "azure": AzureOpenAIProvider,
}

MODELLED = {
    "model",
    "input",
    "instructions",
    "stream",
    "tools",
    "temperature",
    "top_p",
    "max_output_tokens",
}

_ASSISTANT_SIDE = ("reasoning", "function_call")


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _kind(item: dict[str, Any]) -> str:
    """An input item's kind: its role (system and developer alike) or its type."""
    role = item.get("role")
    if role is not None:
        return "system" if role == "developer" else str(role)
    return str(item.get("type"))


def _is_assistant_side(item: dict[str, Any]) -> bool:
    return item.get("type") in _ASSISTANT_SIDE or item.get("role") == "assistant"


def _assistant(items: list[dict[str, Any]], provider: str) -> Message:
    """One assistant turn from consecutive reasoning, message and function-call items."""
    text = "".join(_text(i.get("content")) for i in items if i.get("role") == "assistant")
    calls = [
        ToolCall(i["call_id"], i["name"], json.loads(i.get("arguments") or "{}"))
        for i in items
        if i.get("type") == "function_call"
    ]
    data: dict[str, Any] = {}
    if any(i.get("type") == "reasoning" for i in items):
        skeleton = [
            i
            if i.get("type") == "reasoning"
            else {"type": "message", "id": i.get("id")}
            if i.get("role") == "assistant"
            else {"type": "function_call", "id": i.get("id"), "call_id": i["call_id"]}
            for i in items
        ]
        data = {provider: {"items": skeleton}}
    return Message.assistant(text, tool_calls=calls, provider_data=data)


def _messages(body: dict[str, Any], provider: str) -> list[Message]:
    messages = [Message.system(body["instructions"])] if body.get("instructions") else []
    items = body["input"]
    if isinstance(items, str):
        return [*messages, Message.user(items)]
    pending: list[dict[str, Any]] = []
    for item in [*items, None]:
        if item is not None and _is_assistant_side(item):
            pending.append(item)
            continue
        if pending:
            messages.append(_assistant(pending, provider))
            pending = []
        if item is None:
            break
        if item.get("type") == "function_call_output":
            messages.append(Message.tool(_text(item["output"]), tool_call_id=item["call_id"]))
        else:
            role = "system" if item["role"] == "developer" else item["role"]
            messages.append(Message(Role(role), _text(item.get("content"))))
    return messages


def build_request(body: dict[str, Any], provider: str) -> Request:
    """The llmkit request equivalent to a recorded `/responses` body."""
    extra = {k: v for k, v in body.items() if k not in MODELLED}
    text = dict(extra.pop("text", None) or {})
    fmt = text.pop("format", None)
    response_format = None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = {k: v for k, v in fmt.items() if k != "type"}
        response_format = {"type": "json_schema", "json_schema": schema}
    elif isinstance(fmt, dict):
        response_format = fmt
    if text:
        extra["text"] = text
    choice = extra.pop("tool_choice", None)
    if isinstance(choice, dict) and choice.get("type") == "function":
        choice = choice["name"]
    elif choice is not None and not isinstance(choice, str):
        extra["tool_choice"] = choice
        choice = None
    return Request(
        model=body["model"],
        messages=_messages(body, provider),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        max_tokens=body.get("max_output_tokens"),
        response_format=response_format,
        tools=[
            ToolSpec(
                t["name"],
                t.get("description") or "",
                t.get("parameters") or {"type": "object", "properties": {}},
            )
            for t in body.get("tools") or ()
        ],
        tool_choice=choice,
        extra=extra,
    )


def _items(body: dict[str, Any]) -> list[str]:
    """The input's item kinds after the leading system prompts (those may be `instructions`),
    an assistant turn's text once."""
    items = body["input"]
    if isinstance(items, str):
        return ["user"]
    kinds: list[str] = []
    for item in items:
        kind = _kind(item)
        empty = kind == "assistant" and not _text(item.get("content"))
        if empty or (kind == "assistant" and kinds[-1:] == ["assistant"]):
            continue  # llmkit sends one turn's text once, and no empty text
        kinds.append(kind)
    while kinds and kinds[0] == "system":
        kinds.pop(0)
    return kinds


def _replayed(body: dict[str, Any]) -> list[Any]:
    """The non-message input items as the host checks them: reasoning items whole (but
    `status`), calls and outputs by `call_id`, function calls by item id too beside
    reasoning items (llmkit keeps those ids only where a reasoning item needs them)."""
    items = body["input"] if isinstance(body["input"], list) else []
    reasoning = any(item.get("type") == "reasoning" for item in items)
    out: list[Any] = []
    for item in items:
        kind = item.get("type")
        if kind == "reasoning":
            if body.get("store") is not False or item.get("encrypted_content"):
                out.append({k: v for k, v in item.items() if k != "status"})
        elif kind == "function_call":
            item_id = item.get("id") if reasoning else None
            out.append((kind, item_id, item["call_id"], item["name"]))
        elif kind == "function_call_output":
            out.append((kind, item["call_id"]))
    return out


def _provider(case: dict[str, Any], client: Any, sender: str) -> OpenAICompatibleProvider:
    common: dict[str, Any] = {
        "api_key": "test-key",
        "http_client": client,
        "retry": None,
        "api": "responses",
    }
    if case["provider"] == "azure":
        url = urlsplit(case["request"]["url"])
        version = parse_qs(url.query).get("api-version", [None])[0]
        return AzureOpenAIProvider(
            endpoint=f"{url.scheme}://{url.netloc}", api_version=version, **common
        )
    cls = PROVIDERS.get(case["provider"], OpenAICompatibleProvider)
    base = harness.base_url(case, "/responses")
    return cls(base_url=base, sender=sender, **common)  # type: ignore[arg-type]


def normalise(response: Response) -> dict[str, Any]:
    result = harness.normalise(response)
    result["usage"]["reasoning_tokens"] = response.usage.reasoning_tokens
    result["usage"]["cached_input_tokens"] = response.usage.cached_input_tokens
    if (
        response.refusal
        and result["finish_reason"] == "content_filter"
        and response.raw_finish_reason == "completed"
    ):
        result["finish_reason"] = "stop"  # llmkit's refusal rule, see the module docstring
    return result


def normalise_error(error: errors.LLMError) -> dict[str, Any]:
    result = harness.normalise_error(error)
    usage = error.partial.usage if error.partial is not None else None
    result["usage"]["reasoning_tokens"] = usage.reasoning_tokens if usage else None
    result["usage"]["cached_input_tokens"] = usage.cached_input_tokens if usage else None
    return result


async def _replay(
    case: dict[str, Any], chunk_size: int | None, sender: str
) -> tuple[dict[str, Any], list[dict[str, Any]], Request]:
    """The case through its provider with `sender`: (normalised result, bodies sent, request)."""
    sent: list[dict[str, Any]] = []
    serve = harness.handler(case, chunk_size)

    def record(request: httpx2.Request) -> Any:
        sent.append(json.loads(request.content))
        return serve(request)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(record))
    provider = _provider(case, client, sender)
    request = build_request(case["request"]["json"], provider.name)
    try:
        if case["stream"]:
            result = normalise(await provider.stream(request).collect())
        else:
            result = normalise(await provider.complete(request))
    except errors.LLMError as error:
        result = normalise_error(error)
    finally:
        await client.aclose()
    return result, sent, request


@pytest.mark.parametrize(harness.ARGS, harness.cases("openai-responses"))
async def test_case(path: Path, mode: harness.Mode) -> None:
    """The recorded reply read as the corpus expects, the same from every sender."""
    case = harness.load(path)
    recorded = case["request"]["json"]
    senders = ["httpx2"] if case["provider"] == "azure" else ["httpx2", "sdk"]
    results = {}
    for sender in senders:
        result, sent, _ = await _replay(case, mode.chunk_size, sender)
        results[sender] = result
        assert result == case["expect"], sender
        assert len(sent) == 1
        body = sent[0]
        assert body["model"] == recorded["model"]
        assert _items(body) == _items(recorded)
        assert _replayed(body) == _replayed(recorded)
        assert body.get("stream", False) == recorded.get("stream", False)
        assert [t["name"] for t in body.get("tools", ())] == [
            t["name"] for t in recorded.get("tools", ())
        ]
        if "text" in recorded:
            assert body["text"] == recorded["text"]
    assert len({json.dumps(r, sort_keys=True) for r in results.values()}) == 1
