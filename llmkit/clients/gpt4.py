"""OpenAI's GPT models: the GPT-4 family (gpt-4o, gpt-4.1), the reasoning models
(o3, o4-mini, gpt-5.x), and the open-weight gpt-oss models (gpt-oss-120b,
gpt-oss-20b) that Groq, OpenRouter, Ollama and OpenAI-compatible servers serve.

Reasoning models reject `temperature` and `top_p` other than the default 1, and
`stop` (`Unsupported value: 'temperature' does not support 0.5 with this model`,
https://github.com/openai/openai-python/issues/2104), unless gpt-5.x runs with
`reasoning_effort: none` (BerriAI/litellm PR #33738); they take the system
prompt in the `developer` role. The client refuses such a request before it is
sent, with the fix in the message, rather than dropping a parameter silently.
Classic GPT-4 models keep every parameter.

On OpenAI's own API, reasoning models go through the Responses API by default
(`api="auto"`): only there do they return their reasoning summaries and their
encrypted reasoning, which goes back on the next turn. The request asks for
`reasoning.summary` (`reasoning_summary="auto"`), `store: false` and
`include: ["reasoning.encrypted_content"]` (llmkit sends the whole conversation
each turn, so nothing needs to be stored at OpenAI); a caller's `extra` wins.
`GPT4Client(api="chat")` keeps Chat Completions, `api="responses"` uses the
Responses API for every model on any OpenAI-compatible provider that serves it
(Azure OpenAI, OpenRouter). `client.api_for(model)` says which one a model gets.

gpt-oss always reasons and takes a graded effort, `low|medium|high` only (no
`none`): `minimal` folds into `low` and `xhigh` into `high`, as pydantic-ai's
`GROQ_GPT_OSS_REASONING_EFFORT_MAP` does. Each host names it its own way
(`reasoning_effort` on Groq and OpenAI-compatible servers, `reasoning.effort`
on OpenRouter, `think` on Ollama's native API), and returns the reasoning in
`reasoning` (Groq, OpenRouter, Ollama's `/v1`) or `thinking` (Ollama's native
API), which the codecs read into `Response.reasoning`. The hosts that serve it
accept sampling parameters, so they are sent as given.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal, Unpack

from attrs import evolve

from llmkit.clients._base import ClientOptions, ModelClient
from llmkit.clients._rewrites import with_extra
from llmkit.errors import ConfigurationError, InvalidRequestError
from llmkit.providers.openai_compatible import API_FIELD
from llmkit.types import Request, Role

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry
    from llmkit.providers._base import Provider

__all__ = [
    "GPT4Client",
    "ReasoningEffort",
    "check_sampling_params",
    "gpt_oss_effort",
    "is_gpt_oss",
    "is_reasoning_model",
    "mark_developer_role",
]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
WireApi = Literal["auto", "chat", "responses"]
ReasoningSummary = Literal["auto", "concise", "detailed"]
EFFORTS: tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh")

_REASONING_ID = re.compile(r"^(?:openai/)?(?:o\d|gpt-5|gpt-6|gpt-oss)")
_GPT_OSS = re.compile(r"(?:^|/)gpt-oss")

# gpt-oss takes low|medium|high: https://console.groq.com/docs/reasoning#reasoning-effort
_GPT_OSS_EFFORT = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
}


def is_gpt_oss(model_id: str) -> bool:
    """Whether `model_id` names OpenAI's open-weight gpt-oss (`openai/gpt-oss-120b`, `gpt-oss:20b`)."""
    return bool(_GPT_OSS.search(model_id))


def gpt_oss_effort(request: Request, host: str, effort: str | None) -> Request:
    """gpt-oss's reasoning effort in the host's own terms (None leaves the host's default,
    `medium`).

    - groq, openai-compatible (vLLM and the like), fake: `reasoning_effort`;
    - openrouter: `reasoning: {effort}` (https://openrouter.ai/docs/use-cases/reasoning-tokens);
    - ollama (native `/api/chat`): `think: "low"|"medium"|"high"`.

    Raises:
        InvalidRequestError: `effort` is `none`: gpt-oss always reasons.
    """
    if effort is None:
        return request
    if effort not in _GPT_OSS_EFFORT:
        raise InvalidRequestError(
            f"{request.model} always reasons, so reasoning_effort={effort!r} is not possible; "
            "use low, medium or high (or a model without reasoning, e.g. qwen with thinking=False)",
            model=request.model,
        )
    level = _GPT_OSS_EFFORT[effort]
    if host == "openrouter":
        return with_extra(request, reasoning={"effort": level})
    if host == "ollama":
        return with_extra(request, think=level)
    return with_extra(request, reasoning_effort=level)


def is_reasoning_model(model_id: str, entry: CatalogEntry | None = None) -> bool:
    """Whether the model reasons before answering: the catalog says, or else its id's shape."""
    if entry is not None and entry.reasoning is not None:
        return entry.reasoning
    return bool(_REASONING_ID.match(model_id))


def check_sampling_params(request: Request, *, reasoning: bool, effort: str | None) -> Request:
    """`request` as the model accepts it: a reasoning model's default `temperature=1` /
    `top_p=1` dropped (sending the default changes nothing), anything else refused.

    Raises:
        InvalidRequestError: a reasoning model was given `temperature`, `top_p` or `stop`.
    """
    if not reasoning or effort == "none":
        return request
    refused = []
    for name in ("temperature", "top_p"):
        value = getattr(request, name)
        if value is not None and value != 1:
            refused.append(f"{name}={value}")
    if request.stop:
        refused.append(f"stop={list(request.stop)}")
    if refused:
        raise InvalidRequestError(
            f"{request.model} is a reasoning model and does not accept {', '.join(refused)}; "
            "remove it, use reasoning_effort='none' (gpt-5.x), or pick a GPT-4 model (gpt-4.1)",
            model=request.model,
        )
    return evolve(request, temperature=None, top_p=None)


