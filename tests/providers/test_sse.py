from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from llmkit.errors import InvalidResponseError
from llmkit.providers._codecs import sse
from llmkit.providers._codecs.ndjson import NDJSONDecoder
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


# -- size limits, UTF-8, cost ------------------------------------------------------


def test_an_event_past_the_limit_raises_invalid_response() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    assert decoder.feed(b"data: " + b"x" * 900 + b"\n\n")[0].data == "x" * 900
    with pytest.raises(InvalidResponseError, match="over 1,000 characters"):
        for _ in range(20):
            decoder.feed(b"x" * 100 if _ else b"data: ")


def test_many_data_lines_count_toward_one_events_limit() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    with pytest.raises(InvalidResponseError):
        decoder.feed(b"data: " + b"y" * 300 + b"\n" * 1 + (b"data: " + b"y" * 300 + b"\n") * 3)


def test_the_module_limit_is_read_when_a_decoder_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "MAX_EVENT_SIZE", 10)
    assert SSEDecoder().max_event_size == 10
    assert NDJSONDecoder().max_line_size == 10
    with pytest.raises(InvalidResponseError):
        SSEDecoder().feed(b"data: 0123456789abcdef")


@pytest.mark.parametrize("cut", range(1, 9))
def test_invalid_utf8_raises_wherever_the_chunks_are_cut(cut: int) -> None:
    body = b"data: caf\xc3\xa9\n\ndata: bad \xff\n\n"
    decoder = SSEDecoder()
    with pytest.raises(InvalidResponseError, match="not valid UTF-8 \\(at byte 23\\)"):
        for start in range(0, len(body), cut):
            decoder.feed(body[start : start + cut])
        decoder.flush()


def test_a_truncated_utf8_sequence_at_the_end_is_invalid() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: caf\xc3")
    with pytest.raises(InvalidResponseError, match="UTF-8"):
        decoder.flush()


def test_a_lone_cr_at_a_chunk_end_then_more_of_the_line() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: " + b"a" * 50)
    events += decoder.feed(b"b\r")
    events += decoder.feed(b"\r")
    events += decoder.feed(b"data: next\r\n\r\n")
    assert [e.data for e in events] == ["a" * 50 + "b", "next"]


# NDJSON


def ndjson(chunks: list[bytes]) -> list[object]:
    decoder = NDJSONDecoder()
    return [v for chunk in chunks for v in decoder.feed(chunk)] + decoder.flush()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_ndjson_lines_survive_any_chunking(size: int) -> None:
    body = '{"a": 1}\n\n{"b": "caf\u00e9"}\n[1, 2]'.encode()
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    assert ndjson(chunks) == [{"a": 1}, {"b": "caf\u00e9"}, [1, 2]]


def test_ndjson_errors_name_the_host_and_the_limit() -> None:
    with pytest.raises(InvalidResponseError, match=r"^Ollama sent a stream line that is not JSON"):
        NDJSONDecoder(host="Ollama", provider="ollama").feed(b"<html>\n")
    long = NDJSONDecoder(max_line_size=100, provider="ollama")
    with pytest.raises(InvalidResponseError, match="over 100 characters") as caught:
        for _ in range(5):
            long.feed(b"x" * 30)
    assert caught.value.provider == "ollama"
    with pytest.raises(InvalidResponseError, match="UTF-8"):
        NDJSONDecoder().feed(b'{"a": "\xff"}\n')


# Cost: linear in the size of one event, however finely it is cut. Measured as a
# ratio of CPU times for two sizes 8x apart, with a wide margin: linear gives ~8,
# the old decoder (re-joining the unfinished line on every chunk) gives ~64.


def _cpu_seconds_to_decode(feed: Callable[[bytes], object], body: bytes, chunk: int) -> float:
    began = time.process_time()
    for start in range(0, len(body), chunk):
        feed(body[start : start + chunk])
    return time.process_time() - began


def _growth(make: Callable[[], Callable[[bytes], object]], body: Callable[[int], bytes]) -> float:
    small, large = 512 * 1024, 4 * 1024 * 1024
    best = {}
    for size in (small, large):
        data = body(size)
        best[size] = min(_cpu_seconds_to_decode(make(), data, 4096) for _ in range(5))
    return best[large] / max(best[small], 1e-4)


@pytest.mark.parametrize("decoder", ["sse", "ndjson"])
def test_decoding_one_large_event_grows_linearly(decoder: str) -> None:
    if decoder == "sse":
        growth = _growth(lambda: SSEDecoder().feed, lambda n: b"data: " + b"x" * n + b"\n\n")
    else:
        growth = _growth(lambda: NDJSONDecoder().feed, lambda n: b'"' + b"x" * n + b'"\n')
    assert growth < 24, f"8x the bytes cost {growth:.1f}x the CPU time: quadratic"
