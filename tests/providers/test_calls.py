"""The policy shell end to end: faults injected under a provider, retried, timed out, paced."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest

from llmkit.errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidRequestError,
    InvalidResponseError,
    OverloadedError,
    RateLimitError,
    ServerError,
    StreamError,
)
from llmkit.providers import _calls
from llmkit.ratelimit import RateLimit
from llmkit.retry import RetryPolicy
from llmkit.testing.faults import Fault, FaultTransport
from llmkit.timeouts import Timeouts
from llmkit.types import StreamEvent
from tests.providers._tiny import USAGE, TinyProvider, request, server, sse

FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)


def tiny(faults: list[Fault], **kwargs: Any) -> tuple[TinyProvider, FaultTransport]:
    transport = FaultTransport(faults, server)
    kwargs.setdefault("retry", FAST)
    provider = TinyProvider(http_client=httpx2.AsyncClient(transport=transport), **kwargs)
    return provider, transport


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The delay chosen after each failure."""
    seen: list[float | None] = []
    original = _calls._after_failure

    async def spy(*args: Any) -> float | None:
        wait = await original(*args)
        seen.append(wait)
        return wait

    monkeypatch.setattr(_calls, "_after_failure", spy)
    return seen


# -- complete ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected_wait"),
    [
        (Fault.rate_limited(0.01, form="seconds"), 0.01),
        (Fault.rate_limited(0.02, form="ms"), 0.02),
        (Fault.rate_limited(0, form="date"), 0.0),
        (Fault.retry_after_header("Wed, 21 Oct 2015 07:28:00 GMT"), 0.0),  # in the past
    ],
    ids=["seconds", "ms", "date", "past-date"],
)
async def test_429_honours_each_retry_after_form_then_succeeds(
    fault: Fault, expected_wait: float, waits: list[float | None]
) -> None:
    provider, transport = tiny([fault])
    reply = await provider.complete(request())
    assert reply.text == "one two three four five"
    assert len(transport.requests) == 2
    assert waits == [pytest.approx(expected_wait)]


@pytest.mark.parametrize("value", ["inf", "nan", "-5", "soon", ""])
async def test_unusable_retry_after_falls_back_to_backoff(
    value: str, waits: list[float | None]
) -> None:
    provider, transport = tiny([Fault.retry_after_header(value)])
    await provider.complete(request())
    assert len(transport.requests) == 2
    assert waits[0] is not None and 0 <= waits[0] < FAST.base_delay


@pytest.mark.parametrize(
    "fault", [Fault.server_error(500), Fault.overloaded(529), Fault.overloaded(503)]
)
async def test_server_errors_then_200(fault: Fault) -> None:
    provider, transport = tiny([fault, fault])
    reply = await provider.complete(request())
    assert reply.usage.output_tokens == USAGE["output"]
    assert len(transport.requests) == 3


async def test_connection_reset_then_200() -> None:
    provider, transport = tiny([Fault.connection_reset()])
    assert (await provider.complete(request())).text.startswith("one")
    assert [f.kind for f in transport.played] == ["reset", "pass"]


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    provider, transport = tiny([Fault.overloaded(529)] * 5)
    with pytest.raises(OverloadedError):
        await provider.complete(request())
    assert len(transport.requests) == FAST.max_attempts


async def test_connection_reset_every_time_is_a_connection_error() -> None:
    provider, _ = tiny([Fault.connection_reset()] * 3)
    with pytest.raises(APIConnectionError):
        await provider.complete(request())


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_never_retried(status: int) -> None:
    provider, transport = tiny([Fault.status_error(status)])
    with pytest.raises(InvalidRequestError):
        await provider.complete(request())
    assert len(transport.requests) == 1


