"""The one translation of transport failures that every provider uses."""

from __future__ import annotations

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
