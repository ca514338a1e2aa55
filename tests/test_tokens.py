"""Token counts: exact with tiktoken or a tokenizer.json, marked estimates otherwise, never a download."""

from __future__ import annotations

import json
import logging
import pickle
import socket
from pathlib import Path
from typing import Any

import pytest

from llmkit import tokens
from llmkit.clients import DeepSeekClient, GPT4Client
from llmkit.errors import ConfigurationError, ServerError
from llmkit.testing import FakeProvider
from llmkit.tokens import TokenCount, count_messages, count_text, counter_for
from llmkit.types import Message, Request, ToolCall, ToolSpec


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test (a download would)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("token counting tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def empty_tiktoken_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    tokens._load_encoding.cache_clear()
    yield
    tokens._load_encoding.cache_clear()


def test_token_count_is_an_int_that_says_how_it_was_made() -> None:
    count = TokenCount(12, exact=True, method="tiktoken:cl100k_base")
    assert count == 12 and count + 1 == 13
    assert count.exact and count.method == "tiktoken:cl100k_base"
    assert "exact=True" in repr(count)
    again = pickle.loads(pickle.dumps(count))
    assert (again, again.exact, again.method) == (12, True, "tiktoken:cl100k_base")


def test_gpt4_is_counted_exactly_with_the_offline_cl100k(no_network: None) -> None:
    count = count_text("hello world", "gpt-4")
    assert count == 2  # cl100k: "hello", " world"
    assert count.exact and count.method == "tiktoken:cl100k_base"


def test_o200k_model_without_the_encoding_falls_back_to_a_marked_estimate(
    no_network: None, empty_tiktoken_cache: None
) -> None:
    count = count_text("hello world, how are you today?", "gpt-4o")
    assert not count.exact
    assert count.method.startswith("estimate:")
    assert 5 <= count <= 12


def test_a_corrupt_cached_encoding_is_not_used(
    no_network: None, empty_tiktoken_cache: None
) -> None:
    url = tokens._TIKTOKEN_FILES["o200k_base"][0]
    import hashlib
    import os

    cache = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    cache.mkdir(parents=True)
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"not an encoding")
    count = count_text("hello", "gpt-5")
    assert not count.exact  # tiktoken would have re-downloaded it: llmkit estimates instead


def test_unknown_models_get_an_estimate(no_network: None) -> None:
    count = count_text("The quick brown fox jumps over the lazy dog.", "claude-sonnet-5")
    assert not count.exact and count.method.startswith("estimate:")
    assert 8 <= count <= 14


def test_char_estimate_counts_non_latin_scripts_per_character() -> None:
    estimate = tokens._CharEstimate()
    assert estimate.count("abcdefgh") == 2
    assert estimate.count("你好世界") == 4


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4", "cl100k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-5.4", "o200k_base"),
        ("o3", "o200k_base"),
        ("openai/gpt-oss-120b", "o200k_harmony"),
        ("claude-opus-5", None),
        ("deepseek-flash", None),
    ],
)
def test_openai_encoding_names(model: str, expected: str | None) -> None:
    assert tokens._openai_encoding_name(model) == expected


