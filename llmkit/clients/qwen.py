"""Alibaba's Qwen 3 family (Qwen3, Qwen3.5 and later 3.x) on any host that serves it.

Every Qwen 3 model thinks before answering unless told not to. Thinking on/off
goes as each host wants it:

- groq: `reasoning_effort: "none"` turns thinking off (Groq can truly disable it
  only for Qwen); otherwise `reasoning_format: "parsed"` returns it in `reasoning`
  (https://console.groq.com/docs/reasoning; pydantic-ai's
  `profiles/groq.py::groq_model_profile`; recorded in the conformance corpus);
- openrouter: `reasoning: {enabled}`;
- ollama (native `/api/chat`): `think: bool`, reasoning in `message.thinking`;
- vLLM, SGLang and other OpenAI-compatible servers: `chat_template_kwargs:
  {"enable_thinking": bool}`, the chat template's hard switch; for Qwen3 the
  soft switch `/think` or `/no_think` is also appended to the last user turn, so
  servers that ignore `chat_template_kwargs` (llama.cpp, LM Studio) follow too.

Qwen3.5 and later "do not officially support the soft switch of Qwen3, i.e.,
`/think` and `/nothink`" (Qwen3.5/3.6 model cards), so they get the API switch
only. Hosts with no reasoning field put the reasoning inline in `<think>` tags,
split here into `Response.reasoning` (streamed or whole).

Sampling: where the call and the client set none, the model card's
recommendation for the mode is sent (Qwen3: thinking 0.6 / 0.95 / top_k 20,
non-thinking 0.7 / 0.8 / 20; Qwen3.6: thinking 1.0 / 0.95 / 20, non-thinking
0.7 / 0.8 / 20 with presence_penalty 1.5). `top_k` goes only to hosts that
take it (Ollama, OpenRouter, OpenAI-compatible servers).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Unpack

from attrs import evolve, frozen

from llmkit.clients._base import ClientOptions, EventRewriter, ModelClient
from llmkit.clients._rewrites import with_extra
from llmkit.clients._thinking import ThinkTagRewriter, split_think_tags
from llmkit.errors import ConfigurationError
from llmkit.parts import append_text
from llmkit.types import Message, Request, Response, Role

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider

__all__ = [
    "QwenClient",
    "Sampling",
    "add_soft_switch",
    "ask_for_thinking",
    "has_soft_switch",
    "recommended_sampling",
    "with_sampling",
]

SOFT_ON = "/think"
SOFT_OFF = "/no_think"

# `qwen3.6-27b`, `qwen/qwen3.8-27b`, `Qwen/Qwen3.5-397B-A17B`, `qwen3p7-plus` (Fireworks)
_LATER = re.compile(r"qwen3(?:\.|p)\d", re.IGNORECASE)

_TOP_K_HOSTS = frozenset({"ollama", "openrouter", "openai-compatible", "fake", "local"})
"""Hosts known to take `top_k` (Groq documents no `top_k`, so it is not sent there)."""


@frozen
class Sampling:
    """A model card's recommended sampling for one mode."""

    temperature: float
    top_p: float
    top_k: int
    presence_penalty: float | None = None


# Qwen3 model cards (e.g. huggingface.co/Qwen/Qwen3-32B, "Best Practices").
_QWEN3 = {True: Sampling(0.6, 0.95, 20), False: Sampling(0.7, 0.8, 20)}
# Qwen3.6 model card (huggingface.co/Qwen/Qwen3.6-27B): thinking mode for general
# tasks, and instruct (non-thinking) mode; taken for later 3.x too.
_LATER_SAMPLING = {True: Sampling(1.0, 0.95, 20, 0.0), False: Sampling(0.7, 0.8, 20, 1.5)}


def has_soft_switch(model_id: str) -> bool:
    """Whether the model follows `/think` and `/no_think` (Qwen3; not Qwen3.5 and later)."""
    return _LATER.search(model_id) is None


