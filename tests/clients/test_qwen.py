"""QwenClient: thinking on/off in each host's terms, Qwen3's soft switches, the model
cards' sampling, `<think>` splitting, and the catalog's Qwen hosts."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llmkit.clients import QwenClient
from llmkit.clients.qwen import (
    add_soft_switch,
    ask_for_thinking,
    has_soft_switch,
    recommended_sampling,
)
from llmkit.errors import ConfigurationError
from llmkit.providers import GroqProvider, OpenAICompatibleProvider
from llmkit.testing import FakeProvider
from llmkit.types import Message, Request


def req(model: str = "qwen3-32b", *messages: Message) -> Request:
    return Request(model, messages or (Message.system("s"), Message.user("u")))


def recorded(name: str) -> dict[str, Any]:
    """A conformance-corpus case (the test skips, saying why, when the corpus is absent)."""
    from tests.conformance.harness import CASES_DIR

    path = CASES_DIR / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"no conformance corpus case at {path}")
    case: dict[str, Any] = json.loads(path.read_text())
    return case


@pytest.mark.parametrize(
    ("model", "soft"),
    [
        ("qwen3-32b", True),
        ("qwen/qwen3-32b", True),
        ("qwen3:32b", True),
        ("qwen/qwen3.6-27b", False),
        ("qwen/qwen3.8-27b", False),
        ("Qwen/Qwen3.5-397B-A17B", False),
    ],
)
def test_soft_switch_only_on_qwen3(model: str, soft: bool) -> None:
    assert has_soft_switch(model) is soft


def test_model_card_sampling_per_generation_and_mode() -> None:
    qwen3_on, qwen3_off = (
        recommended_sampling("qwen3-32b", True),
        recommended_sampling("qwen3-32b", False),
    )
    assert (qwen3_on.temperature, qwen3_on.top_p, qwen3_on.top_k) == (0.6, 0.95, 20)
    assert (qwen3_off.temperature, qwen3_off.top_p, qwen3_off.top_k) == (0.7, 0.8, 20)
    later_on = recommended_sampling("qwen/qwen3.6-27b", True)
    later_off = recommended_sampling("qwen/qwen3.6-27b", False)
    assert (later_on.temperature, later_on.top_p) == (1.0, 0.95)
    assert (later_off.temperature, later_off.presence_penalty) == (0.7, 1.5)


@pytest.mark.parametrize(
    ("host", "thinking", "expected"),
    [
        ("groq", False, {"reasoning_effort": "none"}),
        ("groq", True, {"reasoning_format": "parsed"}),
        ("groq", None, {"reasoning_format": "parsed"}),
        ("openrouter", False, {"reasoning": {"enabled": False}}),
        ("openrouter", None, {}),
        ("ollama", True, {"think": True}),
        ("ollama", False, {"think": False}),
        ("openai-compatible", False, {"chat_template_kwargs": {"enable_thinking": False}}),
        ("openai-compatible", None, {}),
    ],
)
def test_thinking_in_each_hosts_terms(
    host: str, thinking: bool | None, expected: dict[str, object]
) -> None:
    assert ask_for_thinking(req("qwen/qwen3.8-27b"), host, thinking).extra == expected


def test_openai_compatible_servers_also_get_the_soft_switch_on_qwen3_only() -> None:
    out = ask_for_thinking(req("Qwen/Qwen3-32B"), "openai-compatible", False)
    assert out.messages[-1].content == "u /no_think"
    assert out.extra == {"chat_template_kwargs": {"enable_thinking": False}}
    later = ask_for_thinking(req("Qwen/Qwen3.6-27B"), "openai-compatible", False)
    assert later.messages[-1].content == "u"


def test_soft_switch_goes_on_the_last_user_turn_once() -> None:
    conversation = req(
        "qwen3-32b", Message.user("a"), Message.assistant("b"), Message.user("c /think")
    )
    assert add_soft_switch(conversation, True).messages[-1].content == "c /think"
    out = add_soft_switch(req("qwen3-32b", Message.user("a"), Message.assistant("b")), False)
    assert [m.content for m in out.messages] == ["a /no_think", "b"]


async def test_client_sends_recommended_sampling_unless_set() -> None:
    fake = FakeProvider(name="openai-compatible")
    client = QwenClient(fake, model="Qwen/Qwen3-32B", thinking=False)
    await client.generate("x")
    sent = fake.requests[0]
    assert (sent.temperature, sent.top_p, sent.extra["top_k"]) == (0.7, 0.8, 20)
    await client.generate("x", temperature=0.1, extra={"top_k": 5})
    sent = fake.requests[1]
    assert (sent.temperature, sent.top_p, sent.extra["top_k"]) == (0.1, 0.8, 5)
    await QwenClient(fake, model="Qwen/Qwen3-32B", recommended_sampling=False).generate("x")
    assert (fake.requests[2].temperature, fake.requests[2].extra) == (None, {})


async def test_groq_gets_no_top_k_and_later_qwen_gets_presence_penalty() -> None:
    fake = FakeProvider(name="groq")
    await QwenClient(fake, thinking=False).generate("x")
    sent = fake.requests[0]
    assert sent.model == "qwen/qwen3.8-27b"
    assert sent.extra == {"presence_penalty": 1.5, "reasoning_effort": "none"}
    assert (sent.temperature, sent.top_p) == (0.7, 0.8)


async def test_soft_switch_option_on_any_host() -> None:
    fake = FakeProvider(name="ollama")
    await QwenClient(fake, thinking=True, soft_switch=True).generate("x")
    assert fake.requests[0].messages[-1].content == "x /think"
    assert fake.requests[0].extra["think"] is True
    with pytest.raises(ConfigurationError, match="soft_switch"):
        QwenClient(fake, soft_switch=True)


async def test_think_tags_split_whole_and_streamed() -> None:
    reply = "<think>\nadd two and two\n</think>\n\n4"
    client = QwenClient(
        FakeProvider([reply, reply], name="openai-compatible"), model="Qwen/Qwen3-32B"
    )
    whole = await client.generate("2+2?")
    assert (whole.text, whole.reasoning) == ("4", "add two and two")
    stream = client.stream("2+2?")
    parts = [event async for event in stream]
    assert "".join(e.text for e in parts) == "4"
    assert "".join(e.reasoning for e in parts) == "add two and two"


def test_groq_resolves_qwen_with_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    client = QwenClient(provider=GroqProvider())
    assert client.model == "qwen/qwen3.8-27b"
    assert client.entry.max_output == 16384


@pytest.mark.parametrize(
    ("host", "expected"),
    [("openrouter", "qwen/qwen3-32b"), ("ollama", "qwen3:32b"), ("fake", "qwen3.8-27b")],
)
def test_qwen_hosts_in_the_catalog(host: str, expected: str) -> None:
    assert QwenClient(FakeProvider(name=host)).model == expected


def test_qwen3_32b_left_groq() -> None:
    entry = next(
        e
        for e in QwenClient(FakeProvider(name="groq")).catalog.entries("qwen", "groq")
        if e.model == "qwen3-32b"
    )
    assert entry.retired is not None and entry.retired.isoformat() == "2026-07-17"


def _replay(case: dict[str, Any], bodies: list[dict[str, Any]]) -> httpx2.AsyncClient:
    def host(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(
            200, text=case["response"]["body"], headers=case["response"]["headers"]
        )

    return httpx2.AsyncClient(transport=httpx2.MockTransport(host))


@pytest.mark.parametrize(
    ("name", "thinking"),
    [
        ("openai-chat__groq__reasoning-wire-contract-groq-qwen3-disable", False),
        (
            "openai-chat__groq__reasoning-wire-contract-groq-qwen3-enable-level-sends-no-effort",
            True,
        ),
    ],
)
async def test_qwen3_on_groq_replays_the_recorded_reply(name: str, thinking: bool) -> None:
    """Groq recordings of qwen/qwen3-32b (before its retirement): our body carries the
    recorded thinking switch, and the reply's reasoning lands in `Response.reasoning`."""
    case = recorded(name)
    bodies: list[dict[str, Any]] = []
    provider = GroqProvider(api_key="test-key", http_client=_replay(case, bodies), retry=None)
    client = QwenClient(provider, model="qwen/qwen3-32b", thinking=thinking)
    reply = await client.generate(case["request"]["json"]["messages"][0]["content"])
    sent, wanted = bodies[0], case["request"]["json"]
    for key in ("model", "reasoning_effort", "reasoning_format"):
        assert sent.get(key) == wanted.get(key), key
    assert "top_k" not in sent
    assert (reply.text, reply.reasoning) == (case["expect"]["text"], case["expect"]["reasoning"])


