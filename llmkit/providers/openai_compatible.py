"""The base of every OpenAI-compatible provider, and the provider for any such server.

The vendor SDK sends the request (auth, base URL, headers, its error
classes) through its generic `post(path, body=..., cast_to=<raw response>)`,
so no typed SDK object is built: the `openai_chat` codec writes the body and
reads the raw JSON or event stream straight into llmkit types. SDK retries
are off; llmkit's own policy governs every host.

`OpenAICompatibleProvider(base_url=...)` reaches any server that speaks
`/chat/completions` (vLLM, LM Studio, llama.cpp, Together, Ollama's `/v1`).
Hosts with a class of their own (OpenAI, Groq, OpenRouter, DeepSeek,
Mistral) only set configuration on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import aclosing, contextmanager
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from llmkit._imports import require
from llmkit.errors import (
    ConfigurationError,
    InvalidResponseError,
    LLMError,
    StreamError,
)
from llmkit.providers._base import DEFAULT, BaseProvider, ModelInfo
from llmkit.providers._codecs.openai_chat import Dialect, parse_completion, to_params
from llmkit.providers._codecs.openai_chat_errors import error_from_body
from llmkit.providers._codecs.openai_chat_stream import ChatStreamParser
from llmkit.providers._codecs.sse import SSEDecoder
from llmkit.providers._transport import no_answer
from llmkit.types import Embeddings, Request, Response, StreamEvent

if TYPE_CHECKING:
    from llmkit.ratelimit import RateLimit
    from llmkit.retry import RetryPolicy
    from llmkit.timeouts import Timeouts

__all__ = ["OpenAICompatibleProvider", "parse_models"]


class OpenAICompatibleProvider(BaseProvider):
    """Any server with an OpenAI-compatible `/chat/completions`, through the `openai` SDK.

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
    sdk_module: ClassVar[str | None] = "openai"
    sdk_extra: ClassVar[str] = "openai"

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
    ) -> None:
        """Configure the provider; nothing is sent and no SDK is imported yet.

        Args:
            api_key: the key; by default the host's environment variable.
            base_url: the API root, ending before `/chat/completions`.
            http_client: an `httpx2.AsyncClient` or `httpx.AsyncClient` to send with.
            timeout: seconds before a request with no answer fails.
            retry: a `RetryPolicy`; `None` turns retries off.
            rate_limit: a `RateLimit` shared by every client of this provider; by default
                one that paces by the host's rate-limit headers; `None` turns it off.
            headers: extra HTTP headers sent with every request.
            dialect: how this server differs from OpenAI (by default the class's).
        """
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            http_client=http_client,
            timeout=timeout,
            retry=retry,
            rate_limit=rate_limit,
        )
        if not self.base_url:
            raise ConfigurationError(
                f"{type(self).__name__} needs the server's address: pass "
                "`base_url=` (e.g. 'http://localhost:8000/v1' for vLLM)",
                provider=self.name,
            )
        self.dialect = dialect or attrs.evolve(self.default_dialect, name=self.name)
        self._headers = dict(headers or {})

    # -- the SDK ----------------------------------------------------------------

    def default_headers(self) -> dict[str, str]:
        """Headers sent with every request (attribution headers, the caller's own)."""
        return dict(self._headers)

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

    # -- calls ------------------------------------------------------------------

    async def _complete(self, request: Request) -> Response:
        body = to_params(request, self.dialect)
        with self._map_errors(request.model):
            response = await self._sdk().post(
                self.chat_path, body=body, cast_to=self._raw_response_type()
            )
        self._observe_headers(response.headers)
        return parse_completion(self._json(response, request.model), provider=self.name)

    async def _stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        body = to_params(request, self.dialect, stream=True)
        with self._map_errors(request.model):
            response = await self._sdk().post(
                self.chat_path, body=body, cast_to=self._raw_response_type(), stream=True
            )
        self._observe_headers(response.headers)
        parser = ChatStreamParser(
            provider=self.name, model=request.model, status=response.status_code
        )
        decoder = SSEDecoder()
        try:
            with self._map_errors(request.model, streaming=True):
                # closed here when [DONE] stops it, not later by a finaliser task per stream
                async with aclosing(response.aiter_bytes()) as chunks:
                    async for chunk in chunks:
                        for sse in decoder.feed(chunk):
                            for event in parser.feed(sse):
                                yield event
                        if parser.error is not None or parser.done:
                            break
            if parser.error is None and not parser.done:
                for sse in decoder.flush():
                    for event in _unterminated(parser, sse, request.model):
                        yield event
            for event in parser.finish():
                yield event
        finally:
            await response.aclose()

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

        return await _embed.openai_style(self, inputs, model=model, kind=kind, dimensions=dimensions)

    async def list_models(self) -> list[ModelInfo]:
        """The models the host lists at `GET /models`."""
        with self._map_errors(None):
            response = await self._sdk().get("/models", cast_to=self._raw_response_type())
        self._observe_headers(response.headers)
        return parse_models(self._json(response, None), provider=self.name)

    def _json(self, response: Any, model: str | None) -> Any:
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise InvalidResponseError(
                f"{self.name} sent a reply that is not JSON: {response.text[:200]!r}",
                provider=self.name,
                model=model,
                status_code=response.status_code,
                body=response.text,
            ) from exc

    # -- errors -----------------------------------------------------------------

    @contextmanager
    def _map_errors(self, model: str | None, *, streaming: bool = False) -> Iterator[None]:
        """Translate the SDK's and the HTTP library's exceptions into llmkit's."""
        try:
            yield
        except LLMError:
            raise
        except Exception as exc:
            sdk = sys.modules.get(self.sdk_module or "")
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
            return error_from_body(
                response.status_code, _error_body(response), response.headers, **where
            )
        timeout_sdk = sdk is not None and isinstance(exc, sdk.APITimeoutError)
        if timeout_sdk or _is_http_error(exc, "TimeoutException"):
            return self._no_answer(exc, model, timeout=True)
        if sdk is not None and isinstance(exc, sdk.APIConnectionError):
            return self._no_answer(exc.__cause__ or exc.__context__ or exc, model, timeout=False)
        if _is_http_error(exc, "TransportError"):
            if streaming:
                return StreamError(
                    f"the {self.name} stream broke ({type(exc).__name__}: {exc}); "
                    "what arrived is in `.partial`",
                    retryable=True,
                    **where,
                )
            return self._no_answer(exc, model, timeout=False)
        return None

    def _no_answer(self, exc: BaseException, model: str | None, *, timeout: bool) -> LLMError:
        return no_answer(
            exc,
            timeout=timeout,
            provider=self.name,
            model=model,
            where=f"{self.name} at {self.base_url}",
            timeout_hint=f"no answer within {self.timeout}s: retry, or raise `timeout=`",
        )


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


def _unterminated(parser: ChatStreamParser, sse: Any, model: str) -> list[StreamEvent]:
    """The events of a last SSE event that never got its closing blank line.

    SSE counts it (and the corpus does too), but if it does not parse, the body
    was cut in the middle of that event: a broken stream, worth retrying, not a
    host that answers garbage.
    """
    try:
        return parser.feed(sse)
    except InvalidResponseError as exc:
        raise StreamError(
            f"the {parser.provider} stream was cut in the middle of an event; "
            "what arrived is in `.partial`",
            provider=parser.provider,
            model=model,
            retryable=True,
        ) from exc
