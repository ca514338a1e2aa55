"""The provider protocol, and the base that llmkit's own providers share.

A provider knows one host: its base URL, its key, its SDK or wire format, its
error bodies and rate-limit headers; never a model family's prompt rules.
`Provider` is the structural protocol that `FakeProvider` and plugins satisfy;
`BaseProvider` holds what llmkit's providers share: key lookup, an HTTP pool
per event loop, the retry and rate-limit policies, and the sync twins.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

from attrs import frozen

from llmkit import _sync
from llmkit._imports import require
from llmkit._loops import LoopResources
from llmkit.errors import ConfigurationError
from llmkit.providers._stream import ResponseStream
from llmkit.retry import RetryPolicy
from llmkit.timeouts import Timeouts
from llmkit.types import Embeddings, Request, Response, StreamEvent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from llmkit.ratelimit import RateLimit

__all__ = ["DEFAULT", "BaseProvider", "ModelInfo", "Provider", "Sender", "SyncTwins"]

T = TypeVar("T")
Sender = Literal["httpx2", "aiohttp", "sdk"]
"""Who sends a provider's requests: llmkit itself over `httpx2` or over aiohttp's pool,
or the host's SDK."""
_log = logging.getLogger("llmkit")


class _Default:
    """Marks an argument left at llmkit's default (distinct from an explicit None = off)."""

    _instance: _Default | None = None

    def __new__(cls) -> _Default:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()


@frozen
class ModelInfo:
    """One model a host lists."""

    id: str
    provider: str
    owned_by: str | None = None
    context_window: int | None = None
    created: int | None = None
    """Unix time the host says the model was added, where it says."""
    shutdown_date: str | None = None
    """ISO date the host will retire the model, where it says (OpenAI does)."""


@runtime_checkable
class Provider(Protocol):
    """What every provider offers; `FakeProvider` and plugins fit it structurally."""

    @property
    def name(self) -> str:
        """The host's name (`openai`, `groq`, ...): a class attribute or an instance one."""
        ...

    async def complete(self, request: Request) -> Response:
        """Send `request` and return the whole reply."""
        ...

    def stream(self, request: Request) -> ResponseStream:
        """Send `request` and stream the reply; `.response` is complete once exhausted."""
        ...

    async def list_models(self) -> list[ModelInfo]:
        """The models the host serves now."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


class SyncTwins:
    """The blocking twins of the `Provider` protocol's async methods, one line each.

    Shared by `BaseProvider` and `FakeProvider`: each runs its coroutine on
    llmkit's one background loop (`llmkit._sync`).
    """

    if TYPE_CHECKING:

        async def complete(self, request: Request) -> Response: ...
        def stream(self, request: Request) -> ResponseStream: ...
        async def list_models(self) -> list[ModelInfo]: ...
        async def aclose(self) -> None: ...

    def complete_sync(self, request: Request) -> Response:
        """Blocking twin of `complete`."""
        return _sync.run(partial(self.complete, request))

    def stream_sync(self, request: Request) -> Iterator[StreamEvent]:
        """Blocking twin of `stream`: yields the events."""
        return _sync.iterate(partial(self.stream, request))

    def list_models_sync(self) -> list[ModelInfo]:
        """Blocking twin of `list_models`."""
        return _sync.run(self.list_models)

    def aclose_sync(self) -> None:
        """Blocking twin of `aclose`."""
        _sync.run(self.aclose)

    def embed_sync(
        self,
        inputs: str | Sequence[str],
        *,
        model: str,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Blocking twin of `embed`."""
        embed = self.embed  # type: ignore[attr-defined]
        return _sync.run(partial(embed, inputs, model=model, kind=kind, dimensions=dimensions))  # type: ignore[no-any-return]


