"""In-process CPU per call through a mock transport: the floor, the SDK, llmkit.

Every case sends the same request and parses the same bytes (`_payloads`),
served by an `httpx2`/`httpx` `MockTransport` that yields the stream one SSE
event per chunk, so no network and no server is involved: what is measured is
the CPU the client library spends per call (`time.process_time`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import _payloads as P

BASE = "http://bench.invalid/v1"
AUTH = {"authorization": "Bearer sk-bench"}


def _handler(module: Any, stream: bool, wire: str = "openai") -> Callable[[Any], Any]:
    """A MockTransport handler answering every request with the reply or the stream
    (`wire`: OpenAI Chat Completions bytes, or Anthropic Messages bytes)."""
    chunks = P.ANTHROPIC_STREAM_EVENTS if wire == "anthropic" else P.STREAM_EVENTS
    whole = P.ANTHROPIC_MESSAGE_BYTES if wire == "anthropic" else P.COMPLETION_BYTES

    async def events() -> Any:
        for event in chunks:
            yield event

    def handle(request: Any) -> Any:
        if stream:
            headers = {"content-type": "text/event-stream"}
            return module.Response(200, headers=headers, content=events())
        headers = {"content-type": "application/json"}
        return module.Response(200, headers=headers, content=whole)

    return handle


def mock_client(module: Any, stream: bool, wire: str = "openai", **kwargs: Any) -> Any:
    """An `AsyncClient` of `module` (httpx2 or httpx) over the mock transport."""
    handler = _handler(module, stream, wire)
    return module.AsyncClient(transport=module.MockTransport(handler), **kwargs)


Call = Callable[[], Awaitable[str]]


# -- the cases: each returns (one plain call, one 64-chunk stream) ---------------------


def raw(make_client: Callable[[bool], Any], base: str = BASE) -> tuple[Call, Call]:
    """The floor: the HTTP library and `json`, reading `data:` lines by hand."""
    plain, streaming = make_client(False), make_client(True)
    url = base + "/chat/completions"
    body = json.dumps(P.REQUEST).encode()
    stream_body = json.dumps({**P.REQUEST, "stream": True}).encode()
    headers = {**AUTH, "content-type": "application/json"}

    async def call() -> str:
        response = await plain.post(url, content=body, headers=headers)
        data = json.loads(response.content)
        return str(data["choices"][0]["message"]["content"])

    async def stream() -> str:
        parts = []
        async with streaming.stream("POST", url, content=stream_body, headers=headers) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:])["choices"]
                if choices and (content := choices[0]["delta"].get("content")):
                    parts.append(content)
        return "".join(parts)

    return call, stream


def raw_aiohttp(base: str) -> tuple[Call, Call]:
    """The floor with aiohttp (loopback only): its session and `json`, `data:` lines by hand."""
    import aiohttp

    sessions: dict[bool, Any] = {}

    def session(stream: bool) -> Any:  # built on first use, inside the caller's event loop
        if stream not in sessions:
            connector = aiohttp.TCPConnector(limit=1000)
            sessions[stream] = aiohttp.ClientSession(connector=connector)
        return sessions[stream]

    url = base + "/chat/completions"
    body = json.dumps(P.REQUEST).encode()
    stream_body = json.dumps({**P.REQUEST, "stream": True}).encode()
    headers = {**AUTH, "content-type": "application/json"}

    async def call() -> str:
        async with session(False).post(url, data=body, headers=headers) as response:
            data = json.loads(await response.read())
        return str(data["choices"][0]["message"]["content"])

    async def stream() -> str:
        parts = []
        async with session(True).post(url, data=stream_body, headers=headers) as response:
            async for raw_line in response.content:
                line = raw_line.decode().rstrip("\r\n")
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:])["choices"]
                if choices and (content := choices[0]["delta"].get("content")):
                    parts.append(content)
        return "".join(parts)

    async def close() -> None:
        for opened in sessions.values():
            await opened.close()

    call.close = close  # type: ignore[attr-defined]  # run by the loopback section at its end
    return call, stream


def raw_anthropic(make_client: Callable[[bool], Any], base: str = BASE) -> tuple[Call, Call]:
    """The floor for Anthropic's wire format: the HTTP library and `json`, by hand."""
    plain, streaming = make_client(False), make_client(True)
    url = base + "/v1/messages"
    body = json.dumps(P.ANTHROPIC_REQUEST).encode()
    stream_body = json.dumps({**P.ANTHROPIC_REQUEST, "stream": True}).encode()
    headers = {"x-api-key": "sk-bench", "anthropic-version": "2023-06-01",
               "content-type": "application/json"}  # fmt: skip

    async def call() -> str:
        response = await plain.post(url, content=body, headers=headers)
        data = json.loads(response.content)
        return "".join(b["text"] for b in data["content"] if b["type"] == "text")

    async def stream() -> str:
        parts = []
        async with streaming.stream("POST", url, content=stream_body, headers=headers) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if (
                    event["type"] == "content_block_delta"
                    and event["delta"]["type"] == "text_delta"
                ):
                    parts.append(event["delta"]["text"])
        return "".join(parts)

    return call, stream


