"""`EmbeddingClient`: catalog models, batching and order, limits, cache, budget, events."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import pytest

from llmkit.budget import Budget
from llmkit.cache import MemoryCache
from llmkit.catalog import default_catalog
from llmkit.cost import CostTracker
from llmkit.embeddings import EmbeddingClient, embedding_model
from llmkit.errors import ConfigurationError, ContextLengthExceededError, RateLimitError
from llmkit.events import Hooks
from llmkit.providers import CohereProvider, GroqProvider, OpenAIProvider
from llmkit.providers.voyage import VoyageProvider
from llmkit.retry import RetryPolicy
from llmkit.testing import FakeProvider, fake_vector


class OpenAIHost:
    """`/v1/embeddings` on a MockTransport: vectors encode (batch, position, length)."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail_first = fail_first

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        if len(self.bodies) <= self.fail_first:
            return httpx2.Response(
                429, headers={"retry-after": "0"}, json={"error": {"message": "slow down"}}
            )
        data = [
            {"index": i, "embedding": [float(len(self.bodies)), float(i), float(len(t))]}
            for i, t in enumerate(body["input"])
        ]
        usage = {"prompt_tokens": 1000 * len(data), "total_tokens": 1000 * len(data)}
        return httpx2.Response(200, json={"data": data, "model": body["model"], "usage": usage})

    def provider(self, **options: Any) -> OpenAIProvider:
        client = httpx2.AsyncClient(transport=httpx2.MockTransport(self))
        return OpenAIProvider(api_key="sk-test", http_client=client, **options)


def test_the_catalog_picks_each_hosts_model() -> None:
    catalog = default_catalog()
    assert EmbeddingClient(FakeProvider()).model == "fake-embed"
    assert embedding_model(catalog, "openai").id == "text-embedding-3-small"
    assert embedding_model(catalog, "openrouter").id == "openai/text-embedding-3-small"
    assert embedding_model(catalog, "cohere").id == "embed-v4.0"
    assert embedding_model(catalog, "voyage", "voyage-3.5-lite").input_price == 0.02
    unknown = embedding_model(catalog, "openai", "my-finetune")
    assert unknown.id == "my-finetune" and not unknown.known
    with pytest.raises(ConfigurationError, match="no embedding model for groq"):
        EmbeddingClient(GroqProvider(api_key="k"))
    client = EmbeddingClient(FakeProvider())
    client.set_provider(VoyageProvider(api_key="k"))
    assert client.model == "voyage-3.5" and client.provider.name == "voyage"


async def test_batches_keep_the_input_order() -> None:
    fake = FakeProvider()
    client = EmbeddingClient(fake, batch_size=3, concurrency=2)
    texts = [f"text {i}" for i in range(10)]
    emb = await client.embed(texts, dimensions=8)
    assert [len(batch) for batch in fake.embedded] == [3, 3, 3, 1]
    assert sorted(t for batch in fake.embedded for t in batch) == sorted(texts)
    expected = [tuple(fake_vector(f"fake-embed\0None\0{t}", 8)) for t in texts]
    assert list(emb.vectors) == expected
    assert emb.usage.input_tokens == sum(len(t.split()) + 1 for t in texts)


async def test_batches_run_concurrently_up_to_the_limit() -> None:
    running = [0, 0]

    class Slow(FakeProvider):
        async def embed(self, inputs: Any, **options: Any) -> Any:
            running[0] += 1
            running[1] = max(running)
            await anyio.sleep(0.01)
            running[0] -= 1
            return await super().embed(inputs, **options)

    await EmbeddingClient(Slow(), batch_size=1, concurrency=3).embed([str(i) for i in range(9)])
    assert running[1] == 3


async def test_inputs_over_the_limit_fail_before_sending_or_are_truncated() -> None:
    host = OpenAIHost()
    long = "word " * 9000  # ~9000 tokens, over text-embedding-3-small's 8191
    client = EmbeddingClient(host.provider())
    with pytest.raises(ContextLengthExceededError, match=r"input 1 has .* tokens"):
        await client.embed(["short", long])
    assert host.bodies == []
    truncating = EmbeddingClient(host.provider(), truncate=True)
    await truncating.embed(["short", long])
    sent = host.bodies[0]["input"]
    assert sent[0] == "short" and long.startswith(sent[1]) and 8000 < len(sent[1].split()) <= 8191


async def test_dimensions_are_checked_against_the_catalog() -> None:
    with pytest.raises(ConfigurationError, match="at most 1536"):
        await EmbeddingClient(OpenAIHost().provider()).embed("x", dimensions=4096)
    with pytest.raises(ConfigurationError, match=r"one of \[256, 512, 1024, 1536\]"):
        await EmbeddingClient(CohereProvider(api_key="k")).embed("x", dimensions=300)
    with pytest.raises(ConfigurationError, match="kind='passage'"):
        await EmbeddingClient(FakeProvider()).embed("x", kind="passage")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="takes strings"):
        await EmbeddingClient(FakeProvider()).embed(["x", 3])  # type: ignore[list-item]


async def test_cost_budget_tracker_and_events() -> None:
    host = OpenAIHost()
    tracker = CostTracker()
    budget = Budget(1.0)
    seen: list[str] = []
    hooks = Hooks()
    for kind in ("request", "response", "error"):
        hooks.add(kind, lambda event: seen.append(event.kind))  # type: ignore[arg-type]
    client = EmbeddingClient(
        host.provider(), batch_size=2, budget=budget, cost_tracker=tracker, hooks=hooks
    )
    emb = await client.embed(["a", "b", "c"])
    assert emb.usage.input_tokens == 3000
    assert emb.cost is not None and emb.cost.total == pytest.approx(3000 * 0.02 / 1e6)
    assert await budget.spent() == pytest.approx(emb.cost.total)
    assert tracker.total == pytest.approx(emb.cost.total)
    assert seen == ["request", "response"]


async def test_a_429_is_retried_by_the_provider_and_reported() -> None:
    host = OpenAIHost(fail_first=1)
    retries: list[Any] = []
    hooks = Hooks()
    hooks.on_retry(retries.append)
    provider = host.provider(retry=RetryPolicy(max_attempts=3, base_delay=0.0))
    emb = await EmbeddingClient(provider, hooks=hooks).embed(["a"])
    assert len(host.bodies) == 2 and len(emb.vectors) == 1
    assert len(retries) == 1 and isinstance(retries[0].error, RateLimitError)


async def test_the_cache_serves_inputs_seen_before() -> None:
    fake = FakeProvider()
    client = EmbeddingClient(fake, cache=MemoryCache())
    first = await client.embed(["a", "b"])
    second = await client.embed(["b", "c", "a"])
    assert fake.embedded == [["a", "b"], ["c"]]
    assert second.cached == 2
    assert second.vectors[0] == first.vectors[1] and second.vectors[2] == first.vectors[0]


def test_embed_sync() -> None:
    emb = EmbeddingClient(FakeProvider()).embed_sync("hello", dimensions=3)
    assert len(emb.vectors) == 1 and emb.dimensions == 3
    assert emb.to_numpy().shape == (1, 3)


async def test_a_budget_too_small_refuses_before_sending() -> None:
    from llmkit.errors import BudgetExceededError

    host = OpenAIHost()
    with pytest.raises(BudgetExceededError):
        await EmbeddingClient(host.provider(), budget=Budget(1e-12)).embed(["a long input"])
    assert host.bodies == []
