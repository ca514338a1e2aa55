"""GPT4Client: reasoning models refuse sampling parameters before sending; classic ones keep them."""

from __future__ import annotations

import pytest

from llmkit.clients import GPT4Client
from llmkit.clients.gpt4 import check_sampling_params, is_reasoning_model, mark_developer_role
from llmkit.errors import InvalidRequestError
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
