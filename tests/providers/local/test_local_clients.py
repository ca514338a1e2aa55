"""Local models under the family clients, the registry name `local`, and local embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import llmkit
from llmkit.clients import DeepSeekClient, QwenClient
from llmkit.errors import ConfigurationError
from llmkit.providers.local import SentenceTransformersProvider, TransformersProvider
from llmkit.testing import FakeProvider

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_a_client_uses_the_providers_model_when_it_names_none(tiny_model: str) -> None:
    provider = TransformersProvider(model=tiny_model)
    client = QwenClient(provider=provider, thinking=False)
    try:
        assert client.model == tiny_model
        reply = await client.generate("hello", max_tokens=5)
        assert reply.provider == "local"
        assert reply.usage.output_tokens == 5
    finally:
        await provider.aclose()


async def test_thinking_goes_through_the_template_and_is_split(tiny_model: str) -> None:
    """QwenClient(thinking=True) turns the template's switch on; the open `<think>` the
    template leaves makes everything generated reasoning (no `</think>` from random weights)."""
    provider = TransformersProvider(model=tiny_model)
    try:
        client = QwenClient(provider=provider, thinking=True)
        reply = await client.generate("hello", max_tokens=8, temperature=0)
        assert reply.reasoning
        assert reply.text == ""
        stream = client.stream("hello", max_tokens=8, temperature=0)
        async for _ in stream:
            pass
        assert stream.response.reasoning == reply.reasoning
        deepseek = DeepSeekClient(provider=provider)
        plain = await deepseek.generate("hello", max_tokens=8, temperature=0)
        assert plain.reasoning is None and plain.text
    finally:
        await provider.aclose()


async def test_set_provider_moves_the_conversation_to_another_host(tiny_model: str) -> None:
    provider = TransformersProvider(model=tiny_model)
    client = QwenClient(provider=provider, thinking=False)
    try:
        first = await client.generate("hello", max_tokens=3)
        client.set_provider(FakeProvider(["from the fake host"]))
        second = await client.generate([llmkit.Message.user("hi"), first.to_message()])
        assert second.text == "from the fake host"
    finally:
        await provider.aclose()


def test_the_registry_builds_it_by_name(tiny_model: str) -> None:
    client = llmkit.client("qwen@local", model=tiny_model)
    assert isinstance(client.provider, TransformersProvider)
    assert client.model == tiny_model
    reply = client.generate_sync("hi", max_tokens=2)
    assert reply.usage.output_tokens == 2
    client.provider.aclose_sync()


@pytest.fixture(scope="module")
def tiny_sentence_model(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    from sentence_transformers import SentenceTransformer, models

    body = models.Transformer(tiny_model)
    pooling = models.Pooling(body.get_embedding_dimension(), pooling_mode="mean")
    path: Path = tmp_path_factory.mktemp("tiny-st")
    SentenceTransformer(modules=[body, pooling], device="cpu").save(str(path))
    return str(path)


async def test_sentence_transformers_embeds_locally(tiny_sentence_model: str) -> None:
    provider = SentenceTransformersProvider(model=tiny_sentence_model, device="cpu")
    try:
        emb = await provider.embed(["the quick fox", "hello", "the quick fox"])
        assert len(emb) == 3 and emb.dimensions == 32
        assert emb.vectors[0] == emb.vectors[2] != emb.vectors[1]
        assert emb.usage.input_tokens and emb.usage.input_tokens > 3
        short = await provider.embed("hello", dimensions=8, kind="query")
        assert short.dimensions == 8
        assert short.vectors[0] == pytest.approx(emb.vectors[1][:8], rel=1e-4)
        with pytest.raises(ConfigurationError, match="embeds only"):
            await provider.complete(llmkit.Request("x", [llmkit.Message.user("hi")]))
        with pytest.raises(ConfigurationError, match="kind"):
            await provider.embed("x", kind="passage")
    finally:
        await provider.aclose()


async def test_a_missing_embedding_model_says_how_to_get_it(tmp_path: Any) -> None:
    provider = SentenceTransformersProvider(model="nobody-here/no-embedder")
    with pytest.raises(ConfigurationError, match="hf download nobody-here/no-embedder"):
        await provider.embed("x")


async def test_configured_in_llmkit_yaml_like_any_provider(tiny_model: str, tmp_path: Any) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "llmkit.yaml"
    path.write_text(
        "providers:\n"
        "  laptop:\n"
        "    type: local\n"
        f"    options: {{model: '{tiny_model}', device: cpu, max_new_tokens: 3}}\n"
        "clients:\n"
        "  private:\n"
        "    family: qwen\n"
        "    provider: laptop\n",
        encoding="utf-8",
    )
    registry = llmkit.load(path)
    client = registry.client("private")
    try:
        assert client.model == tiny_model
        reply = await client.generate("hi")
        assert reply.usage.output_tokens == 3
    finally:
        await registry.aclose()