def mark_developer_role(request: Request, host: str) -> Request:
    """System messages marked for the `developer` role, which OpenAI's reasoning models take.

    The mark is `provider_data[host]["role"] = "developer"`; the OpenAI codec
    sends it as the role (and OpenAI itself maps `system` to `developer` for these
    models, so an unmarked request still works).
    """
    messages = tuple(
        evolve(
            m,
            provider_data={
                **m.provider_data,
                host: {**m.provider_data.get(host, {}), "role": "developer"},
            },
        )
        if m.role is Role.SYSTEM
        else m
        for m in request.messages
    )
    return evolve(request, messages=messages)


def apply_effort(request: Request, *, reasoning: bool, effort: str | None) -> Request:
    """`reasoning_effort` sent to reasoning models; refused for classic ones.

    Raises:
        InvalidRequestError: `effort` was set for a model that does not reason.
    """
    if effort is None:
        return request
    if not reasoning:
        raise InvalidRequestError(
            f"{request.model} is not a reasoning model, so reasoning_effort={effort!r} does not "
            "apply; remove it or pick a reasoning model (gpt-5.6, o4-mini)",
            model=request.model,
        )
    return with_extra(request, reasoning_effort=effort)


class GPT4Client(ModelClient):
    """OpenAI's GPT-4 family, reasoning models and open-weight gpt-oss, on any host."""

    family: ClassVar[str] = "gpt4"

    def __init__(
        self,
        provider: Provider,
        *,
        reasoning_effort: ReasoningEffort | None = None,
        api: WireApi = "auto",
        reasoning_summary: ReasoningSummary | None = "auto",
        **options: Unpack[ClientOptions],
    ) -> None:
        """A GPT client; see `ModelClient` for the shared arguments.

        Args:
            reasoning_effort: for reasoning models: `none` (gpt-5.x; sampling
                parameters allowed again) … `xhigh`; gpt-oss takes `low`,
                `medium` (its default) or `high`.
            api: `"auto"` (the default): the Responses API for reasoning models on
                OpenAI's own API, Chat Completions otherwise; `"chat"` or
                `"responses"` for every model (the latter on OpenAI-compatible hosts).
            reasoning_summary: on the Responses API, the reasoning summary asked for
                (`Response.reasoning`); None asks for none.
        """
        if reasoning_effort is not None and reasoning_effort not in EFFORTS:
            raise ConfigurationError(
                f"reasoning_effort={reasoning_effort!r} is not one of {', '.join(EFFORTS)}"
            )
        if api not in ("auto", "chat", "responses"):
            raise ConfigurationError(f"api={api!r} is not one of auto, chat, responses")
        if reasoning_summary not in (None, "auto", "concise", "detailed"):
            raise ConfigurationError(
                f"reasoning_summary={reasoning_summary!r} is not one of auto, concise, "
                "detailed (or None)"
            )
        self.reasoning_effort = reasoning_effort
        self.api = api
        self.reasoning_summary = reasoning_summary
        super().__init__(provider, **options)

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """Reasoning models: sampling parameters checked, effort added, `developer` role;
        gpt-oss: the effort in the host's terms, everything else as given."""
        if is_gpt_oss(request.model):
            return gpt_oss_effort(request, provider.name, self.reasoning_effort)
        reasoning = is_reasoning_model(request.model, entry)
        effort = self.reasoning_effort
        request = check_sampling_params(request, reasoning=reasoning, effort=effort)
        request = apply_effort(request, reasoning=reasoning, effort=effort)
        # Only OpenAI's own API documents the `developer` role; other hosts get `system`.
        if reasoning and provider.name == "openai":
            request = mark_developer_role(request, provider.name)
        if self._wire_api(reasoning, provider) == "responses":
            request = self._on_responses(request, reasoning=reasoning)
        return request

    def api_for(self, model: str | None = None, provider: Provider | None = None) -> str:
        """The wire API a request for `model` (default: the client's) on `provider` (default:
        the client's) goes through: `"chat"` or `"responses"`."""
        provider = provider or self.provider
        model = model or self.model
        if is_gpt_oss(model):
            return "chat"
        entry = self.entry_for(model, provider)
        return self._wire_api(is_reasoning_model(model, entry), provider)

    def _wire_api(self, reasoning: bool, provider: Provider) -> str:
        if getattr(provider, "responses_path", None) is None:
            if self.api == "responses":
                raise ConfigurationError(
                    f"api='responses' needs a provider that serves OpenAI's Responses API "
                    f"(OpenAI, Azure OpenAI, OpenRouter); {provider.name} does not",
                    provider=provider.name,
                )
            return "chat"
        if self.api == "auto":
            on_openai = provider.name == "openai"
            return "responses" if reasoning and on_openai else getattr(provider, "api", "chat")
        return self.api

    def _on_responses(self, request: Request, *, reasoning: bool) -> Request:
        """The request routed to `/responses`; reasoning models asked for their summary and
        their encrypted reasoning (sent back next turn, nothing stored at the host)."""
        request = with_extra(request, **{API_FIELD: "responses"})
        if not reasoning:
            return request
        request = with_extra(request, store=False, include=["reasoning.encrypted_content"])
        if self.reasoning_summary is None:
            return request
        asked = {"summary": self.reasoning_summary, **(request.extra.get("reasoning") or {})}
        return evolve(request, extra={**request.extra, "reasoning": asked})
