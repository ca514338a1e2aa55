"""Faults over real sockets (tests/faultserver.py): timers, progress rules, decoders, error chains.

Each case plays a scripted reply from a loopback server to a real provider
(OpenAI-compatible and Anthropic wire formats), so the connection pool, the
HTTP library, the decoders and the policy shell all run as in production;
every case runs on both senders (`httpx2`'s pool and `aiohttp`'s).
Timing assertions are ratios with wide margins (a limit of 0.2 s against one
of 20 s), never speed targets.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from llmkit import errors
from llmkit.errors import (
    APITimeoutError,
    AuthenticationError,
    InvalidResponseError,
    LLMError,
    ServerError,
    StreamError,
    UnderlyingError,
)
from llmkit.providers import AnthropicProvider, OpenAICompatibleProvider
from llmkit.providers._base import BaseProvider
from llmkit.providers._codecs import sse
from llmkit.retry import RetryPolicy
from llmkit.timeouts import Timeouts
from llmkit.types import Message, Request
from tests.faultserver import CUT, STALL, FaultServer, Reply

KEY = "sk-ant-api03-SECRETsecretSECRET0123456789"
FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)
HOSTS = ["openai", "anthropic"]
_SENDER = ["httpx2"]  # the sender of the case that runs (set by the `sender` fixture)


@pytest.fixture(autouse=True, params=["httpx2", "aiohttp"])
def sender(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every case once per sender: the same faults through either connection pool."""
    _SENDER[0] = request.param
    yield request.param
    _SENDER[0] = "httpx2"


def provider(host: str, url: str, **options: Any) -> BaseProvider:
    """A provider with its pool already built (call it inside the test's event loop).

    The pool is built lazily by the first request, and building it loads the
    CA store (0.1 s of CPU, several times that on a loaded 2-core machine):
    inside a 0.5 s first-token window that cost could time out an attempt
    before its request reaches the server. Built here, every timed window
    holds only the request and the reply.
    """
    options.setdefault("retry", None)
    options.setdefault("sender", _SENDER[0])
    if host == "openai":
        built: BaseProvider = OpenAICompatibleProvider(base_url=url + "/v1", api_key=KEY, **options)
    else:
        built = AnthropicProvider(base_url=url, api_key=KEY, **options)
    built.http_client()
    return built


def ask(host: str) -> Request:
    return Request("claude-x" if host == "anthropic" else "m", [Message.user("hi")], max_tokens=50)


# -- the wire formats, as steps ------------------------------------------------------


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def start(host: str) -> list[bytes]:
    """What a host sends before any content: bookkeeping only."""
    if host == "anthropic":
        message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x"}
        message |= {"content": [], "stop_reason": None, "usage": {"input_tokens": 5}}
        block = {"type": "text", "text": ""}
        return [
            _event("message_start", {"type": "message_start", "message": message}),
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            ),
        ]
    role = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    usage = {"id": "c", "model": "m", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 0}}  # fmt: skip
    return [b"data: " + json.dumps(role).encode() + b"\n\n", b"data: " + json.dumps(usage).encode() + b"\n\n"]  # fmt: skip


def ping(host: str) -> bytes:
    return _event("ping", {"type": "ping"}) if host == "anthropic" else b": keep-alive\n\n"


