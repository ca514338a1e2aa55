"""Providers: one module per host, each configuration over a shared base.

Importing this package imports no vendor SDK; a provider imports its SDK when
it first sends a request.
"""

from __future__ import annotations

from llmkit.providers._base import BaseProvider, ModelInfo, Provider
from llmkit.providers._stream import ResponseStream
from llmkit.providers.anthropic import AnthropicProvider
from llmkit.providers.cohere import CohereProvider
from llmkit.providers.deepseek import DeepSeekProvider
from llmkit.providers.gemini import GeminiProvider
from llmkit.providers.groq import GroqProvider
from llmkit.providers.mistral import MistralProvider
from llmkit.providers.ollama import OllamaProvider
from llmkit.providers.openai import OpenAIProvider
from llmkit.providers.openai_compatible import OpenAICompatibleProvider
from llmkit.providers.openrouter import OpenRouterProvider

__all__ = [
    "AnthropicProvider",
    "BaseProvider",
    "CohereProvider",
    "DeepSeekProvider",
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
]