def _word_level_tokenizer(path: Path) -> Path:
    """A tiny real tokenizer.json: whitespace pre-tokenizer, word-level vocabulary."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "hello": 1, "world": 2, ",": 3}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    target = path / "tokenizer.json"
    tokenizer.save(str(target))
    return target


def test_a_local_tokenizer_json_counts_exactly(tmp_path: Path) -> None:
    path = _word_level_tokenizer(tmp_path)
    count = count_text("hello world , hello", "llama-4-scout", tokenizer=path)
    assert count == 4 and count.exact and count.method.startswith("tokenizers:")
    assert count_text("hello", "x", tokenizer=tmp_path) == 1  # a folder holding one


def test_a_repo_id_is_found_in_the_local_hugging_face_cache_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    snapshot = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    _word_level_tokenizer(snapshot)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert count_text("hello world", "tiny", tokenizer="acme/tiny").exact
    missing = count_text("hello world", "tiny", tokenizer="acme/absent")
    assert not missing.exact  # not cached: estimated, not downloaded


def test_a_broken_tokenizer_file_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"nope": 1}))
    with pytest.raises(ConfigurationError, match=r"not a usable tokenizer\.json"):
        counter_for("m", str(bad))


def test_openai_message_overhead_matches_the_cookbook() -> None:
    # cookbook: 3 per message + role + content, 1 per name, 3 to prime the reply
    messages = [Message.system("You are helpful."), Message.user("hello world")]
    count = count_messages(messages, "gpt-4")
    text = sum(
        count_text(t, "gpt-4") for t in ("system", "You are helpful.", "user", "hello world")
    )
    assert count == text + 3 * 2 + 3
    assert count.exact


def test_chat_formats_add_their_own_overhead() -> None:
    messages = [Message.user("hi")] * 3
    llama = count_messages(messages, "llama-4-scout")
    mistral = count_messages(messages, "mixtral-8x7b")
    assert llama - mistral == 3 * (5 - 3) + (5 - 1)


def test_tool_calls_and_tool_definitions_count_but_make_the_count_an_estimate() -> None:
    plain = count_messages([Message.user("weather in Paris?")], "gpt-4")
    tool = ToolSpec("weather", "Current weather", {"type": "object", "properties": {}})
    with_tools = count_messages([Message.user("weather in Paris?")], "gpt-4", tools=[tool])
    assert with_tools > plain and plain.exact and not with_tools.exact
    conversation = [
        Message.user("weather in Paris?"),
        Message.assistant(tool_calls=[ToolCall("c1", "weather", {"city": "Paris"})]),
        Message.tool("18C", tool_call_id="c1"),
    ]
    assert not count_messages(conversation, "gpt-4").exact


def test_unknown_chat_format_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="Unknown chat format"):
        count_messages([Message.user("x")], "gpt-4", chat_format="klingon")


def test_client_count_tokens_text_messages_and_request() -> None:
    client = GPT4Client(provider=FakeProvider(name="openai"), model="gpt-4.1")
    text = client.count_tokens("hello world")
    turn = client.count_tokens(Message.user("hello world"))
    assert turn > text  # a turn carries template overhead
    request = Request(model="gpt-4", messages=[Message.user("hello world")])
    assert client.count_tokens(request) == count_messages(request.messages, "gpt-4")


class _CountingFake(FakeProvider):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counted: list[Request] = []

    async def count_tokens(self, request: Request) -> int:
        self.counted.append(request)
        return 42


async def test_count_tokens_exact_asks_the_host_where_it_can() -> None:
    provider = _CountingFake(name="deepseek")
    client = DeepSeekClient(provider=provider, system="Be brief.")
    count = await client.count_tokens_exact("hello")
    assert count == 42 and count.exact and count.method == "host:deepseek"
    sent = provider.counted[0]
    assert [m.content for m in sent.messages] == ["Be brief.", "hello"]


async def test_count_tokens_exact_falls_back_to_a_local_count() -> None:
    client = DeepSeekClient(provider=FakeProvider(name="deepseek"))
    count = await client.count_tokens_exact("hello")
    assert count > 0 and not count.exact


class _BrokenCounter(FakeProvider):
    async def count_tokens(self, request: Request) -> int:
        raise ServerError("internal error", provider="anthropic", status_code=500)


async def test_count_tokens_exact_counts_locally_when_the_host_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = DeepSeekClient(provider=_BrokenCounter(name="deepseek"))
    local = client.count_tokens([Message.user("hello")])
    with caplog.at_level(logging.DEBUG, logger="llmkit"):
        count = await client.count_tokens_exact("hello")
    assert count == local and count.exact == local.exact
    assert count.method == f"{local.method}; host:deepseek failed: ServerError"
    assert any("host:deepseek failed: ServerError" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "host:" in r.getMessage())


def test_count_tokens_exact_has_a_sync_twin() -> None:
    client = DeepSeekClient(provider=_CountingFake(name="deepseek"))
    assert client.count_tokens_exact_sync("hi") == 42