class BaseProvider(SyncTwins):
    """Shared machinery for llmkit's providers: key, pools per loop, policies, sync twins.

    Subclasses set `name`, `default_base_url` and `api_key_env`, and implement
    `_complete`, `_stream` and `list_models`.
    """

    name: ClassVar[str] = "base"
    default_base_url: ClassVar[str] = ""
    api_key_env: ClassVar[str | None] = None
    """The environment variable the host's own tools read the key from."""
    requires_api_key: ClassVar[bool] = True
    sdk_module: ClassVar[str | None] = None
    """The vendor SDK that sends for `sender="sdk"`, imported when such a provider is built."""
    sdk_extra: ClassVar[str] = ""
    """The pip extra that installs `sdk_module` (`llmkit[<extra>]`)."""
    default_sender: ClassVar[Sender | None] = None
    """The sender when none is given; None: `"sdk"` if the class has an SDK, else `"httpx2"`."""
    default_timeout: ClassVar[float] = 600.0
    cache: Any = None
    """A `llmkit.cache` backend serving repeated requests and embeddings (None: off)."""
    media_download: Any = "auto"
    """Media URLs the host will not fetch: `"auto"` (llmkit downloads them), `"always"`,
    `"never"`, or a `llmkit.media_download.DownloadPolicy` (docs/content-parts.md)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: Any = None,
        timeout: float | Timeouts | None = DEFAULT,
        retry: RetryPolicy | None = DEFAULT,
        rate_limit: RateLimit | None = DEFAULT,
        sender: Sender | None = None,
        cache: Any = None,
    ) -> None:
        """Configure the provider; nothing is sent yet.

        Args:
            api_key: the key; by default read from the host's usual environment variable.
            base_url: the host's API root; by default the public endpoint.
            http_client: an `httpx2.AsyncClient` or `httpx.AsyncClient` to send with,
                used as given; by default the provider pools its own, one per event loop.
            timeout: seconds one attempt may take in all, or a `Timeouts` with
                connect, first-token, idle and total limits.
            retry: a `RetryPolicy`; `None` turns retries off.
            rate_limit: a `RateLimit` shared by every client of this provider. By default
                one with no limits of its own that still paces by the host's rate-limit
                headers and pauses everybody after a 429; `None` turns it off.
            sender: `"httpx2"`: llmkit builds the request and sends it itself (no vendor
                SDK is imported); `"aiohttp"`: the same, over aiohttp's connection pool
                (extra `aiohttp`; about half the CPU per call, docs/performance.md);
                `"sdk"`: the host's SDK sends it (imported here, so a missing one fails
                now, naming the extra to install). The codec reads the reply either way.
            cache: a `llmkit.cache` backend (`MemoryCache`, `DiskCache`, `RedisCache`), or
                a spec (`"memory"`, a file path, `"redis://..."`), serving repeated
                requests, streams and embeddings (see docs/cache.md).
        """
        if isinstance(cache, str):  # a spec from a configuration file: `memory`, a path, redis://
            from llmkit.cache import open_cache

            cache = open_cache(cache)
        self.cache = cache
        self._api_key = api_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._http_client = http_client
        self.timeouts = Timeouts.coerce(self.default_timeout if timeout is DEFAULT else timeout)
        self.timeout: float | None = self.timeouts.total
        """The total per attempt, in seconds (what SDKs take as `timeout=`)."""
        self.retry: RetryPolicy | None = RetryPolicy() if retry is DEFAULT else retry
        if rate_limit is DEFAULT:
            from llmkit.ratelimit import RateLimit

            rate_limit = RateLimit()
        self.rate_limit: RateLimit | None = rate_limit
        self.sender: Sender = self._check_sender(sender)
        if self.sender == "aiohttp":
            if http_client is not None:
                raise ConfigurationError(
                    f"{type(self).__name__}(sender='aiohttp') builds its own aiohttp pool: "
                    "pass `http_client=` or `sender='aiohttp'`, not both",
                    provider=self.name,
                )
            require("aiohttp", extra="aiohttp")  # a missing one fails now, naming the extra
        if self.sender == "sdk" and self.sdk_module is not None:
            # DESIGN: the SDK is imported only for `sender="sdk"` (never by `import llmkit`),
            # when the provider is built, so a missing one fails here, naming the extra, and
            # the first request's latency does not include the import.
            require(self.sdk_module, extra=self.sdk_extra or self.sdk_module)
        self._per_loop = LoopResources(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @classmethod
    def _check_sender(cls, sender: str | None) -> Sender:
        """The sender to use; `ConfigurationError` for a value this class does not offer."""
        if sender is None:
            return cls.default_sender or ("sdk" if cls.sdk_module else "httpx2")
        offered = ("httpx2", "aiohttp", "sdk") if cls.sdk_module else ("httpx2", "aiohttp")
        if sender not in offered:
            choices = ", ".join(repr(s) for s in offered[:-1]) + f" or {offered[-1]!r}"
            raise ConfigurationError(
                f"{cls.__name__}(sender={sender!r}) is not a sender it has; use {choices}",
                provider=cls.name,
            )
        return sender  # type: ignore[return-value]

    # -- keys ---------------------------------------------------------------

    @property
    def has_api_key(self) -> bool:
        """Whether a key was given or is set in the environment (never shows it)."""
        return bool(self._api_key or (self.api_key_env and os.environ.get(self.api_key_env)))

    def api_key(self) -> str:
        """The key to send; raises `ConfigurationError` saying how to set it."""
        key = self._api_key or (os.environ.get(self.api_key_env) if self.api_key_env else None)
        if key:
            return key
        if not self.requires_api_key:
            return "unused"
        where = f"Set {self.api_key_env} or pass" if self.api_key_env else "Pass"
        raise ConfigurationError(
            f"No API key for {self.name}: {where} `{type(self).__name__}(api_key=...)`",
            provider=self.name,
        )

    # -- per-loop resources -------------------------------------------------

    def _loop_resource(self, key: str, factory: Callable[[], T]) -> T:
        """One `factory()` per running event loop: pooled connections belong to their loop."""
        return self._per_loop.get(key, factory)

    def http_client(self) -> Any:
        """The `httpx2.AsyncClient` for this loop: the caller's if given, else a pooled one."""
        if self._http_client is not None:
            return self._http_client
        return self._loop_resource("http", self._make_http_client)

    def _make_http_client(self) -> Any:
        import httpx2

        from llmkit.providers._transport import bound_error_body

        options: dict[str, Any] = {
            "timeout": httpx2.Timeout(**self.timeouts.httpx_kwargs()),
            "follow_redirects": True,
            "event_hooks": {"response": [bound_error_body]},  # a 50 MB error page: 256 KiB read
        }
        if self.sender == "aiohttp":
            return httpx2.AsyncClient(transport=self._aiohttp(), **options)
        return httpx2.AsyncClient(
            verify=shared_ssl_context(),
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
            **options,
        )

    async def _fetch(
        self, method: str, url: str, *, content: bytes | None, headers: Mapping[str, str]
    ) -> Any:
        """`sender="aiohttp"`'s own calls and streams: the reply, its body still to read,
        sent on this loop's aiohttp pool without `httpx2`'s models (see `_aiohttp.Reply`)."""
        return await self._aiohttp().fetch(
            method, url, content=content, headers=headers, limits=self.timeouts.httpx_kwargs()
        )

    def _aiohttp(self) -> Any:
        """This loop's `AiohttpTransport` (`sender="aiohttp"`), shared by `_fetch` and the
        `httpx2` client built over it."""

        def build() -> Any:
            from llmkit.providers._aiohttp import AiohttpTransport

            return AiohttpTransport(ssl_context=shared_ssl_context(), max_connections=1000)

        return self._loop_resource("aiohttp", build)

    async def aclose(self) -> None:
        """Close the pools this provider built, on every event loop that used one, each on
        its own loop (a caller's `http_client` is left open)."""
        await self._per_loop.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _observe_headers(self, headers: Any) -> None:
        """Called with the HTTP headers of every response (errors included), before parsing.

        The rate limiter re-syncs its buckets from the hosts' rate-limit headers here.
        """
        if self.rate_limit is not None:
            observe = getattr(self.rate_limit, "observe_headers", None)
            if observe is not None:
                observe(headers, provider=self.name)

    # -- the protocol ---------------------------------------------------------

    async def complete(self, request: Request) -> Response:
        """Send `request` under this provider's retry and rate-limit policies."""
        from llmkit.providers import _calls

        request = await _prepared(request, self)  # content parts: checked, URLs downloaded
        if self.cache is not None:  # llmkit.cache: a hit never reaches the policies
            from llmkit.cache import cached_complete

            def send() -> Awaitable[Response]:  # built only on a miss
                return _calls.complete(self._complete, _calls.Policy.of(self), request)

            return await cached_complete(self.cache, self, request, send)
        return await _calls.complete(self._complete, _calls.Policy.of(self), request)

    def stream(self, request: Request) -> ResponseStream:
        """Stream the reply to `request`; retried only before its first event."""
        from llmkit.providers import _calls

        if _has_parts(request):  # content parts: checked, URLs downloaded, before sending
            events = partial(_prepared_stream, self, _calls.Policy.of(self), request)
        else:
            events = partial(_calls.stream, self._stream, _calls.Policy.of(self), request)
        stream = ResponseStream(events, provider=self.name)
        if self.cache is not None:
            from llmkit.cache import cached_stream

            return cached_stream(self.cache, self, request, stream)
        return stream

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Vectors for `inputs`, one per input (see `llmkit.embeddings`); hosts with an
        embeddings endpoint override this."""
        raise ConfigurationError(
            f"{self.name} has no embeddings endpoint in llmkit; embed with OpenAI, Azure, "
            "Gemini, Cohere, Mistral, Ollama, OpenRouter, Voyage or an OpenAI-compatible server",
            provider=self.name,
        )

    async def list_models(self) -> list[ModelInfo]:
        """The models the host serves now."""
        raise NotImplementedError

    async def _complete(self, request: Request) -> Response:
        """One attempt at `request`, with no policy around it."""
        raise NotImplementedError

    def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        """One attempt at streaming `request`, with no policy around it."""
        raise NotImplementedError


def _has_parts(request: Request) -> bool:
    return any(not isinstance(m.content, str) for m in request.messages)


async def _prepared(request: Request, provider: Any) -> Request:
    if not _has_parts(request):
        return request
    from llmkit.media_support import prepare

    return await prepare(
        request, _media_rules_key(provider), download=getattr(provider, "media_download", "auto")
    )


def _media_rules_key(provider: Any) -> str:
    """The host's name in `llmkit/data/media.json`: `openai:responses` for its Responses API."""
    from llmkit.media_support import host_rules

    if getattr(provider, "api", "chat") == "responses":
        key = f"{provider.name}:responses"
        if host_rules(key, "") is not None:
            return key
    return str(provider.name)


async def _prepared_stream(
    provider: Any, policy: Any, request: Request
) -> AsyncIterator[StreamEvent]:
    from llmkit.providers import _calls

    request = await _prepared(request, provider)
    async for event in _calls.stream(provider._stream, policy, request):
        yield event


_ssl_contexts: dict[tuple[str | None, str | None], Any] = {}


def shared_ssl_context() -> Any:
    """The TLS context of every pool llmkit builds, made once per process.

    Building one loads the CA store: 0.1 s of CPU that blocks the event loop
    (more on a busy machine), and that used to be paid by every provider on
    every event loop, inside its first request's first-token window. It is
    the HTTP library's own default context (honouring `SSL_CERT_FILE` and
    `SSL_CERT_DIR`, which key the cache), shared: an `SSLContext` is safe to
    use from many connections, loops and threads.
    """
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _ssl_contexts.get(key)
    if context is None:
        import httpx2

        context = _ssl_contexts[key] = httpx2.create_ssl_context()
    return context