async def test_vllm_style_server_gets_enable_thinking_and_reasoning_is_split() -> None:
    bodies: list[dict[str, Any]] = []
    answer = {
        "id": "c1",
        "object": "chat.completion",
        "model": "Qwen/Qwen3-32B",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "<think>\n\n</think>\n\nParis."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
    }
    case = {
        "response": {"body": json.dumps(answer), "headers": {"content-type": "application/json"}}
    }
    provider = OpenAICompatibleProvider(
        base_url="http://127.0.0.1:8000/v1", http_client=_replay(case, bodies), retry=None
    )
    client = QwenClient(provider, model="Qwen/Qwen3-32B", thinking=False)
    reply = await client.generate("Capital of France?")
    assert bodies[0]["chat_template_kwargs"] == {"enable_thinking": False}
    assert bodies[0]["top_k"] == 20 and bodies[0]["temperature"] == 0.7
    assert bodies[0]["messages"][-1]["content"] == "Capital of France? /no_think"
    assert (reply.text, reply.reasoning) == ("Paris.", None)


async def test_reply_opened_by_the_template_is_split_at_its_close_tag() -> None:
    """Qwen3.5+ templates open `<think>` in the prompt: the reply has only `</think>`."""
    reply = "The user wants a sum.\n</think>\n\n4"
    client = QwenClient(FakeProvider([reply], name="openai-compatible"), model="Qwen/Qwen3.6-27B")
    whole = await client.generate("2+2?")
    assert (whole.text, whole.reasoning) == ("4", "The user wants a sum.")


async def test_a_reply_without_tags_is_left_alone() -> None:
    client = QwenClient(FakeProvider(["just 4"], name="openai-compatible"), model="Qwen/Qwen3-32B")
    whole = await client.generate("2+2?")
    assert (whole.text, whole.reasoning) == ("just 4", None)
