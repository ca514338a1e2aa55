"""Model clients: one module per model family, each over a swappable provider.

    from llmkit.clients import DeepSeekClient
    from llmkit.testing import FakeProvider

    client = DeepSeekClient(provider=FakeProvider())
    reply = client.generate_sync("Explain quicksort")

A client knows its family's conventions (system-prompt placement, turn
rules, parameter names, where reasoning comes back) and nothing of HTTP.
"""

from __future__ import annotations

from llmkit.clients._base import CallOptions, ClientOptions, EventRewriter, ModelClient
from llmkit.clients.claude import ClaudeClient
from llmkit.clients.deepseek import DeepSeekClient
from llmkit.clients.gemini import GeminiClient
from llmkit.clients.gpt4 import GPT4Client
from llmkit.clients.llama import LlamaClient
from llmkit.clients.mixtral import MixtralClient
from llmkit.clients.qwen import QwenClient

__all__ = [
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
]
