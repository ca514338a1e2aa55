from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llmkit import FinishReason, Response, StreamEvent, ToolCallDelta, Usage
from llmkit.errors import RateLimitError, StreamError
from llmkit.providers._stream import ResponseBuilder, ResponseStream, parse_arguments

EVENTS = [
    StreamEvent(reasoning="think ", model="m1", id="r1"),
    StreamEvent(reasoning="more"),
    StreamEvent(text="Hel"),
    StreamEvent(text="lo", model="m2"),
    StreamEvent(tool_call=ToolCallDelta(1, id="b", name="second", arguments="{}")),
    StreamEvent(tool_call=ToolCallDelta(0, id="a", name="first", arguments='{"x"')),
    StreamEvent(tool_call=ToolCallDelta(0, id="ignored", arguments=": 1}")),
    StreamEvent(finish_reason=FinishReason.STOP, raw_finish_reason="stop"),
    StreamEvent(usage=Usage(input_tokens=5, output_tokens=7)),
]


def test_builder_folds_events_into_a_response() -> None:
    builder = ResponseBuilder(provider="p")
    for event in EVENTS:
        builder.add(event)
    reply = builder.build()
    assert reply.text == "Hello"
    assert reply.reasoning == "think more"
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("a", "first", {"x": 1}),
        ("b", "second", {}),
    ]
    # a raw "stop" with tool calls is reported as tool_calls (corpus rule 2)
    assert reply.finish_reason is FinishReason.TOOL_CALLS
    assert reply.raw_finish_reason == "stop"
    assert reply.usage == Usage(input_tokens=5, output_tokens=7)
    assert (reply.model, reply.id, reply.provider) == ("m1", "r1", "p")
    assert builder.events == 7


def test_missing_finish_reason_is_other() -> None:
    builder = ResponseBuilder()
    builder.add(StreamEvent(text="x"))
    assert builder.build().finish_reason is FinishReason.OTHER


@pytest.mark.parametrize(
    ("text", "arguments", "raw"),
    [
        (None, {}, None),
        ("", {}, None),
        ("  ", {}, None),
        ('{"a": 1}', {"a": 1}, None),
        ("[1]", {}, "[1]"),
        ('{"a": ', {}, '{"a": '),
    ],
)
def test_parse_arguments(text: str | None, arguments: dict[str, int], raw: str | None) -> None:
    assert parse_arguments(text) == (arguments, raw)


async def _events(fail_after: int | None = None) -> AsyncIterator[StreamEvent]:
    for i, event in enumerate(EVENTS):
        if fail_after is not None and i == fail_after:
            raise RateLimitError("slow down", status_code=429)
        yield event


async def test_stream_response_after_exhaustion_and_latency() -> None:
    stream = ResponseStream(_events, provider="p")
    with pytest.raises(StreamError):
        _ = stream.response
    seen = [event async for event in stream]
    assert seen == EVENTS
    reply = stream.response
    assert reply.text == "Hello"
    assert reply.latency.total is not None and reply.latency.first_token is not None
    assert 0 <= reply.latency.first_token <= reply.latency.total


async def test_errors_through_the_stream_carry_the_partial_reply() -> None:
    stream = ResponseStream(lambda: _events(fail_after=4), provider="p")
    with pytest.raises(RateLimitError) as info:
        await stream.collect()
    assert info.value.partial is not None
    assert info.value.partial.text == "Hello"


async def test_finish_hook_rewrites_the_final_response() -> None:
    import attrs

    stream = ResponseStream(_events, finish=lambda r: attrs.evolve(r, text=r.text.upper()))
    assert (await stream.collect()).text == "HELLO"


async def test_aclose_stops_early() -> None:
    stream = ResponseStream(_events)
    async with stream:
        first = await stream.__anext__()
    assert first == EVENTS[0]
    assert [e async for e in stream] == []


async def test_a_stream_that_does_not_fold_still_times_and_finishes() -> None:
    seen: list[Response] = []

    def finish(timed: Response) -> Response:
        seen.append(timed)
        return Response(text="from elsewhere", latency=timed.latency)

    stream = ResponseStream(_events, finish=finish, fold=False)
    reply = await stream.collect()
    assert reply.text == "from elsewhere"
    assert seen[0].text == "" and seen[0].tool_calls == ()  # nothing folded a second time
    assert reply.latency.total is not None and reply.latency.first_token is not None
