"""Llama (Meta's open-weight models) on any host that serves them.

Llama 3.x and 4 chat templates take a system role and tool calls, so the
client sends the conversation as it is, only merging consecutive same-role
turns, which some self-hosted templates reject.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from attrs import evolve

from llmkit.clients._base import ModelClient
from llmkit.clients._rewrites import merge_consecutive_turns
from llmkit.types import Request

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider

__all__ = ["LlamaClient"]


class LlamaClient(ModelClient):
    """Llama 3.x and 4 models, on any host that serves them."""

    family: ClassVar[str] = "llama"

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """Consecutive same-role turns merged."""
        return evolve(request, messages=merge_consecutive_turns(request.messages))
