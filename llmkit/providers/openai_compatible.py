"""The base of every OpenAI-compatible provider, and the provider for any such server.

llmkit speaks the wire format itself: the provider builds the URL, the headers
(`Authorization: Bearer`, attribution, `user-agent: llmkit/<version>`, the
caller's) and the body (the `openai_chat` codec), sends them with its pooled
`httpx2` client (or the caller's `httpx2` / `httpx` client) and the codec reads
the raw JSON or event stream straight into llmkit types. No vendor SDK is
imported. `sender="sdk"` sends through the host's SDK instead (its generic
`post(path, body=..., cast_to=<raw response>)`, retries off), with the same codec.

`OpenAICompatibleProvider(base_url=...)` reaches any server that speaks
`/chat/completions` (vLLM, LM Studio, llama.cpp, Together, Ollama's `/v1`).
Hosts with a class of their own (OpenAI, Groq, OpenRouter, DeepSeek,
Mistral, Azure OpenAI) only set configuration on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict

import attrs

from llmkit import _sync
from llmkit._imports import require
from llmkit.errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    LLMError,
    StreamError,
)
from llmkit.providers._base import DEFAULT, BaseProvider, ModelInfo, Sender
from llmkit.providers._codecs import openai_chat as codec
from llmkit.providers._codecs._errors_common import json_object
from llmkit.providers._codecs.openai_chat import Dialect
from llmkit.providers._pump import dumps as _dumps
from llmkit.providers._pump import pump
from llmkit.providers._transport import no_answer, transport_error
from llmkit.types import Embeddings, Request, Response, StreamEvent

if TYPE_CHECKING:
    from llmkit.ratelimit import RateLimit
    from llmkit.retry import RetryPolicy
    from llmkit.timeouts import Timeouts

__all__ = [
    "API_FIELD",
    "Api",
    "OpenAICompatibleOptions",
    "OpenAICompatibleProvider",
    "parse_models",
    "user_agent",
]

Api = Literal["chat", "responses"]
"""The wire API: Chat Completions (`/chat/completions`) or Responses (`/responses`)."""
API_FIELD = "llmkit_api"
"""A `Request.extra` key naming the API for one request (set by clients, never sent)."""


class OpenAICompatibleOptions(TypedDict, total=False):
    """The keyword arguments every OpenAI-compatible provider takes, declared once.

    Subclasses that add their own arguments take these as `**options`.
    """

    api_key: str | None
    base_url: str | None
    http_client: Any
    timeout: float | Timeouts | None
    retry: RetryPolicy | None
    rate_limit: RateLimit | None
    headers: Mapping[str, str] | None
    dialect: Dialect | None
    sender: Sender | None
    cache: Any
    api: Api


def user_agent() -> str:
    """The `user-agent` llmkit's own requests carry: `llmkit/<version>`."""
    import llmkit

    return f"llmkit/{llmkit.__version__}"


