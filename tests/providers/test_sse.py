from __future__ import annotations

import pytest

from llmkit.providers._codecs.sse import SSEDecoder

RAW = (
    'event: message_start\r\ndata: {"a": 1}\r\n\r\n'
    ": keep-alive\n\n"
    "data: first\ndata:  second\n\n"
    "id: 7\rdata: caf\u00e9 \u2603\r\r"
    "event: empty\n\n"
    "data: [DONE]"
)
WANT = [
    ("message_start", '{"a": 1}'),
    (None, "first\n second"),
    (None, "caf\u00e9 \u2603"),
    (None, "[DONE]"),
]


def decode(chunks: list[bytes]) -> tuple[list[tuple[str | None, str]], int]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.flush()
    return [(e.event, e.data) for e in events], decoder.comments


@pytest.mark.parametrize("cut", range(len(RAW.encode()) + 1))
def test_events_survive_any_chunk_boundary(cut: int) -> None:
    body = RAW.encode()
    events, comments = decode([body[:cut], body[cut:]])
    assert events == WANT
    assert comments == 1


def test_one_byte_chunks_reassemble_utf8() -> None:
    body = RAW.encode()
    events, _ = decode([body[i : i + 1] for i in range(len(body))])
    assert events == WANT


def test_id_is_kept_and_event_name_resets_between_events() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"event: error\nid: 3\ndata: x\n\ndata: y\n\n")
    assert [(e.event, e.id, e.data) for e in events] == [("error", "3", "x"), (None, "3", "y")]


def test_comment_only_stream_gives_no_events() -> None:
    events, comments = decode([b": keep-alive\n\n: keep-alive\n\n\n"])
    assert events == []
    assert comments == 2
