"""Providers: one module per host, each configuration over a shared base.

Importing this package imports no vendor SDK (a provider imports its SDK when it
is built), and no provider module either until its name is first used: the
model clients import `llmkit.providers._stream` without paying for every host.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours both)
if TYPE_CHECKING:
    from llmkit.providers._base import BaseProvider, ModelInfo, Provider
    from llmkit.providers._codecs.openai_chat import Dialect
    from llmkit.providers._stream import ResponseStream
    from llmkit.providers.anthropic import AnthropicProvider
    from llmkit.providers.azure_openai import AzureOpenAIProvider
    from llmkit.providers.cohere import CohereProvider
    from llmkit.providers.deepseek import DeepSeekProvider
    from llmkit.providers.gemini import GeminiProvider
    from llmkit.providers.groq import GroqProvider
    from llmkit.providers.local import SentenceTransformersProvider, TransformersProvider
    from llmkit.providers.mistral import MistralProvider
    from llmkit.providers.ollama import OllamaProvider
    from llmkit.providers.openai import OpenAIProvider
    from llmkit.providers.openai_compatible import OpenAICompatibleProvider
    from llmkit.providers.openrouter import OpenRouterProvider
    from llmkit.providers.voyage import VoyageProvider

__all__ = [
    "AnthropicProvider",
    "AzureOpenAIProvider",
    "BaseProvider",
    "CohereProvider",
    "DeepSeekProvider",
    "Dialect",
    "GeminiProvider",
    "GroqProvider",
    "MistralProvider",
    "ModelInfo",
    "OllamaProvider",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "OpenRouterProvider",
    "Provider",
    "ResponseStream",
    "SentenceTransformersProvider",
    "TransformersProvider",
    "VoyageProvider",
]

_HOMES = {
    "BaseProvider": "_base",
    "Dialect": "_codecs.openai_chat",
    "ModelInfo": "_base",
    "Provider": "_base",
    "ResponseStream": "_stream",
    "AnthropicProvider": "anthropic",
    "AzureOpenAIProvider": "azure_openai",
    "CohereProvider": "cohere",
    "DeepSeekProvider": "deepseek",
    "GeminiProvider": "gemini",
    "GroqProvider": "groq",
    "MistralProvider": "mistral",
    "OllamaProvider": "ollama",
    "OpenAIProvider": "openai",
    "OpenAICompatibleProvider": "openai_compatible",
    "OpenRouterProvider": "openrouter",
    "SentenceTransformersProvider": "local",
    "TransformersProvider": "local",
    "VoyageProvider": "voyage",
}


def __getattr__(name: str) -> object:
    """Each exported name, imported from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'llmkit.providers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"llmkit.providers.{home}"), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