class OpenAICompatibleProvider(BaseProvider):
    """Any server with an OpenAI-compatible `/chat/completions`, spoken with `httpx2`.

    Example:
        provider = OpenAICompatibleProvider(base_url="http://localhost:8000/v1")  # vLLM
    """

    name: ClassVar[str] = "openai-compatible"
    api_key_env: ClassVar[str | None] = "OPENAI_COMPATIBLE_API_KEY"
    requires_api_key: ClassVar[bool] = False
    """Local servers (vLLM, LM Studio, llama.cpp) usually need no key."""
    default_dialect: ClassVar[Dialect] = Dialect()
    """How the host differs from OpenAI; `name` is filled in from the provider's."""
    chat_path: ClassVar[str] = "/chat/completions"
    responses_path: ClassVar[str] = "/responses"
    models_path: ClassVar[str] = "/models"
    sdk_module: ClassVar[str | None] = "openai"
    sdk_extra: ClassVar[str] = "openai"
    default_sender: ClassVar[Sender | None] = "httpx2"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: Any = None,
        timeout: float | Timeouts | None = DEFAULT,
        retry: RetryPolicy | None = DEFAULT,
        rate_limit: RateLimit | None = DEFAULT,
        headers: Mapping[str, str] | None = None,
        dialect: Dialect | None = None,
        sender: Sender | None = None,
        cache: Any = None,
        api: Api = "chat",
    ) -> None:
        """Configure the provider; nothing is sent yet.

        Args:
            api_key: the key; by default the host's environment variable.
            base_url: the API root, ending before `/chat/completions`.
            http_client: an `httpx2.AsyncClient` or `httpx.AsyncClient` to send with.
            timeout: seconds before a request with no answer fails, or a `Timeouts`.
            retry: a `RetryPolicy`; `None` turns retries off.
            rate_limit: a `RateLimit` shared by every client of this provider; by default
                one that paces by the host's rate-limit headers; `None` turns it off.
            headers: extra HTTP headers sent with every request (they win over llmkit's).
            dialect: how this server differs from OpenAI (by default the class's).
            sender: `"httpx2"` (the default): llmkit sends the request itself and no
                vendor SDK is imported; `"sdk"`: the host's SDK (`openai`, or `groq` for
                Groq) sends it, imported now, with `pip install 'llmkit[<extra>]'`.
            cache: a `llmkit.cache` backend for repeated requests (see docs/cache.md).
            api: `"chat"` (the default): `/chat/completions`; `"responses"`: OpenAI's
                Responses API (`/responses`, the `openai_responses` codec), where the
                server has it (OpenAI, Azure OpenAI, OpenRouter, xAI, DeepSeek).
        """
        if api not in ("chat", "responses"):
            raise ConfigurationError(
                f"api={api!r} is not a wire API; use 'chat' or 'responses'",
                provider=self.name,
            )
        self.api: Api = api
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            http_client=http_client,
            timeout=timeout,
            retry=retry,
            rate_limit=rate_limit,
            sender=sender,
            cache=cache,
        )
        if not self.base_url:
            raise ConfigurationError(
                f"{type(self).__name__} needs the server's address: pass "
                "`base_url=` (e.g. 'http://localhost:8000/v1' for vLLM)",
                provider=self.name,
            )
        self.dialect = dialect or attrs.evolve(self.default_dialect, name=self.name)
        self._headers = dict(headers or {})
        self._sent_headers: dict[str, str] | None = None
        self._call_timeout: tuple[float | None, ...] | None = None
        if http_client is not None:
            # a caller's client gets this provider's limits per request, as the SDKs do
            kwargs = self.timeouts.httpx_kwargs()
            self._call_timeout = tuple(kwargs[k] for k in ("connect", "read", "write", "pool"))

    # -- direct sending -----------------------------------------------------------

    def default_headers(self) -> dict[str, str]:
        """Headers sent with every request (attribution headers, the caller's own)."""
        return dict(self._headers)

    def url(self, path: str) -> str:
        """The full URL of an API path (`/models`)."""
        return self.base_url + path

    def model_url(self, path: str, model: str) -> str:
        """The URL of a request for `model` (`/chat/completions`, `/embeddings`).

        Here `base_url` + `path`; Azure's deployment path puts the model in the URL.
        """
        return self.base_url + path

    def auth_headers(self) -> dict[str, str]:
        """The authentication headers: `Authorization: Bearer <key>` when there is a key."""
        if not (self.requires_api_key or self.has_api_key):
            return {}
        return {"authorization": f"Bearer {self.api_key()}"}

    async def request_headers(self) -> dict[str, str]:
        """Every header of a request: auth, `user-agent`, content type, then the caller's.

        Built once (the key is read on the first call); the caller's headers replace
        llmkit's of the same name, whatever their case.
        """
        if self._sent_headers is None:
            self._sent_headers = self._merge_headers(self.auth_headers())
        return self._sent_headers

    def request_headers_sync(self) -> dict[str, str]:
        """Blocking twin of `request_headers`."""
        return _sync.run(self.request_headers)

    def _merge_headers(self, auth: Mapping[str, str]) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": user_agent(),
            **auth,
        }
        for name, value in self.default_headers().items():
            headers.pop(name.lower(), None)
            headers[name] = value
        return headers

    async def _send(self, method: str, path: str, body: Any, model: str | None) -> Any:
        """One request to `path` (for `model`, if given), its whole reply read.

        Raises:
            LLMError: the codec's error for an error status.
        """
        url = self.url(path) if model is None else self.model_url(path, model)
        content = _dumps(body) if body is not None else None
        headers = await self.request_headers()
        if self.sender == "aiohttp":
            response = await self._fetch(method, url, content=content, headers=headers)
            await response.aread()
        elif self._call_timeout is None:
            client = self.http_client()
            response = await client.request(method, url, content=content, headers=headers)
        else:
            response = await self.http_client().request(
                method, url, content=content, headers=headers, timeout=self._call_timeout
            )
        self._observe_headers(response.headers)
        if response.status_code >= 400:
            raise self._status_error(
                response.status_code, response.content, response.headers, model
            )
        return response

    async def _open_stream(self, body: Any, model: str, path: str | None = None) -> Any:
        """The streamed reply to a chat request, open (an error status raised, body read)."""
        headers = await self.request_headers()
        url = self.model_url(path or self.chat_path, model)
        if self.sender == "aiohttp":
            response = await self._fetch("POST", url, content=_dumps(body), headers=headers)
        else:
            client = self.http_client()
            extra = {} if self._call_timeout is None else {"timeout": self._call_timeout}
            request = client.build_request(
                "POST", url, content=_dumps(body), headers=headers, **extra
            )
            response = await client.send(request, stream=True)
        self._observe_headers(response.headers)
        if response.status_code >= 400:
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            raise self._status_error(response.status_code, content, response.headers, model)
        return response

    def _status_error(
        self, status: int, content: bytes, headers: Any, model: str | None
    ) -> LLMError:
        return codec.error_from_body(status, content, headers, provider=self.name, model=model)

    # -- the SDK sender -------------------------------------------------------------

    def _sdk(self) -> Any:
        # Held in a namespace: the SDK's close() would close a caller's http_client too.
        slot = self._loop_resource("sdk", lambda: SimpleNamespace(client=self._build_sdk()))
        return slot.client

    def _build_sdk(self) -> Any:
        return self._make_sdk(self.api_key(), self.http_client())

    def _make_sdk(self, api_key: str, http_client: Any) -> Any:
        """The SDK client for this loop; subclasses with another SDK override this."""
        openai = require("openai", extra="openai")
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url,
            http_client=http_client,
            max_retries=0,
            timeout=self.timeout,
            default_headers=self.default_headers() or None,
        )

    def _raw_response_type(self) -> type[Any]:
        """What to pass as `cast_to` so the SDK hands back the raw HTTP response."""
        import httpx2

        return httpx2.Response

    async def _sdk_post(self, path: str, body: Any, *, stream: bool = False) -> Any:
        response = await self._sdk().post(
            path, body=body, cast_to=self._raw_response_type(), stream=stream
        )
        self._observe_headers(response.headers)
        return response

    # -- calls ------------------------------------------------------------------

    def _wire(self, request: Request) -> tuple[Any, str, Request]:
        """The codec and path for `request`: the provider's `api`, or a client's choice
        (`extra[API_FIELD]`, taken out of the request here)."""
        api = self.api
        if API_FIELD in request.extra:
            extra = dict(request.extra)
            api = extra.pop(API_FIELD)
            request = attrs.evolve(request, extra=extra)
        if api == "responses":
            from llmkit.providers._codecs import openai_responses

            return openai_responses, self.responses_path, request
        return codec, self.chat_path, request

    async def _complete(self, request: Request) -> Response:
        wire, path, request = self._wire(request)
        body = wire.to_params(request, self.dialect)
        with self._map_errors(request.model):
            if self.sender == "sdk":
                response = await self._sdk_post(path, body)
            else:
                response = await self._send("POST", path, body, request.model)
        return wire.parse_reply(self._json(response, request.model), provider=self.name)  # type: ignore[no-any-return]

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        wire, path, request = self._wire(request)
        body = wire.to_params(request, self.dialect, stream=True)
        with self._map_errors(request.model):
            if self.sender == "sdk":
                response = await self._sdk_post(path, body, stream=True)
            else:
                response = await self._open_stream(body, request.model, path)
        parser = wire.StreamParser(
            provider=self.name, model=request.model, status=response.status_code
        )
        try:
            with self._map_errors(request.model, streaming=True):
                # the body is read to its end after [DONE], so the connection goes back
                # to the pool (a body closed early takes its connection with it)
                async for event in pump(_undecoded(response), parser):
                    yield event
        except (APIConnectionError, APITimeoutError, StreamError):
            if not parser.done or parser.error is not None:
                raise
            # the reply was complete: a connection lost while draining costs nothing
            for event in parser.flush():
                yield event

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Vectors for `inputs` from `POST /embeddings`, one per input (`llmkit.embeddings`)."""
        from llmkit.providers import _embed

        return await _embed.openai_style(
            self, inputs, model=model, kind=kind, dimensions=dimensions
        )

    async def list_models(self) -> list[ModelInfo]:
        """The models the host lists at `GET /models`."""
        with self._map_errors(None):
            if self.sender == "sdk":
                response = await self._sdk().get(
                    self.models_path, cast_to=self._raw_response_type()
                )
                self._observe_headers(response.headers)
            else:
                response = await self._send("GET", self.models_path, None, None)
        return parse_models(self._json(response, None), provider=self.name)

    def _json(self, response: Any, model: str | None) -> Any:
        """The reply's JSON object; an empty, malformed or HTML body is `InvalidResponseError`."""
        return json_object(
            response.content, provider=self.name, model=model, status=response.status_code
        )

    # -- errors -----------------------------------------------------------------

    @contextmanager
    def _map_errors(self, model: str | None, *, streaming: bool = False) -> Iterator[None]:
        """Translate the SDK's and the HTTP library's exceptions into llmkit's."""
        try:
            yield
        except LLMError:
            raise
        except Exception as exc:
            sdk = sys.modules.get(self.sdk_module or "") if self.sender == "sdk" else None
            error = self._translate(exc, sdk, model, streaming)
            if error is None:
                raise
            raise error from exc

    def _translate(
        self, exc: Exception, sdk: ModuleType | None, model: str | None, streaming: bool
    ) -> LLMError | None:
        where: dict[str, Any] = {"provider": self.name, "model": model}
        if sdk is not None and isinstance(exc, sdk.APIStatusError):
            response = exc.response
            self._observe_headers(response.headers)
            return codec.error_from_body(
                response.status_code, _error_body(response), response.headers, **where
            )
        if sdk is not None and isinstance(exc, sdk.APITimeoutError):
            return self._no_answer(exc, model, timeout=True)
        if sdk is not None and isinstance(exc, sdk.APIConnectionError):
            return self._no_answer(exc.__cause__ or exc.__context__ or exc, model, timeout=False)
        if streaming and _is_http_error(exc, "TransportError"):
            if _is_http_error(exc, "TimeoutException"):
                return self._no_answer(exc, model, timeout=True)
            return StreamError(
                f"the {self.name} stream broke ({type(exc).__name__}: {exc}); "
                "what arrived is in `.partial`",
                retryable=True,
                **where,
            )
        return transport_error(
            exc,
            provider=self.name,
            model=model,
            where=f"{self.name} at {self.base_url}",
            timeout_hint=f"no answer within {self.timeout}s: retry, or raise `timeout=`",
        )

    def _no_answer(self, exc: BaseException, model: str | None, *, timeout: bool) -> LLMError:
        return no_answer(
            exc,
            timeout=timeout,
            provider=self.name,
            model=model,
            where=f"{self.name} at {self.base_url}",
            timeout_hint=f"no answer within {self.timeout}s: retry, or raise `timeout=`",
        )


