"""Context windows: refuse with the numbers, or truncate whole turns and say what went."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from llmkit.catalog import Catalog
from llmkit.clients import DeepSeekClient, LlamaClient
from llmkit.context import DropMiddle, KeepNewest, fit_request, group_turns, resolve_strategy
from llmkit.errors import ConfigurationError, ContextLengthExceededError
from llmkit.events import Event, Hooks
from llmkit.testing import FakeProvider
from llmkit.tokens import TokenCount
from llmkit.types import Message, Request, Role, ToolCall


def words(messages: Sequence[Message]) -> TokenCount:
    """One token per word: easy numbers for table tests."""
    return TokenCount(sum(len(m.content.split()) for m in messages), exact=True, method="words")


def estimate(messages: Sequence[Message]) -> TokenCount:
    return TokenCount(sum(len(m.content.split()) for m in messages), exact=False, method="est")


def turn(role: str, n: int, tag: str) -> Message:
    return Message(Role(role), " ".join([tag] * n))


CONVERSATION = (
    Message.system("sys sys"),  # 2
    turn("user", 10, "u1"),
    turn("assistant", 10, "a1"),
    turn("user", 10, "u2"),
    turn("assistant", 10, "a2"),
    turn("user", 10, "u3"),
)  # 52 words


def request(max_tokens: int | None = None, messages: Sequence[Message] = CONVERSATION) -> Request:
    return Request(model="m", messages=messages, max_tokens=max_tokens)


def test_a_request_that_fits_is_sent_unchanged() -> None:
    req = request(max_tokens=8)
    assert fit_request(req, context_window=60, count=words) == (req, None)


def test_an_unknown_window_is_not_checked() -> None:
    req = request(max_tokens=10_000)
    assert fit_request(req, context_window=None, count=words) == (req, None)


def test_too_long_fails_before_sending_with_the_numbers() -> None:
    with pytest.raises(ContextLengthExceededError) as info:
        fit_request(request(max_tokens=20), context_window=60, count=words, provider="groq")
    error = info.value
    assert error.provider == "groq" and error.model == "m"
    assert error.body == {
        "prompt_tokens": 52,
        "prompt_tokens_exact": True,
        "max_tokens": 20,
        "context_window": 60,
    }
    assert "52" in error.message and "60" in error.message and "keep_newest" in error.message


def test_too_long_without_max_tokens_says_nothing_was_reserved() -> None:
    with pytest.raises(ContextLengthExceededError) as info:
        fit_request(request(), context_window=40, count=words)
    message = info.value.message
    assert "max_tokens" not in message, message
    assert message == (
        "The request does not fit m's context window of 40 tokens: prompt 52 tokens "
        "(exact, words); shorten the conversation or pass context_strategy='keep_newest' "
        "(or 'drop_middle') to the client"
    )


def test_too_long_with_max_tokens_shows_the_reserve() -> None:
    with pytest.raises(ContextLengthExceededError) as info:
        fit_request(request(max_tokens=20), context_window=60, count=words)
    assert (
        "prompt 52 tokens (exact, words) + max_tokens 20 = 72; shorten the conversation, "
        "lower max_tokens, or pass" in info.value.message
    ), info.value.message


def test_an_estimate_refuses_only_beyond_its_margin() -> None:
    # 52 estimated tokens against a 50-token window: within 15%, so the host judges it
    req = request()
    assert fit_request(req, context_window=50, count=estimate)[1] is None
    with pytest.raises(ContextLengthExceededError, match="estimated"):
        fit_request(req, context_window=40, count=estimate)


def test_keep_newest_keeps_the_system_prompt_and_the_newest_turns() -> None:
    sent, truncation = fit_request(
        request(max_tokens=10), context_window=45, count=words, strategy=KeepNewest()
    )
    assert truncation is not None
    assert [m.content.split()[0] for m in sent.messages] == ["sys", "u2", "a2", "u3"]
    assert [m.content.split()[0] for m in truncation.dropped] == ["u1", "a1"]
    assert (truncation.tokens_before, truncation.tokens_after) == (52, 32)
    assert "keep_newest dropped 2 messages (1 user, 1 assistant)" in truncation.describe()


def test_keep_newest_starts_the_kept_conversation_with_a_user_turn() -> None:
    sent, truncation = fit_request(request(), context_window=40, count=words, strategy=KeepNewest())
    # dropping u1 alone would leave a1 first: a1 goes too
    assert sent.messages[1].role is Role.USER
    assert truncation is not None and len(truncation.dropped) == 2


def test_drop_middle_keeps_the_first_turn() -> None:
    sent, truncation = fit_request(request(), context_window=35, count=words, strategy=DropMiddle())
    assert [m.content.split()[0] for m in sent.messages] == ["sys", "u1", "a2", "u3"]
    assert truncation is not None
    assert [m.content.split()[0] for m in truncation.dropped] == ["a1", "u2"]


def test_a_tool_call_is_never_split_from_its_results() -> None:
    messages = (
        Message.system("sys"),
        turn("user", 5, "u1"),
        Message.assistant("a", tool_calls=[ToolCall("c1", "f"), ToolCall("c2", "g")]),
        Message.tool("r1 r1 r1 r1 r1", tool_call_id="c1"),
        Message.tool("r2 r2 r2 r2 r2", tool_call_id="c2"),
        turn("assistant", 3, "a2"),
        turn("user", 3, "u2"),
    )
    units = group_turns(messages[1:])
    assert [len(u) for u in units] == [1, 3, 1, 1]
    for window in range(4, 30):
        try:
            sent, _ = fit_request(
                request(messages=messages),
                context_window=window,
                count=words,
                strategy=KeepNewest(),
            )
        except ContextLengthExceededError:
            continue
        ids = {c.id for m in sent.messages for c in m.tool_calls}
        results = {m.tool_call_id for m in sent.messages if m.role is Role.TOOL}
        assert ids == results, window


def test_when_nothing_fits_even_truncated_it_still_fails_and_says_so() -> None:
    with pytest.raises(ContextLengthExceededError, match="even after keep_newest"):
        fit_request(request(), context_window=10, count=words, strategy=KeepNewest())


def test_strategies_by_name() -> None:
    assert isinstance(resolve_strategy("keep_newest"), KeepNewest)
    assert isinstance(resolve_strategy("drop_middle"), DropMiddle)
    assert resolve_strategy(None) is None
    with pytest.raises(ConfigurationError, match="keep_newest"):
        resolve_strategy("keep_oldest")


def tiny_catalog(window: int = 3000) -> Catalog:
    """A one-model catalog: the llama family on the fake host with a small window."""
    host = {"id": "tiny-llama", "context_window": window, "max_output": 500}
    return Catalog({"families": {"llama": {"models": {"tiny-llama": {"hosts": {"fake": host}}}}}})


def _long_conversation(turns: int) -> list[Message]:
    out = []
    for i in range(turns):
        out.append(Message.user(f"question {i} " + "word " * 200))
        out.append(Message.assistant(f"answer {i} " + "word " * 200))
    out.append(Message.user("and now?"))
    return out


async def test_the_client_refuses_a_prompt_beyond_the_catalog_window() -> None:
    provider = FakeProvider()
    client = LlamaClient(provider=provider, catalog=tiny_catalog())
    with pytest.raises(ContextLengthExceededError, match="tiny-llama"):
        await client.generate(_long_conversation(12))
    assert provider.calls == 0  # never sent


async def test_the_client_truncates_when_asked() -> None:
    provider = FakeProvider()
    seen: list[Event] = []
    hooks = Hooks()
    hooks.on_request(seen.append)
    client = LlamaClient(
        provider=provider, catalog=tiny_catalog(), context_strategy="keep_newest", hooks=hooks
    )
    reply = await client.generate(_long_conversation(12))
    assert reply.text
    sent = provider.requests[0].messages
    assert sent[-1].content == "and now?"
    assert sent[0].role is Role.USER
    assert 1 < len(sent) < 25
    assert seen[0].reason is not None and "keep_newest dropped" in seen[0].reason


def test_deepseek_client_takes_a_context_strategy() -> None:
    client = DeepSeekClient(provider=FakeProvider(name="deepseek"), context_strategy="drop_middle")
    assert isinstance(client.context_strategy, DropMiddle)


def test_upper_bound_is_never_below_an_exact_count() -> None:
    from llmkit.context import upper_bound
    from llmkit.tokens import count_messages

    conversations = [
        [Message.user("hello")],
        [Message.system("Be terse."), Message.user("naïve café ☃ " * 50)],
        [
            Message.user("weather?"),
            Message.assistant(tool_calls=[ToolCall("c1", "get_weather", {"city": "Zürich"})]),
            Message.tool("18°C", tool_call_id="c1", name="get_weather"),
        ],
    ]
    for messages in conversations:
        counted = count_messages(messages, model="gpt-4")
        assert counted.method.endswith("cl100k_base")  # tiktoken's real tokens
        assert upper_bound(messages) >= counted


def test_a_short_prompt_is_checked_without_a_tokenizer() -> None:
    def explode(messages: object) -> TokenCount:
        raise AssertionError("the tokenizer should not be needed")

    request = Request("m", [Message.user("hi")], max_tokens=100)
    assert fit_request(request, context_window=10_000, count=explode) == (request, None)


def test_large_tool_schemas_are_not_waved_through_by_the_fast_path() -> None:
    from llmkit.types import ToolSpec

    schema = {
        "type": "object",
        "properties": {f"field_{i}": {"type": "string"} for i in range(400)},
    }
    request = Request(
        "m", [Message.user("hi")], max_tokens=10, tools=[ToolSpec("big", "x", schema)]
    )
    counted: list[int] = []

    def count(messages: object) -> TokenCount:
        counted.append(1)
        return TokenCount(5000, exact=True, method="test")

    with pytest.raises(ContextLengthExceededError):
        fit_request(request, context_window=2000, count=count)
    assert counted  # the tokenizer was asked, not skipped on the messages' size alone
