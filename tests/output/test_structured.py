"""`generate(output=...)` and `stream(output=...)` on FakeProvider: modes, re-asks, sums, limits."""

from __future__ import annotations

import dataclasses
import json
from typing import Literal

import pydantic
import pytest

from llmkit.budget import Budget
from llmkit.clients import ClaudeClient, DeepSeekClient, GPT4Client
from llmkit.errors import (
    BudgetExceededError,
    ConfigurationError,
    OutputValidationError,
    RateLimitError,
    ServerError,
)
from llmkit.events import Hooks
from llmkit.output.plan import OUTPUT_TOOL
from llmkit.testing import FakeProvider
from llmkit.types import Message, Response, Role, ToolCall, Usage


@dataclasses.dataclass
class Person:
    name: str
    age: int
    role: Literal["admin", "user"] = "user"


class City(pydantic.BaseModel):
    name: str
    population: int


GOOD = '{"name": "Ada", "age": 36}'
BAD = '{"name": "Ada", "age": "thirty-six"}'


def usage(n: int) -> Usage:
    return Usage(input_tokens=10 * n, output_tokens=n)


async def test_native_mode_sends_the_schema_and_returns_the_instance() -> None:
    fake = FakeProvider([GOOD], name="openai")
    reply = await GPT4Client(provider=fake).generate("Who?", output=Person)
    assert reply.output == Person("Ada", 36)
    (request,) = fake.requests
    fmt = request.response_format
    assert fmt is not None and fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Person"
    assert fmt["json_schema"]["strict"] is True  # OpenAI: strict dialect from the catalog
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert [m.role for m in reply.messages] == [Role.USER, Role.ASSISTANT]


async def test_a_wrong_answer_is_re_asked_with_its_errors_and_usage_and_cost_are_summed() -> None:
    fake = FakeProvider(
        [Response(text=BAD, usage=usage(1)), Response(text=GOOD, usage=usage(2))], name="openai"
    )
    reply = await GPT4Client(provider=fake).generate("Who?", output=Person)
    assert reply.output == Person("Ada", 36)
    assert reply.usage == Usage(input_tokens=30, output_tokens=3)
    assert fake.calls == 2
    reask = fake.requests[1].messages
    assert reask[-2] == Message.assistant(BAD)
    assert reask[-1].role is Role.USER
    assert 'age: expected int, got "thirty-six"' in reask[-1].content
    # the cost is the sum of both replies' prices (gpt-5.6 on openai: $4 / $20 per M)
    assert reply.cost is not None
    assert reply.cost.total == pytest.approx((30 * 4 + 3 * 20) / 1e6)


async def test_after_the_last_re_ask_the_error_carries_errors_raw_text_and_attempts() -> None:
    fake = FakeProvider([BAD, BAD, "not json at all"], name="openai")
    with pytest.raises(OutputValidationError) as info:
        await GPT4Client(provider=fake).generate("Who?", output=Person, output_retries=2)
    error = info.value
    assert error.attempts == 3
    assert error.raw == "not json at all"
    assert "not valid JSON" in str(error.errors[0])
    assert fake.calls == 3
    assert error.response is not None and error.response.usage.output_tokens is not None
    assert error.messages[-1] == Message.assistant("not json at all")


async def test_output_retries_zero_never_re_asks() -> None:
    fake = FakeProvider([BAD, GOOD], name="openai")
    with pytest.raises(OutputValidationError):
        await GPT4Client(provider=fake).generate("Who?", output=Person, output_retries=0)
    assert fake.calls == 1


async def test_a_transport_error_is_raised_never_fed_to_the_model() -> None:
    fake = FakeProvider([BAD, RateLimitError("slow down", retry_after=1.0)], name="openai")
    with pytest.raises(RateLimitError):
        await GPT4Client(provider=fake).generate("Who?", output=Person)
    assert fake.calls == 2
    assert all("slow down" not in m.content for r in fake.requests for m in r.messages)


async def test_a_server_error_on_the_first_attempt_is_raised_at_once() -> None:
    fake = FakeProvider([ServerError("boom", status_code=500), GOOD], name="openai")
    with pytest.raises(ServerError):
        await GPT4Client(provider=fake).generate("Who?", output=Person)
    assert fake.calls == 1


