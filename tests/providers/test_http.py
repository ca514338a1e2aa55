"""The httpx <-> httpx2 bridge: requests, streamed bodies, errors, and who closes what."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import pytest

from llmkit.providers._http import (
    as_httpx2_client,
    as_httpx_client,
    is_httpx2_client,
    is_httpx_client,
)

LIBS = {"httpx": httpx, "httpx2": httpx2}
PAIRS = [("httpx2", "httpx", as_httpx_client), ("httpx", "httpx2", as_httpx2_client)]


class Pieces:
    """A body served in pieces, noting how many were pulled (to see streaming is incremental)."""

    def __init__(self, fail_with: type[Exception] | None = None) -> None:
        self.pulled = 0
        self.fail_with = fail_with

    async def __aiter__(self) -> Any:
        for piece in (b"data: one\n\n", b"data: two\n\n"):
            self.pulled += 1
            yield piece
        if self.fail_with is not None:
            raise self.fail_with("cut")


def inner_client(lib: str, pieces: Pieces, seen: list[Any]) -> Any:
    module = LIBS[lib]

    def serve(request: Any) -> Any:
        seen.append(request)
        return module.Response(201, headers={"x-id": "7"}, content=pieces)

    return module.AsyncClient(transport=module.MockTransport(serve))


@pytest.mark.parametrize(("inner", "outer", "bridge"), PAIRS)
async def test_request_goes_through_and_body_streams_piece_by_piece(
    inner: str, outer: str, bridge: Any
) -> None:
    pieces, seen = Pieces(), []
    given = inner_client(inner, pieces, seen)
    client = bridge(given)
    assert isinstance(client, LIBS[outer].AsyncClient)
    async with client.stream(
        "POST", "https://host.test/v1/x?q=1", json={"a": 1}, headers={"Authorization": "Bearer t"}
    ) as response:
        assert response.status_code == 201
        assert response.headers["x-id"] == "7"
        got = []
        async for chunk in response.aiter_bytes():
            got.append(chunk)
            assert pieces.pulled == len(got)  # nothing read ahead: a stream stays a stream
    assert got == [b"data: one\n\n", b"data: two\n\n"]
    (sent,) = seen
    assert isinstance(sent, LIBS[inner].Request)
    assert str(sent.url) == "https://host.test/v1/x?q=1"
    assert sent.headers["authorization"] == "Bearer t"
    assert sent.content == b'{"a":1}' or sent.content == b'{"a": 1}'
    await client.aclose()
    assert not given.is_closed, "the bridge leaves the given client open"
    await given.aclose()


@pytest.mark.parametrize(("inner", "outer", "bridge"), PAIRS)
async def test_errors_keep_their_name_across_the_bridge(
    inner: str, outer: str, bridge: Any
) -> None:
    pieces = Pieces(fail_with=LIBS[inner].ReadTimeout)
    client = bridge(inner_client(inner, pieces, []))
    with pytest.raises(LIBS[outer].ReadTimeout):
        async with client.stream("GET", "https://host.test/") as response:
            await response.aread()


@pytest.mark.parametrize(("inner", "outer", "bridge"), PAIRS)
async def test_connection_errors_translated(inner: str, outer: str, bridge: Any) -> None:
    module = LIBS[inner]

    def refuse(request: Any) -> Any:
        raise module.ConnectError("refused", request=request)

    client = bridge(module.AsyncClient(transport=module.MockTransport(refuse)))
    with pytest.raises(LIBS[outer].ConnectError):
        await client.get("https://host.test/")


def test_a_client_of_the_right_kind_is_returned_as_is() -> None:
    one, two = httpx.AsyncClient(), httpx2.AsyncClient()
    assert as_httpx_client(one) is one
    assert as_httpx2_client(two) is two
    assert is_httpx_client(one) and not is_httpx_client(two)
    assert is_httpx2_client(two) and not is_httpx2_client(one)
