"""Table tests for the shared request and response rewrites, and the families built on them."""

from __future__ import annotations

import pytest

from llmkit.clients._rewrites import (
    ensure_user_first,
    fold_system_prompt,
    merge_consecutive_turns,
    mint_tool_call_ids,
    with_extra,
)
from llmkit.clients.claude import alternate_turns
from llmkit.clients.mixtral import fit_mixtral_template
from llmkit.types import Message, Request, Response, Role, ToolCall

S, U, A = Message.system, Message.user, Message.assistant
CALL = ToolCall("c1", "f", {"x": 1})


def req(*messages: Message) -> Request:
    return Request("m", messages)


def shape(messages: tuple[Message, ...]) -> list[tuple[str, str]]:
    return [(str(m.role), m.content) for m in messages]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([U("hi")], [("user", "hi")]),
        ([S("be brief"), U("hi")], [("user", "be brief\n\nhi")]),
        ([S("a"), S("b"), U("hi")], [("user", "a\n\nb\n\nhi")]),
        ([S("rules")], [("user", "rules")]),
        ([S("rules"), A("hello"), U("hi")], [("assistant", "hello"), ("user", "rules\n\nhi")]),
        ([S("rules"), U("")], [("user", "rules")]),
    ],
)
def test_fold_system_prompt(given: list[Message], expected: list[tuple[str, str]]) -> None:
    assert shape(fold_system_prompt(req(*given)).messages) == expected


def test_fold_keeps_the_request_when_there_is_no_system() -> None:
    request = req(U("hi"))
    assert fold_system_prompt(request) is request


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([U("a"), U("b")], [("user", "a\n\nb")]),
        ([U("a"), A("b"), A("c"), U("d")], [("user", "a"), ("assistant", "b\n\nc"), ("user", "d")]),
        ([S("x"), S("y")], [("system", "x\n\ny")]),
        ([U("a"), U(""), U("b")], [("user", "a\n\nb")]),
        (
            [Message.tool("1", tool_call_id="a"), Message.tool("2", tool_call_id="b")],
            [("tool", "1"), ("tool", "2")],
        ),
    ],
)
def test_merge_consecutive_turns(given: list[Message], expected: list[tuple[str, str]]) -> None:
    assert shape(merge_consecutive_turns(given)) == expected


def test_merge_takes_the_later_turns_tool_calls() -> None:
    merged = merge_consecutive_turns([A("let me check"), A("", tool_calls=[CALL])])
    assert len(merged) == 1 and merged[0].tool_calls == (CALL,)
    assert merged[0].content == "let me check"


def test_merge_never_folds_into_a_turn_with_calls_or_host_data() -> None:
    with_calls = A("", tool_calls=[CALL])
    with_data = A("x", reasoning="r", provider_data={"deepseek": {"k": 1}})
    assert merge_consecutive_turns([with_calls, A("more")]) == (with_calls, A("more"))
    assert merge_consecutive_turns([A("a"), with_data]) == (A("a"), with_data)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([U("a")], ["user"]),
        ([A("a")], ["user", "assistant"]),
        ([S("s"), A("a")], ["system", "user", "assistant"]),
        ([S("s")], ["system"]),
        ([], []),
    ],
)
def test_ensure_user_first(given: list[Message], expected: list[str]) -> None:
    assert [str(m.role) for m in ensure_user_first(given)] == expected


def test_with_extra_lets_the_callers_extra_win() -> None:
    request = Request("m", [U("x")], extra={"reasoning_format": "raw"})
    assert with_extra(request, reasoning_format="parsed", other=1).extra == {
        "reasoning_format": "raw",
        "other": 1,
    }


def test_mint_tool_call_ids_is_stable_and_keeps_given_ids() -> None:
    response = Response(
        id="r", tool_calls=(ToolCall(None, "f", {"a": 1}), CALL, ToolCall(None, "f", {"a": 1}))
    )
    minted = mint_tool_call_ids(response)
    ids = [c.id for c in minted.tool_calls]
    assert ids[1] == "c1" and ids[0] and ids[2] and ids[0] != ids[2]
    assert mint_tool_call_ids(response) == minted
    assert mint_tool_call_ids(minted) is minted


# -- families --------------------------------------------------------------------------

MIXTRAL_CASES = [
    # host, conversation, expected shape
    ("ollama", [S("sys"), U("hi")], [("user", "sys\n\nhi")]),
    ("mistral", [S("sys"), U("hi")], [("system", "sys"), ("user", "hi")]),
    ("fake", [A("hello"), U("hi")], [("user", ""), ("assistant", "hello"), ("user", "hi")]),
    ("ollama", [S("sys"), U("a"), U("b"), A("c")], [("user", "sys\n\na\n\nb"), ("assistant", "c")]),
    (
        "mistral",
        [S("sys"), A("c"), U("d")],
        [("system", "sys"), ("user", ""), ("assistant", "c"), ("user", "d")],
    ),
]


@pytest.mark.parametrize(("host", "given", "expected"), MIXTRAL_CASES)
def test_fit_mixtral_template(
    host: str, given: list[Message], expected: list[tuple[str, str]]
) -> None:
    out = fit_mixtral_template(req(*given), host).messages
    assert shape(out) == expected
    assert not any(m.role is Role.SYSTEM for m in out) or host == "mistral"


def test_claude_turns_alternate_starting_with_the_user() -> None:
    out = alternate_turns(req(S("s"), A("a"), U("b"), U("c"))).messages
    assert shape(out) == [("system", "s"), ("user", ""), ("assistant", "a"), ("user", "b\n\nc")]


def test_the_documented_rewrites_are_public() -> None:
    from llmkit.clients import _rewrites, rewrites

    assert set(rewrites.__all__) == set(_rewrites.__all__)
    for name in rewrites.__all__:
        assert getattr(rewrites, name) is getattr(_rewrites, name)
