"""The fault-injecting transport on its own: each fault does what it says, in script order."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest

from llmkit.providers._codecs.sse import SSEDecoder
from llmkit.retry import parse_retry_after
from llmkit.testing.faults import Fault, FaultTransport, httpx_fault_transport, split_events

SSE_BODY = b"".join(b'data: {"n": %d}\n\n' % i for i in range(5)) + b"data: [DONE]\n\n"


def sse_server(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=SSE_BODY)


def client(*faults: Fault, inner: object = sse_server) -> tuple[httpx2.AsyncClient, FaultTransport]:
    transport = FaultTransport(faults, inner)
    return httpx2.AsyncClient(transport=transport, base_url="http://host.test"), transport


async def read_events(http: httpx2.AsyncClient) -> list[str]:
    decoder = SSEDecoder()
    events: list[str] = []
    async with http.stream("POST", "/s") as reply:
        async for chunk in reply.aiter_bytes():
            events += [e.data for e in decoder.feed(chunk)]
    return events


async def test_script_plays_in_order_then_passes_through() -> None:
    http, transport = client(Fault.server_error(502), Fault.overloaded())
    statuses = [(await http.get("/x")).status_code for _ in range(4)]
    assert statuses == [502, 529, 200, 200]
    assert [f.kind for f in transport.played] == ["status", "status", "pass", "pass"]
    assert len(transport.requests) == 4
    assert transport.remaining == 0


@pytest.mark.parametrize(
    ("form", "header", "expected"),
    [
        ("seconds", "retry-after", 2.0),
        ("ms", "retry-after-ms", 2.0),
        ("date", "retry-after", 2.0),
        ("none", None, None),
    ],
)
async def test_rate_limited_forms(form: str, header: str | None, expected: float | None) -> None:
    http, _ = client(Fault.rate_limited(2, form=form))  # type: ignore[arg-type]
    reply = await http.get("/x")
    assert reply.status_code == 429
    assert reply.json()["error"]["type"] == "rate_limit_exceeded"
    if header is None:
        assert "retry-after" not in reply.headers and "retry-after-ms" not in reply.headers
    else:
        assert header in reply.headers
    wait = parse_retry_after(reply.headers)
    assert wait == (None if expected is None else pytest.approx(expected, abs=1.01))


async def test_retry_after_header_is_verbatim() -> None:
    http, _ = client(Fault.retry_after_header("nan"))
    assert (await http.get("/x")).headers["retry-after"] == "nan"


async def test_overloaded_is_529_with_anthropic_body() -> None:
    http, _ = client(Fault.overloaded())
    reply = await http.get("/x")
    assert reply.status_code == 529
    assert reply.json()["error"]["type"] == "overloaded_error"


async def test_connection_reset_and_read_timeout_raise_transport_errors() -> None:
    http, _ = client(Fault.connection_reset(), Fault.read_timeout())
    with pytest.raises(httpx2.ConnectError):
        await http.get("/x")
    with pytest.raises(httpx2.ReadTimeout):
        await http.get("/x")
    assert (await http.get("/x")).status_code == 200


async def test_malformed_body_does_not_parse() -> None:
    http, _ = client(Fault.malformed())
    reply = await http.get("/x")
    assert reply.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        reply.json()


async def test_cut_after_serves_n_events_then_drops_the_connection() -> None:
    http, _ = client(Fault.cut_after(3))
    decoder = SSEDecoder()
    seen: list[str] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        async with http.stream("POST", "/s") as reply:
            async for chunk in reply.aiter_bytes():
                seen += [e.data for e in decoder.feed(chunk)]
    assert seen == ['{"n": 0}', '{"n": 1}', '{"n": 2}']


async def test_stall_after_goes_silent_after_n_events() -> None:
    http, _ = client(Fault.stall_after(2))
    seen: list[str] = []
    decoder = SSEDecoder()
    with anyio.move_on_after(0.2) as scope:
        async with http.stream("POST", "/s") as reply:
            async for chunk in reply.aiter_bytes():
                seen += [e.data for e in decoder.feed(chunk)]
    assert scope.cancelled_caught
    assert seen == ['{"n": 0}', '{"n": 1}']


async def test_a_finite_stall_resumes_with_the_rest() -> None:
    http, _ = client(Fault.stall_after(2, seconds=0.01))
    assert len(await read_events(http)) == 6


async def test_keepalive_only_sends_comments_and_no_events() -> None:
    http, _ = client(Fault.keepalive_only(count=3, interval=0))
    decoder = SSEDecoder()
    async with http.stream("POST", "/s") as reply:
        assert reply.headers["content-type"] == "text/event-stream"
        async for chunk in reply.aiter_bytes():
            assert decoder.feed(chunk) == []
    assert decoder.comments == 3


async def test_async_handler_and_default_inner() -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(201)

    http, _ = client(inner=handler)
    assert (await http.get("/x")).status_code == 201
    http, _ = client(inner=None)
    assert (await http.get("/x")).json() == {"ok": True}


def test_split_events_counts_only_real_events() -> None:
    body = b": keep-alive\n\ndata: a\n\n: ping\n\ndata: b\r\n\r\ndata: tail"
    pieces = split_events(body, "text/event-stream")
    assert [is_event for _, is_event in pieces] == [False, True, False, True, True]
    assert b"".join(frame for frame, _ in pieces) == body
    lines = split_events(b'{"a":1}\n{"b":2}\n', "application/x-ndjson")
    assert [is_event for _, is_event in lines] == [True, True]
    assert split_events(b"{}", "application/json") == [(b"{}", True)]


async def test_httpx_flavour() -> None:
    httpx = pytest.importorskip("httpx")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=SSE_BODY)

    transport = httpx_fault_transport([Fault.rate_limited(1), Fault.cut_after(1)], handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as http:
        assert (await http.get("/x")).status_code == 429
        with pytest.raises(httpx.RemoteProtocolError):
            async with http.stream("POST", "/s") as reply:
                async for _ in reply.aiter_bytes():
                    pass
        assert (await http.get("/x")).status_code == 200
    assert len(transport.requests) == 3
