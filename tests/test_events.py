"""Events: hooks per kind, the `llmkit` logger, retries reported to the right client, no secrets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from llmkit import events
from llmkit.clients import DeepSeekClient
from llmkit.cost import CostTracker
from llmkit.errors import AuthenticationError, ServerError
from llmkit.events import Event, Hooks, emit, retrying, using_hooks
from llmkit.testing import FakeProvider

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz123456"


def test_hooks_register_per_kind_and_work_as_decorators() -> None:
    hooks = Hooks()
    seen: list[str] = []

    @hooks.on_response
    def on_response(event: Event) -> None:
        seen.append(event.kind)

    hooks.on_error(lambda e: seen.append("error!"))
    emit(hooks, Event("response"))
    emit(hooks, Event("error"))
    emit(hooks, Event("request"))
    assert seen == ["response", "error!"]
    hooks.remove("response", on_response)
    emit(hooks, Event("response"))
    assert seen == ["response", "error!"]


def test_a_raising_hook_does_not_break_the_call(caplog: pytest.LogCaptureFixture) -> None:
    hooks = Hooks()
    hooks.on_request(lambda e: 1 / 0)
    after: list[Event] = []
    hooks.on_request(after.append)
    with caplog.at_level(logging.ERROR, logger="llmkit"):
        emit(hooks, Event("request"))
    assert after and "hook" in caplog.text


async def test_a_call_emits_request_and_response_with_cost() -> None:
    hooks, seen = Hooks(), []
    hooks.on_request(seen.append)
    hooks.on_response(seen.append)
    client = DeepSeekClient(provider=FakeProvider(["hi"], name="deepseek"), hooks=hooks)
    await client.generate("hello")
    assert [e.kind for e in seen] == ["request", "response"]
    response = seen[1].response
    assert response is not None and response.cost is not None
    assert seen[0].client == "DeepSeekClient" and seen[0].model == "deepseek-flash"


async def test_a_stream_emits_the_same_events() -> None:
    hooks, seen = Hooks(), []
    for kind in ("request", "response"):
        hooks.add(kind, seen.append)  # type: ignore[arg-type]
    tracker = CostTracker()
    client = DeepSeekClient(
        provider=FakeProvider(["a b c"], name="deepseek"), hooks=hooks, cost_tracker=tracker
    )
    stream = client.stream("hello")
    await stream.collect()
    assert [e.kind for e in seen] == ["request", "response"]
    assert stream.response.cost is not None and len(tracker.records) == 1


def test_retrying_reports_to_the_hooks_of_the_call_under_way() -> None:
    mine, other = Hooks(), Hooks()
    seen: list[Event] = []
    mine.on_retry(seen.append)
    other.on_retry(lambda e: pytest.fail("the other client's hooks were called"))
    error = ServerError("boom", provider="groq")
    retrying(provider="groq", model="m", attempt=1, error=error, delay=0.5)  # no call: logs only
    with using_hooks(mine, client="A"):
        retrying(provider="groq", model="m", attempt=2, error=error, delay=1.5)
    assert [(e.kind, e.client, e.attempt, e.delay) for e in seen] == [("retry", "A", 2, 1.5)]
    assert events.current_client() is None


async def test_stream_steps_do_not_leak_the_hooks_into_the_caller() -> None:
    hooks = Hooks()
    inside: list[str | None] = []

    async def source() -> AsyncIterator[int]:
        for i in range(3):
            inside.append(events.current_client())
            yield i

    async for _ in events.iterate_using_hooks(source(), hooks, client="S"):
        assert events.current_client() is None
    assert inside == ["S", "S", "S"]


async def test_logs_carry_no_secret_and_no_prompt(caplog: pytest.LogCaptureFixture) -> None:
    client = DeepSeekClient(
        provider=FakeProvider(
            [AuthenticationError(f"bad key {KEY}", provider="deepseek")], name="deepseek"
        ),
        fallbacks=[FakeProvider(["fine"], name="openrouter")],
    )
    with caplog.at_level(logging.DEBUG, logger="llmkit"):
        await client.generate("my private prompt text")
        with using_hooks(None):
            retrying(
                provider="x", model="m", attempt=1, error=ServerError(f"echo {KEY}"), delay=0.1
            )
    text = caplog.text
    assert "llmkit request" in text and "llmkit fallback" in text and "llmkit retry" in text
    assert KEY not in text and "abcdefghijklmnop" not in text
    assert "my private prompt text" not in text and "fine" not in text


def test_describe_is_one_line_of_names_and_numbers() -> None:
    line = events.describe(
        Event("retry", provider="groq", model="m", client="C", attempt=2, delay=1.25)
    )
    assert line == "llmkit retry client=C provider=groq model=m attempt=2 delay=1.25s"


async def test_a_providers_retries_reach_the_clients_on_retry_hook() -> None:
    pytest.importorskip("openai")
    import httpx2

    from llmkit.providers import DeepSeekProvider
    from llmkit.retry import RetryPolicy

    replies = iter([httpx2.Response(503, json={"error": {"message": "busy"}})])

    def handler(request: httpx2.Request) -> httpx2.Response:
        ok = {
            "id": "1",
            "object": "chat.completion",
            "model": "deepseek-flash",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return next(replies, httpx2.Response(200, json=ok))

    provider = DeepSeekProvider(
        api_key="test-key",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
    )
    hooks, seen = Hooks(), []
    hooks.on_retry(seen.append)
    client = DeepSeekClient(provider=provider, hooks=hooks)
    assert (await client.generate("x")).text == "hi"
    assert [(e.provider, e.attempt, e.client) for e in seen] == [("deepseek", 1, "DeepSeekClient")]
