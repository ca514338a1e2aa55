"""DeepSeek models (V4.x with hybrid thinking, R1 open weights) on any host that serves them.

Thinking on/off and its effort are expressed as each host wants them, and the
reasoning always ends up in `Response.reasoning`, never in the text: DeepSeek's
API returns `reasoning_content`, OpenRouter and Groq a `reasoning` field (the
codec reads both), other hosts inline `<think>` tags, split here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Unpack

from llmkit.clients._base import ClientOptions, EventRewriter, ModelClient
from llmkit.clients._rewrites import fold_system_prompt, with_extra
from llmkit.clients._thinking import ThinkTagRewriter, split_think_tags
from llmkit.errors import ConfigurationError
from llmkit.types import Request, Response

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider

__all__ = [
    "DeepSeekClient",
    "Effort",
    "ask_for_reasoning",
    "deepseek_effort",
    "fold_system_for_r1",
    "is_r1",
]

Effort = Literal["minimal", "low", "medium", "high", "xhigh", "max"]
EFFORTS: tuple[str, ...] = ("minimal", "low", "medium", "high", "xhigh", "max")

# DeepSeek's API takes low|high|max: https://api-docs.deepseek.com/guides/thinking_mode
_DEEPSEEK_EFFORT = {
    "minimal": "low",
    "low": "low",
    "medium": "high",
    "high": "high",
    "xhigh": "high",
    "max": "max",
}
# OpenRouter's unified `reasoning.effort`; "xhigh maps to max" on V4 Flash:
# https://openrouter.ai/docs/use-cases/reasoning-tokens
_OPENROUTER_EFFORT = {
    "minimal": "minimal",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "xhigh",
    "max": "xhigh",
}

_R1 = re.compile(r"(^|[/\-_:.])r1($|[/\-_:.])", re.IGNORECASE)


def is_r1(model_id: str) -> bool:
    """Whether `model_id` names DeepSeek-R1 weights (or a distill), which think in `<think>` tags."""
    return bool(_R1.search(model_id))


def deepseek_effort(effort: str) -> str:
    """The effort word DeepSeek's API accepts for an llmkit effort."""
    return _DEEPSEEK_EFFORT[effort]


def ask_for_reasoning(
    request: Request, host: str, thinking: bool | None, effort: str | None
) -> Request:
    """Thinking on/off and effort in the host's own terms (None leaves the host's default).

    - deepseek: `thinking: {"type": enabled|disabled}` + `reasoning_effort`
      (https://api-docs.deepseek.com/guides/thinking_mode);
    - openrouter: `reasoning: {enabled, effort}`;
    - groq: `reasoning_format: parsed` (or `hidden`: Groq can hide reasoning, not
      disable it; https://console.groq.com/docs/reasoning);
    - ollama: `think: bool`.
    Other hosts get nothing: their reasoning arrives in `<think>` tags.
    """
    if host == "deepseek":
        fields: dict[str, Any] = {}
        if thinking is not None:
            fields["thinking"] = {"type": "enabled" if thinking else "disabled"}
        if effort is not None and thinking is not False:
            fields["reasoning_effort"] = deepseek_effort(effort)
        return with_extra(request, **fields)
    if host == "openrouter":
        if thinking is None and effort is None:
            return request
        reasoning: dict[str, Any] = {"enabled": thinking is not False}
        if effort is not None and thinking is not False:
            reasoning["effort"] = _OPENROUTER_EFFORT[effort]
        return with_extra(request, reasoning=reasoning)
    if host == "groq":
        return with_extra(request, reasoning_format="hidden" if thinking is False else "parsed")
    if host == "ollama" and thinking is not None:
        return with_extra(request, think=thinking)
    return request


def fold_system_for_r1(request: Request) -> Request:
    """R1's model card: no system prompt, instructions in the user turn
    (https://docs.together.ai/docs/prompting-deepseek-r1)."""
    return fold_system_prompt(request) if is_r1(request.model) else request


class DeepSeekClient(ModelClient):
    """DeepSeek chat and reasoning models, on any host that serves them."""

    family: ClassVar[str] = "deepseek"

    def __init__(
        self,
        provider: Provider,
        *,
        thinking: bool | None = None,
        reasoning_effort: Effort | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        """A DeepSeek client; see `ModelClient` for the shared arguments.

        Args:
            thinking: True / False to turn thinking on or off; None keeps the host's
                default (on for V4.x on DeepSeek's API).
            reasoning_effort: how hard to think: `minimal` … `max`, mapped per host.
        """
        if reasoning_effort is not None and reasoning_effort not in EFFORTS:
            raise ConfigurationError(
                f"reasoning_effort={reasoning_effort!r} is not one of {', '.join(EFFORTS)}"
            )
        self.thinking = thinking
        self.reasoning_effort = reasoning_effort
        super().__init__(provider, **options)

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """Thinking options for the host; R1's system prompt folded into the user turn.

        Temperature and top_p go as given: DeepSeek's thinking mode ignores them
        without an error, and R1 hosts accept them.
        """
        request = ask_for_reasoning(request, provider.name, self.thinking, self.reasoning_effort)
        return fold_system_for_r1(request)

    def finish(self, response: Response) -> Response:
        """Inline `<think>` reasoning moved to `reasoning`."""
        return split_think_tags(response)

    def stream_rewriter(self, request: Request, provider: Provider) -> EventRewriter | None:
        """`<think>` tags split across chunks, for every host (a no-op where none come)."""
        return ThinkTagRewriter()
