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
    "FinishReason", "Latency", "Cost", "ToolCallDelta", "Embeddings",
    "Text", "Image", "Audio", "Document", "FileRef", "CachePoint",
}  # fmt: skip
ERRORS = {
    "LLMError", "ConfigurationError", "BudgetExceededError", "APIError", "AuthenticationError",
    "PermissionDeniedError", "NotFoundError", "ModelNotFoundError", "RateLimitError",
    "InvalidRequestError", "ContextLengthExceededError", "ContentFilterError", "ServerError",
    "OverloadedError", "APITimeoutError", "APIConnectionError", "StreamError", "InvalidResponseError",
    "OutputValidationError", "MaxTurnsExceededError",
}  # fmt: skip
CLIENTS = {
    "CallOptions",
    "ClaudeClient",
    "ClientOptions",
    "DeepSeekClient",
    "EventRewriter",
    "GPT4Client",
    "GeminiClient",
    "LlamaClient",
    "MixtralClient",
    "ModelClient",
    "QwenClient",
}


def test_llmkit_exports_exactly_the_core_types_errors_and_entry_points() -> None:
    entry_points = {"ResponseStream", "client", "load", "instrument", "uninstrument", "__version__"}
    assert set(llmkit.__all__) == TYPES | ERRORS | entry_points
    for name in llmkit.__all__:
        assert hasattr(llmkit, name), name


def test_the_entry_points_are_the_documented_objects() -> None:
    from llmkit.providers._stream import ResponseStream
    from llmkit.registry import Registry, client

    assert llmkit.ResponseStream is ResponseStream is llmkit.providers.ResponseStream
    assert llmkit.client is client
    assert isinstance(llmkit.load(), Registry)
    made = llmkit.client("deepseek@fake")
    assert isinstance(made, llmkit.clients.ModelClient)
    assert llmkit.clients.EventRewriter.__name__ == "EventRewriter"
    from llmkit.providers._codecs.openai_chat import Dialect

    assert llmkit.providers.Dialect is Dialect


def test_version_comes_from_the_installed_package_metadata() -> None:
    from importlib import metadata

    assert llmkit.__version__ == metadata.version("llmkit")


def test_version_falls_back_when_llmkit_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert llmkit._version() == "0+unknown"


def test_no_name_is_exported_only_for_tests() -> None:
    import llmkit.events
    import llmkit.testing

    assert {"current_client", "iterate_using_hooks"}.isdisjoint(llmkit.events.__all__)
    assert {"split_tokens", "to_events", "count_tokens", "echo_reply"}.isdisjoint(
        llmkit.testing.__all__
    )


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
