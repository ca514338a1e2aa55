"""llmkit: model clients over swappable LLM hosts.

    from llmkit.clients import DeepSeekClient
    from llmkit.providers import OpenRouterProvider

    client = DeepSeekClient(provider=OpenRouterProvider())
    reply = await client.generate("Explain quicksort in one paragraph")

This package re-exports the core types and errors, loaded on first use; no
vendor SDK is imported until a provider that needs one is built.
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
        ModelNotFoundError,
        NotFoundError,
        OverloadedError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        StreamError,
    )
    from llmkit.types import (
        Cost,
        FinishReason,
        Latency,
        Message,
        Request,
        Response,
        Role,
        StreamEvent,
        ToolCall,
        ToolCallDelta,
        ToolSpec,
        Usage,
    )

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BudgetExceededError",
    "ConfigurationError",
    "ContentFilterError",
    "ContextLengthExceededError",
    "Cost",
    "FinishReason",
    "InvalidRequestError",
    "InvalidResponseError",
    "LLMError",
    "Latency",
    "Message",
    "ModelNotFoundError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "Request",
    "Response",
    "Role",
    "ServerError",
    "StreamError",
    "StreamEvent",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "__version__",
]


_ERRORS = frozenset(name for name in __all__ if name.endswith("Error") or name == "LLMError")


def __getattr__(name: str) -> object:
    """The re-exported types and errors, `llmkit.load`, `llmkit.client` and
    `llmkit.instrument` / `uninstrument` (OpenTelemetry, `llmkit.otel`), on first use.

    `import llmkit` stays nearly free (attrs, cattrs and the rest load when a name is
    first touched); `from llmkit import Message` works as usual.
    """
    if name in _ERRORS:
        from llmkit import errors

        value: object = getattr(errors, name)
    elif name in __all__ and name != "__version__":
        from llmkit import types

        value = getattr(types, name)
    elif name == "load":
        from llmkit.config import load

        value = load
    elif name == "client":
        from llmkit.registry import client

        value = client
    elif name in ("instrument", "uninstrument"):
        from llmkit import otel

        value = getattr(otel, name)
    else:
        raise AttributeError(f"module 'llmkit' has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "client", "load", "instrument", "uninstrument"})
