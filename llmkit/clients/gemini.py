"""Gemini (Google's models), on Google's Gemini API or through OpenRouter.

Gemini wants the conversation to start with a user turn and may return
function calls without ids (pydantic-ai mints them:
`models/google.py::_utils.generate_tool_call_id`); the client mints stable ids
so tool results can answer them on any host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from attrs import evolve

from llmkit.clients._base import ModelClient
from llmkit.clients._rewrites import ensure_user_first, merge_consecutive_turns, mint_tool_call_ids
from llmkit.types import Request, Response

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider

__all__ = ["GeminiClient"]


class GeminiClient(ModelClient):
    """Gemini models, on any host that serves them."""

    family: ClassVar[str] = "gemini"

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """Same-role turns merged; the user first."""
        return evolve(
            request, messages=ensure_user_first(merge_consecutive_turns(request.messages))
        )

    def finish(self, response: Response) -> Response:
        """Ids minted for function calls that came without one."""
        return mint_tool_call_ids(response)
