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
