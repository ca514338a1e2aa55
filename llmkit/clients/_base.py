"""`ModelClient`: one model family over a swappable provider.

A client turns a prompt into a `Request` for the model its catalog entry names
(`_build_request`), lets the family rewrite it for the host (`prepare`), sends
it (`_send` / `_send_stream`, the only places that touch the provider), and
rewrites the reply (`finish`, or a streaming rewriter on the events). Around
`_send`, `llmkit.clients._policies` applies the shared policies: context
window, budget, cost, events and fallback providers. Calls go one way: the
client hands `_policies` its frozen `Policies` value (built once, replaced
whole when a setting is assigned) and its `_send` / `_send_stream`, and
`_policies` never reaches back into the client. The family's knowledge lives
in module-level pure functions in each family's module; subclasses only
compose them. No HTTP and no vendor SDK here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypedDict, Unpack

from attrs import evolve

from llmkit import _sync, tokens
from llmkit._hints import did_you_mean
from llmkit.batch import ProgressCallback, run_many
from llmkit.catalog import Catalog, CatalogEntry, default_catalog
from llmkit.clients import _policies
from llmkit.clients._policies import Policies, Route
from llmkit.context import ContextStrategy, resolve_strategy
from llmkit.errors import ConfigurationError, LLMError
from llmkit.output import loop as output_loop
from llmkit.parts import cache_after_system
from llmkit.providers._stream import ResponseStream
from llmkit.tokens import TokenCount
from llmkit.tools import as_tool_specs, as_tools
from llmkit.types import Message, Prompt, Request, Response, Role, StreamEvent, ToolSpec

if TYPE_CHECKING:
    from llmkit.budget import Budget
    from llmkit.cost import CostTracker
    from llmkit.events import Hooks
    from llmkit.providers._base import Provider

__all__ = [
    "CallOptions",
    "ClientOptions",
    "EventRewriter",
    "ModelClient",
    "Route",
    "to_messages",
    "with_system",
]


class ClientOptions(TypedDict, total=False):
    """The arguments every client takes besides its provider, declared once here
    (`ModelClient.__init__` documents each; family clients pass them through)."""

    model: str | None
    system: str | None
    temperature: float | None
    max_tokens: int | None
    catalog: Catalog | None
    fallbacks: Sequence[Provider]
    cost_tracker: CostTracker | None
    budget: Budget | None
    hooks: Hooks | None
    context_strategy: str | ContextStrategy | None
    tokenizer: Any
    cache: Any


_CLIENT_OPTIONS = frozenset(ClientOptions.__annotations__)


class CallOptions(TypedDict, total=False):
    """The per-call options of `generate`, `stream` and their twins (all optional)."""

    model: str | None
    """This call's model (canonical name or host id); default: the client's."""
    system: str | None
    """This call's system prompt (replaces a leading system message)."""
    tools: Sequence[ToolSpec | Callable[..., Any]] | None
    """Functions the model may call: `ToolSpec`s or typed Python functions."""
    tool_choice: str | None
    """`auto`, `none`, `required`, or one tool's name."""
    temperature: float | None
    max_tokens: int | None
    """Cap on output tokens."""
    top_p: float | None
    stop: str | Sequence[str] | None
    """Stop sequence(s)."""
    response_format: Mapping[str, Any] | None
    """`{"type": "json_object"}` or a `json_schema` format."""
    seed: int | None
    """Sampling seed, where the host supports one."""
    extra: Mapping[str, Any] | None
    """Host-specific body fields, passed through (they win over llmkit's own)."""
    output: Any
    """A type for a validated answer in `reply.output` (see docs/structured-output.md)."""
    output_mode: str | None
    """`native`, `tool` or `prompted`; default: what the catalog says the model supports."""
    output_retries: int
    """Re-asks after an answer that does not validate (default 2; 0 in streams)."""
    cache: bool
    """False: this call neither reads nor fills the client's cache (see docs/cache.md)."""
    cache_ttl: float | None
    """Seconds this call's reply stays in the cache (default: the cache's own)."""
    cache_system: bool
    """A prompt-cache breakpoint after the system prompt (Anthropic; docs/content-parts.md)."""
    cache_tools: bool
    """A prompt-cache breakpoint after the tool definitions (Anthropic)."""


_CALL_OPTIONS = frozenset(CallOptions.__annotations__)