def text(host: str, piece: str) -> bytes:
    if host == "anthropic":
        delta = {"type": "text_delta", "text": piece}
        return _event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})  # fmt: skip
    chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": piece}}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def end(host: str) -> list[bytes]:
    if host == "anthropic":
        return [
            _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 2},
                },
            ),
            _event("message_stop", {"type": "message_stop"}),
        ]
    chunk = {
        "id": "c",
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    return [b"data: " + json.dumps(chunk).encode() + b"\n\n", b"data: [DONE]\n\n"]


def whole(host: str, reply_text: str) -> Reply:
    """A complete, healthy stream."""
    return Reply.sse(*start(host), text(host, reply_text), *end(host))


# -- 1. the idle timeout is re-armed earlier when content arrives -----------------------


@pytest.mark.parametrize("host", HOSTS)
async def test_idle_fires_long_before_a_later_first_token_deadline(host: str) -> None:
    script = [Reply.sse(*start(host), text(host, "one "), text(host, "two "), STALL)]
    async with FaultServer(script) as server:
        slow = provider(host, server.url, timeout=Timeouts(first_token=20, idle=0.2))
        began = time.monotonic()
        with pytest.raises(StreamError, match=r"idle timeout of 0\.2s") as caught:
            await slow.stream(ask(host)).collect()
        waited = time.monotonic() - began
        await slow.aclose()
    assert caught.value.partial is not None and caught.value.partial.text == "one two "
    assert waited < 10, (
        f"the idle limit (0.2 s) waited for the first-token one (20 s): {waited:.1f}s"
    )


# -- 2. progress is content, not bookkeeping -------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("pings", [0, 5], ids=["silent", "pings"])
async def test_a_stall_after_bookkeeping_is_a_first_token_timeout_retried(
    host: str, pings: int
) -> None:
    """message_start, usage-only chunks and pings are not a first token."""
    steps: list[Any] = [*start(host)]
    for _ in range(pings):
        steps += [0.02, ping(host)]
    async with FaultServer([Reply.sse(*steps, STALL)]) as server:
        stalled = provider(host, server.url, timeout=Timeouts(first_token=0.5), retry=FAST)
        with pytest.raises(APITimeoutError, match=r"first-token timeout of 0\.5s") as caught:
            await stalled.stream(ask(host)).collect()
        await stalled.aclose()
    assert caught.value.retryable
    assert len(server.requests) == FAST.max_attempts


@pytest.mark.parametrize("host", HOSTS)
async def test_a_stall_before_content_is_retried_and_then_served(host: str) -> None:
    script = [Reply.sse(*start(host), STALL), whole(host, "served")]
    async with FaultServer(script) as server:
        flaky = provider(host, server.url, timeout=Timeouts(first_token=0.5), retry=FAST)
        reply = await flaky.stream(ask(host)).collect()
        await flaky.aclose()
    assert reply.text == "served"
    assert len(server.requests) == 2


@pytest.mark.parametrize("host", HOSTS)
async def test_pings_after_content_do_not_reset_the_idle_timeout(host: str) -> None:
    steps: list[Any] = [*start(host), text(host, "partial")]
    for _ in range(40):
        steps += [0.05, ping(host)]
    async with FaultServer([Reply.sse(*steps, STALL)]) as server:
        pinged = provider(host, server.url, timeout=Timeouts(idle=0.4))
        with pytest.raises(StreamError, match="idle timeout"):
            await pinged.stream(ask(host)).collect()
        await pinged.aclose()


# -- 3. decoders: one large event, and the size limit -----------------------------------


@pytest.mark.parametrize("host", HOSTS)
async def test_one_8_mib_event_arrives_whole(host: str) -> None:
    big = "x" * (8 * 1024 * 1024)
    async with FaultServer([whole(host, big)]) as server:
        reader = provider(host, server.url)
        reply = await reader.stream(ask(host)).collect()
        await reader.aclose()
    assert reply.text == big


@pytest.mark.parametrize("host", HOSTS)
async def test_an_event_past_the_limit_is_a_clear_invalid_response(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "MAX_EVENT_SIZE", 1024 * 1024)
    async with FaultServer([whole(host, "y" * (2 * 1024 * 1024))]) as server:
        reader = provider(host, server.url)
        with pytest.raises(InvalidResponseError, match="MAX_EVENT_SIZE") as caught:
            await reader.stream(ask(host)).collect()
        await reader.aclose()
    assert "1,048,576 characters" in caught.value.message


# -- 4. a 50 MiB error page is kept, and scanned for keys, only up to its limit ---------


@pytest.fixture
def redacted_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text `errors.redact` is given."""
    sizes: list[int] = []
    original = errors.redact

    def spy(text: str, *secrets: str | None) -> str:
        sizes.append(len(text))
        return original(text, *secrets)

    monkeypatch.setattr(errors, "redact", spy)
    return sizes


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("streamed", [False, True], ids=["call", "stream"])
async def test_a_50_mib_error_page_is_bounded(
    host: str, streamed: bool, redacted_sizes: list[int]
) -> None:
    filler = b"<p>upstream failed " + KEY.encode() + b"</p>\n"
    page = b"<html><head><title>502 Bad gateway</title></head><body>"
    page += filler * (50 * 1024 * 1024 // len(filler)) + b"</body></html>"
    async with FaultServer([Reply.raw(page, status=502, content_type="text/html")]) as server:
        failing = provider(host, server.url)
        with pytest.raises(ServerError) as caught:
            if streamed:
                await failing.stream(ask(host)).collect()
            else:
                await failing.complete(ask(host))
        await failing.aclose()
    error = caught.value
    assert "502 Bad gateway" in error.message
    assert isinstance(error.body, str)
    assert len(error.body) <= errors.ERROR_BODY_LIMIT + len("…[cut]")
    assert error.body.endswith("…[cut]")
    assert KEY not in error.body and "***" in error.body
    assert redacted_sizes and max(redacted_sizes) <= errors.ERROR_BODY_LIMIT + len("…[cut]")


# -- 5. error chains: never their own cause, never a secret -------------------------------


def chain(error: BaseException) -> Iterator[BaseException]:
    """Every exception under `error`, each once, through causes and contexts."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__):
            assert linked is not current, f"{type(current).__name__} is its own cause"
            if linked is not None:
                todo.append(linked)


def assert_clean(error: BaseException) -> list[BaseException]:
    links = list(chain(error))
    assert len(links) < 20
    for link in links:
        assert isinstance(link, LLMError | UnderlyingError), f"raw {type(link)} under the error"
        for shown in (str(link), repr(link), *map(str, link.args)):
            assert KEY not in shown
    printed = "".join(traceback.format_exception(error))
    assert KEY not in printed
    return links


ECHO_401 = {"error": {"type": "authentication_error", "message": f"Incorrect API key: {KEY}"}}


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("streamed", [False, True], ids=["call", "stream"])
async def test_a_401_echoing_the_key_leaves_no_key_anywhere_in_the_chain(
    host: str, streamed: bool
) -> None:
    async with FaultServer([Reply.json(ECHO_401, status=401)]) as server:
        refused = provider(host, server.url)
        with pytest.raises(AuthenticationError) as caught:
            if streamed:
                await refused.stream(ask(host)).collect()
            else:
                await refused.complete(ask(host))
        await refused.aclose()
    assert_clean(caught.value)
    assert "***" in caught.value.message


@pytest.mark.parametrize("host", HOSTS)
async def test_a_cut_stream_keeps_a_summary_of_the_transport_error(host: str) -> None:
    async with FaultServer([Reply.sse(*start(host), text(host, "half"), CUT)]) as server:
        cut = provider(host, server.url)
        with pytest.raises(StreamError) as caught:
            await cut.stream(ask(host)).collect()
        await cut.aclose()
    links = assert_clean(caught.value)
    assert caught.value.partial is not None and caught.value.partial.text == "half"
    if any(isinstance(link, UnderlyingError) for link in links):
        summary = next(link for link in links if isinstance(link, UnderlyingError))
        assert summary.type_name.split(".")[0] in {"httpx2", "httpx", "httpcore", "anthropic", "h11"}  # fmt: skip
        assert summary.__traceback__ is not None


@pytest.mark.parametrize("host", HOSTS)
async def test_a_connection_refused_chain_is_clean(host: str) -> None:
    async with FaultServer([whole(host, "unused")]) as server:
        url = server.url
    gone = provider(host, url)  # the server has stopped: nothing listens there now
    with pytest.raises(LLMError) as caught:
        await gone.complete(ask(host))
    await gone.aclose()
    assert_clean(caught.value)


# -- 6. invalid UTF-8: the same error in a plain call and in a stream --------------------


def reply_body(host: str, content: bytes) -> bytes:
    if host == "anthropic":
        return (
            b'{"id":"msg_1","type":"message","role":"assistant","model":"claude-x",'
            b'"content":[{"type":"text","text":"' + content + b'"}],"stop_reason":"end_turn",'
            b'"usage":{"input_tokens":5,"output_tokens":2}}'
        )
    return (
        b'{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"' + content + b'"},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":5,"completion_tokens":2}}'
    )


BAD = b"caf\xc3 \xff"


@pytest.mark.parametrize("host", HOSTS)
async def test_invalid_utf8_is_an_invalid_response_in_a_call(host: str) -> None:
    async with FaultServer([Reply.raw(reply_body(host, BAD))]) as server:
        strict = provider(host, server.url)
        with pytest.raises(InvalidResponseError):
            await strict.complete(ask(host))
        await strict.aclose()


@pytest.mark.parametrize("host", HOSTS)
async def test_invalid_utf8_is_an_invalid_response_in_a_stream(host: str) -> None:
    bad_event = text(host, "caf").replace(b"caf", BAD)
    async with FaultServer([Reply.sse(*start(host), bad_event, *end(host))]) as server:
        strict = provider(host, server.url, retry=FAST)
        with pytest.raises(InvalidResponseError, match="not valid UTF-8"):
            await strict.stream(ask(host)).collect()
        await strict.aclose()
    assert len(server.requests) == 1  # not retried, as a plain call's is not