async def test_the_budget_is_checked_before_each_re_ask() -> None:
    # the first reply costs $20 (1M output tokens at $20/M), over the $1 limit: no re-ask is sent
    costly = Response(text=BAD, usage=Usage(input_tokens=10, output_tokens=1_000_000))
    fake = FakeProvider([costly, GOOD], name="openai")
    client = GPT4Client(provider=fake, budget=Budget(limit_usd=1.0, warn_at=None), max_tokens=100)
    with pytest.raises(BudgetExceededError):
        await client.generate("Who?", output=Person)
    assert fake.calls == 1


async def test_each_attempt_is_one_request_event() -> None:
    hooks = Hooks()
    seen: list[str] = []
    hooks.on_response(lambda event: seen.append(event.response.text))
    fake = FakeProvider([BAD, GOOD], name="openai")
    await GPT4Client(provider=fake, hooks=hooks).generate("Who?", output=Person)
    assert seen == [BAD, GOOD]


async def test_tool_mode_forces_the_output_tool_and_reads_its_arguments() -> None:
    answer = Response(tool_calls=[ToolCall("t1", OUTPUT_TOOL, {"name": "Ada", "age": 36})])
    fake = FakeProvider([answer], name="anthropic")
    reply = await ClaudeClient(provider=fake).generate("Who?", output=Person, output_mode="tool")
    assert reply.output == Person("Ada", 36)
    (request,) = fake.requests
    assert request.response_format is None
    assert request.tool_choice == OUTPUT_TOOL
    (tool,) = request.tools
    assert tool.name == OUTPUT_TOOL and tool.parameters["required"] == ["name", "age"]
    # the conversation answers the output call, so it can go on
    assert reply.messages[-1].role is Role.TOOL and reply.messages[-1].tool_call_id == "t1"


async def test_tool_mode_re_asks_through_a_tool_result() -> None:
    bad = Response(tool_calls=[ToolCall("t1", OUTPUT_TOOL, {"name": "Ada"})])
    good = Response(tool_calls=[ToolCall("t2", OUTPUT_TOOL, {"name": "Ada", "age": 1})])
    fake = FakeProvider([bad, good], name="anthropic")
    reply = await ClaudeClient(provider=fake).generate("Who?", output=Person, output_mode="tool")
    assert reply.output == Person("Ada", 1)
    result = fake.requests[1].messages[-1]
    assert result.role is Role.TOOL and result.tool_call_id == "t1"
    assert "age" in result.content


async def test_tool_mode_without_a_call_is_re_asked() -> None:
    good = Response(tool_calls=[ToolCall("t2", OUTPUT_TOOL, {"name": "Ada", "age": 1})])
    fake = FakeProvider(["I think it is Ada.", good], name="anthropic")
    reply = await ClaudeClient(provider=fake).generate("Who?", output=Person, output_mode="tool")
    assert reply.output == Person("Ada", 1)
    assert f"Call {OUTPUT_TOOL}" in fake.requests[1].messages[-1].content


async def test_prompted_mode_puts_the_schema_in_the_system_prompt_with_json_mode() -> None:
    fake = FakeProvider([f"```json\n{GOOD}\n```"], name="deepseek")
    client = DeepSeekClient(provider=fake, system="Be brief.")
    reply = await client.generate("Who?", output=Person)  # DeepSeek: prompted, per the catalog
    assert reply.output == Person("Ada", 36)
    (request,) = fake.requests
    assert request.response_format == {"type": "json_object"}
    system = request.messages[0]
    assert system.role is Role.SYSTEM
    assert system.content.startswith("Be brief.\n\n")
    assert '"required": ["name", "age"]' in system.content
    assert "json" in system.content  # DeepSeek's JSON mode needs the word


async def test_prompted_mode_without_json_mode_sends_no_response_format() -> None:
    fake = FakeProvider([GOOD], name="anthropic")
    reply = await ClaudeClient(provider=fake).generate(
        "Who?", output=Person, output_mode="prompted"
    )
    assert reply.output == Person("Ada", 36)
    assert fake.requests[0].response_format is None


async def test_a_list_output_is_wrapped_for_the_host_and_unwrapped_for_the_caller() -> None:
    fake = FakeProvider([json.dumps({"response": [json.loads(GOOD)]})], name="openai")
    reply = await GPT4Client(provider=fake).generate("Who?", output=list[Person])
    assert reply.output == [Person("Ada", 36)]
    schema = fake.requests[0].response_format["json_schema"]["schema"]  # type: ignore[index]
    assert schema["required"] == ["response"]


