"""Exports pinned: `llmkit.__all__` is the public contract, and every async method has a sync twin."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import llmkit
import llmkit.clients
import llmkit.providers
from llmkit.testing import FakeProvider

TYPES = {
    "Message", "Role", "Request", "Response", "StreamEvent", "ToolSpec", "ToolCall", "Usage",
    "FinishReason", "Latency", "Cost", "ToolCallDelta",
}  # fmt: skip
ERRORS = {
    "LLMError", "ConfigurationError", "BudgetExceededError", "APIError", "AuthenticationError",
    "PermissionDeniedError", "NotFoundError", "ModelNotFoundError", "RateLimitError",
    "InvalidRequestError", "ContextLengthExceededError", "ContentFilterError", "ServerError",
    "OverloadedError", "APITimeoutError", "APIConnectionError", "StreamError", "InvalidResponseError",
}  # fmt: skip
CLIENTS = {
    "CallOptions",
    "ClaudeClient",
    "ClientOptions",
    "DeepSeekClient",
    "GPT4Client",
    "GeminiClient",
    "LlamaClient",
    "MixtralClient",
    "ModelClient",
}


def test_llmkit_exports_exactly_the_core_types_and_errors() -> None:
    assert set(llmkit.__all__) == TYPES | ERRORS | {"__version__"}
    for name in llmkit.__all__:
        assert hasattr(llmkit, name), name


def test_every_error_is_an_llmerror() -> None:
    for name in ERRORS:
        assert issubclass(getattr(llmkit, name), llmkit.LLMError)


def test_clients_exports() -> None:
    assert set(llmkit.clients.__all__) == CLIENTS


@pytest.mark.parametrize("module", [llmkit, llmkit.clients, llmkit.providers])
def test_all_is_sorted_and_importable(module: object) -> None:
    names = list(module.__all__)  # type: ignore[attr-defined]
    assert names == sorted(names)
    for name in names:
        assert hasattr(module, name)


def _public_classes() -> list[type]:
    classes: list[type] = [FakeProvider]
    classes += [getattr(llmkit.clients, n) for n in llmkit.clients.__all__ if n.endswith("Client")]
    for info in pkgutil.iter_modules(llmkit.providers.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"llmkit.providers.{info.name}")
        classes += [
            obj
            for name, obj in vars(module).items()
            if inspect.isclass(obj)
            and name.endswith("Provider")
            and obj.__module__ == module.__name__
        ]
    return classes


def _twinned(cls: type) -> list[str]:
    """Public methods that need a `_sync` twin: coroutines, and `stream` (returns an async iterator)."""
    names = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or name.endswith("_sync"):
            continue
        if inspect.iscoroutinefunction(member) or name == "stream":
            names.append(name)
    return names


@pytest.mark.parametrize("cls", _public_classes(), ids=lambda c: c.__name__)
def test_every_async_method_has_a_sync_twin_with_the_same_parameters(cls: type) -> None:
    twinned = _twinned(cls)
    assert twinned, f"{cls.__name__} has no async methods?"
    for name in twinned:
        twin = getattr(cls, f"{name}_sync", None)
        assert twin is not None, f"{cls.__name__}.{name} has no {name}_sync"
        original = inspect.signature(getattr(cls, name)).parameters
        assert list(inspect.signature(twin).parameters.items()) == list(original.items()), (
            f"{cls.__name__}.{name}_sync differs from {name}"
        )
