"""GPT4Client: reasoning models refuse sampling parameters before sending; classic ones keep them."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from llmkit.clients import GPT4Client
from llmkit.clients.gpt4 import (
    check_sampling_params,
    gpt_oss_effort,
    is_gpt_oss,
    is_reasoning_model,
    mark_developer_role,
)
from llmkit.errors import InvalidRequestError
from llmkit.providers import GroqProvider
from llmkit.testing import FakeProvider
from llmkit.types import Message, Request


def req(**kwargs: object) -> Request:
    return Request("gpt-5.6", [Message.system("s"), Message.user("u")], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("gpt-5.6", True),
        ("gpt-5", True),
        ("o3", True),
        ("o4-mini", True),
        ("openai/o3", True),
        ("gpt-4.1", False),
        ("gpt-4o-mini", False),
        ("openai/gpt-4o", False),
    ],
)
def test_is_reasoning_model_by_id(model: str, reasoning: bool) -> None:
    assert is_reasoning_model(model) is reasoning


@pytest.mark.parametrize(
    ("kwargs", "refused"),
    [
        ({"temperature": 0.2}, "temperature=0.2"),
        ({"top_p": 0.5}, "top_p=0.5"),
        ({"stop": ["END"]}, "stop=['END']"),
        ({"temperature": 0, "stop": "x"}, "temperature=0, stop=['x']"),
    ],
)
def test_reasoning_models_refuse_sampling_parameters(
    kwargs: dict[str, object], refused: str
) -> None:
    with pytest.raises(InvalidRequestError, match="reasoning model") as info:
        check_sampling_params(req(**kwargs), reasoning=True, effort=None)
    assert refused in str(info.value)
    assert "gpt-4.1" in str(info.value)  # the message names a fix


def test_default_temperature_one_is_dropped_not_refused() -> None:
    out = check_sampling_params(req(temperature=1, top_p=1.0), reasoning=True, effort=None)
    assert (out.temperature, out.top_p) == (None, None)


@pytest.mark.parametrize(("reasoning", "effort"), [(False, None), (True, "none")])
def test_sampling_parameters_allowed(reasoning: bool, effort: str | None) -> None:
    request = req(temperature=0.2, top_p=0.5, stop=["END"])
    assert check_sampling_params(request, reasoning=reasoning, effort=effort) is request


def test_system_prompt_marked_for_the_developer_role() -> None:
    out = mark_developer_role(req(), "openai")
    assert out.messages[0].provider_data == {"openai": {"role": "developer"}}
    assert out.messages[1].provider_data == {}


async def test_client_refuses_before_sending() -> None:
    fake = FakeProvider(name="openai")
    client = GPT4Client(fake)
    assert client.model == "gpt-5.6"
    with pytest.raises(InvalidRequestError):
        await client.generate("x", temperature=0.3)
    assert fake.requests == []


async def test_classic_models_keep_every_parameter() -> None:
    fake = FakeProvider(name="openai")
    await GPT4Client(fake, model="gpt-4.1").generate("x", temperature=0.3, stop="END", system="s")
    sent = fake.requests[0]
    assert (sent.model, sent.temperature, sent.stop) == ("gpt-4.1", 0.3, ("END",))
    assert sent.messages[0].provider_data == {}


async def test_reasoning_effort_is_sent_to_reasoning_models_and_refused_for_classic() -> None:
    fake = FakeProvider(name="openai")
    await GPT4Client(fake, reasoning_effort="none").generate("x", temperature=0.3)
    assert fake.requests[0].extra == {"reasoning_effort": "none"}
    assert fake.requests[0].temperature == 0.3
    with pytest.raises(InvalidRequestError, match="not a reasoning model"):
        await GPT4Client(fake, model="gpt-4o", reasoning_effort="low").generate("x")


async def test_unknown_model_id_is_judged_by_its_shape() -> None:
    fake = FakeProvider(name="openai")
    client = GPT4Client(fake, model="o9-preview")
    assert client.model == "o9-preview" and not client.entry.known
    with pytest.raises(InvalidRequestError):
        await client.generate("x", top_p=0.1)


# -- gpt-oss: OpenAI's open-weight models on Groq, OpenRouter, Ollama, OpenAI-compatible hosts --


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-oss-120b", True),
        ("gpt-oss:20b", True),
        ("gpt-oss-120b", True),
        ("gpt-5.6", False),
        ("openai/gpt-4o", False),
    ],
)
def test_is_gpt_oss(model: str, expected: bool) -> None:
    assert is_gpt_oss(model) is expected
    assert is_reasoning_model(model) is (expected or model == "gpt-5.6")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("groq", {"reasoning_effort": "high"}),
        ("openai-compatible", {"reasoning_effort": "high"}),
        ("openrouter", {"reasoning": {"effort": "high"}}),
        ("ollama", {"think": "high"}),
    ],
)
async def test_gpt_oss_effort_in_each_hosts_terms(host: str, expected: dict[str, object]) -> None:
    fake = FakeProvider(name=host)
    await GPT4Client(fake, model="gpt-oss-20b", reasoning_effort="xhigh").generate("x")
    assert fake.requests[0].extra == expected


@pytest.mark.parametrize(("effort", "level"), [("minimal", "low"), ("medium", "medium")])
def test_gpt_oss_effort_folds_to_low_medium_high(effort: str, level: str) -> None:
    out = gpt_oss_effort(Request("openai/gpt-oss-120b", [Message.user("u")]), "groq", effort)
    assert out.extra == {"reasoning_effort": level}


async def test_gpt_oss_refuses_effort_none_before_sending() -> None:
    fake = FakeProvider(name="groq")
    client = GPT4Client(fake, reasoning_effort="none")
    with pytest.raises(InvalidRequestError, match="always reasons"):
        await client.generate("x")
    assert fake.requests == []


async def test_gpt_oss_keeps_sampling_parameters_and_system_role() -> None:
    fake = FakeProvider(name="groq")
    client = GPT4Client(fake, system="be brief")
    await client.generate("x", temperature=0.2, top_p=0.5, stop="END")
    sent = fake.requests[0]
    assert (sent.model, sent.temperature, sent.top_p, sent.stop) == (
        "openai/gpt-oss-120b",
        0.2,
        0.5,
        ("END",),
    )
    assert sent.extra == {}  # no effort asked: the host's default (medium)
    assert sent.messages[0].provider_data == {}  # `system`, not `developer`


def test_groq_resolves_gpt_oss_with_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    client = GPT4Client(provider=GroqProvider())
    assert client.model == "openai/gpt-oss-120b"
    assert client.entry.context_window == 131072


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("groq", "openai/gpt-oss-120b"),
        ("openrouter", "openai/gpt-oss-120b"),
        ("ollama", "gpt-oss:120b"),
    ],
)
def test_canonical_gpt_oss_name_resolves_on_each_host(host: str, expected: str) -> None:
    assert GPT4Client(FakeProvider(name=host), model="gpt-oss-120b").model == expected


def recorded(name: str) -> dict[str, Any]:
    """A conformance-corpus case (the test skips, saying why, when the corpus is absent)."""
    from tests.conformance.harness import CASES_DIR

    path = CASES_DIR / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"no conformance corpus case at {path}")
    case: dict[str, Any] = json.loads(path.read_text())
    return case


async def test_gpt_oss_on_groq_replays_the_recorded_reply() -> None:
    """The conformance corpus' Groq gpt-oss recording: our body asks what it asked, and
    the reply's `reasoning` field lands in `Response.reasoning`."""
    case = recorded("openai-chat__groq__reasoning-wire-contract-groq-gpt-oss-thinking-medium")
    bodies: list[dict[str, object]] = []

    def host(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(
            200, text=case["response"]["body"], headers=case["response"]["headers"]
        )

    provider = GroqProvider(
        api_key="test-key",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(host)),
        retry=None,
    )
    reply = await GPT4Client(provider, reasoning_effort="medium").generate(
        case["request"]["json"]["messages"][0]["content"]
    )
    assert bodies[0]["model"] == case["request"]["json"]["model"] == "openai/gpt-oss-120b"
    assert bodies[0]["reasoning_effort"] == case["request"]["json"]["reasoning_effort"]
    assert "temperature" not in bodies[0]
    assert reply.text == case["expect"]["text"]
    assert reply.reasoning == case["expect"]["reasoning"]


async def test_gpt_oss_on_ollamas_native_api_thinks_at_the_asked_level() -> None:
    """Ollama's `/api/chat`: effort as `think: "high"`, reasoning back in `message.thinking`."""
    from llmkit.providers import OllamaProvider

    bodies: list[dict[str, Any]] = []

    def host(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(
            200,
            json={
                "model": "gpt-oss:20b",
                "created_at": "2026-11-30T10:00:00Z",
                "message": {"role": "assistant", "content": "4", "thinking": "2 plus 2"},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 70,
                "eval_count": 12,
            },
        )

    provider = OllamaProvider(
        base_url="http://127.0.0.1:11434",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(host)),
        retry=None,
    )
    client = GPT4Client(provider, model="gpt-oss-20b", reasoning_effort="high")
    reply = await client.generate("2+2?", temperature=0.3)
    assert bodies[0]["model"] == "gpt-oss:20b"
    assert bodies[0]["think"] == "high"
    assert bodies[0]["options"]["temperature"] == 0.3
    assert (reply.text, reply.reasoning) == ("4", "2 plus 2")
