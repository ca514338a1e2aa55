"""The gateway's ASGI app: OpenAI's endpoints over llmkit's clients (Starlette).

    from llmkit.server import create_app
    app = create_app()                      # the configuration `llmkit.load()` finds
    # uvicorn module:app, or mount it in your own Starlette/FastAPI app

Every response carries `x-request-id` (the caller's, when it sent a sane one)
and `x-llmkit-overhead-ms`: the time spent in the gateway itself, that is the
whole request less the upstream call (for a stream: the time before its first
event less the upstream's share). Errors are OpenAI-shaped bodies
(`llmkit.server.errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
from attrs import define, field
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import Response as HttpResponse
from starlette.routing import Route

from llmkit._config_schema import ServerConfig
from llmkit.errors import ConfigurationError
from llmkit.server.errors import GatewayError, classify, error_class
from llmkit.server.keys import ApiKey, digest, drain, redis_client
from llmkit.server.metrics import CONTENT_TYPE_LATEST, Metrics
from llmkit.server.routing import Router
from llmkit.server.tracing import annotate
from llmkit.server.tracing import middleware as tracing_middleware

if TYPE_CHECKING:
    from llmkit._config_schema import Config
    from llmkit.registry import Registry
    from llmkit.server.store import KeyStore

__all__ = ["Gateway", "Handled", "create_app"]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ANONYMOUS = ApiKey("anonymous")


@define
class Handled:
    """What the gateway learned about one request, for headers, metrics and logs."""

    request_id: str
    start: float = field(factory=time.perf_counter)
    key: str = "-"
    model: str = "-"
    provider: str = "-"
    usage: Any = None
    cost: Any = None
    cached: bool = False
    streamed: bool = False

    def elapsed(self) -> float:
        """Seconds since the request arrived."""
        return time.perf_counter() - self.start

    def labels(self, endpoint: str) -> tuple[str, str, str, str]:
        """Metric labels: endpoint, model, provider, key name."""
        return (endpoint, self.model, self.provider, self.key)


class Gateway:
    """The app's state: settings, keys, routes to clients, metrics."""

    def __init__(self, config: Config | None, registry: Registry) -> None:
        self.config = config
        self.settings = (config.server if config is not None else None) or ServerConfig()
        missing = config.unset.get("server") if config is not None else None
        if missing:
            raise ConfigurationError("The server block cannot be used: " + "; ".join(missing))
        redis_url = self.settings.redis_url or None
        self.redis = redis_client(redis_url) if redis_url else None
        self.keys: dict[str, ApiKey] = {}
        for name, entry in self.settings.keys.items():
            value = entry.key
            known = digest(value) if value else (entry.key_sha256 or "").lower()
            self.keys[known] = ApiKey.from_config(name, entry, redis_url, self.redis)
        master = self.settings.master_key
        self.master_digest = digest(master) if master else None
        self.store: KeyStore | None = None
        if self.master_digest is not None:
            from llmkit.server.store import open_store

            self.store = open_store(self.settings, redis_url, self.redis)
        self.open = not self.keys and self.master_digest is None
        self.router = Router(registry)
        self.metrics = Metrics()
        self.traced = False
        """Whether requests get OpenTelemetry server spans (`llmkit.server.tracing`)."""
        self.streams = 0
        self.pending: set[asyncio.Task[None]] = set()
        """Settles of keys' limits and budgets in Redis still under way (`keys.settle_later`)."""

    def warm_up(self) -> None:
        """Load the catalog and build the configured clients now, not on their first request
        (a client that cannot be built yet, e.g. with a key unset, answers 500 when asked)."""
        from llmkit.catalog import default_catalog

        default_catalog()
        for name in self.config.clients if self.config is not None else ():
            with contextlib.suppress(Exception):
                self.router.target(name)

    # -- helpers the endpoints share --------------------------------------------------

    async def authenticate(self, request: HttpRequest) -> ApiKey:
        """The key of `request`'s `Authorization: Bearer`, or 401."""
        if self.open:
            return _ANONYMOUS
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise GatewayError(
                401, "Missing API key: send `Authorization: Bearer <key>`",
                type="authentication_error", code="missing_api_key",
            )  # fmt: skip
        known = digest(token)
        key = self.keys.get(known)
        if key is None and self.master_digest is not None and known == self.master_digest:
            key = ApiKey("master")
        if key is None and self.store is not None:
            key = await self.store.find(known)
        if key is None:
            raise GatewayError(
                401, "Invalid API key", type="authentication_error", code="invalid_api_key"
            )
        return key

    def require_master(self, request: HttpRequest) -> None:
        """401 unless `request` carries the master key."""
        header = request.headers.get("authorization", "")
        token = header.partition(" ")[2].strip()
        if self.master_digest is None or digest(token) != self.master_digest:
            raise GatewayError(
                401, "This endpoint needs the master key (server.master_key)",
                type="authentication_error", code="invalid_api_key",
            )  # fmt: skip

    async def read_json(self, request: HttpRequest) -> Any:
        """The body as JSON: 413 over `max_body_bytes`, 400 with the position when malformed."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks, size = [], 0
        async for piece in request.stream():
            size += len(piece)
            if size > limit:
                raise _too_large(limit)
            chunks.append(piece)
        data = b"".join(chunks)
        if not data:
            raise GatewayError(400, "The request body is empty: send a JSON object")
        try:
            return msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise GatewayError(
                400, f"The body is not valid JSON: {exc}", code="invalid_json"
            ) from None

    def headers(self, handled: Handled, *, overhead: float | None = None) -> dict[str, str]:
        """`x-request-id` and `x-llmkit-overhead-ms`."""
        seconds = handled.elapsed() if overhead is None else overhead
        return {
            "x-request-id": handled.request_id,
            "x-llmkit-overhead-ms": f"{max(seconds, 0.0) * 1000:.3f}",
        }

    def json(
        self, payload: Any, handled: Handled, *, status: int = 200, upstream: float = 0.0
    ) -> HttpResponse:
        """A JSON response with the gateway's headers (`upstream`: seconds not ours)."""
        body = msgspec.json.encode(payload)
        headers = self.headers(handled, overhead=handled.elapsed() - upstream)
        return HttpResponse(body, status, headers, media_type="application/json")

    def error(self, exc: BaseException, handled: Handled) -> HttpResponse:
        """The OpenAI-shaped answer to `exc`."""
        status, payload, extra = classify(exc)
        response = self.json(payload, handled, status=status)
        response.headers.update(extra)
        return response