async def test_pydantic_output() -> None:
    fake = FakeProvider(['{"name": "Oslo", "population": 700000}'], name="openai")
    reply = await GPT4Client(provider=fake).generate("Where?", output=City)
    assert reply.output == City(name="Oslo", population=700000)


async def test_an_output_type_without_a_schema_fails_before_sending() -> None:
    fake = FakeProvider([GOOD], name="openai")
    with pytest.raises(ConfigurationError, match="JSON Schema"):
        await GPT4Client(provider=fake).generate("Who?", output=object)
    assert fake.calls == 0


async def test_generate_many_and_the_sync_twin_take_output() -> None:
    fake = FakeProvider([GOOD, '{"name": "Bob", "age": 7}'], name="openai")
    client = GPT4Client(provider=fake)
    replies = await client.generate_many(["a", "b"], output=Person, concurrency=1)
    assert [r.output for r in replies if isinstance(r, Response)] == [
        Person("Ada", 36),
        Person("Bob", 7),
    ]
    fake.add(GOOD)
    assert client.generate_sync("c", output=Person).output == Person("Ada", 36)


async def test_a_fallback_host_serves_the_typed_call() -> None:
    down = FakeProvider([ServerError("down", status_code=503)], name="openai")
    backup = FakeProvider([GOOD], name="openrouter")
    client = GPT4Client(provider=down, fallbacks=[backup])
    reply = await client.generate("Who?", output=Person)
    assert reply.output == Person("Ada", 36)
    assert reply.provider == "openrouter"


async def test_stream_events_carry_partial_objects_and_the_response_the_instance() -> None:
    fake = FakeProvider([GOOD], name="openai")
    stream = GPT4Client(provider=fake).stream("Who?", output=Person)
    partials = [event.partial_output async for event in stream]
    assert partials[0] == {}  # the opening brace
    assert {"name": "Ada"} in partials
    assert partials[-1] == {"name": "Ada", "age": 36}
    assert stream.response.output == Person("Ada", 36)
    assert stream.response.text == GOOD


async def test_a_stream_that_does_not_validate_raises_at_its_end_without_re_asking() -> None:
    fake = FakeProvider([BAD, GOOD], name="openai")
    stream = GPT4Client(provider=fake).stream("Who?", output=Person)
    with pytest.raises(OutputValidationError):
        async for _ in stream:
            pass
    assert fake.calls == 1


async def test_a_stream_may_opt_into_re_asks() -> None:
    fake = FakeProvider(
        [Response(text=BAD, usage=usage(1)), Response(text=GOOD, usage=usage(2))], name="openai"
    )
    stream = GPT4Client(provider=fake).stream("Who?", output=Person, output_retries=1)
    partials = [event.partial_output async for event in stream]
    reply = stream.response
    assert reply.output == Person("Ada", 36)
    assert fake.calls == 2
    assert reply.usage == Usage(input_tokens=30, output_tokens=3)  # summed over both streams
    # the re-asked answer's partials start again from the opening brace
    assert partials.count({}) == 2


async def test_tool_mode_streams_partials_from_the_output_tool_arguments() -> None:
    answer = Response(tool_calls=[ToolCall("t1", OUTPUT_TOOL, {"name": "Ada", "age": 36})])
    fake = FakeProvider([answer], name="anthropic")
    stream = ClaudeClient(provider=fake).stream("Who?", output=Person, output_mode="tool")
    partials = [e.partial_output async for e in stream if e.partial_output is not None]
    assert partials[-1] == {"name": "Ada", "age": 36}
    assert stream.response.output == Person("Ada", 36)


async def test_the_mode_follows_set_provider() -> None:
    client = DeepSeekClient(provider=FakeProvider([GOOD], name="openrouter"))
    await client.generate("Who?", output=Person)
    native = client.provider.requests[0]  # type: ignore[attr-defined]
    assert native.response_format["type"] == "json_schema"
    client.set_provider(FakeProvider([GOOD], name="deepseek"))
    reply = await client.generate("Who?", output=Person)
    assert reply.output == Person("Ada", 36)
    prompted = client.provider.requests[0]  # type: ignore[attr-defined]
    assert prompted.response_format == {"type": "json_object"}
