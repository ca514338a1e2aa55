"""Recording a run and replaying it on FakeProvider: same events, same timing (fake clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmkit.bench import ReplayProvider, demo_providers, load_recording, run, save_recording
from llmkit.bench._record import RecordedRequest, Recording, builtin_profiles, replay_providers
from llmkit.errors import ConfigurationError, OverloadedError
from llmkit.testing import FakeProvider
from llmkit.types import FinishReason, Message, Request, StreamEvent, Usage
from tests.bench._scripted import FakeClock, Scripted

PROMPTS = ["p0", "p1"]


def fake_sleep(clock: FakeClock):  # type: ignore[no-untyped-def]
    async def sleep(seconds: float) -> None:
        clock.now += seconds

    return sleep


async def _recorded_run(tmp_path: Path) -> tuple[Path, object]:
    clock = FakeClock()
    headers = [{"x-request-id": "r1", "content-type": "text/event-stream"}]
    provider = Scripted("a", clock, ttft=0.25, gap=0.05, tokens=4, responses=headers)
    path = tmp_path / "run.jsonl"
    result = await run([provider], PROMPTS, model="m", n=3, warmup=0, record=path, clock=clock)
    return path, result


async def test_a_recording_holds_every_event_with_its_arrival_time(tmp_path: Path) -> None:
    path, _ = await _recorded_run(tmp_path)
    recording = load_recording(path)
    assert recording.meta["model"] == "m" and recording.meta["prompts"] == PROMPTS
    assert recording.meta["synthetic"] is False
    assert recording.providers == ("a",)
    first = recording.requests[0]
    assert [t for t, _ in first.events] == pytest.approx([0.25, 0.30, 0.35, 0.40, 0.40])
    assert [e.text for _, e in first.events] == ["t0 ", "t1 ", "t2 ", "t3 ", ""]
    assert first.events[-1][1].finish_reason is FinishReason.STOP
    assert first.events[-1][1].usage == Usage(output_tokens=40)
    assert first.headers == ({"x-request-id": "r1", "content-type": "text/event-stream"},)
    assert first.end == pytest.approx(0.40)
    assert [r.prompt_index for r in recording.requests] == [0, 1, 0]


@pytest.mark.parametrize("speed", [1.0, 2.0])
async def test_replaying_a_recording_gives_the_same_events_and_timing(
    tmp_path: Path, speed: float
) -> None:
    path, original = await _recorded_run(tmp_path)
    clock = FakeClock()
    replay = FakeProvider.from_recording(path, speed=speed, clock=clock, sleep=fake_sleep(clock))
    assert replay.name == "a"
    replayed = await run([replay], PROMPTS, model="m", n=3, warmup=0, clock=clock)
    for before, after in zip(original["a"].samples, replayed["a"].samples, strict=True):  # type: ignore[index]
        assert after.ttft == pytest.approx(before.ttft / speed)
        assert after.inter_token == pytest.approx(tuple(g / speed for g in before.inter_token))
        assert after.total == pytest.approx(before.total / speed)
        assert after.output_tokens == before.output_tokens
        assert after.headers == before.headers


async def test_replay_streams_the_recorded_events_in_order() -> None:
    events = (
        (0.01, StreamEvent(model="m1", id="x")),
        (0.02, StreamEvent(text="Hel")),
        (0.03, StreamEvent(text="lo", finish_reason=FinishReason.STOP)),
    )
    replay = FakeProvider(profile=[RecordedRequest("h", events, end=0.04)], speed=100)
    stream = replay.stream(Request("any", [Message.user("hi")]))
    got = [event async for event in stream]
    assert got == [e for _, e in events]
    assert stream.response.text == "Hello" and stream.response.provider == "h"
    assert [m.id for m in await replay.list_models()] == ["m1"]


async def test_a_recorded_error_is_raised_again_with_its_type() -> None:
    failed = RecordedRequest("h", (), end=0.001, error_type="OverloadedError", error="busy")
    unknown = RecordedRequest("h", (), end=0.001, error_type="NoSuchError", error="odd")
    replay = FakeProvider.from_recording([failed, unknown])
    with pytest.raises(OverloadedError, match="busy") as caught:
        await replay.complete(Request("any", [Message.user("hi")]))
    assert caught.value.provider == "h"
    with pytest.raises(Exception, match="odd"):
        await replay.complete(Request("any", [Message.user("hi")]))


def test_the_single_document_layout_round_trips(tmp_path: Path) -> None:
    request = RecordedRequest(
        "h",
        ((0.1, StreamEvent(text="a", raw={"x_groq": {"usage": {"queue_time": 0.2}}})),),
        end=0.2,
    )
    recording = Recording((request,), {"synthetic": True, "note": "made up"})
    path = tmp_path / "profile.json"
    save_recording(recording, path)
    assert json.loads(path.read_text())["requests"][0]["provider"] == "h"
    loaded = load_recording(path)
    assert loaded.meta == {"synthetic": True, "note": "made up"}
    assert loaded.requests[0].events[0][1].raw == {"x_groq": {"usage": {"queue_time": 0.2}}}
    assert loaded.requests == (request,)


def test_shipped_profiles_say_they_are_synthetic() -> None:
    profiles = builtin_profiles()
    assert {"groq", "openrouter", "deepseek", "ollama"} <= set(profiles)
    for profile in profiles.values():
        assert profile.meta["synthetic"] is True
        assert "SYNTHETIC" in profile.meta["note"]
        assert profile.requests


@pytest.mark.parametrize(
    "content", ["not json", '{"kind": "other", "version": 1}', '{"kind": "run", "version": 99}']
)
def test_a_file_that_is_not_a_recording_is_a_configuration_error(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match="not an llmkit bench recording"):
        load_recording(path)


def test_a_missing_recording_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read"):
        load_recording(tmp_path / "none.jsonl")


def test_replay_needs_requests_and_a_positive_speed() -> None:
    with pytest.raises(ConfigurationError, match="Nothing to replay"):
        FakeProvider.from_recording([])
    with pytest.raises(ConfigurationError, match="positive"):
        FakeProvider.from_recording([RecordedRequest("h", (), end=0.0)], speed=0)


async def test_replay_provider_is_the_older_name_of_a_fake_on_a_recording() -> None:
    replay = ReplayProvider([RecordedRequest("h", ((0.01, StreamEvent(text="x")),), end=0.02)])
    assert isinstance(replay, FakeProvider) and replay.name == "replay"
    assert (await replay.complete(Request("any", [Message.user("hi")]))).text == "x"


async def test_a_recording_of_several_providers_replays_as_one_fake_each(tmp_path: Path) -> None:
    clock = FakeClock()
    a = Scripted("a", clock, ttft=0.1, tokens=2)
    b = Scripted("b", clock, ttft=0.3, tokens=5)
    path = tmp_path / "two.jsonl"
    await run([a, b], PROMPTS, model="m", n=2, warmup=0, record=path, clock=clock)
    fakes = replay_providers(load_recording(path), speed=1000)
    assert list(fakes) == ["a", "b"]
    reply = await fakes["b"].complete(Request("any", [Message.user("hi")]))
    assert reply.text == "t0 t1 t2 t3 t4 " and reply.usage == Usage(output_tokens=50)


def test_the_demo_runs_on_fake_providers_of_the_shipped_profiles() -> None:
    fakes = demo_providers(speed=10, seed=3)
    assert set(fakes) == set(builtin_profiles())
    for name, fake in fakes.items():
        assert type(fake) is FakeProvider and fake.name == name and fake.speed == 10


async def test_replaying_faster_scales_the_host_reported_timings_too() -> None:
    groq_usage = {"queue_time": 0.04, "total_time": 0.2, "completion_tokens": 62}
    last = StreamEvent(
        finish_reason=FinishReason.STOP,
        usage=Usage(output_tokens=62),
        raw={"x_groq": {"id": "r", "usage": groq_usage}},
        provider_data={"ollama": {"timings": {"eval_duration": 1.6}, "model": "x"}},
    )
    recorded = RecordedRequest("h", ((0.1, StreamEvent(text="a")), (0.4, last)), end=0.4)
    clock = FakeClock()
    replay = FakeProvider(profile=[recorded], speed=4, clock=clock, sleep=fake_sleep(clock))
    result = await run([replay], PROMPTS, model="m", n=1, warmup=0, clock=clock)
    sample = result["h"].samples[0]
    assert sample.total == pytest.approx(0.1)
    assert sample.host_timings == pytest.approx(
        {"queue_time": 0.01, "total_time": 0.05, "eval_duration": 0.4}
    )
    assert sample.output_tokens == 62
    again = FakeProvider(profile=[recorded], speed=4, clock=clock, sleep=fake_sleep(clock))
    reply = await again.complete(Request("any", [Message.user("hi")]))
    assert reply.raw[-1]["x_groq"]["usage"]["completion_tokens"] == 62  # counts are not times
    assert reply.provider_data["ollama"]["model"] == "x"
    assert recorded.events[1][1].raw["x_groq"]["usage"]["queue_time"] == 0.04  # not mutated