def _too_large(limit: int) -> GatewayError:
    return GatewayError(
        413, f"The request body is over {limit} bytes (server.max_body_bytes)",
        code="request_too_large",
    )  # fmt: skip


Handler = Callable[[Gateway, HttpRequest, Handled], Awaitable[HttpResponse]]


def _endpoint(gateway: Gateway, name: str, handler: Handler) -> Callable[..., Any]:
    """Wrap `handler`: request id, errors as OpenAI bodies, metrics."""

    async def endpoint(request: HttpRequest) -> HttpResponse:
        sent = request.headers.get("x-request-id")
        request_id = sent if sent and _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        handled = Handled(request_id)
        try:
            response = await handler(gateway, request, handled)
        except Exception as exc:
            if isinstance(exc, GatewayError) and exc.param == "model":
                handled.model = "-"  # a name the caller made up: never a metric label
            response = gateway.error(exc, handled)
            if gateway.traced:
                annotate(handled, error_class(exc))
            gateway.metrics.reply(
                handled.labels(name), status=response.status_code, seconds=handled.elapsed(),
                error=error_class(exc),
            )  # fmt: skip
            return response
        if gateway.traced:
            annotate(handled)
        if not handled.streamed:
            gateway.metrics.reply(
                handled.labels(name), status=response.status_code, seconds=handled.elapsed(),
                usage=handled.usage, cost=handled.cost, cached=handled.cached,
            )  # fmt: skip
        return response

    return endpoint


# -- endpoints --------------------------------------------------------------------------


