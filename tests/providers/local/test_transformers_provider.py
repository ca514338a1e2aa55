"""TransformersProvider on tiny models the tests build: the real `from_pretrained` path.

Random weights make random text, so these assert mechanics: streamed equals
complete for a fixed seed, exact usage, stop sequences, cancellation, queueing,
hot swap, the `<think>` prefix, and the errors a user can run into.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llmkit.errors import ConfigurationError, ContextLengthExceededError
from llmkit.providers.local import TransformersProvider, loading
from llmkit.providers.local.generate import Inbox
from llmkit.types import FinishReason, Message, Request, Role, ToolCall

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def ask(model: str, text: str = "hello", **options: Any) -> Request:
    return Request(model, [Message.user(text)], **{"max_tokens": 24, **options})


@pytest.fixture
async def local(tiny_model: str) -> Any:
    provider = TransformersProvider(model=tiny_model)
    yield provider
    await provider.aclose()


async def test_complete_reports_exact_usage_and_why_it_stopped(local: Any, tiny_model: str) -> None:
    request = ask(tiny_model, temperature=0)
    reply = await local.complete(request)
    prompt = await local.count_tokens(request)
    assert prompt.exact
    assert reply.usage.input_tokens == int(prompt) > 0
    assert 0 < reply.usage.output_tokens <= 24
    if reply.usage.output_tokens == 24:
        assert reply.finish_reason is FinishReason.LENGTH
    else:
        assert reply.raw_finish_reason == "eos_token"
    assert reply.provider == "local"
    assert reply.model == tiny_model
    assert reply.latency.first_token is not None
    assert reply.latency.first_token <= reply.latency.total
    assert reply.raw[-1]["tokens_per_second"] > 0


@pytest.mark.parametrize("options", [{"temperature": 0}, {"temperature": 0.9, "seed": 7}])
async def test_a_stream_equals_the_complete_reply(
    local: Any, tiny_model: str, options: dict[str, Any]
) -> None:
    request = ask(tiny_model, **options)
    whole = await local.complete(request)
    stream = local.stream(request)
    pieces = [event.text async for event in stream]
    assert "".join(pieces) == whole.text == stream.response.text
    assert len([p for p in pieces if p]) > 1
    assert stream.response.usage == whole.usage
    assert stream.response.finish_reason == whole.finish_reason


async def test_the_seed_decides_the_sample(local: Any, tiny_model: str) -> None:
    a = await local.complete(ask(tiny_model, temperature=1.0, seed=1))
    b = await local.complete(ask(tiny_model, temperature=1.0, seed=1))
    c = await local.complete(ask(tiny_model, temperature=1.0, seed=2))
    assert a.text == b.text
    assert a.text != c.text


async def test_a_stop_sequence_ends_the_reply_before_it(local: Any, tiny_model: str) -> None:
    free = await local.complete(ask(tiny_model, temperature=0, max_tokens=40))
    stop = free.text[6:9]
    assert len(stop) == 3
    cut = free.text.index(stop)
    reply = await local.complete(ask(tiny_model, temperature=0, max_tokens=40, stop=[stop]))
    assert reply.text == free.text[:cut]
    assert reply.raw_finish_reason == "stop_sequence"
    assert reply.finish_reason is FinishReason.STOP
    assert reply.usage.output_tokens < free.usage.output_tokens


async def test_a_cancelled_stream_stops_generating(
    local: Any, tiny_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[Any] = []
    real_post = Inbox.post

    def counting(inbox: Inbox, item: Any) -> None:
        posted.append(item)
        real_post(inbox, item)

    monkeypatch.setattr(Inbox, "post", counting)
    request = ask(tiny_model, temperature=0, max_tokens=200)
    full = await local.complete(request)
    assert full.usage.output_tokens == 200  # uncancelled, this prompt runs to the limit
    posted.clear()
    stream = local.stream(request)
    async for _ in stream:
        break
    await stream.aclose()
    # wait for the worker: anything queued behind the cancelled generation runs after it
    await local.complete(ask(tiny_model, max_tokens=1))
    tokens = [item for item in posted if isinstance(item, list)]
    assert len(tokens) < 150


async def test_generations_queue_one_at_a_time(local: Any, tiny_model: str) -> None:
    first, second = await asyncio.gather(
        local.complete(ask(tiny_model, temperature=0, max_tokens=30)),
        local.complete(ask(tiny_model, temperature=0, max_tokens=30)),
    )
    waits = sorted([first.raw[-1]["queue_wait"], second.raw[-1]["queue_wait"]])
    ran = first.raw[-1]["generate_seconds"]
    assert waits[1] >= 0.8 * ran  # the second waited for the whole first generation


async def test_providers_share_one_loaded_model(tiny_model: str) -> None:
    a, b = TransformersProvider(model=tiny_model), TransformersProvider(model=tiny_model)
    await a.load()
    await b.load()
    spec = loading.LoadSpec(model=tiny_model)
    assert a._held[spec] is b._held[spec]
    assert loading._loaded[spec].holders == 2
    await a.unload()
    assert spec in loading._loaded  # b still holds it
    await b.unload()
    assert spec not in loading._loaded


async def test_hot_swap_lets_running_requests_finish_on_the_old_model(
    tiny_model: str, other_tiny_model: str
) -> None:
    provider = TransformersProvider(model=tiny_model)
    try:
        stream = provider.stream(Request("", [Message.user("hi")], max_tokens=20, temperature=0))
        events = [await stream.__anext__()]
        await provider.load(other_tiny_model)
        events += [event async for event in stream]
        assert stream.response.model == tiny_model
        assert provider.model == other_tiny_model
        after = await provider.complete(Request("", [Message.user("hi")], max_tokens=5))
        assert after.model == other_tiny_model
        assert loading.LoadSpec(model=tiny_model) not in provider._held
    finally:
        await provider.aclose()


async def test_an_open_think_block_in_the_prompt_opens_the_reply(
    local: Any, tiny_model: str
) -> None:
    request = ask(
        tiny_model, temperature=0, extra={"chat_template_kwargs": {"enable_thinking": True}}
    )
    reply = await local.complete(request)
    assert reply.text.startswith("<think>\n")
    plain = await local.complete(ask(tiny_model, temperature=0))
    assert not plain.text.startswith("<think>")


async def test_tool_results_and_calls_go_through_the_chat_template(
    local: Any, tiny_model: str
) -> None:
    conversation = [
        Message.user("weather?"),
        Message.assistant(tool_calls=[ToolCall("call_0", "weather", {"city": "Paris"})]),
        Message(Role.TOOL, "sunny", tool_call_id="call_0", name="weather"),
    ]
    request = Request(tiny_model, conversation, max_tokens=4)
    prompt = local._render(await local._loaded(tiny_model), request)[1]
    assert '<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>' in prompt
    assert "<|im_start|>tool\nsunny" in prompt


async def test_list_models_names_the_loaded_model(local: Any, tiny_model: str) -> None:
    await local.load()
    assert tiny_model in [m.id for m in await local.list_models()]


async def test_mean_pooled_embeddings(local: Any) -> None:
    emb = await local.embed(["the quick fox", "hello", "the quick fox"])
    assert len(emb) == 3 and emb.dimensions == 32
    assert emb.vectors[0] == emb.vectors[2] != emb.vectors[1]
    assert emb.usage.input_tokens > 0


# -- errors a user can run into ------------------------------------------------------------


async def test_a_model_missing_from_the_cache_says_how_to_download_it() -> None:
    provider = TransformersProvider(model="nobody-here/not-a-real-model")
    with pytest.raises(ConfigurationError, match="hf download nobody-here/not-a-real-model"):
        await provider.complete(ask("nobody-here/not-a-real-model"))


async def test_a_missing_directory_is_named(tmp_path: Any) -> None:
    path = str(tmp_path / "nothing")
    with pytest.raises(ConfigurationError, match=r"No model at .*there is no such directory"):
        await TransformersProvider(model=path).complete(ask(path))


async def test_a_directory_without_weights_says_so(tmp_path: Any, tiny_model: str) -> None:
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    for weights in [*bare.glob("*.safetensors"), *bare.glob("*.bin")]:
        weights.unlink()
    with pytest.raises(ConfigurationError, match="holds no weights") as caught:
        await TransformersProvider(model=str(bare)).complete(ask(str(bare)))
    assert "config.json" not in str(caught.value)  # it has one: the message once said not


async def test_quantization_on_cpu_is_refused_not_ignored(tiny_model: str) -> None:
    provider = TransformersProvider(model=tiny_model, device="cpu", quantization="4bit")
    with pytest.raises(ConfigurationError, match="needs a CUDA GPU"):
        await provider.complete(ask(tiny_model))


async def test_a_model_without_a_chat_template_needs_one(untemplated_model: str) -> None:
    provider = TransformersProvider(model=untemplated_model)
    try:
        with pytest.raises(ConfigurationError, match="no chat template"):
            await provider.complete(ask(untemplated_model))
        templated = TransformersProvider(
            model=untemplated_model, chat_template="{{ messages[0].content }} =>"
        )
        reply = await templated.complete(ask(untemplated_model, max_tokens=3))
        assert reply.usage.output_tokens == 3
        await templated.aclose()
    finally:
        await provider.aclose()


async def test_a_prompt_past_the_context_window_fails_before_generating(
    local: Any, tiny_model: str
) -> None:
    with pytest.raises(ContextLengthExceededError, match="holds 256 tokens"):
        await local.complete(ask(tiny_model, "hello " * 300))


async def test_options_a_local_model_cannot_honour_are_refused(local: Any, tiny_model: str) -> None:
    with pytest.raises(ConfigurationError, match="logit_bias"):
        await local.complete(ask(tiny_model, extra={"logit_bias": {}}))
    with pytest.raises(ConfigurationError, match="response_format"):
        await local.complete(ask(tiny_model, response_format={"type": "json_object"}))


@pytest.mark.parametrize(
    ("option", "value"), [("device", "tpu"), ("dtype", "int3"), ("quantization", "2bit")]
)
def test_bad_settings_are_refused_at_construction(option: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=option):
        TransformersProvider(model="x", **{option: value})


async def test_no_model_anywhere_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="has no model"):
        await TransformersProvider().complete(Request("", [Message.user("hi")]))


async def test_waiting_requests_share_one_generate_call(tiny_model: str) -> None:
    alone = TransformersProvider(model=tiny_model)
    batched = TransformersProvider(model=tiny_model, max_batch_size=4)
    prompts = ["hello", "the quick brown fox", "what is the weather", "hi"]
    try:
        expected = [
            (await alone.complete(ask(tiny_model, p, temperature=0, max_tokens=12))).text
            for p in prompts
        ]
        replies = await asyncio.gather(
            *(batched.complete(ask(tiny_model, p, temperature=0, max_tokens=12)) for p in prompts)
        )
        assert max(r.raw[-1]["batch_size"] for r in replies) >= 2
        assert [r.text for r in replies] == expected  # each row reached its own request
        assert all(r.usage.output_tokens <= 12 for r in replies)
        seeded = await asyncio.gather(
            *(batched.complete(ask(tiny_model, p, temperature=0.8, seed=1)) for p in prompts[:2])
        )
        assert [r.raw[-1]["batch_size"] for r in seeded] == [1, 1]
    finally:
        await alone.aclose()
        await batched.aclose()
