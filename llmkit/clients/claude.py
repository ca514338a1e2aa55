"""Claude (Anthropic's models), on Anthropic's own API or through OpenRouter.

Anthropic's Messages API requires `max_tokens` and alternating turns that
start with the user (consecutive same-role turns are combined server-side;
merging them here keeps hosts in agreement):
https://platform.claude.com/docs/en/api/messages/create
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from attrs import evolve

from llmkit.clients._base import ModelClient
from llmkit.clients._rewrites import ensure_user_first, merge_consecutive_turns
from llmkit.types import Request

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider

__all__ = ["DEFAULT_MAX_TOKENS", "ClaudeClient", "alternate_turns"]

DEFAULT_MAX_TOKENS = 4096
"""Sent when no `max_tokens` is given: Anthropic refuses a request without one."""


def alternate_turns(request: Request) -> Request:
    """Same-role runs merged and the user first, as the Messages API expects."""
    return evolve(request, messages=ensure_user_first(merge_consecutive_turns(request.messages)))


class ClaudeClient(ModelClient):
    """Claude models, on any host that serves them."""

    family: ClassVar[str] = "claude"
    default_max_tokens: ClassVar[int | None] = DEFAULT_MAX_TOKENS

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """Turns merged so they alternate, starting with the user."""
        return alternate_turns(request)
