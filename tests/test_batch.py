"""Batches: input order whatever the finishing order, failures in their own slot, progress, cancel."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from llmkit.batch import BatchProgress, run_many
from llmkit.clients import DeepSeekClient, LlamaClient
from llmkit.errors import ConfigurationError, LLMError, ServerError
from llmkit.testing import FakeProvider
from llmkit.types import Prompt, Request, Response


async def test_results_come_back_in_input_order_whatever_order_they_finish_in() -> None:
    finished: list[int] = []

    async def generate(prompt: Prompt) -> Response:
        n = int(str(prompt))
        await anyio.sleep(0.001 * (10 - n))  # later prompts finish first
        finished.append(n)
        return Response(text=str(n))

    results = await run_many(generate, [str(i) for i in range(10)], concurrency=10)
    assert [r.text for r in results if isinstance(r, Response)] == [str(i) for i in range(10)]
    assert finished != sorted(finished)


async def test_a_failure_takes_its_own_slot_and_the_batch_goes_on() -> None:
    script: list[str | LLMError] = ["a", ServerError("boom"), "c"]
    client = DeepSeekClient(provider=FakeProvider(script, name="deepseek"))
    results = await client.generate_many(["1", "2", "3"], concurrency=1)
    assert isinstance(results[1], ServerError)
    assert [r.text for r in (results[0], results[2]) if isinstance(r, Response)] == ["a", "c"]


async def test_concurrency_is_bounded() -> None:
    running = peak = 0

    async def generate(prompt: Prompt) -> Response:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.001)
        running -= 1
        return Response(text="x")

    await run_many(generate, ["p"] * 40, concurrency=3)
    assert peak == 3


async def test_progress_is_reported_after_each_request() -> None:
    seen: list[BatchProgress] = []
    client = DeepSeekClient(provider=FakeProvider(["a", ServerError("x"), "c"], name="deepseek"))
    await client.generate_many(["1", "2", "3"], concurrency=1, on_progress=seen.append)
    assert [(p.done, p.total, p.failed, p.index) for p in seen] == [
        (1, 3, 0, 0),
        (2, 3, 1, 1),
        (3, 3, 1, 2),
    ]
    assert seen[-1].fraction == 1.0


async def test_an_async_progress_callback_is_awaited() -> None:
    seen: list[int] = []

    async def progress(p: BatchProgress) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(p.done)

    client = DeepSeekClient(provider=FakeProvider(name="deepseek"))
    await client.generate_many(["1", "2"], on_progress=progress)
    assert sorted(seen) == [1, 2]


async def test_options_apply_to_every_prompt() -> None:
    provider = FakeProvider(name="deepseek")
    client = DeepSeekClient(provider=provider)
    await client.generate_many(["a", "b"], max_tokens=7, system="terse")
    assert all(isinstance(r, Request) and r.max_tokens == 7 for r in provider.requests)
    assert all(r.messages[0].content == "terse" for r in provider.requests)


async def test_cancelling_the_batch_stops_every_request_cleanly() -> None:
    provider = FakeProvider(name="deepseek", first_token_delay=10)
    client = DeepSeekClient(provider=provider)
    with anyio.move_on_after(0.05) as scope:
        await client.generate_many(["a"] * 20, concurrency=4)
    assert scope.cancelled_caught
    assert provider.calls == 4  # the first four started; none of the rest was sent


async def test_an_empty_batch_and_bad_concurrency() -> None:
    assert await run_many(lambda p: None, [], concurrency=2) == []  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigurationError):
        await run_many(lambda p: None, ["x"], concurrency=0)  # type: ignore[arg-type,return-value]


def test_generate_many_sync() -> None:
    client = LlamaClient(provider=FakeProvider(["one", "two"], name="ollama"))
    results = client.generate_many_sync(["1", "2"], concurrency=1)
    assert [r.text for r in results if isinstance(r, Response)] == ["one", "two"]


async def test_batches_on_several_providers_run_side_by_side() -> None:
    slow = FakeProvider(name="deepseek", first_token_delay=0.01)
    fast = FakeProvider(name="openrouter")
    a, b = DeepSeekClient(provider=slow), DeepSeekClient(provider=fast)
    results: dict[str, list[object]] = {}

    async def run(name: str, client: DeepSeekClient) -> None:
        results[name] = list(await client.generate_many(["x"] * 5, concurrency=5))

    async with anyio.create_task_group() as group:
        group.start_soon(run, "slow", a)
        group.start_soon(run, "fast", b)
    assert len(results["slow"]) == len(results["fast"]) == 5
    assert all(isinstance(r, Response) for r in results["slow"] + results["fast"])
