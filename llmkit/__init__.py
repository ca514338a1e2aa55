"""llmkit: model clients over swappable LLM hosts.

    from llmkit.clients import DeepSeekClient
    from llmkit.providers import OpenRouterProvider

    client = DeepSeekClient(provider=OpenRouterProvider())
    reply = await client.generate("Explain quicksort in one paragraph")

This package re-exports the core types and errors; no vendor SDK is imported
until a provider that needs one is built.
"""

from __future__ import annotations

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


def __getattr__(name: str) -> object:
    """`llmkit.load` and `llmkit.client`, imported on first use (they pull in cattrs)."""
    if name == "load":
        from llmkit.config import load

        return load
    if name == "client":
        from llmkit.registry import client

        return client
    raise AttributeError(f"module 'llmkit' has no attribute {name!r}")
