"""llmkit: model clients over swappable LLM hosts.

    from llmkit.clients import DeepSeekClient
    from llmkit.providers import OpenRouterProvider

    client = DeepSeekClient(provider=OpenRouterProvider())
    reply = await client.generate("Explain quicksort in one paragraph")

    client = llmkit.client("deepseek@openrouter")     # the same, by name
    registry = llmkit.load()                          # a configuration file's names

This package re-exports the core types and errors, `ResponseStream`, `client`
and `load`, each loaded on first use; no vendor SDK is imported until a
provider that needs one is built. `__version__` is read from the installed
package's metadata on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours both)

if TYPE_CHECKING:  # the names below are imported on first use: see __getattr__
    from llmkit.errors import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BudgetExceededError,
        ConfigurationError,
        ContentFilterError,
        ContextLengthExceededError,
        InvalidRequestError,
        InvalidResponseError,
        LLMError,
        MaxTurnsExceededError,
        ModelNotFoundError,
        NotFoundError,
        OutputValidationError,
        OverloadedError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        StreamError,
    )
    from llmkit.otel import instrument, uninstrument
    from llmkit.providers._stream import ResponseStream
    from llmkit.registry import client, load
    from llmkit.types import (
        Audio,
        CachePoint,
        Cost,
        Document,
        Embeddings,
        FileRef,
        FinishReason,
        Image,
        Latency,
        Message,
        Request,
        Response,
        Role,
        StreamEvent,
        Text,
        ToolCall,
        ToolCallDelta,
        ToolSpec,
        Usage,
    )

    __version__: str

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Audio",
    "AuthenticationError",
    "BudgetExceededError",
    "CachePoint",
    "ConfigurationError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "Cost",
    "Document",
    "Embeddings",
    "FileRef",
    "FinishReason",
    "Image",
    "InvalidRequestError",
    "InvalidResponseError",
    "LLMError",
    "Latency",
    "MaxTurnsExceededError",
    "Message",
    "ModelNotFoundError",
    "NotFoundError",
    "OutputValidationError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "Request",
    "Response",
    "ResponseStream",
    "Role",
    "ServerError",
    "StreamError",
    "StreamEvent",
    "Text",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "__version__",
    "client",
    "instrument",
    "load",
    "uninstrument",
]


_ERRORS = frozenset(name for name in __all__ if name.endswith("Error") or name == "LLMError")
_HOMES = {
    "ResponseStream": "llmkit.providers._stream",
    "client": "llmkit.registry",
    "instrument": "llmkit.otel",
    "load": "llmkit.registry",
    "uninstrument": "llmkit.otel",
}
"""Exports that live outside `llmkit.types` and `llmkit.errors`: name → module."""


def _version() -> str:
    """The installed distribution's version; `0+unknown` when llmkit runs uninstalled."""
    from importlib import metadata  # only when asked: it imports email, zipfile, ...

    try:
        return metadata.version("llmkit")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


def __getattr__(name: str) -> object:
    """The re-exported names, on first use.

    `import llmkit` stays nearly free (attrs, cattrs and the rest load when a name is
    first touched); `from llmkit import Message` works as usual.
    """
    if name in _ERRORS:
        from llmkit import errors

        value: object = getattr(errors, name)
    elif name in _HOMES:
        import importlib

        value = getattr(importlib.import_module(_HOMES[name]), name)
    elif name == "__version__":
        value = _version()
    elif name in __all__:
        from llmkit import types

        value = getattr(types, name)
    else:
        raise AttributeError(f"module 'llmkit' has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