class _Undecoded:
    """A streamed response whose `aiter_bytes()` is its `aiter_raw()`.

    For a body with no `content-encoding` the content decoders of `aiter_bytes`
    do nothing but cost ~1 µs per chunk; the bytes are the same.
    """

    __slots__ = ("aclose", "aiter_bytes")

    def __init__(self, response: Any) -> None:
        self.aiter_bytes = response.aiter_raw
        self.aclose = response.aclose


def _undecoded(response: Any) -> Any:
    """`response`, or an `_Undecoded` view of it when its body has no content encoding
    and is still to be read from the network (a body already in memory stays as it is)."""
    encoding = response.headers.get("content-encoding")
    if encoding and encoding.strip().lower() != "identity":
        return response
    if getattr(response, "is_stream_consumed", True) or not hasattr(response, "aiter_raw"):
        return response
    return _Undecoded(response)


def _is_http_error(exc: Exception, name: str) -> bool:
    """Whether `exc` is `httpx2.<name>` or `httpx.<name>` (without importing httpx)."""
    for module_name in ("httpx2", "httpx"):
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, getattr(module, name)):
            return True
    return False


def _error_body(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text
    except Exception:  # the body could not be read (closed stream): the status still counts
        return ""


def parse_models(body: Any, *, provider: str) -> list[ModelInfo]:
    """`ModelInfo`s from a `GET /models` reply (OpenAI, Groq, OpenRouter, Mistral shapes)."""
    items = body.get("data") if isinstance(body, Mapping) else body
    models = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping) or not item.get("id"):
            continue
        window = (
            item.get("context_window")  # Groq
            or item.get("context_length")  # OpenRouter
            or item.get("max_context_length")  # Mistral
        )
        created = item.get("created")
        shutdown = _iso_date(item.get("shutdown_date"))  # OpenAI lists retirement dates
        models.append(
            ModelInfo(
                id=str(item["id"]),
                provider=provider,
                owned_by=item.get("owned_by"),
                context_window=window if isinstance(window, int) else None,
                created=created if isinstance(created, int) else None,
                shutdown_date=shutdown,
            )
        )
    return models


def _iso_date(value: Any) -> str | None:
    """An ISO date from a date string or a Unix timestamp."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC).date().isoformat()
    return str(value) if value else None