def recommended_sampling(model_id: str, thinking: bool) -> Sampling:
    """The model card's sampling for thinking or non-thinking mode."""
    table = _QWEN3 if has_soft_switch(model_id) else _LATER_SAMPLING
    return table[thinking]


def with_sampling(request: Request, host: str, thinking: bool) -> Request:
    """The recommended sampling, where the request sets none (`extra` still wins)."""
    rec = recommended_sampling(request.model, thinking)
    request = evolve(
        request,
        temperature=rec.temperature if request.temperature is None else request.temperature,
        top_p=rec.top_p if request.top_p is None else request.top_p,
    )
    fields: dict[str, Any] = {}
    if host in _TOP_K_HOSTS:
        fields["top_k"] = rec.top_k
    if rec.presence_penalty:
        fields["presence_penalty"] = rec.presence_penalty
    return with_extra(request, **fields) if fields else request


def add_soft_switch(request: Request, thinking: bool) -> Request:
    """`/think` or `/no_think` appended to the last user turn (Qwen3's soft switch)."""
    tag = SOFT_ON if thinking else SOFT_OFF
    messages = list(request.messages)
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role is Role.USER:
            if not message.text.rstrip().endswith((SOFT_ON, SOFT_OFF)):
                messages[index] = evolve(message, content=append_text(message.content, tag))
            return evolve(request, messages=tuple(messages))
    return evolve(request, messages=(*messages, Message.user(tag)))


def ask_for_thinking(request: Request, host: str, thinking: bool | None) -> Request:
    """Thinking on/off in the host's own terms (None leaves the host's default: on)."""
    if host == "groq":
        if thinking is False:
            return with_extra(request, reasoning_effort="none")
        return with_extra(request, reasoning_format="parsed")
    if thinking is None:
        return request
    if host == "openrouter":
        return with_extra(request, reasoning={"enabled": thinking})
    if host == "ollama":
        return with_extra(request, think=thinking)
    if host == "fake":
        return request
    request = with_extra(request, chat_template_kwargs={"enable_thinking": thinking})
    return add_soft_switch(request, thinking) if has_soft_switch(request.model) else request


class QwenClient(ModelClient):
    """Qwen 3 models (Qwen3, Qwen3.5+), on any host that serves them."""

    family: ClassVar[str] = "qwen"

    def __init__(
        self,
        provider: Provider,
        *,
        thinking: bool | None = None,
        soft_switch: bool = False,
        recommended_sampling: bool = True,
        **options: Unpack[ClientOptions],
    ) -> None:
        """A Qwen client; see `ModelClient` for the shared arguments.

        Args:
            thinking: True / False to turn thinking on or off; None keeps the host's
                default (on).
            soft_switch: also append `/think` / `/no_think` to the last user turn on
                every host (Qwen3 only; OpenAI-compatible servers get it anyway).
            recommended_sampling: send the model card's temperature, top_p and top_k
                for the mode when the call and the client set none.

        Raises:
            ConfigurationError: `soft_switch=True` without `thinking`.
        """
        if soft_switch and thinking is None:
            raise ConfigurationError(
                "soft_switch=True needs thinking=True or thinking=False (it appends /think or "
                "/no_think)"
            )
        self.thinking = thinking
        self.soft_switch = soft_switch
        self.recommended_sampling = recommended_sampling
        super().__init__(provider, **options)

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """Thinking on/off for the host, the soft switch where asked, the recommended sampling."""
        host = provider.name
        if self.recommended_sampling:
            request = with_sampling(request, host, self.thinking is not False)
        request = ask_for_thinking(request, host, self.thinking)
        if self.soft_switch and self.thinking is not None and has_soft_switch(request.model):
            request = add_soft_switch(request, self.thinking)
        return request

    def finish(self, response: Response) -> Response:
        """Inline `<think>` reasoning moved to `reasoning`."""
        return split_think_tags(response)

    def stream_rewriter(self, request: Request, provider: Provider) -> EventRewriter | None:
        """`<think>` tags split across chunks (a no-op where the host has a reasoning field)."""
        return ThinkTagRewriter()
