"""ModelClient over FakeProvider: request building, model choice, provider swaps, sync twins."""

from __future__ import annotations

import anyio
import pytest

from llmkit.clients import (
    ClaudeClient,
    DeepSeekClient,
    GeminiClient,
    GPT4Client,
    LlamaClient,
    MixtralClient,
)
from llmkit.errors import ConfigurationError, RateLimitError
from llmkit.testing import FakeProvider
from llmkit.types import FinishReason, Message, Response, Role, ToolCall, ToolSpec

TOOL = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}},
)


async def test_text_prompt_becomes_a_user_turn_with_the_clients_system_prompt() -> None:
    fake = FakeProvider()
    await DeepSeekClient(fake, system="Be brief.", temperature=0.5, max_tokens=64).generate("Hi")
    sent = fake.requests[0]
    assert [(m.role, m.content) for m in sent.messages] == [
        (Role.SYSTEM, "Be brief."),
        (Role.USER, "Hi"),
    ]
    assert (sent.temperature, sent.max_tokens) == (0.5, 64)


async def test_call_options_win_over_client_defaults() -> None:
    fake = FakeProvider()
    client = LlamaClient(fake, system="default", temperature=0.5, max_tokens=64)
    await client.generate(
        [Message.system("conversation's"), Message.user("Hi")],
        system="call's", temperature=0.1, max_tokens=8, top_p=0.9, stop="END", seed=7,
        tools=[TOOL], tool_choice="auto", response_format={"type": "json_object"}, extra={"x": 1},
    )  # fmt: skip
    sent = fake.requests[0]
    assert sent.messages[0] == Message.system("call's")
    assert (sent.temperature, sent.max_tokens, sent.top_p, sent.stop, sent.seed) == (
        0.1,
        8,
        0.9,
        ("END",),
        7,
    )
    assert (sent.tools, sent.tool_choice, sent.response_format, sent.extra) == (
        (TOOL,), "auto", {"type": "json_object"}, {"x": 1},
    )  # fmt: skip


async def test_a_conversations_own_system_prompt_wins_over_the_clients() -> None:
    fake = FakeProvider()
    await LlamaClient(fake, system="default").generate([Message.system("own"), Message.user("Hi")])
    assert [m.content for m in fake.requests[0].messages] == ["own", "Hi"]


async def test_claude_always_sends_max_tokens() -> None:
    fake = FakeProvider(name="openrouter")
    client = ClaudeClient(fake)
    await client.generate("Hi")
    await client.generate("Hi", max_tokens=10)
    assert [r.max_tokens for r in fake.requests] == [4096, 10]
    assert client.model == "anthropic/claude-sonnet-5"


async def test_a_bad_prompt_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"Message\.user"):
        await DeepSeekClient(FakeProvider()).generate(["just text"])  # type: ignore[list-item]


# -- choosing the model ------------------------------------------------------------------


def test_the_newest_model_the_host_serves_is_chosen() -> None:
    assert DeepSeekClient(FakeProvider(name="deepseek")).model == "deepseek-flash"
    assert GPT4Client(FakeProvider(name="openrouter")).model == "openai/gpt-5.6"
    assert GeminiClient(FakeProvider(name="openrouter")).model.startswith("google/gemini-")


@pytest.mark.parametrize(
    ("model", "sent"),
    [("deepseek-v4-pro", "deepseek/deepseek-v4-pro"), ("my-finetune", "my-finetune")],
)
async def test_an_explicit_model_always_wins(model: str, sent: str) -> None:
    fake = FakeProvider(name="openrouter")
    client = DeepSeekClient(fake, model=model)
    assert client.model == sent
    await client.generate("Hi")
    await DeepSeekClient(fake).generate("Hi", model=model)
    assert [r.model for r in fake.requests] == [sent, sent]


def test_an_explicit_model_wins_even_where_the_family_is_not_served() -> None:
    assert DeepSeekClient(
        FakeProvider(name="groq"), model="deepseek-r1-distill-llama-70b"
    ).model == ("deepseek-r1-distill-llama-70b")


