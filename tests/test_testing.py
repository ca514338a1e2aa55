"""FakeProvider: the scripted provider users test with and the demo runs on."""

from __future__ import annotations

import pytest

from llmkit.errors import InvalidRequestError, RateLimitError, ServerError, StreamError
from llmkit.providers import Provider
from llmkit.testing import FakeProvider, Interrupted, split_tokens, to_events
from llmkit.types import FinishReason, Message, Request, Response, ToolCall, Usage

REQ = Request("deepseek-flash", [Message.system("sys"), Message.user("hello there")])


def test_fits_the_provider_protocol() -> None:
    assert isinstance(FakeProvider(), Provider)


async def test_unscripted_reply_names_the_model_and_echoes_the_user() -> None:
    reply = await FakeProvider(name="groq").complete(REQ)
    assert reply.text == "[groq:deepseek-flash] You said: hello there"
    assert (reply.provider, reply.model, reply.finish_reason) == (
        "groq",
        "deepseek-flash",
        FinishReason.STOP,
    )


async def test_replies_in_order_then_echo() -> None:
    fake = FakeProvider(
        ["one", Response(text="two", reasoning="why"), lambda r: f"three for {r.model}"]
    )
    replies = [await fake.complete(REQ) for _ in range(4)]
    assert [r.text for r in replies[:3]] == ["one", "two", "three for deepseek-flash"]
    assert replies[1].reasoning == "why"
    assert replies[3].text.endswith("You said: hello there")
    assert fake.requests == [REQ] * 4 and fake.calls == 4


async def test_usage_is_counted_unless_scripted() -> None:
    fake = FakeProvider(
        ["a b c", Response(text="x", usage=Usage(input_tokens=100, output_tokens=1))]
    )
    counted = await fake.complete(REQ)
    assert (counted.usage.input_tokens, counted.usage.output_tokens) == (3, 3)
    assert (await fake.complete(REQ)).usage.input_tokens == 100


async def test_scripted_errors_on_the_nth_call() -> None:
    error = RateLimitError("slow down", retry_after=1.0)
    fake = FakeProvider(["ok"], errors={2: error})
    assert (await fake.complete(REQ)).text == "ok"
    with pytest.raises(RateLimitError) as info:
        await fake.complete(REQ)
    assert info.value is error
    assert fake.calls == 2  # the failed request is recorded too


async def test_errors_in_the_script_and_from_callables() -> None:
    fake = FakeProvider([ServerError("boom"), lambda r: InvalidRequestError(f"bad {r.model}")])
    with pytest.raises(ServerError):
        await fake.complete(REQ)
    with pytest.raises(InvalidRequestError, match="bad deepseek-flash"):
        await fake.stream(REQ).collect()


async def test_stream_equals_complete() -> None:
    scripted = Response(
        text="It is sunny.",
        reasoning="Check the tool result.",
        tool_calls=(ToolCall("c1", "get_weather", {"city": "Lisbon", "days": [1, 2]}),),
    )
    fake = FakeProvider([scripted, scripted])
    complete = await fake.complete(REQ)
    stream = fake.stream(REQ)
    events = [e async for e in stream]
    streamed = stream.response
    assert len([e for e in events if e.text]) == 3
    for field in ("text", "reasoning", "tool_calls", "finish_reason", "usage", "model"):
        assert getattr(streamed, field) == getattr(complete, field), field
    assert streamed.finish_reason is FinishReason.TOOL_CALLS


async def test_stream_delays_are_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("llmkit.testing.anyio.sleep", sleep)
    fake = FakeProvider(["a b c d"], token_delay=0.01, first_token_delay=0.2)
    await fake.stream(REQ).collect()
    assert slept == [0.2, 0.01, 0.01, 0.01]  # before the first token, then between tokens


def test_split_tokens_joins_back() -> None:
    for text in ["", "one", " lead and  double  spaces ", "line\nbreak"]:
        assert "".join(split_tokens(text)) == text


def test_to_events_ends_with_finish_and_usage() -> None:
    events = to_events(
        Response(text="hi", finish_reason=FinishReason.STOP, usage=Usage(1, 1), model="m")
    )
    assert events[-1].finish_reason is FinishReason.STOP and events[-1].usage == Usage(1, 1)
    assert events[0].model == "m"


async def test_list_models_from_the_catalog_or_given() -> None:
    ids = [m.id for m in await FakeProvider().list_models()]
    assert "deepseek-flash" in ids and "mixtral-8x7b" in ids and "gpt-5.6" in ids
    assert [m.id for m in await FakeProvider(models=["x"]).list_models()] == ["x"]


def test_sync_twins_and_close() -> None:
    fake = FakeProvider(["sync", "streamed words"])
    assert fake.complete_sync(REQ).text == "sync"
    assert "".join(e.text for e in fake.stream_sync(REQ)) == "streamed words"
    assert fake.list_models_sync()
    fake.aclose_sync()
    assert fake.closed


async def test_an_interrupted_stream_raises_after_some_events_with_the_partial_reply() -> None:
    fake = FakeProvider([Interrupted("one two three four", StreamError("cut"), after=2)] * 2)
    stream = fake.stream(REQ)
    seen: list[str] = []
    with pytest.raises(StreamError) as info:
        async for event in stream:
            seen.append(event.text)
    assert seen == ["one", " two"]
    assert info.value.partial is not None and info.value.partial.text == "one two"
    with pytest.raises(StreamError):
        await fake.complete(REQ)
