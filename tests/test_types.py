from __future__ import annotations

import pytest

from llmkit import FinishReason, Message, Request, Response, Role, ToolCall, Usage
from llmkit.types import from_dict, to_dict


def test_message_constructors_set_roles() -> None:
    call = ToolCall("c1", "get_weather", {"city": "Paris"})
    assert Message.system("s").role is Role.SYSTEM
    assert Message.user("u").role is Role.USER
    turn = Message.assistant("a", tool_calls=[call], reasoning="r")
    assert (turn.role, turn.tool_calls, turn.reasoning) == (Role.ASSISTANT, (call,), "r")
    result = Message.tool("18C", tool_call_id="c1", name="get_weather")
    assert (result.role, result.tool_call_id, result.name) == (Role.TOOL, "c1", "get_weather")


def test_role_accepts_plain_strings() -> None:
    assert Message("user", "hi").role is Role.USER
    with pytest.raises(ValueError):
        Message("robot", "hi")


def test_request_normalises_stop_and_sequences() -> None:
    request = Request("m", [Message.user("hi")], stop="END")
    assert request.stop == ("END",)
    assert isinstance(request.messages, tuple)
    assert Request("m", [], stop=["a", "b"]).stop == ("a", "b")
    assert Request("m", []).stop is None


def test_to_message_keeps_reasoning_tool_calls_and_provider_data() -> None:
    call = ToolCall("c1", "f", {"x": 1})
    reply = Response(
        text="t",
        reasoning="why",
        tool_calls=(call,),
        finish_reason="tool_calls",
        provider_data={"openrouter": {"reasoning_details": [{"type": "x"}]}},
    )
    turn = reply.to_message()
    assert turn == Message.assistant(
        "t", tool_calls=[call], reasoning="why", provider_data=reply.provider_data
    )
    assert reply.finish_reason is FinishReason.TOOL_CALLS


def test_raw_is_left_out_of_equality_and_repr() -> None:
    a = Response(text="x", raw={"secret-ish": 1})
    b = Response(text="x", raw=None)
    assert a == b
    assert "secret-ish" not in repr(a)


def test_round_trip_through_plain_data() -> None:
    reply = Response(
        text="hello",
        tool_calls=(ToolCall(None, "f", {"a": [1, 2]}),),
        finish_reason=FinishReason.STOP,
        usage=Usage(input_tokens=3, output_tokens=4),
        raw={"x": 1},
    )
    data = to_dict(reply)
    assert "raw" not in data
    assert data["finish_reason"] == "stop"
    assert from_dict(data, Response) == reply