def openai_sdk(make_client: Callable[[bool], Any], base: str = BASE) -> tuple[Call, Call]:
    """The `openai` SDK alone, typed objects as its users get them."""
    import openai

    def sdk(stream: bool) -> Any:
        return openai.AsyncOpenAI(
            api_key="sk-bench", base_url=base, http_client=make_client(stream), max_retries=0
        )

    plain, streaming = sdk(False), sdk(True)

    async def call() -> str:
        completion = await plain.chat.completions.create(**P.REQUEST)
        return completion.choices[0].message.content or ""

    async def stream() -> str:
        parts = []
        chunks = await streaming.chat.completions.create(
            **P.REQUEST, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    return call, stream


def llmkit_provider(
    cls_path: str,
    make_client: Callable[[bool], Any],
    base: str = BASE,
    *,
    client: bool = False,
    sender: str | None = None,
    model: str = P.MODEL,
) -> tuple[Call, Call]:
    """An llmkit provider (optionally under a model client); `make_client` may return None
    (then the provider pools its own connections, as users get it). `sender="sdk"` has the
    vendor SDK send (the default: llmkit sends with `httpx2` itself)."""
    import importlib

    from llmkit.types import Message, Request

    module_name, _, cls_name = cls_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), cls_name)
    request = Request(
        model=model,
        messages=[
            Message.system("You are terse."),
            Message.user("Explain quicksort in one paragraph."),
        ],
        max_tokens=200,
    )
    options: dict[str, Any] = {"api_key": "sk-bench", "base_url": base}
    if sender is not None:
        options["sender"] = sender
    plain = cls(http_client=make_client(False), **options)
    streaming = cls(http_client=make_client(True), **options)

    if client:
        from llmkit.clients import GPT4Client

        plain_client = GPT4Client(provider=plain, model=P.MODEL)
        stream_client = GPT4Client(provider=streaming, model=P.MODEL)

        async def call() -> str:
            reply = await plain_client.generate(list(request.messages), max_tokens=200)
            return str(reply.text)

        async def stream() -> str:
            events = stream_client.stream(list(request.messages), max_tokens=200)
            return "".join([e.text async for e in events])

        return call, stream

    async def call() -> str:
        return (await plain.complete(request)).text

    async def stream() -> str:
        reply = streaming.stream(request)
        async for _ in reply:
            pass
        return reply.response.text

    async def close() -> None:
        await plain.aclose()
        await streaming.aclose()

    call.close = close  # type: ignore[attr-defined]  # run by the loopback section at its end
    return call, stream


