"""Mixtral (Mistral's open-weight mixture-of-experts models) on any host that serves them.

Mixtral's chat template has no system role and demands strictly alternating
user/assistant turns starting with the user
(https://github.com/theroyallab/tabbyAPI/issues/51 quoting `tokenizer_config.json`),
so hosts that apply the raw template answer a `system` message with a 400 or
500. Mistral's own API takes one leading system message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from attrs import evolve

from llmkit.clients._base import ModelClient
from llmkit.clients._rewrites import ensure_user_first, fold_system_prompt, merge_consecutive_turns
from llmkit.types import Request

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider

__all__ = ["HOSTS_WITH_SYSTEM_ROLE", "MixtralClient", "fit_mixtral_template"]

HOSTS_WITH_SYSTEM_ROLE = frozenset({"mistral"})
"""Hosts whose Mixtral template accepts a leading system message
(https://github.com/vllm-project/vllm/issues/6862)."""


def fit_mixtral_template(request: Request, host: str) -> Request:
    """System prompt folded in where the host's template has none; same-role turns merged;
    the user speaks first."""
    if host not in HOSTS_WITH_SYSTEM_ROLE:
        request = fold_system_prompt(request)
    messages = ensure_user_first(merge_consecutive_turns(request.messages))
    return evolve(request, messages=messages)


class MixtralClient(ModelClient):
    """Mixtral 8x7B / 8x22B, on any host that serves them."""

    family: ClassVar[str] = "mixtral"

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """The conversation reshaped to fit Mixtral's chat template on `provider`."""
        return fit_mixtral_template(request, provider.name)