@pytest.mark.parametrize(
    ("client", "host", "says"),
    [
        (
            DeepSeekClient,
            "groq",
            ["groq no longer serves any deepseek model", "deepseek", "openrouter", "ollama"],
        ),
        (MixtralClient, "groq", ["mixtral-8x7b-32768", "ollama"]),
        (LlamaClient, "groq", ["retired 2026-08-16", "openrouter"]),
        (MixtralClient, "mistral", ["open-mixtral-8x7b", "ollama"]),
        (GPT4Client, "deepseek", ["does not serve the gpt4 family", "openai", "openrouter"]),
    ],
)
def test_an_unserved_family_names_the_hosts_that_serve_it(
    client: type[DeepSeekClient], host: str, says: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as info:
        client(FakeProvider(name=host))
    for words in says:
        assert words in str(info.value)
    assert "model=" in str(info.value)


# -- swapping providers -----------------------------------------------------------------


def test_set_provider_to_a_host_without_the_family_keeps_the_old_one() -> None:
    old = FakeProvider(name="deepseek")
    client = DeepSeekClient(old)
    with pytest.raises(ConfigurationError, match="Providers that do"):
        client.set_provider(FakeProvider(name="groq"))
    assert client.provider is old and client.model == "deepseek-flash"


async def test_requests_under_way_finish_on_the_old_provider() -> None:
    old = FakeProvider(["from old"], name="deepseek", first_token_delay=0.05)
    new = FakeProvider(["from new"], name="openrouter")
    client = DeepSeekClient(old)
    replies: list[Response] = []

    async def ask() -> None:
        replies.append(await client.generate("Hi"))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(ask)
        await anyio.sleep(0.01)  # the request is with `old` now
        client.set_provider(new)
    assert replies[0].text == "from old" and replies[0].provider == "deepseek"
    assert (await client.generate("Hi")).text == "from new"
    assert [r.model for r in old.requests + new.requests] == [
        "deepseek-flash",
        "deepseek/deepseek-v4-pro",
    ]


async def test_a_stream_made_before_a_swap_stays_on_its_provider() -> None:
    old, new = FakeProvider(["old"], name="deepseek"), FakeProvider(["new"], name="openrouter")
    client = DeepSeekClient(old)
    stream = client.stream("Hi")
    client.set_provider(new)
    assert (await stream.collect()).text == "old"
    assert new.requests == []


async def test_a_tool_call_conversation_moves_between_hosts_intact() -> None:
    call = ToolCall("call_abc123", "get_weather", {"city": "Lisbon"})
    first = FakeProvider(
        [
            Response(
                reasoning="Need the weather.",
                tool_calls=(call,),
                provider_data={"deepseek": {"sig": "opaque"}},
            )
        ],
        name="deepseek",
    )
    second = FakeProvider(["Sunny in Lisbon."], name="openrouter")
    client = DeepSeekClient(first)
    conversation: list[Message] = [Message.user("Weather in Lisbon?")]
    reply = await client.generate(conversation, tools=[TOOL])
    assert reply.finish_reason is FinishReason.TOOL_CALLS
    conversation += [
        reply.to_message(),
        Message.tool('{"sky": "sunny"}', tool_call_id=call.id, name=call.name),
    ]

    client.set_provider(second)
    answer = await client.generate(conversation, tools=[TOOL])
    assert answer.text == "Sunny in Lisbon."
    sent = second.requests[0].messages
    assert sent[1] == Message.assistant(
        "",
        tool_calls=[call],
        reasoning="Need the weather.",
        provider_data={"deepseek": {"sig": "opaque"}},
    )
    assert sent[2].tool_call_id == "call_abc123" and sent[2].role is Role.TOOL


# -- streaming, errors and sync twins ----------------------------------------------------


async def test_stream_response_and_usage() -> None:
    client = LlamaClient(FakeProvider(["one two three"]))
    stream = client.stream("count")
    texts = [e.text async for e in stream if e.text]
    assert texts == ["one", " two", " three"]
    response = stream.response
    assert response.text == "one two three" and response.usage.output_tokens == 3
    assert response.latency.total is not None and response.provider == "fake"


async def test_errors_reach_the_caller_unchanged() -> None:
    error = RateLimitError("slow down", retry_after=2.0)
    client = DeepSeekClient(FakeProvider(errors={1: error}))
    with pytest.raises(RateLimitError) as info:
        await client.generate("Hi")
    assert info.value is error
    with pytest.raises(RateLimitError):
        await DeepSeekClient(FakeProvider([error])).stream("Hi").collect()


async def test_gemini_mints_ids_for_calls_without_one_in_streams_too() -> None:
    reply = Response(tool_calls=(ToolCall(None, "get_weather", {"city": "Rome"}),))
    client = GeminiClient(FakeProvider([reply, reply]))
    complete = await client.generate("Weather?", tools=[TOOL])
    streamed = await client.stream("Weather?", tools=[TOOL]).collect()
    assert complete.tool_calls[0].id and streamed.tool_calls[0].id


def test_sync_twins() -> None:
    client = DeepSeekClient(FakeProvider(["<think>r</think>sync", "<think>r</think>streamed"]))
    reply = client.generate_sync("Hi")
    assert (reply.text, reply.reasoning) == ("sync", "r")
    events = list(client.stream_sync("Hi"))
    assert "".join(e.text for e in events) == "streamed"
    assert "".join(e.reasoning for e in events) == "r"


async def test_a_broken_stream_gives_the_rewritten_partial_reply() -> None:
    from llmkit.errors import StreamError
    from llmkit.testing import Interrupted

    cut = Interrupted(
        "<think>Plan it.</think>The answer is", StreamError("connection lost"), after=2
    )
    stream = DeepSeekClient(FakeProvider([cut])).stream("Hi")
    with pytest.raises(StreamError) as info:
        await stream.collect()
    partial = info.value.partial
    assert partial is not None
    assert (partial.text, partial.reasoning) == ("The", "Plan it.")


async def test_an_unknown_call_option_is_refused_not_ignored() -> None:
    client = DeepSeekClient(provider=FakeProvider())
    with pytest.raises(TypeError, match=r"'temprature' \(did you mean 'temperature'\?\)"):
        await client.generate("hi", temprature=0.2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'nonsense'"):
        client.stream("hi", nonsense=1)  # type: ignore[call-arg]


# -- calls go one way: the policy shell gets a frozen value and `send`, never the client --


def test_a_misspelt_client_argument_is_refused_with_a_suggestion() -> None:
    with pytest.raises(TypeError, match=r"'max_token'.*did you mean 'max_tokens'"):
        DeepSeekClient(FakeProvider(), max_token=64)  # type: ignore[call-arg]


async def test_assigning_a_policy_replaces_the_frozen_value_the_next_call_reads() -> None:
    from llmkit.events import Hooks

    client = DeepSeekClient(FakeProvider())
    before = client._policies
    seen: list[str | None] = []
    hooks = Hooks()
    hooks.on_response(lambda event: seen.append(event.client))
    client.hooks = hooks
    assert client._policies is not before and before.hooks is None  # never mutated in place
    assert client.hooks is hooks
    await client.generate("Hi")
    assert seen == ["DeepSeekClient"]


async def test_prepare_gets_the_entry_the_call_resolved_without_searching_again() -> None:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider
    from llmkit.types import Request

    got: list[tuple[str, str]] = []

    class Recording(GPT4Client):
        def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
            got.append((request.model, entry.id))
            return super().prepare(request, provider, entry)

    client = Recording(FakeProvider())
    searched: list[str] = []
    find = client.catalog.find

    def counting_find(provider: str, model_id: str) -> CatalogEntry | None:
        searched.append(model_id)
        return find(provider, model_id)

    client.catalog.find = counting_find  # type: ignore[method-assign]
    await client.generate("Hi")
    await client.generate("Hi", model="my-own-model")
    assert got == [(client.model, client.model), ("my-own-model", "my-own-model")]
    assert searched == ["my-own-model"]  # once, when the call named it; never in prepare


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("openrouter", "llmkit.client('family@host')"),
        (["a", "b"], "fallbacks=[...]"),
        (None, "not NoneType"),
        (5, "not int"),
    ],
)
def test_what_is_not_a_provider_gets_a_clear_error(given: object, says: str) -> None:
    with pytest.raises(ConfigurationError, match="provider= takes a provider object") as info:
        DeepSeekClient(provider=given)  # type: ignore[arg-type]
    assert says in info.value.message
    client = DeepSeekClient(provider=FakeProvider())
    with pytest.raises(ConfigurationError, match="provider= takes a provider object"):
        client.set_provider(given)  # type: ignore[arg-type]
