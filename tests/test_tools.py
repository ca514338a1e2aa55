"""Tools from Python functions and the tool loop (`run`, `run_stream`) on FakeProvider."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Literal

import anyio
import pydantic
import pytest

from llmkit.clients import GPT4Client
from llmkit.errors import ConfigurationError, MaxTurnsExceededError, RateLimitError
from llmkit.testing import FakeProvider
from llmkit.tools import Tool, as_tool_specs, call_tools, parse_docstring, tool_from_function
from llmkit.types import Message, Response, Role, ToolCall, ToolSpec, Usage


@dataclasses.dataclass
class Place:
    city: str
    country: str = "NO"


class Window(pydantic.BaseModel):
    days: int


@dataclasses.dataclass
class Answer:
    city: str
    temperature: float


def google(place: Place, unit: Literal["C", "F"] = "C", days: int = 1) -> str:
    """Forecast for a place.

    Longer text about it.

    Args:
        place: where to look,
            over two lines.
        unit: the temperature unit.
        days (int): how many days.

    Returns:
        The forecast.
    """
    return f"{place.city}/{place.country}/{unit}/{days}"


def numpy_style(city: str, limit: int = 3) -> list[str]:
    """Search cities.

    Parameters
    ----------
    city : str
        A city name.
    limit : int
        The most results.

    Returns
    -------
    list of str
    """
    return [city] * limit


def sphinx_style(city: str, hours: float) -> dict[str, float]:
    """Hours of sun.

    :param city: The city.
    :param float hours: How many hours,
        counted from now.
    :returns: a mapping.
    """
    return {city: hours}


def test_google_docstring_gives_description_and_parameter_docs() -> None:
    tool = tool_from_function(google)
    assert tool.name == "google"
    assert tool.description == "Forecast for a place.\n\nLonger text about it."
    props = tool.parameters["properties"]
    assert props["place"]["description"] == "where to look, over two lines."
    assert props["unit"] == {
        "description": "the temperature unit.",
        "enum": ["C", "F"],
        "default": "C",
    }
    assert props["days"]["description"] == "how many days."
    assert tool.parameters["required"] == ["place"]
    assert tool.parameters["$defs"]["Place"]["required"] == ["city"]


def test_numpy_and_sphinx_docstrings() -> None:
    assert parse_docstring(numpy_style.__doc__) == (
        "Search cities.",
        {"city": "A city name.", "limit": "The most results."},
    )
    assert parse_docstring(sphinx_style.__doc__) == (
        "Hours of sun.",
        {"city": "The city.", "hours": "How many hours, counted from now."},
    )
    tool = tool_from_function(sphinx_style, name="sun", description="Sunshine.")
    assert (tool.name, tool.description) == ("sun", "Sunshine.")
    assert tool.parameters["properties"]["hours"] == {
        "description": "How many hours, counted from now.",
        "type": "number",
    }


def test_toolspec_from_function_is_the_explicit_form() -> None:
    tool = ToolSpec.from_function(numpy_style)
    assert isinstance(tool, Tool) and isinstance(tool, ToolSpec)
    plain = tool.spec()
    assert type(plain) is ToolSpec and plain.parameters == tool.parameters


def test_star_args_are_refused() -> None:
    def loose(*cities: str) -> None:
        """Loose."""

    with pytest.raises(ConfigurationError, match="must be named"):
        tool_from_function(loose)


def test_a_request_carries_plain_specs_never_functions() -> None:
    specs = as_tool_specs([google, ToolSpec("x")])
    assert [type(s) for s in specs] == [ToolSpec, ToolSpec]
    assert specs[0].name == "google"


async def test_arguments_are_validated_and_converted_before_the_call() -> None:
    tool = tool_from_function(google)
    calls = [
        ToolCall("1", "google", {"place": {"city": "Oslo"}, "unit": "F"}),
        ToolCall("2", "google", {"place": {"city": 3}}),
        ToolCall("3", "nope", {}),
    ]
    ok, invalid, unknown = await call_tools([tool], calls)
    assert ok == Message.tool("Oslo/NO/F/1", tool_call_id="1", name="google")
    assert "invalid arguments for google" in invalid.content
    assert "place.city: expected str, got 3" in invalid.content
    assert "no tool named 'nope'" in unknown.content and "google" in unknown.content


async def test_pydantic_parameters_arrive_as_models() -> None:
    seen: list[Window] = []

    def plan(window: Window) -> str:
        """Plan."""
        seen.append(window)
        return "ok"

    tool = tool_from_function(plan)
    assert tool.parameters["required"] == ["window"]
    (result,) = await call_tools([tool], [ToolCall("1", "plan", {"window": {"days": "2"}})])
    assert result.content == "ok" and seen == [Window(days=2)]


async def test_results_are_json_and_a_raising_tool_sends_its_error() -> None:
    def boom(city: str) -> str:
        """Boom."""
        raise ValueError(f"no data for {city}")

    async def data(city: str) -> Answer:
        """Data."""
        return Answer(city, 1.5)

    tools = [tool_from_function(boom), tool_from_function(data)]
    failed, answered = await call_tools(
        tools, [ToolCall("1", "boom", {"city": "X"}), ToolCall("2", "data", {"city": "Y"})]
    )
    assert failed.content == "Error: ValueError: no data for X"
    assert json.loads(answered.content) == {"city": "Y", "temperature": 1.5}


async def test_a_turns_calls_run_concurrently_sync_ones_in_threads() -> None:
    # each tool waits for the other to start: run one after the other, they would hang
    started = {"a": threading.Event(), "b": threading.Event()}

    def wait_a() -> str:
        """A."""
        started["a"].set()
        return "a" if started["b"].wait(5) else "timeout"

    async def wait_b() -> str:
        """B."""
        started["b"].set()
        seen = await anyio.to_thread.run_sync(started["a"].wait, 5)
        return "b" if seen else "timeout"

    tools = [tool_from_function(wait_a), tool_from_function(wait_b)]
    results = await call_tools(tools, [ToolCall("1", "wait_a", {}), ToolCall("2", "wait_b", {})])
    assert [r.content for r in results] == ["a", "b"]


def weather(city: str) -> dict[str, float]:
    """The temperature in a city, in Celsius."""
    return {"celsius": {"Oslo": -3.0, "Rome": 21.0}[city]}


def to_fahrenheit(celsius: float) -> float:
    """Celsius to Fahrenheit."""
    return celsius * 9 / 5 + 32


def call(id_: str, name: str, **arguments: object) -> ToolCall:
    return ToolCall(id_, name, dict(arguments))


async def test_run_loops_until_a_plain_answer_and_sums_every_turn() -> None:
    fake = FakeProvider(
        [
            Response(
                tool_calls=[call("1", "weather", city="Oslo"), call("2", "weather", city="Rome")],
                usage=Usage(10, 1),
            ),
            Response(tool_calls=[call("3", "to_fahrenheit", celsius=-3.0)], usage=Usage(20, 2)),
            Response(text="Oslo is 26.6F, Rome 21C.", usage=Usage(30, 3)),
        ],
        name="openai",
    )
    reply = await GPT4Client(provider=fake).run("Weather?", tools=[weather, to_fahrenheit])
    assert reply.text == "Oslo is 26.6F, Rome 21C."
    assert reply.output is None
    assert reply.usage == Usage(input_tokens=60, output_tokens=6)
    roles = [m.role for m in reply.messages]
    assert roles == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.TOOL, Role.ASSISTANT, Role.TOOL,
                     Role.ASSISTANT]  # fmt: skip
    assert [m.content for m in reply.messages if m.role is Role.TOOL] == [
        '{"celsius":-3.0}',
        '{"celsius":21.0}',
        "26.6",
    ]
    # every request offered both tools, as plain specs
    assert all([t.name for t in r.tools] == ["weather", "to_fahrenheit"] for r in fake.requests)
    assert all(type(t) is ToolSpec for r in fake.requests for t in r.tools)
    # the conversation is ready for the next turn
    fake.add("Still cold.")
    again = await GPT4Client(provider=fake).generate([*reply.messages, Message.user("And now?")])
    assert again.text == "Still cold."


async def test_run_with_output_gives_a_typed_final_answer() -> None:
    fake = FakeProvider(
        [
            Response(tool_calls=[call("1", "weather", city="Rome")]),
            '{"city": "Rome", "temperature": "warm"}',
            '{"city": "Rome", "temperature": 21}',
        ],
        name="openai",
    )
    reply = await GPT4Client(provider=fake).run("Rome?", tools=[weather], output=Answer)
    assert reply.output == Answer("Rome", 21.0)
    assert fake.requests[0].response_format is not None  # native mode alongside the tools
    assert "temperature: expected float" in fake.requests[2].messages[-1].content


async def test_run_in_tool_mode_adds_the_output_tool_beside_the_others() -> None:
    fake = FakeProvider(
        [
            Response(tool_calls=[call("1", "weather", city="Rome")]),
            Response(tool_calls=[call("2", "final_result", city="Rome", temperature=21)]),
        ],
        name="openai",
    )
    reply = await GPT4Client(provider=fake).run(
        "Rome?", tools=[weather], output=Answer, output_mode="tool"
    )
    assert reply.output == Answer("Rome", 21.0)
    assert [t.name for t in fake.requests[0].tools] == ["weather", "final_result"]
    assert fake.requests[0].tool_choice == "required"


async def test_max_turns_raises_with_the_conversation_so_far() -> None:
    loop = [Response(tool_calls=[call(str(i), "weather", city="Oslo")]) for i in range(5)]
    fake = FakeProvider(loop, name="openai")
    with pytest.raises(MaxTurnsExceededError) as info:
        await GPT4Client(provider=fake).run("?", tools=[weather], max_turns=3)
    assert fake.calls == 3
    assert len([m for m in info.value.messages if m.role is Role.TOOL]) == 3
    assert info.value.response is not None


@pytest.mark.parametrize("turns", [0, -1, 2.5, "3", True])
async def test_a_max_turns_that_is_not_a_positive_whole_number_is_refused(turns: object) -> None:
    fake = FakeProvider(name="openai")
    client = GPT4Client(provider=fake)
    with pytest.raises(ConfigurationError, match="max_turns="):
        await client.run("?", tools=[weather], max_turns=turns)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_turns="):
        client.run_stream("?", tools=[weather], max_turns=turns)  # type: ignore[arg-type]
    assert fake.calls == 0  # refused before anything is sent


async def test_a_transport_error_in_the_loop_is_raised() -> None:
    fake = FakeProvider(
        [Response(tool_calls=[call("1", "weather", city="Oslo")]), RateLimitError("slow")],
        name="openai",
    )
    with pytest.raises(RateLimitError):
        await GPT4Client(provider=fake).run("?", tools=[weather])


async def test_a_spec_without_a_function_cannot_be_run() -> None:
    client = GPT4Client(provider=FakeProvider(name="openai"))
    with pytest.raises(ConfigurationError, match="without a function"):
        await client.run("?", tools=[ToolSpec("weather")])


async def test_run_stream_streams_every_turn_and_ends_with_runs_reply() -> None:
    fake = FakeProvider(
        [Response(tool_calls=[call("1", "weather", city="Rome")]), "It is 21C in Rome."],
        name="openai",
    )
    stream = GPT4Client(provider=fake).run_stream("Rome?", tools=[weather])
    events = [event async for event in stream]
    assert any(e.tool_call is not None for e in events)
    assert "".join(e.text for e in events) == "It is 21C in Rome."
    assert stream.response.text == "It is 21C in Rome."
    assert [m.role for m in stream.response.messages][-2:] == [Role.TOOL, Role.ASSISTANT]


def test_run_sync() -> None:
    fake = FakeProvider(
        [Response(tool_calls=[call("1", "to_fahrenheit", celsius=100)]), "212F"], name="openai"
    )
    reply = GPT4Client(provider=fake).run_sync("boiling?", tools=[to_fahrenheit])
    assert reply.messages[2].content == "212.0"


async def test_fake_provider_scripts_json_and_tool_calls() -> None:
    from llmkit.testing import tool_calls

    fake = FakeProvider(
        [
            tool_calls(("weather", {"city": "Rome"}), ("weather", {"city": "Oslo"})),
            {"city": "Rome", "temperature": 21},
        ],
        name="openai",
    )
    reply = await GPT4Client(provider=fake).run("Rome?", tools=[weather], output=Answer)
    assert reply.output == Answer("Rome", 21.0)
    first = reply.messages[1]
    assert [(c.id, c.name) for c in first.tool_calls] == [
        ("call_0_weather", "weather"),
        ("call_1_weather", "weather"),
    ]
    assert reply.messages[-1].content == '{"city": "Rome", "temperature": 21}'


def test_a_description_line_ending_in_a_colon_is_not_a_section() -> None:
    doc = """Does two things:

    - fetches, then
    - parses.

    Args:
        url: where.

    Raises:
        ValueError: never documented as a parameter.
    """
    assert parse_docstring(doc) == (
        "Does two things:\n\n- fetches, then\n- parses.",
        {"url": "where."},
    )


async def test_each_turn_is_one_request_event() -> None:
    from llmkit.events import Hooks

    hooks = Hooks()
    sent: list[int] = []
    hooks.on_request(lambda event: sent.append(len(event.request.messages)))
    fake = FakeProvider(
        [Response(tool_calls=[call("1", "weather", city="Rome")]), "Warm."], name="openai"
    )
    await GPT4Client(provider=fake, hooks=hooks).run("Rome?", tools=[weather])
    assert sent == [1, 3]  # the question; then the question, the call and its result


def test_run_stream_sync_yields_every_turns_events() -> None:
    fake = FakeProvider(
        [Response(tool_calls=[call("1", "to_fahrenheit", celsius=0)]), "32F"], name="openai"
    )
    events = list(GPT4Client(provider=fake).run_stream_sync("freezing?", tools=[to_fahrenheit]))
    assert "".join(e.text for e in events) == "32F"
    assert fake.calls == 2
