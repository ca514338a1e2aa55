"""The one translation of transport failures that every provider uses."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import pytest

from llmkit.errors import APIConnectionError, APITimeoutError
from llmkit.providers._transport import no_answer, transport_error


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx2.ReadTimeout("slow"), APITimeoutError),
        (httpx2.ConnectTimeout("slow"), APITimeoutError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
        (httpx2.ConnectError("refused"), APIConnectionError),
        (httpx2.RemoteProtocolError("peer closed"), APIConnectionError),
        (httpx.ConnectError("refused"), APIConnectionError),
    ],
)
def test_http_library_failures_become_llmkit_errors(exc: Exception, cls: type) -> None:
    error = transport_error(exc, provider="groq", model="m", where="Groq")
    assert isinstance(error, cls)
    assert (error.provider, error.model) == ("groq", "m")
    assert error.message.startswith(("Groq did not answer", "Could not reach Groq"))


def test_other_exceptions_are_left_alone() -> None:
    assert transport_error(ValueError("x"), provider="p") is None
    assert (
        transport_error(httpx2.HTTPStatusError("x", request=None, response=None), provider="p")
        is None
    )  # type: ignore[arg-type]


def test_hosts_word_their_own_fix() -> None:
    error = no_answer(
        ConnectionRefusedError(),
        timeout=False,
        provider="ollama",
        connect_hint="start `ollama serve`",
    )
    assert isinstance(error, APIConnectionError)
    assert error.message == "Could not reach ollama (ConnectionRefusedError); start `ollama serve`"
    slow = no_answer(TimeoutError("t"), timeout=True, provider="p", timeout_hint="wait")
    assert isinstance(slow, APITimeoutError) and slow.message.endswith("; wait")


# -- error bodies are read only up to a limit -----------------------------------------


def _hooked(status: int, body: bytes) -> httpx2.AsyncClient:
    def answer(request: httpx2.Request) -> httpx2.Response:
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        return httpx2.Response(status, stream=_Chunks(chunks))

    from llmkit.providers._transport import bound_error_body

    return httpx2.AsyncClient(
        transport=httpx2.MockTransport(answer), event_hooks={"response": [bound_error_body]}
    )


class _Chunks(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0
        self.closed = False

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


async def test_an_error_body_is_read_only_up_to_the_limit() -> None:
    from llmkit.providers._transport import ERROR_READ_LIMIT

    big = b"<html>" + b"x" * (8 * 1024 * 1024)
    async with _hooked(502, big) as client:
        response = await client.get("http://host.test/")
    assert response.status_code == 502
    assert response.content == big[:ERROR_READ_LIMIT]


@pytest.mark.parametrize("status", [200, 404])
async def test_success_and_short_error_bodies_are_whole(status: int) -> None:
    body = b'{"error": "short"}' * 10 if status >= 400 else b"y" * (2 * 1024 * 1024)
    async with _hooked(status, body) as client:
        response = await client.get("http://host.test/")
    assert response.content == body