def cases() -> dict[str, Callable[[], tuple[Call, Call]]]:
    """Every case that can run here, by label; missing optional libraries are left out."""
    import httpx
    import httpx2

    def client2(stream: bool) -> Any:
        return mock_client(httpx2, stream)

    def client1(stream: bool) -> Any:
        return mock_client(httpx, stream)

    def anthropic1(stream: bool) -> Any:
        return mock_client(httpx, stream, "anthropic")

    def anthropic2(stream: bool) -> Any:
        return mock_client(httpx2, stream, "anthropic")

    openai = "llmkit.providers.openai.OpenAIProvider"
    found: dict[str, Callable[[], tuple[Call, Call]]] = {
        "raw httpx + json": lambda: raw(client1),
        "raw httpx2 + json": lambda: raw(client2),
        "llmkit OpenAIProvider": lambda: llmkit_provider(openai, client2),
        "llmkit OpenAICompatibleProvider": lambda: llmkit_provider(
            "llmkit.providers.openai_compatible.OpenAICompatibleProvider", client2
        ),
        "llmkit GPT4Client -> OpenAIProvider": lambda: llmkit_provider(
            openai, client2, client=True
        ),
    }
    if importlib.util.find_spec("openai"):
        found["openai SDK alone (typed)"] = lambda: openai_sdk(client2)
        found[SDK_SENDER] = lambda: llmkit_provider(openai, client2, sender="sdk")
    anthropic = "llmkit.providers.anthropic.AnthropicProvider"
    found[ANTHROPIC_FLOOR] = lambda: raw_anthropic(anthropic1, "http://bench.invalid")
    found["llmkit AnthropicProvider"] = lambda: llmkit_provider(
        anthropic, anthropic2, "http://bench.invalid", model=P.ANTHROPIC_MODEL
    )
    if importlib.util.find_spec("anthropic"):
        found["llmkit AnthropicProvider sender=sdk"] = lambda: llmkit_provider(
            anthropic, anthropic2, "http://bench.invalid", sender="sdk", model=P.ANTHROPIC_MODEL
        )
    return found


SDK_SENDER = "llmkit OpenAIProvider sender=sdk"
ANTHROPIC_FLOOR = "raw httpx + json, Anthropic bytes"
"""The Anthropic rows are compared with this floor (the same bytes, read by hand)."""


OTHERS = ("pydantic_ai", "litellm", "langchain_openai", "aisuite")
"""Multi-provider libraries measured by the issue; listed as skipped when not installed."""


def missing_others() -> list[str]:
    """The other multi-provider libraries that are not installed (never installed in CI)."""
    return [name for name in OTHERS if importlib.util.find_spec(name) is None]


# -- measuring ----------------------------------------------------------------------


class _Runner:
    """One case on its own event loop, kept open across the batches."""

    def __init__(self, fn: Call) -> None:
        self.fn = fn
        self.loop = asyncio.new_event_loop()

    def batch(self, count: int) -> float:
        """CPU seconds per call over `count` calls."""

        async def go() -> None:
            for _ in range(count):
                await self.fn()

        start = time.process_time()
        self.loop.run_until_complete(go())
        return (time.process_time() - start) / count

    def check(self) -> str:
        return self.loop.run_until_complete(self.fn())

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def run(*, quick: bool) -> list[dict[str, Any]]:
    """Measure every case: µs of CPU per plain call and per 64-chunk stream (medians).

    The cases take turns batch by batch, so a change in the machine's load during
    the run spreads over all of them instead of favouring the ones measured first.
    """
    calls, stream_calls, repeats = (100, 20, 3) if quick else (200, 40, 7)
    runners: dict[tuple[str, str], _Runner] = {}
    try:
        for label, make in cases().items():
            call, stream = make()
            runners[label, "call_us"] = _Runner(call)
            runners[label, "stream_us"] = _Runner(stream)
        for (label, _), runner in runners.items():
            if runner.check() != P.TEXT:
                raise AssertionError(f"{label} did not read the whole reply")
            runner.batch(10)  # warm-up
        samples: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
        for _ in range(repeats):
            for key, runner in runners.items():
                count = calls if key[1] == "call_us" else stream_calls
                samples[key].append(runner.batch(count))
    finally:
        for runner in runners.values():
            runner.close()
    rows: dict[str, dict[str, Any]] = {}
    for (label, metric), values in samples.items():
        rows.setdefault(label, {"case": label})[metric] = statistics.median(values) * 1e6
    return list(rows.values())
