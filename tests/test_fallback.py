"""Fallback providers: who serves, what is skipped and why, circuits, streams, real retries first."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from llmkit.catalog import Catalog, default_catalog
from llmkit.clients import DeepSeekClient, LlamaClient
from llmkit.errors import (
    APIConnectionError,
    ConfigurationError,
    ContextLengthExceededError,
    InvalidRequestError,
    LLMError,
    RateLimitError,
    ServerError,
)
from llmkit.events import Event, Hooks
from llmkit.fallback import (
    AllProvidersFailedError,
    CircuitBreaker,
    breaker_for,
    fallback_entry,
    falls_back,
    rate_limit_falls_back,
    waiting_fallback,
)
from llmkit.providers import DeepSeekProvider
from llmkit.providers._stream import ResponseStream
from llmkit.retry import RetryPolicy
from llmkit.testing import FakeProvider
from llmkit.types import Request, StreamEvent

TODAY = dt.date(2026, 11, 22)


def test_a_fallback_keeps_the_same_canonical_model_when_it_serves_it() -> None:
    catalog = default_catalog()
    primary = catalog.resolve("deepseek", "openrouter", today=TODAY)
    assert primary.id == "deepseek/deepseek-v4-pro"
    found = fallback_entry(catalog, "deepseek", "deepseek", primary, explicit=False, today=TODAY)
    assert (found.model, found.id) == ("deepseek-v4-pro", "deepseek-v4-pro")


def test_a_fallback_without_the_model_serves_its_newest() -> None:
    catalog = default_catalog()
    primary = catalog.resolve("deepseek", "deepseek", today=TODAY)
    assert primary.model == "deepseek-flash"  # not on OpenRouter
    found = fallback_entry(catalog, "deepseek", "openrouter", primary, explicit=False, today=TODAY)
    assert found.id == catalog.resolve("deepseek", "openrouter", today=TODAY).id


def test_a_named_model_must_be_served_by_the_fallback() -> None:
    catalog = default_catalog()
    named = catalog.resolve("deepseek", "deepseek", "deepseek-flash")
    with pytest.raises(
        ConfigurationError, match="openrouter has no catalog entry for deepseek-flash"
    ):
        fallback_entry(catalog, "deepseek", "openrouter", named, explicit=True, today=TODAY)
    pro = catalog.resolve("deepseek", "openrouter", "deepseek-v4-pro")
    found = fallback_entry(catalog, "deepseek", "deepseek", pro, explicit=True, today=TODAY)
    assert found.id == "deepseek-v4-pro"


def recorder() -> tuple[Hooks, list[Event]]:
    hooks, seen = Hooks(), []
    for kind in ("request", "response", "error", "fallback"):
        hooks.add(kind, seen.append)  # type: ignore[arg-type]
    return hooks, seen


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ServerError("boom"), True),
        (RateLimitError("slow", retry_after=3), True),
        (APIConnectionError("down"), True),
        (InvalidRequestError("bad"), False),
        (ContextLengthExceededError("long"), False),
        (LLMError("odd"), False),
    ],
)
def test_which_errors_fall_back(error: LLMError, expected: bool) -> None:
    assert falls_back(error) is expected


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_circuit_opens_after_repeated_failures_and_closes_after_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, cooldown=30, clock=clock)
    for _ in range(2):
        breaker.record_failure(ServerError("x"))
    assert not breaker.is_open()
    breaker.record_failure(ServerError("x"))
    assert breaker.is_open() and breaker.reopens_in() == 30
    clock.now += 30
    assert not breaker.is_open()
    breaker.record_success()
    assert breaker.failures == 0


def test_a_429_with_a_reset_time_opens_the_circuit_until_then() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    breaker.record_failure(RateLimitError("slow", retry_after=12))
    assert breaker.is_open() and breaker.reopens_in() == 12


def test_rate_limit_falls_back_only_while_a_fallback_waits() -> None:
    assert not rate_limit_falls_back()
    with waiting_fallback(True):
        assert rate_limit_falls_back()
    assert not rate_limit_falls_back()


async def test_a_primary_that_no_longer_serves_the_family_is_skipped_for_its_fallbacks() -> None:
    # issue 4's own example: DeepSeek has left Groq, so Groq is skipped with the reason
    groq = FakeProvider(name="groq")
    openrouter = FakeProvider(["from openrouter"], name="openrouter")
    hooks, seen = recorder()
    client = DeepSeekClient(
        provider=groq, fallbacks=[openrouter, FakeProvider(name="deepseek")], hooks=hooks
    )
    reply = await client.generate("hi")
    assert reply.provider == "openrouter" and reply.text == "from openrouter"
    assert groq.requests == []
    fallback = next(e for e in seen if e.kind == "fallback")
    assert fallback.provider == "groq" and "no longer serves" in (fallback.reason or "")
    streamed = await client.stream("again").collect()
    assert streamed.provider == "openrouter"


def test_without_a_serving_fallback_an_unserved_primary_is_still_refused() -> None:
    with pytest.raises(ConfigurationError, match="no longer serves"):
        DeepSeekClient(provider=FakeProvider(name="groq"))
    with pytest.raises(ConfigurationError, match="no longer serves"):
        DeepSeekClient(provider=FakeProvider(name="groq"), fallbacks=[FakeProvider(name="mistral")])


async def test_a_client_falls_back_to_the_same_model_not_another_tier() -> None:
    primary = FakeProvider([ServerError("down")], name="openrouter")
    backup = FakeProvider(["from deepseek"], name="deepseek")
    client = DeepSeekClient(provider=primary, fallbacks=[backup])
    reply = await client.generate("hi")
    assert reply.provider == "deepseek"
    assert primary.requests[0].model == "deepseek/deepseek-v4-pro"
    assert backup.requests[0].model == "deepseek-v4-pro"  # not the newest tier, deepseek-flash


async def test_the_next_provider_serves_with_its_own_model_id() -> None:
    primary = FakeProvider([ServerError("down")], name="deepseek")
    backup = FakeProvider(["from openrouter"], name="openrouter")
    hooks, seen = recorder()
    client = DeepSeekClient(provider=primary, fallbacks=[backup], hooks=hooks)
    reply = await client.generate("hi")
    assert reply.text == "from openrouter" and reply.provider == "openrouter"
    assert primary.requests[0].model == "deepseek-flash"
    assert backup.requests[0].model == "deepseek/deepseek-v4-pro"
    assert [(e.kind, e.provider) for e in seen] == [
        ("request", "deepseek"),
        ("error", "deepseek"),
        ("fallback", "deepseek"),
        ("request", "openrouter"),
        ("response", "openrouter"),
    ]
    assert seen[2].next_provider == "openrouter" and "ServerError" in (seen[2].reason or "")


async def test_an_error_every_host_would_give_does_not_fall_back() -> None:
    primary = FakeProvider([InvalidRequestError("bad parameter")], name="deepseek")
    backup = FakeProvider(name="openrouter")
    client = DeepSeekClient(provider=primary, fallbacks=[backup])
    with pytest.raises(InvalidRequestError):
        await client.generate("hi")
    assert backup.calls == 0


async def test_when_every_provider_fails_the_error_names_each_one_and_its_cause() -> None:
    client = DeepSeekClient(
        provider=FakeProvider(
            [ConfigurationError("No API key: set DEEPSEEK_API_KEY")], name="deepseek"
        ),
        fallbacks=[FakeProvider([APIConnectionError("two")], name="openrouter")],
    )
    with pytest.raises(AllProvidersFailedError) as info:
        await client.generate("hi")
    error = info.value
    assert [(name, type(e).__name__) for name, e in error.failures] == [
        ("deepseek", "ConfigurationError"),
        ("openrouter", "APIConnectionError"),
    ]
    assert isinstance(error.__cause__, ConfigurationError)
    assert "DEEPSEEK_API_KEY" in str(error) and "openrouter: APIConnectionError: two" in str(error)
    assert isinstance(error, LLMError)


async def test_a_stream_whose_every_provider_fails_raises_every_failure() -> None:
    client = DeepSeekClient(
        provider=FakeProvider([ServerError("one")], name="deepseek"),
        fallbacks=[FakeProvider([RateLimitError("two")], name="openrouter")],
    )
    with pytest.raises(AllProvidersFailedError) as info:
        async for _ in client.stream("hi"):
            pass
    assert [name for name, _ in info.value.failures] == ["deepseek", "openrouter"]
    assert isinstance(info.value.__cause__, ServerError)


async def test_a_skipped_fallback_is_one_of_the_failures() -> None:
    client = DeepSeekClient(
        provider=FakeProvider([ServerError("down")], name="deepseek"),
        fallbacks=[FakeProvider(name="groq")],  # groq serves no deepseek model: skipped
    )
    with pytest.raises(AllProvidersFailedError) as info:
        await client.generate("hi")
    (first, why_first), (second, why_second) = info.value.failures
    assert (first, type(why_first)) == ("deepseek", ServerError)
    assert second == "groq" and "no longer serves" in why_second.message


async def test_one_provider_alone_raises_its_own_error() -> None:
    client = DeepSeekClient(provider=FakeProvider([ServerError("one")], name="deepseek"))
    with pytest.raises(ServerError, match="one"):
        await client.generate("hi")


async def test_each_hand_over_is_logged_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    client = DeepSeekClient(
        provider=FakeProvider([ServerError("down")], name="deepseek"),
        fallbacks=[FakeProvider(["served"], name="openrouter")],
    )
    with caplog.at_level(logging.WARNING, logger="llmkit"):
        assert (await client.generate("hi")).text == "served"
    handovers = [r for r in caplog.records if "llmkit fallback" in r.getMessage()]
    assert len(handovers) == 1 and handovers[0].levelno == logging.WARNING
    assert "provider=deepseek" in handovers[0].getMessage()
    assert "next_provider=openrouter" in handovers[0].getMessage()


async def test_a_fallback_that_does_not_serve_the_family_is_skipped_with_a_reason() -> None:
    hooks, seen = recorder()
    third = FakeProvider(["served"], name="openrouter")
    client = DeepSeekClient(
        provider=FakeProvider([ServerError("down")], name="deepseek"),
        fallbacks=[FakeProvider(name="groq"), third],
        hooks=hooks,
    )
    reply = await client.generate("hi")
    assert reply.provider == "openrouter"
    skips = [e for e in seen if e.kind == "fallback" and e.provider == "groq"]
    assert skips and "no longer serves" in (skips[0].reason or "")


async def test_an_explicit_model_is_served_as_the_same_model_or_skipped() -> None:
    backup = FakeProvider(["pro"], name="openrouter")
    client = DeepSeekClient(
        provider=FakeProvider([ServerError("down")], name="deepseek"),
        model="deepseek-v4-pro",
        fallbacks=[backup],
    )
    assert (await client.generate("hi")).text == "pro"
    assert backup.requests[0].model == "deepseek/deepseek-v4-pro"
    # deepseek-flash is not in OpenRouter's catalog entries: skipped, not swapped for another model
    flash = DeepSeekClient(
        provider=FakeProvider([ServerError("down")], name="deepseek"),
        model="deepseek-flash",
        fallbacks=[FakeProvider(name="openrouter")],
    )
    with pytest.raises(AllProvidersFailedError) as info:
        await flash.generate("hi")
    assert isinstance(info.value.__cause__, ServerError)


def window_catalog() -> Catalog:
    """The llama family on three fake hosts: a and c with big windows, b with a small one."""

    def host(name: str, window: int, output: int) -> dict[str, Any]:
        return {"id": f"llama-on-{name}", "context_window": window, "max_output": output}

    hosts = {
        "a": host("a", 100_000, 8_000),
        "b": host("b", 500, 100),
        "c": host("c", 100_000, 8_000),
    }
    return Catalog({"families": {"llama": {"models": {"llama-x": {"hosts": hosts}}}}})


async def test_a_fallback_whose_window_is_too_small_is_skipped_not_sent() -> None:
    hooks, seen = recorder()
    small, big = FakeProvider(name="b"), FakeProvider(["big"], name="c")
    client = LlamaClient(
        provider=FakeProvider([ServerError("down")], name="a"),
        fallbacks=[small, big],
        catalog=window_catalog(),
        hooks=hooks,
    )
    reply = await client.generate("word " * 2_000)
    assert reply.text == "big" and small.calls == 0
    skip = next(e for e in seen if e.kind == "fallback" and e.provider == "b")
    assert isinstance(skip.error, ContextLengthExceededError) and "500" in (skip.reason or "")


async def test_a_fallback_with_a_smaller_output_limit_is_skipped() -> None:
    small, big = FakeProvider(name="b"), FakeProvider(["big"], name="c")
    client = LlamaClient(
        provider=FakeProvider([ServerError("down")], name="a"),
        fallbacks=[small, big],
        catalog=window_catalog(),
    )
    assert (await client.generate("hi", max_tokens=1_000)).text == "big"
    assert small.calls == 0


async def test_a_primary_too_small_for_the_prompt_hands_it_to_a_fallback() -> None:
    client = LlamaClient(
        provider=FakeProvider(name="b"), fallbacks=[FakeProvider(["c"], name="c")],
        catalog=window_catalog(),
    )  # fmt: skip
    assert (await client.generate("word " * 2_000)).provider == "c"


async def test_an_open_circuit_skips_the_provider_until_it_closes() -> None:
    clock = Clock()
    primary = FakeProvider([ServerError("x")] * 3 + ["back"], name="a")
    breaker_for(primary).clock = clock
    backup = FakeProvider(name="c")
    client = LlamaClient(provider=primary, fallbacks=[backup], catalog=window_catalog())
    for _ in range(3):
        assert (await client.generate("hi")).provider == "c"
    assert primary.calls == 3
    await client.generate("hi")
    assert primary.calls == 3  # open: not tried, not timed out again
    clock.now += 31
    assert (await client.generate("hi")).text == "back"


async def test_with_every_circuit_open_the_providers_are_tried_anyway() -> None:
    clock = Clock()
    primary = FakeProvider([ServerError("x")] * 3, name="a")
    breaker_for(primary).clock = clock
    client = LlamaClient(provider=primary, catalog=window_catalog())
    for _ in range(3):
        with pytest.raises(ServerError):
            await client.generate("hi")
    assert (await client.generate("hi")).provider == "a"


class CutAfterFirst(FakeProvider):
    """Streams one text event, then fails."""

    def stream(self, request: Request) -> ResponseStream:
        self.requests.append(request)

        async def events() -> AsyncIterator[StreamEvent]:
            yield StreamEvent(text="Hel")
            raise ServerError("cut")

        return ResponseStream(events, provider=self.name)


async def test_a_stream_falls_back_before_its_first_event() -> None:
    backup = FakeProvider(["from the backup"], name="openrouter")
    client = DeepSeekClient(
        provider=FakeProvider([ServerError("down")], name="deepseek"), fallbacks=[backup]
    )
    stream = client.stream("hi")
    text = "".join([event.text async for event in stream])
    assert text == "from the backup"
    assert stream.response.provider == "openrouter"
    assert stream.response.text == "from the backup"


async def test_a_stream_never_falls_back_after_its_first_event() -> None:
    backup = FakeProvider(name="openrouter")
    client = DeepSeekClient(provider=CutAfterFirst(name="deepseek"), fallbacks=[backup])
    received = []
    with pytest.raises(ServerError) as info:
        async for event in client.stream("hi"):
            received.append(event.text)
    assert received == ["Hel"] and backup.calls == 0
    assert info.value.partial is not None and info.value.partial.text == "Hel"


async def test_a_real_provider_retries_first_then_falls_back() -> None:
    # The provider maps SDK errors only once `openai` is imported; import it first so this
    # test is about fallback, not about the first call of a fresh process.
    pytest.importorskip("openai")
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(503, json={"error": {"message": "overloaded", "type": "server"}})

    primary = DeepSeekProvider(
        api_key="test-key",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
    )
    hooks, seen = recorder()
    client = DeepSeekClient(
        provider=primary, fallbacks=[FakeProvider(["ok"], name="openrouter")], hooks=hooks
    )
    reply = await client.generate("hi")
    assert reply.provider == "openrouter"
    assert len(calls) == 2  # the primary's own retries ran first
    error = next(e for e in seen if e.kind == "error")
    assert error.provider == "deepseek" and error.error is not None
    assert error.error.status_code == 503


async def test_a_rate_limited_primary_is_left_at_once_when_a_fallback_waits() -> None:
    pytest.importorskip("openai")
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(
            429, headers={"retry-after": "0.01"}, json={"error": {"message": "slow down"}}
        )

    primary = DeepSeekProvider(
        api_key="test-key",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0),
    )
    client = DeepSeekClient(provider=primary, fallbacks=[FakeProvider(["ok"], name="openrouter")])
    assert (await client.generate("hi")).provider == "openrouter"
    assert len(calls) == 1  # no retries slept through


def test_the_unserved_primary_warning_reads_as_one_sentence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="llmkit"):
        DeepSeekClient(
            provider=FakeProvider(name="groq"), fallbacks=[FakeProvider(name="openrouter")]
        )
    (message,) = [
        r.getMessage() for r in caplog.records if "its fallbacks will serve" in r.getMessage()
    ]
    assert ".;" not in message and "catalog; its fallbacks will serve deepseek" in message