async def _chat(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    from llmkit.server.chat import chat_completions

    return await chat_completions(gateway, request, handled)


async def _models(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    key = await gateway.authenticate(request)
    handled.key = key.name
    created = int(time.time())
    data = [
        {"id": name, "object": "model", "created": created, "owned_by": "llmkit"}
        for name in gateway.router.names(key.models)
    ]
    return gateway.json({"object": "list", "data": data}, handled)


async def _embeddings(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    from llmkit.server.extras import embeddings

    return await embeddings(gateway, request, handled)


async def _tokenize(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    from llmkit.server.extras import tokenize

    return await tokenize(gateway, request, handled)


async def _keys(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    from llmkit.server.extras import keys_endpoint

    return await keys_endpoint(gateway, request, handled)


async def _liveness(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    return gateway.json({"status": "ok"}, handled)


async def _readiness(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    checks: dict[str, str] = {"config": "ok" if gateway.config is not None else "none (defaults)"}
    status = 200
    if gateway.redis is not None:
        try:
            with anyio.fail_after(2):
                await gateway.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            status, checks["redis"] = 503, f"unreachable ({type(exc).__name__})"
    body = {"status": "ok" if status == 200 else "unavailable", "checks": checks}
    return gateway.json(body, handled, status=status)


async def _metrics(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    await gateway.authenticate(request)
    return HttpResponse(gateway.metrics.render(), headers={"content-type": CONTENT_TYPE_LATEST})


def create_app(
    config: Config | None = None,
    *,
    registry: Registry | None = None,
    config_path: str | None = None,
    tracing: bool | None = None,
) -> Starlette:
    """The gateway as an ASGI app.

    Args:
        config: a loaded configuration (`llmkit.config.load_config`); by default the
            one `llmkit.load()` finds (`config_path`, `$LLMKIT_CONFIG`, `./llmkit.yaml` ...).
        registry: the registry to build clients from (default: one over `config`).
        config_path: where to look for the configuration when `config` is None.
        tracing: OpenTelemetry server spans per request (`llmkit.server.tracing`);
            None: on when `llmkit.instrument()` is in effect.

    Raises:
        ConfigurationError: the `server` block names unset variables, or the file is broken.
    """
    from llmkit.registry import Registry, load

    if registry is None:
        registry = Registry(config) if config is not None else load(config_path)
    if registry.default_sender is None and _has_aiohttp():
        registry.default_sender = "aiohttp"  # half the CPU per upstream call (docs/gateway.md)
    config = config if config is not None else registry.config
    gateway = Gateway(config, registry)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway.warm_up()
        yield
        # settles still under way, and those of streams the shutdown cut, before Redis closes
        await drain(
            gateway.pending, gateway.settings.drain_seconds, busy=lambda: gateway.streams > 0
        )
        await gateway.router.aclose()
        if gateway.redis is not None:
            await gateway.redis.aclose()

    def route(path: str, name: str, handler: Handler, methods: list[str]) -> Route:
        return Route(path, _endpoint(gateway, name, handler), methods=methods)

    routes = [
        route("/v1/chat/completions", "chat", _chat, ["POST"]),
        route("/chat/completions", "chat", _chat, ["POST"]),
        route("/v1/embeddings", "embeddings", _embeddings, ["POST"]),
        route("/v1/models", "models", _models, ["GET"]),
        route("/v1/tokenize", "tokenize", _tokenize, ["POST"]),
        route("/health/liveness", "health", _liveness, ["GET"]),
        route("/health/readiness", "health", _readiness, ["GET"]),
        route("/metrics", "metrics", _metrics, ["GET"]),
        route("/keys", "keys", _keys, ["GET", "POST"]),
        route("/keys/{name}", "keys", _keys, ["GET", "DELETE"]),
    ]
    middleware = []
    if gateway.settings.cors_origins:
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(gateway.settings.cors_origins),
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id", "x-llmkit-overhead-ms"],
            )
        )
    if tracing if tracing is not None else _instrumented():
        middleware.insert(0, tracing_middleware())  # outermost: the span covers all the rest
        gateway.traced = True
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.gateway = gateway
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(405, _not_allowed)
    return app


def _instrumented() -> bool:
    import sys

    otel = sys.modules.get("llmkit.otel")  # never imported here when nobody instrumented
    return otel is not None and bool(otel.is_instrumented())


def _has_aiohttp() -> bool:
    import importlib.util

    return importlib.util.find_spec("aiohttp") is not None


async def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    from llmkit.server.errors import error_body

    body = error_body(f"No endpoint {request.url.path}", "invalid_request_error", "not_found")
    return HttpResponse(msgspec.json.encode(body), 404, media_type="application/json")


async def _not_allowed(request: HttpRequest, exc: Exception) -> HttpResponse:
    from llmkit.server.errors import error_body

    body = error_body(
        f"{request.method} is not allowed on {request.url.path}", "invalid_request_error",
        "method_not_allowed",
    )  # fmt: skip
    return HttpResponse(msgspec.json.encode(body), 405, media_type="application/json")
