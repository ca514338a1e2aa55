"""FakeProvider: the scripted provider users test with and the demo runs on."""

from __future__ import annotations

import itertools

import pytest
from attrs import evolve

from llmkit.errors import (
    ConfigurationError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
    ServerError,
    StreamError,
)
from llmkit.providers import Provider
from llmkit.testing import (
    FakeProvider,
    Interrupted,
    RecordedRequest,
    Recording,
    split_tokens,
    to_events,
)
from llmkit.testing.profiles import scaled_timings
from llmkit.types import FinishReason, Message, Request, Response, StreamEvent, ToolCall, Usage

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


# -- latency profiles: replaying a recording ------------------------------------------


class Clock:
    """A fake clock that only moves when the fake's injected sleep waits."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def recorded(number: int, ttft: float, gaps: list[float], *, tail: float = 0.01) -> RecordedRequest:
    """A recorded request: a header event, len(gaps)+1 words, then finish with usage and timings."""
    offsets = [ttft]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    events = [(ttft * 0.9, StreamEvent(model="m-rec", id=f"r{number}"))]
    events += [(t, StreamEvent(text=f" w{number}.{i}")) for i, t in enumerate(offsets)]
    last = StreamEvent(
        finish_reason=FinishReason.STOP,
        usage=Usage(input_tokens=7, output_tokens=40 + number),
        provider_data={"ollama": {"timings": {"eval_duration": 0.5 + number}}},
        raw={"x_groq": {"usage": {"queue_time": 0.02}}},
    )
    events.append((offsets[-1], last))
    headers = ({"x-request-id": f"req-{number}"},)
    return RecordedRequest(
        "h", tuple(events), end=offsets[-1] + tail, index=number, headers=headers
    )


PROFILE = (
    recorded(0, 0.2, [0.05, 0.10, 0.05]),
    recorded(1, 0.4, [0.01, 0.02]),
    recorded(2, 0.3, [0.20]),
)


async def arrivals(fake: FakeProvider, clock: Clock) -> tuple[list[float], float, Response]:
    """Offsets (fake seconds after sending) of each content event, the end, and the reply."""
    start = clock.now
    stream = fake.stream(REQ)
    times = [clock.now - start async for event in stream if event.has_content]
    return times, clock.now - start, stream.response


@pytest.mark.parametrize("speed", [1.0, 4.0])
async def test_a_profile_replays_the_recorded_timing_usage_and_host_figures(speed: float) -> None:
    clock = Clock()
    fake = FakeProvider(profile=PROFILE, speed=speed, clock=clock, sleep=clock.sleep)
    for want in PROFILE:
        times, end, reply = await arrivals(fake, clock)
        recorded_times = [t for t, e in want.events if e.has_content]
        assert times == pytest.approx([t / speed for t in recorded_times])
        assert end == pytest.approx(want.end / speed)
        assert reply.text == "".join(e.text for _, e in want.events)
        assert reply.usage == want.events[-1][1].usage  # as recorded, not counted
        # host-reported timings are divided by the speed, like the client-side ones
        assert reply.provider_data == scaled_timings(want.events[-1][1], speed).provider_data
        assert reply.id == want.events[0][1].id and reply.provider == "h"
    assert fake.name == "h" and fake.calls == 3


async def test_a_profile_cycles_in_order_and_a_seed_draws_reproducibly() -> None:
    async def ids(fake: FakeProvider, calls: int) -> list[str | None]:
        return [(await fake.complete(REQ)).id for _ in range(calls)]

    assert await ids(FakeProvider(profile=PROFILE, speed=1000), 4) == ["r0", "r1", "r2", "r0"]
    drawn = await ids(FakeProvider(profile=PROFILE, speed=1000, seed=7), 12)
    assert drawn == await ids(FakeProvider(profile=PROFILE, speed=1000, seed=7), 12)
    assert set(drawn) <= {"r0", "r1", "r2"} and len(set(drawn)) > 1
    assert drawn != ["r0", "r1", "r2"] * 4  # drawn at random, not cycled


async def test_recorded_headers_reach_the_observe_headers_hook() -> None:
    seen: list[dict[str, str]] = []
    fake = FakeProvider(profile=PROFILE, speed=1000)
    fake._observe_headers = seen.append  # type: ignore[method-assign]
    await fake.stream(REQ).collect()
    await fake.complete(REQ)
    assert seen == [{"x-request-id": "req-0"}, {"x-request-id": "req-1"}]


async def test_a_scripted_reply_on_a_profile_keeps_its_text_and_takes_the_recorded_timing() -> None:
    clock = Clock()
    fake = FakeProvider(
        ["one two three four", "a b c d e f"], profile=PROFILE, clock=clock, sleep=clock.sleep
    )
    times, end, reply = await arrivals(fake, clock)
    assert reply.text == "one two three four"
    assert times == pytest.approx([t for t, e in PROFILE[0].events if e.has_content])
    assert end == pytest.approx(PROFILE[0].end)
    times, _, reply = await arrivals(fake, clock)  # longer than the recording: gaps cycle
    assert reply.text == "a b c d e f"
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] == pytest.approx(0.4) and gaps == pytest.approx([0.01, 0.02] * 2 + [0.01])
    times, _, reply = await arrivals(fake, clock)  # script used up: the recorded reply again
    assert reply.id == "r2"


async def test_a_recorded_error_is_raised_at_its_end_and_errors_still_apply() -> None:
    failed = RecordedRequest("h", (), end=0.2, error_type="OverloadedError", error="busy")
    clock = Clock()
    fake = FakeProvider(
        profile=[failed], errors={2: ServerError("boom")}, clock=clock, sleep=clock.sleep
    )
    with pytest.raises(OverloadedError, match="busy") as caught:
        await fake.complete(REQ)
    assert caught.value.provider == "h" and clock.now == pytest.approx(100.2)
    with pytest.raises(ServerError):
        await fake.stream(REQ).collect()
    assert fake.requests == [REQ, REQ]


async def test_a_shipped_profile_by_name() -> None:
    fake = FakeProvider(profile="groq", speed=1000)
    assert fake.name == "groq"
    reply = await fake.complete(REQ)
    assert reply.model == "openai/gpt-oss-20b" and reply.usage.output_tokens
    assert [m.id for m in await fake.list_models()] == ["openai/gpt-oss-20b"]


def test_bad_profiles_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="No shipped latency profile named 'nope'"):
        FakeProvider(profile="nope")
    with pytest.raises(ConfigurationError, match="Nothing to replay"):
        FakeProvider(profile=[])
    with pytest.raises(ConfigurationError, match="positive"):
        FakeProvider(profile=PROFILE, speed=0)
    two = Recording((PROFILE[0], evolve(PROFILE[1], provider="other")))
    with pytest.raises(ConfigurationError, match="pick one with provider="):
        FakeProvider.from_recording(two)
    assert FakeProvider.from_recording(two, provider="other").name == "other"
