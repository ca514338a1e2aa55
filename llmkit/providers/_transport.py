"""The one translation of "no answer" into llmkit errors, for every provider.

A transport failure (an `httpx`, `httpx2` or `httpcore` exception, or a vendor
SDK's timeout / connection wrapper around one) becomes `APITimeoutError` or
`APIConnectionError` with a message naming the host and what to do. Providers
pass their own wording for the fix (Ollama: start `ollama serve`); the policy
shell (`llmkit.providers._calls`) maps whatever still escapes a provider.
"""

from __future__ import annotations

from llmkit.errors import APIConnectionError, APITimeoutError, LLMError

__all__ = ["no_answer", "transport_error"]

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