async def test_insufficient_quota_429_fails_at_once_and_does_not_pause() -> None:
    limit = RateLimit()
    body = {"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}}
    provider, transport = tiny([Fault.rate_limited(1, body=body)], rate_limit=limit)
    with pytest.raises(RateLimitError, match="insufficient_quota"):
        await provider.complete(request())
    assert len(transport.requests) == 1
    assert limit.backend.state.paused_until < 0  # type: ignore[attr-defined]


async def test_retry_none_turns_retries_off() -> None:
    provider, transport = tiny([Fault.server_error()], retry=None)
    with pytest.raises(ServerError):
        await provider.complete(request())
    assert len(transport.requests) == 1


async def test_retry_after_longer_than_the_policy_allows_fails_with_it() -> None:
    provider, transport = tiny([Fault.rate_limited(3600)])
    with pytest.raises(RateLimitError) as caught:
        await provider.complete(request())
    assert caught.value.retry_after == 3600
    assert len(transport.requests) == 1


async def test_malformed_json_is_an_invalid_response_and_not_retried() -> None:
    provider, transport = tiny([Fault.malformed()])
    with pytest.raises(InvalidResponseError):
        await provider.complete(request())
    assert len(transport.requests) == 1


async def test_keepalive_lines_do_not_keep_a_call_alive_past_total() -> None:
    keepalive = Fault.keepalive_only(line=b"\n", content_type="application/json")
    provider, _ = tiny([keepalive], retry=None, timeout=0.2)
    with pytest.raises(APITimeoutError, match="total timeout"):
        await provider.complete(request())


async def test_a_total_timeout_is_retried() -> None:
    keepalive = Fault.keepalive_only(line=b"\n", content_type="application/json")
    provider, transport = tiny([keepalive], timeout=1.0)
    assert (await provider.complete(request())).text.startswith("one")
    assert len(transport.requests) == 2


# -- streams ----------------------------------------------------------------


async def test_stream_cut_after_3_events_raises_stream_error_with_partial() -> None:
    provider, transport = tiny([Fault.cut_after(3)])
    stream = provider.stream(request())
    texts = []
    with pytest.raises(StreamError) as caught:
        async for event in stream:
            texts.append(event.text)
    assert texts == ["one ", "two ", "three "]
    assert caught.value.partial is not None
    assert caught.value.partial.text == "one two three "
    assert len(transport.requests) == 1  # never retried once events were out


async def test_stream_reset_before_first_event_is_retried() -> None:
    provider, transport = tiny([Fault.connection_reset(), Fault.server_error()])
    reply = await provider.stream(request()).collect()
    assert reply.text == "one two three four five"
    assert reply.usage.input_tokens == USAGE["input"]
    assert len(transport.requests) == 3


async def test_stream_cut_before_first_event_is_retried() -> None:
    provider, transport = tiny([Fault.cut_after(0)])
    reply = await provider.stream(request()).collect()
    assert reply.text == "one two three four five"
    assert len(transport.requests) == 2


async def test_stream_stall_after_events_hits_idle_timeout_as_stream_error() -> None:
    provider, _ = tiny([Fault.stall_after(2)], timeout=Timeouts(idle=0.5))
    stream = provider.stream(request())
    with pytest.raises(StreamError, match="idle") as caught:
        await stream.collect()
    assert caught.value.partial is not None
    assert caught.value.partial.text == "one two "


async def test_keepalive_only_stream_hits_first_token_timeout() -> None:
    provider, transport = tiny(
        [Fault.keepalive_only()], retry=None, timeout=Timeouts(first_token=0.1)
    )
    with pytest.raises(APITimeoutError, match="first-token"):
        await provider.stream(request()).collect()
    assert len(transport.requests) == 1


async def test_keepalive_only_stream_hits_idle_timeout_when_no_first_token_limit() -> None:
    provider, _ = tiny([Fault.keepalive_only()], retry=None, timeout=Timeouts(idle=0.1))
    with pytest.raises(APITimeoutError, match="idle"):
        await provider.stream(request()).collect()


async def test_keepalive_only_stream_is_retried_and_then_served() -> None:
    provider, transport = tiny([Fault.keepalive_only()], timeout=Timeouts(first_token=1.0))
    reply = await provider.stream(request()).collect()
    assert reply.text == "one two three four five"
    assert len(transport.requests) == 2


async def test_stream_total_timeout_after_first_event_is_a_stream_error() -> None:
    provider, _ = tiny([Fault.stall_after(1)], timeout=Timeouts(total=1.0))
    with pytest.raises(StreamError, match="total timeout"):
        await provider.stream(request()).collect()


async def test_slow_but_steady_stream_passes_idle_timeout() -> None:
    provider, _ = tiny([Fault.stall_after(2, seconds=0.05)], timeout=Timeouts(idle=2.0))
    reply = await provider.stream(request()).collect()
    assert reply.text == "one two three four five"


# -- rate limits through the shell --------------------------------------------


async def test_lease_is_settled_with_real_usage() -> None:
    limit = RateLimit(requests_per_minute=100, tokens_per_minute=100_000)
    provider, _ = tiny([], rate_limit=limit)
    await provider.complete(request(max_tokens=500))
    state = limit.backend.state  # type: ignore[attr-defined]
    now = limit._clock()
    assert state.windows["requests"].used(now) == 1
    assert state.windows["tokens"].used(now) == USAGE["input"] + USAGE["output"]
    assert not state.in_flight


async def test_stream_lease_is_settled_and_released() -> None:
    limit = RateLimit(tokens_per_minute=100_000, max_concurrency=1)
    provider, _ = tiny([], rate_limit=limit)
    await provider.stream(request()).collect()
    state = limit.backend.state  # type: ignore[attr-defined]
    assert state.windows["tokens"].used(limit._clock()) == USAGE["input"] + USAGE["output"]
    assert not state.in_flight


async def test_a_429_pauses_the_whole_bucket() -> None:
    limit = RateLimit()
    provider, _ = tiny([Fault.rate_limited(0.05)], rate_limit=limit)
    paused: list[float] = []
    original = limit.pause

    async def spy(seconds: float) -> None:
        paused.append(seconds)
        await original(seconds)

    limit.pause = spy  # type: ignore[method-assign]
    await provider.complete(request())
    assert paused == [0.05]


async def test_rate_limit_headers_resync_the_limit() -> None:
    def headers_server(req: httpx2.Request) -> httpx2.Response:
        reply = server(req)
        reply.headers["x-ratelimit-remaining-requests"] = "0"
        reply.headers["x-ratelimit-reset-requests"] = "6m0s"
        return reply

    limit = RateLimit()
    provider = TinyProvider(
        http_client=httpx2.AsyncClient(transport=FaultTransport([], headers_server)),
        rate_limit=limit,
    )
    await provider.complete(request())
    quota = limit.backend.state.quotas["requests"]  # type: ignore[attr-defined]
    assert quota.remaining == 0
    assert quota.reset_at == pytest.approx(limit._clock() + 360, abs=5)


# -- through OpenAICompatibleProvider ----------------------------------------

openai_compatible = pytest.importorskip("llmkit.providers.openai_compatible")
pytest.importorskip("openai")


def openai_server(req: httpx2.Request) -> httpx2.Response:
    body = json.loads(req.content)
    if body.get("stream"):
        chunks = [
            {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": w}}]}
            for w in ["one ", "two ", "three ", "four"]
        ]
        chunks.append(
            {
                "id": "c1",
                "model": "m",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            }
        )
        data = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
        data += b"data: [DONE]\n\n"
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=data)
    return httpx2.Response(
        200,
        json={
            "id": "c1",
            "object": "chat.completion",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        },
    )


def compatible(faults: list[Fault], **kwargs: Any) -> tuple[Any, FaultTransport]:
    transport = FaultTransport(faults, openai_server)
    kwargs.setdefault("retry", FAST)
    provider = openai_compatible.OpenAICompatibleProvider(
        base_url="http://compat.test/v1",
        api_key="test-key",
        http_client=httpx2.AsyncClient(transport=transport),
        **kwargs,
    )
    return provider, transport


@pytest.mark.parametrize(
    "fault",
    [
        Fault.rate_limited(0.01, form="seconds"),
        Fault.rate_limited(0.01, form="ms"),
        Fault.rate_limited(0, form="date"),
        Fault.server_error(500),
        Fault.connection_reset(),
    ],
    ids=["429-seconds", "429-ms", "429-date", "500", "reset"],
)
async def test_openai_compatible_recovers(fault: Fault) -> None:
    provider, transport = compatible([fault])
    reply = await provider.complete(request())
    assert reply.text == "hi"
    assert len(transport.requests) == 2


async def test_openai_compatible_stream_cut_after_3_events() -> None:
    provider, transport = compatible([Fault.cut_after(3)])
    with pytest.raises(StreamError) as caught:
        await provider.stream(request()).collect()
    assert caught.value.partial is not None
    assert caught.value.partial.text == "one two three "
    assert len(transport.requests) == 1


async def test_openai_compatible_malformed_json() -> None:
    provider, transport = compatible([Fault.malformed()])
    with pytest.raises(InvalidResponseError):
        await provider.complete(request())
    assert len(transport.requests) == 1


async def test_openai_compatible_keepalive_only_stream_times_out() -> None:
    provider, _ = compatible(
        [Fault.keepalive_only()], retry=None, timeout=Timeouts(first_token=0.1)
    )
    with pytest.raises(APITimeoutError):
        await provider.stream(request()).collect()


async def test_openai_compatible_stall_after_events_is_a_stream_error() -> None:
    provider, _ = compatible([Fault.stall_after(2)], timeout=Timeouts(idle=0.5))
    with pytest.raises(StreamError) as caught:
        await provider.stream(request()).collect()
    assert caught.value.partial is not None
    assert caught.value.partial.text == "one two "


async def test_an_empty_first_event_does_not_stop_a_retry() -> None:
    """A role-only first chunk is held back, so a stall right after it is still retried."""

    def server_with_empty_first_event(req: httpx2.Request) -> httpx2.Response:
        reply = server(req)
        if req.url.path.endswith("/stream"):
            body = sse({"text": ""}) + reply.content
            return httpx2.Response(200, headers=reply.headers, content=body)
        return reply

    transport = FaultTransport([Fault.stall_after(1)], server_with_empty_first_event)
    provider = TinyProvider(
        http_client=httpx2.AsyncClient(transport=transport),
        retry=FAST,
        timeout=Timeouts(first_token=0.5),
    )
    events = [event async for event in provider.stream(request())]
    assert "".join(e.text for e in events) == "one two three four five"
    assert len(transport.requests) == 2


# -- calls go one way: a send callable and a frozen policy -------------------------


def one_way_request() -> Any:
    from llmkit.types import Message, Request

    return Request("m", [Message.user("hi")])


async def test_the_shell_needs_no_provider_object_only_send_and_a_policy() -> None:
    from llmkit.types import Response

    sent: list[Any] = []

    async def send(req: Any) -> Response:
        sent.append(req)
        if len(sent) == 1:
            raise OverloadedError("busy", provider="p")
        return Response(text="done")

    policy = _calls.Policy("p", Timeouts(total=5), FAST, None)
    reply = await _calls.complete(send, policy, one_way_request())
    assert reply.text == "done" and len(sent) == 2
    with pytest.raises(AttributeError):
        policy.retry = None  # type: ignore[misc]


def test_policy_of_reads_a_providers_settings_once() -> None:
    provider, _ = tiny([], timeout=Timeouts(idle=3))
    policy = _calls.Policy.of(provider)
    assert (policy.name, policy.timeouts.idle, policy.retry) == ("tiny", 3, FAST)
    assert policy.rate_limit is provider.rate_limit


async def test_an_llm_error_is_never_its_own_cause() -> None:
    async def send(req: Any) -> Any:
        raise InvalidRequestError("no", provider="p")

    async def source(req: Any) -> AsyncIterator[StreamEvent]:
        raise InvalidRequestError("no", provider="p")
        yield StreamEvent()  # pragma: no cover

    policy = _calls.Policy("p")
    with pytest.raises(InvalidRequestError) as plain:
        await _calls.complete(send, policy, one_way_request())
    with pytest.raises(InvalidRequestError) as streamed:
        async for _ in _calls.stream(source, policy, one_way_request()):
            pass
    for error in (plain.value, streamed.value):
        assert error.__cause__ is not error and error.__context__ is not error


# -- progress is content ----------------------------------------------------------


def test_progress_is_content_not_bookkeeping() -> None:
    from llmkit.types import FinishReason, ToolCallDelta, Usage

    assert _calls.is_progress(StreamEvent(text="a"))
    assert _calls.is_progress(StreamEvent(reasoning="r"))
    assert _calls.is_progress(StreamEvent(tool_call=ToolCallDelta(0, arguments="{")))
    assert not _calls.is_progress(StreamEvent(usage=Usage(input_tokens=3)))
    assert not _calls.is_progress(StreamEvent(finish_reason=FinishReason.STOP))
    assert not _calls.is_progress(StreamEvent(id="msg_1", model="m"))


async def test_bookkeeping_then_a_stall_is_retried_and_nothing_leaks_to_the_caller() -> None:
    from llmkit.types import FinishReason, Usage

    attempts = 0

    async def source(req: Any) -> AsyncIterator[StreamEvent]:
        nonlocal attempts
        attempts += 1
        yield StreamEvent(id="msg_1", usage=Usage(input_tokens=5))  # message_start
        if attempts == 1:
            await anyio.sleep(60)
        yield StreamEvent(text="hello")
        yield StreamEvent(finish_reason=FinishReason.STOP, usage=Usage(5, 1))

    policy = _calls.Policy("p", Timeouts(first_token=0.2), FAST)
    events = [e async for e in _calls.stream(source, policy, one_way_request())]
    assert attempts == 2
    assert [e.text for e in events] == ["", "hello", ""]  # the held event, once


async def test_a_reply_of_bookkeeping_only_is_delivered_at_its_end() -> None:
    from llmkit.types import FinishReason

    async def source(req: Any) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(id="x")
        yield StreamEvent(finish_reason=FinishReason.CONTENT_FILTER)

    events = [e async for e in _calls.stream(source, _calls.Policy("p"), one_way_request())]
    assert [e.finish_reason for e in events] == [None, FinishReason.CONTENT_FILTER]


async def test_the_first_content_brings_the_idle_deadline_forward() -> None:
    """first_token=30, idle=0.1: after content, a stall ends in ~0.1 s, not at 30 s."""

    async def source(req: Any) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(text="a")
        await anyio.sleep(60)
        yield StreamEvent(text="never")  # pragma: no cover

    policy = _calls.Policy("p", Timeouts(first_token=30, idle=0.1), FAST)
    with anyio.fail_after(10):
        with pytest.raises(StreamError, match=r"idle timeout of 0\.1s"):
            async for _ in _calls.stream(source, policy, one_way_request()):
                pass


def test_a_refusal_is_progress() -> None:
    assert _calls.is_progress(StreamEvent(refusal="I can't help with that"))