class EventRewriter(Protocol):
    """A push-style streaming rewrite: events in, events out, no I/O."""

    def feed(self, event: StreamEvent) -> list[StreamEvent]:
        """Rewrite one event (possibly holding part of it back)."""
        ...

    def flush(self) -> list[StreamEvent]:
        """Whatever was held back, at the end of the stream."""
        ...


_log = logging.getLogger("llmkit")


def to_messages(prompt: Prompt) -> tuple[Message, ...]:
    """A prompt (text, one message, or a conversation) as a tuple of messages."""
    if isinstance(prompt, str):
        return (Message.user(prompt),)
    if isinstance(prompt, Message):
        return (prompt,)
    messages = tuple(prompt)
    for message in messages:
        if not isinstance(message, Message):
            raise ConfigurationError(
                f"a prompt is a str, a Message or a list of Messages, not a list holding "
                f"{type(message).__name__}; wrap text with Message.user(...)"
            )
    return messages


def with_system(
    messages: tuple[Message, ...], system: str | None, *, replace: bool
) -> tuple[Message, ...]:
    """`messages` with the system prompt `system` first: added when there is none, or
    replacing the leading one when `replace` (an explicit per-call `system=`)."""
    if system is None:
        return messages
    if messages and messages[0].role is Role.SYSTEM:
        return (Message.system(system), *messages[1:]) if replace else messages
    return (Message.system(system), *messages)


