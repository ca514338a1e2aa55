"""The one translation of "no answer" into llmkit errors, for every provider.

A transport failure (an `httpx`, `httpx2` or `httpcore` exception, or a vendor
SDK's timeout / connection wrapper around one) becomes `APITimeoutError` or
`APIConnectionError` with a message naming the host and what to do. Providers
pass their own wording for the fix (Ollama: start `ollama serve`); the policy
shell (`llmkit.providers._calls`) maps whatever still escapes a provider.

`bound_error_body` is the response hook of the pools providers build: an
error reply's body is read only up to `ERROR_READ_LIMIT` bytes, so a 50 MB
error page neither fills memory nor stalls the event loop while it is joined,
parsed and scanned for keys.
"""

from __future__ import annotations

from typing import Any

from llmkit.errors import ERROR_BODY_LIMIT, APIConnectionError, APITimeoutError, LLMError

__all__ = ["ERROR_READ_LIMIT", "bound_error_body", "no_answer", "transport_error"]

ERROR_READ_LIMIT = 4 * ERROR_BODY_LIMIT
"""Bytes of an error reply's body read from the network (256 KiB; the rest is not read)."""

_TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore"})


def no_answer(
    exc: BaseException,
    *,
    timeout: bool,
    provider: str | None,
    model: str | None = None,
    where: str | None = None,
    timeout_hint: str = "raise `timeout=` or retry later",
    connect_hint: str = "check the network and base_url",
) -> LLMError:
    """`APITimeoutError` (`timeout`) or `APIConnectionError` for a request that got no answer.

    Args:
        exc: the exception raised while sending or reading.
        timeout: whether the host was reached but did not answer in time.
        provider: the provider's name, for the error's fields.
        model: the model asked for, where known.
        where: how to name the host in the message (default: the provider's name).
        timeout_hint: what to do about a timeout.
        connect_hint: what to do about a connection that failed.
    """
    kind = type(exc).__name__
    host = where or provider or "the host"
    if timeout:
        return APITimeoutError(
            f"{host} did not answer in time ({kind}); {timeout_hint}",
            provider=provider,
            model=model,
        )
    cause = f"{kind}: {exc}" if str(exc) else kind
    return APIConnectionError(
        f"Could not reach {host} ({cause}); {connect_hint}", provider=provider, model=model
    )


def transport_error(
    exc: BaseException,
    *,
    provider: str | None,
    model: str | None = None,
    where: str | None = None,
    timeout_hint: str = "raise `timeout=` or retry later",
    connect_hint: str = "check the network and base_url",
) -> LLMError | None:
    """`no_answer` for an HTTP library's timeout or transport exception; None for others."""
    if type(exc).__module__.split(".")[0] not in _TRANSPORT_MODULES:
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"TimeoutException", "TimeoutError"} or "Timeout" in type(exc).__name__:
        timeout = True
    elif names & {"TransportError", "NetworkError", "ProtocolError"}:
        timeout = False
    else:
        return None
    return no_answer(
        exc,
        timeout=timeout,
        provider=provider,
        model=model,
        where=where,
        timeout_hint=timeout_hint,
        connect_hint=connect_hint,
    )


async def bound_error_body(response: Any) -> None:
    """An `httpx2` response hook: an error reply keeps at most `ERROR_READ_LIMIT` bytes of body.

    Runs before the client reads the body. For a status of 400 or more it reads
    the body up to the limit, closes the rest of it unread (the connection is
    then not reused; a short body is read to its end and the connection is) and
    hands the prefix on as the body. Success replies are untouched.

    Example:
        `httpx2.AsyncClient(event_hooks={"response": [bound_error_body]})`
    """
    if response.status_code < 400:
        return
    import httpx2

    stream = response.stream
    if not isinstance(stream, httpx2.AsyncByteStream):
        return  # a sync stream or an already-read body: nothing to bound here
    kept = bytearray()
    chunks = stream.__aiter__()
    try:
        async for chunk in chunks:
            kept += chunk
            if len(kept) >= ERROR_READ_LIMIT:
                break
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()
        await stream.aclose()
    response.stream = httpx2.ByteStream(bytes(kept[:ERROR_READ_LIMIT]))