class ModelClient:
    """One model family over a provider that can be swapped at any time.

    Subclasses set `family` and override `prepare`, `finish` and `stream_rewriter`
    with compositions of their module's pure functions.
    """

    family: ClassVar[str] = ""
    """The catalog family this client speaks for."""
    default_max_tokens: ClassVar[int | None] = None
    """Sent when neither the call nor the client sets `max_tokens` (Claude requires one)."""

    def __init__(self, provider: Provider, **options: Unpack[ClientOptions]) -> None:
        """Pick the model `provider` serves for this family (or `model`, which always wins).

        Args:
            provider: the host to send to; `set_provider` swaps it later.
            model: a canonical name (`deepseek-flash`) or the host's own id, sent verbatim
                when the catalog does not know it. Default: the newest model the host serves.
            system: a system prompt for every request (a conversation's own wins).
            temperature: default sampling temperature.
            max_tokens: default cap on output tokens.
            catalog: the catalog to resolve models with (default: the shipped one, plus
                `$LLMKIT_CATALOG` and the live-list cache).
            fallbacks: providers that serve a request, in order, when the current one
                fails or is unavailable (see `llmkit.fallback`).
            cost_tracker: a `llmkit.cost.CostTracker` recording every reply's cost.
            budget: a `llmkit.budget.Budget` that refuses requests which could cross it.
            hooks: `llmkit.events.Hooks` called on requests, replies, retries, errors
                and fallbacks.
            context_strategy: what to do with a prompt too long for the context window:
                None refuses it (`ContextLengthExceededError`), `"keep_newest"` or
                `"drop_middle"` truncates it (see `llmkit.context`).
            tokenizer: a `tokenizer.json` path, folder, cached Hugging Face repo id or
                `tokenizers.Tokenizer` for exact local token counts.
            cache: a `llmkit.cache` backend (`MemoryCache`, `DiskCache`, `RedisCache`), or
                a spec (`"memory"`, a file path, `"redis://..."`), that serves repeated
                requests and streams (see docs/cache.md).

        Raises:
            ConfigurationError: the provider serves no current model of this family, and
                no fallback does either (with a fallback that does, the provider is skipped
                with that reason on every call).
            TypeError: an argument that is not one of the above.
        """
        unknown = options.keys() - _CLIENT_OPTIONS
        if unknown:  # `**options` must not swallow a typo silently
            name = sorted(unknown)[0]
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument "
                f"{name!r}{did_you_mean(name, _CLIENT_OPTIONS)}"
            )
        self.requested_model = options.get("model")
        self.system = options.get("system")
        self.temperature = options.get("temperature")
        self.max_tokens = options.get("max_tokens")
        cache = options.get("cache")
        if isinstance(cache, str):  # a spec from a configuration file: `memory`, a path, redis://
            from llmkit.cache import open_cache

            cache = open_cache(cache)
        self.cache = cache
        self._policies = Policies(
            catalog=options.get("catalog") or default_catalog(),
            family=self.family,
            client=str(getattr(self, "name", None) or type(self).__name__),
            fallbacks=tuple(options.get("fallbacks", ())),
            cost_tracker=options.get("cost_tracker"),
            budget=options.get("budget"),
            hooks=options.get("hooks"),
            context_strategy=resolve_strategy(options.get("context_strategy")),
            tokenizer=options.get("tokenizer"),
        )
        self._route = self._resolve(provider)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider.name!r}, model={self.model!r})"

    # -- the shared policies (one frozen value, replaced whole on assignment) -------

    @property
    def catalog(self) -> Catalog:
        """The catalog models are resolved with."""
        return self._policies.catalog

    @catalog.setter
    def catalog(self, value: Catalog) -> None:
        self._policies = evolve(self._policies, catalog=value)

    @property
    def fallbacks(self) -> tuple[Provider, ...]:
        """The providers tried, in order, when the current one fails or cannot serve."""
        return self._policies.fallbacks

    @fallbacks.setter
    def fallbacks(self, value: Sequence[Provider]) -> None:
        self._policies = evolve(self._policies, fallbacks=tuple(value))

    @property
    def cost_tracker(self) -> CostTracker | None:
        """The `CostTracker` every reply's cost is recorded on, if any."""
        return self._policies.cost_tracker

    @cost_tracker.setter
    def cost_tracker(self, value: CostTracker | None) -> None:
        self._policies = evolve(self._policies, cost_tracker=value)

    @property
    def budget(self) -> Budget | None:
        """The `Budget` requests are reserved on, if any."""
        return self._policies.budget

    @budget.setter
    def budget(self, value: Budget | None) -> None:
        self._policies = evolve(self._policies, budget=value)

    @property
    def hooks(self) -> Hooks | None:
        """The `Hooks` this client's events go to, if any."""
        return self._policies.hooks

    @hooks.setter
    def hooks(self, value: Hooks | None) -> None:
        self._policies = evolve(self._policies, hooks=value)

    @property
    def context_strategy(self) -> ContextStrategy | None:
        """What a prompt too long for the window becomes (None: refused)."""
        return self._policies.context_strategy

    @context_strategy.setter
    def context_strategy(self, value: str | ContextStrategy | None) -> None:
        self._policies = evolve(self._policies, context_strategy=resolve_strategy(value))

    @property
    def tokenizer(self) -> Any:
        """The local tokenizer for exact counts (None: the best estimate)."""
        return self._policies.tokenizer

    @tokenizer.setter
    def tokenizer(self, value: Any) -> None:
        self._policies = evolve(self._policies, tokenizer=value)

    # -- provider and model ------------------------------------------------------

    def _resolve(self, provider: Provider) -> Route:
        _check_provider(provider)
        try:
            entry = self.catalog.resolve(self.family, provider.name, self._model_on(provider))
        except ConfigurationError as exc:
            if not any(self._serves(fallback) for fallback in self.fallbacks):
                raise
            # A fallback serves the family: keep `provider` first in line, skipped with
            # this reason on every call, so the fallbacks answer (and say so in events).
            _log.warning(
                "llmkit: %s; its fallbacks will serve %s", exc.message.rstrip("."), self.family
            )
            model = self.requested_model or ""
            source = "explicit" if self.requested_model else "unserved"
            bare = CatalogEntry(
                self.family, model, provider.name, model, known=False, source=source
            )
            return Route(provider, bare, unserved=exc)
        return Route(provider, entry)

    def _model_on(self, provider: Provider) -> str | None:
        """The model asked for: the client's `model=`, else the provider's own default.

        A provider that runs whatever model it is given (`TransformersProvider`) names
        its `default_model`; hosts leave it to the catalog.
        """
        return self.requested_model or getattr(provider, "default_model", None)

    def _serves(self, provider: Provider) -> bool:
        try:
            self.catalog.resolve(self.family, provider.name, self._model_on(provider))
        except ConfigurationError:
            return False
        return True

    @property
    def provider(self) -> Provider:
        """The provider new requests go to."""
        return self._route.provider

    @property
    def model(self) -> str:
        """The host's id of the model new requests ask for."""
        return self._route.entry.id

    @property
    def entry(self) -> CatalogEntry:
        """The catalog entry of the current model on the current provider."""
        return self._route.entry

    def set_provider(self, provider: Provider) -> None:
        """Send new requests to `provider`; requests under way finish on the old one.

        Raises:
            ConfigurationError: `provider` serves no current model of this family and
                no fallback does either (the client keeps its old provider).
        """
        self._route = self._resolve(provider)

    def entry_for(self, model_id: str, provider: Provider) -> CatalogEntry:
        """The catalog entry for a host's model id (a bare one when the catalog lacks it)."""
        found = self.catalog.find(provider.name, model_id)
        if found is not None:
            return found
        return CatalogEntry(
            self.family, model_id, provider.name, model_id, known=False, source="explicit"
        )

    # -- family hooks -----------------------------------------------------------

    def prepare(self, request: Request, provider: Provider, entry: CatalogEntry) -> Request:
        """The request as this family wants it on `provider` (pure; default: unchanged).

        `entry` is the catalog entry already resolved for `request.model` on
        `provider` (read it; never search the catalog again here).
        """
        return request

    def finish(self, response: Response) -> Response:
        """The reply as this family presents it (pure; default: unchanged)."""
        return response

    def stream_rewriter(self, request: Request, provider: Provider) -> EventRewriter | None:
        """A fresh streaming rewrite for one stream, or None (then `finish` alone applies)."""
        return None

    # -- the request path ---------------------------------------------------------

    def _build_request(
        self, route: Route, prompt: Prompt, options: CallOptions
    ) -> tuple[Route, Request]:
        """The one place a prompt and the call's options become a `Request`, with the
        route whose entry is the request's model (the call's own `model=` resolved once)."""
        unknown = options.keys() - _CALL_OPTIONS
        if unknown:  # `**options` must not swallow a typo silently
            name = sorted(unknown)[0]
            raise TypeError(
                f"unexpected keyword argument {name!r}{did_you_mean(name, _CALL_OPTIONS)}"
            )
        model = options.get("model")
        if model is not None:
            entry = self.catalog.resolve(self.family, route.provider.name, model)
            route = evolve(route, entry=entry)
        messages = to_messages(prompt)
        system = options.get("system")
        if system is not None:
            messages = with_system(messages, system, replace=True)
        else:
            messages = with_system(messages, self.system, replace=False)
        if options.get("cache_system"):
            messages = cache_after_system(messages)
        response_format = options.get("response_format")
        return route, Request(
            model=route.entry.id,
            messages=messages,
            temperature=_first(options.get("temperature"), self.temperature),
            max_tokens=_first(options.get("max_tokens"), self.max_tokens, self.default_max_tokens),
            top_p=options.get("top_p"),
            stop=options.get("stop"),
            tools=as_tool_specs(options.get("tools")) if options.get("tools") else (),
            tool_choice=options.get("tool_choice"),
            response_format=dict(response_format) if response_format is not None else None,
            seed=options.get("seed"),
            extra=dict(options.get("extra") or {}),
            cache_tools=bool(options.get("cache_tools")),
        )

    async def _send(self, route: Route, request: Request) -> Response:
        """The one place a request goes to a provider and its reply comes back."""
        prepared = self.prepare(request, route.provider, route.entry)
        if self.cache is not None:  # keyed on the request as sent; stores the finished reply
            from llmkit.cache import cached_complete

            async def send() -> Response:
                return self.finish(await route.provider.complete(prepared))

            return await cached_complete(self.cache, route.provider, prepared, send)
        response = await route.provider.complete(prepared)
        return self.finish(response)

    def _send_stream(self, route: Route, request: Request) -> ResponseStream:
        """The streaming twin of `_send`: the provider's events through the family's rewrite."""
        prepared = self.prepare(request, route.provider, route.entry)
        rewriter = self.stream_rewriter(prepared, route.provider)
        if rewriter is None:
            stream = route.provider.stream(prepared).with_finish(self.finish)
        else:
            events = partial(_rewritten, route.provider, prepared, rewriter)
            stream = ResponseStream(events, provider=route.provider.name, finish=self.finish)
        if self.cache is not None:  # replays the rewritten events and the finished reply
            from llmkit.cache import cached_stream

            return cached_stream(self.cache, route.provider, prepared, stream)
        return stream

    # -- public API ---------------------------------------------------------------

    async def generate(self, prompt: Prompt, **options: Unpack[CallOptions]) -> Response:
        """Send `prompt` and return the whole reply.

        Args:
            prompt: the user's text, one `Message`, or a whole conversation.
            model: this call's model (canonical name or host id); default: the client's.
            system: this call's system prompt (replaces a leading system message).
            tools: functions the model may call.
            tool_choice: `auto`, `none`, `required`, or one tool's name.
            temperature: sampling temperature.
            max_tokens: cap on output tokens.
            top_p: nucleus sampling.
            stop: stop sequence(s).
            response_format: `{"type": "json_object"}` or a `json_schema` format.
            seed: sampling seed, where the host supports one.
            extra: host-specific body fields, passed through (they win over llmkit's own).

            output: a type; `reply.output` is then the validated answer (re-asked up to
                `output_retries` times in the `output_mode` the catalog names).

        Raises:
            LLMError: a subclass saying what went wrong; see `llmkit.errors`.
        """
        if "cache" in options or "cache_ttl" in options:  # this call's own cache settings
            from llmkit.cache import call_with_settings

            return await call_with_settings(self.generate, prompt, options)
        if options.get("output") is not None:
            return await output_loop.generate(self, prompt, options)
        route, request = self._build_request(self._route, prompt, options)
        return await _policies.complete(self._policies, self._send, route, request)

    def stream(self, prompt: Prompt, **options: Unpack[CallOptions]) -> ResponseStream:
        """Stream the reply to `prompt`: `async for event in client.stream(...)`, then
        `stream.response`. Takes the same arguments as `generate`; the request is sent
        when iteration starts. With `output=`, events carry `partial_output`."""
        if "cache" in options or "cache_ttl" in options:  # this call's own cache settings
            from llmkit.cache import stream_with_settings

            return stream_with_settings(self.stream, prompt, options)
        if options.get("output") is not None:
            return output_loop.stream(self, prompt, options)
        route, request = self._build_request(self._route, prompt, options)
        return _policies.stream(self._policies, self._send_stream, route, request)

    async def run(
        self, prompt: Prompt, *, max_turns: int = 8, **options: Unpack[CallOptions]
    ) -> Response:
        """The tool loop: call the model, run the tools it asks for (`tools=[fn, ...]`),
        send the results back, until it answers without a tool call (see docs/tools.md).

        Takes `generate`'s arguments (`output=` for a typed final answer) and `max_turns`,
        the most model calls. The reply's `messages` is the whole conversation; its
        `usage` and `cost` sum every turn.

        Raises:
            MaxTurnsExceededError: no final answer within `max_turns` (with `.messages`).
            OutputValidationError: the final answer did not match `output=`.
        """
        tools = as_tools(options.pop("tools", None) or ())
        return await output_loop.run(self, prompt, tools, options, max_turns=_turns(max_turns))

    def run_stream(
        self, prompt: Prompt, *, max_turns: int = 8, **options: Unpack[CallOptions]
    ) -> ResponseStream:
        """`run`, streamed: every turn's events; `stream.response` is `run`'s reply."""
        tools = as_tools(options.pop("tools", None) or ())
        return output_loop.stream(self, prompt, options, tools=tools, max_turns=_turns(max_turns))

    def run_sync(
        self, prompt: Prompt, *, max_turns: int = 8, **options: Unpack[CallOptions]
    ) -> Response:
        """Blocking twin of `run`."""
        return _sync.run(partial(self.run, prompt, max_turns=max_turns, **options))

    def run_stream_sync(
        self, prompt: Prompt, *, max_turns: int = 8, **options: Unpack[CallOptions]
    ) -> Iterator[StreamEvent]:
        """Blocking twin of `run_stream`: yields the events."""
        return _sync.iterate(partial(self.run_stream, prompt, max_turns=max_turns, **options))

    def generate_sync(self, prompt: Prompt, **options: Unpack[CallOptions]) -> Response:
        """Blocking twin of `generate`: same arguments, same result."""
        return _sync.run(partial(self.generate, prompt, **options))

    def stream_sync(self, prompt: Prompt, **options: Unpack[CallOptions]) -> Iterator[StreamEvent]:
        """Blocking twin of `stream`: yields the events."""
        return _sync.iterate(partial(self.stream, prompt, **options))

    # -- tokens and batches ---------------------------------------------------------

    def count_tokens(self, prompt: Prompt | Request, *, model: str | None = None) -> TokenCount:
        """Tokens of `prompt` for this client's model, counted locally (never over the network).

        Text counts as text alone; a `Message` or a conversation counts as a prompt,
        with the chat template's overhead per message; a `Request` adds its tools.
        `.exact` and `.method` on the result say how it was counted.
        """
        model_id = model or self.model
        if isinstance(prompt, Request):
            return tokens.count_request(prompt, tokenizer=self.tokenizer)
        if isinstance(prompt, str):
            return tokens.count_text(prompt, model_id, tokenizer=self.tokenizer)
        return tokens.count_messages(to_messages(prompt), model_id, tokenizer=self.tokenizer)

    async def count_tokens_exact(self, prompt: Prompt, *, model: str | None = None) -> TokenCount:
        """Prompt tokens of `prompt` as the host counts them, where it has an endpoint.

        The prompt is built as `generate` would build it (system prompt, family
        rewrites) and sent to the provider's count-tokens endpoint (Anthropic,
        Gemini). Other providers get the best local count (check `.exact`).
        """
        route, request = self._build_request(self._route, prompt, {"model": model})
        prepared = self.prepare(request, route.provider, route.entry)
        return await tokens.count_with_provider(route.provider, prepared, tokenizer=self.tokenizer)

    def count_tokens_exact_sync(self, prompt: Prompt, *, model: str | None = None) -> TokenCount:
        """Blocking twin of `count_tokens_exact`."""
        return _sync.run(partial(self.count_tokens_exact, prompt, model=model))

    async def generate_many(
        self,
        prompts: Sequence[Prompt],
        *,
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
        **options: Unpack[CallOptions],
    ) -> list[Response | LLMError]:
        """`generate` every prompt, at most `concurrency` at a time (see `llmkit.batch`).

        Args:
            prompts: the prompts; each is what `generate` accepts.
            concurrency: the most requests under way at once.
            on_progress: called with a `BatchProgress` after each request finishes.
            **options: `generate`'s keyword arguments, applied to every prompt.

        Returns:
            One slot per prompt, in input order: its reply, or the `LLMError` it failed with.
        """
        return await run_many(
            partial(self.generate, **options),
            prompts,
            concurrency=concurrency,
            on_progress=on_progress,
        )

    def generate_many_sync(
        self,
        prompts: Sequence[Prompt],
        *,
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
        **options: Unpack[CallOptions],
    ) -> list[Response | LLMError]:
        """Blocking twin of `generate_many`."""
        return _sync.run(
            partial(
                self.generate_many, prompts, concurrency=concurrency, on_progress=on_progress,
                **options,
            )
        )  # fmt: skip

    async def generate_batch(
        self,
        prompts: Sequence[Prompt],
        *,
        poll: Any = None,
        on_progress: Callable[[Any], Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> list[Response | LLMError]:
        """Every prompt through the host's batch API (about half price, within the host's
        window): submits, waits polling with backoff, and returns one slot per prompt in
        input order, a reply or its `LLMError` (see `llmkit.batches`, docs/batch-api.md).

        Args:
            prompts: the prompts; each is what `generate` accepts.
            poll: seconds before the first poll, or a `llmkit.batches.Poll`.
            on_progress: called with a `llmkit.batches.BatchRun` at every poll.
            **options: `generate`'s keyword arguments (not `output=`), for every prompt.
        """
        from llmkit.batches._client import client_generate_batch

        return await client_generate_batch(
            self, prompts, dict(options), poll=poll, on_progress=on_progress
        )

    def generate_batch_sync(
        self,
        prompts: Sequence[Prompt],
        *,
        poll: Any = None,
        on_progress: Callable[[Any], Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> list[Response | LLMError]:
        """Blocking twin of `generate_batch`."""
        return _sync.run(
            partial(self.generate_batch, prompts, poll=poll, on_progress=on_progress, **options)
        )


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


async def _rewritten(
    provider: Provider, request: Request, rewriter: EventRewriter
) -> AsyncIterator[StreamEvent]:
    stream = provider.stream(request)
    try:
        async for event in stream:
            for out in rewriter.feed(event):
                yield out
        for out in rewriter.flush():
            yield out
    except LLMError as exc:
        exc.partial = None  # the outer stream rebuilds it from the rewritten events
        raise
    finally:
        await stream.aclose()


def _turns(max_turns: object) -> int:
    """`max_turns` checked: a whole number of model calls, at least 1."""
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise ConfigurationError(
            f"max_turns={max_turns!r}: give the most model calls `run` may make, 1 or more"
        )
    return max_turns


def _check_provider(provider: object) -> None:
    """A clear error for what is not a provider (a name, a list, None) before it is used."""
    if isinstance(getattr(provider, "name", None), str) and callable(
        getattr(provider, "complete", None)
    ):
        return
    from llmkit.errors import redact

    if isinstance(provider, str):
        shown = redact(repr(provider)[:80])
        hint = (
            f"; for a host by name use llmkit.client('family@host'), e.g. 'deepseek@{shown[1:-1]}'"
        )
    elif isinstance(provider, list | tuple):
        shown, hint = type(provider).__name__, "; more hosts go in fallbacks=[...]"
    else:
        shown, hint = type(provider).__name__, ""
    raise ConfigurationError(
        f"provider= takes a provider object such as OpenAIProvider(), not {shown}{hint}"
    )
