"""Model names to llmkit clients: what `model` in a request routes to.

A name is, in this order: a configured client (`coder`), `family@provider`
(`claude@anthropic`, through the registry, so configured providers and their
limits apply), or `provider/host-model-id` (`groq/openai/gpt-oss-120b`: the
provider itself, with the host's id sent verbatim). Each target is built once and
kept: the client's fallbacks, retries, cache, context checks and budget apply to
every request that names it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from attrs import define

from llmkit.errors import ConfigurationError, LLMError
from llmkit.server import announce
from llmkit.server.errors import GatewayError
from llmkit.types import Message, Request

if TYPE_CHECKING:
    from llmkit.catalog import CatalogEntry, Prices
    from llmkit.clients import ModelClient
    from llmkit.embeddings import EmbeddingClient
    from llmkit.providers import Provider
    from llmkit.providers._stream import ResponseStream
    from llmkit.registry import Registry
    from llmkit.types import Cost, Response

__all__ = ["Router", "Target"]


@define
class Target:
    """What one model name routes to: a client, or a provider and a host model id."""

    name: str
    provider: Provider
    client: ModelClient | None = None
    model_id: str | None = None
    entry: CatalogEntry | None = None
    """A provider target's catalog entry, when the catalog knows the host's id (its prices)."""

    @property
    def provider_name(self) -> str:
        """The provider's name, for metrics."""
        return str(self.provider.name)

    @property
    def prices(self) -> Prices | None:
        """The catalog's prices for this target's model, where known."""
        if self.client is None:
            return self.entry.prices if self.entry is not None else None
        try:
            return self.client.entry.prices
        except Exception:  # an unknown model: no prices
            return None

    def cost(self, response: Response) -> Cost | None:
        """What `response` cost: the client's (or host's) figure, else the usage at the
        catalog's prices (a provider target's replies carry none of their own)."""
        if response.cost is not None or self.client is not None:
            return response.cost
        from llmkit.cost import price_usage

        return price_usage(response.usage, self.prices)

    def request(self, messages: tuple[Message, ...], options: dict[str, Any]) -> Request:
        """The request for rate-limit estimates (and, for a provider target, to send)."""
        model = self.model_id or (self.client.model if self.client is not None else self.name)
        return Request(model, messages, **options)

    async def generate(
        self, messages: tuple[Message, ...], options: dict[str, Any], request: Request | None = None
    ) -> Response:
        """The whole reply (`request`: `self.request(messages, options)`, if already built)."""
        if self.client is not None:
            return await self.client.generate(messages, **options)
        request = request or self.request(messages, options)
        announce.started(self.provider, request, streaming=False)
        try:
            response = await self.provider.complete(request)
        except LLMError as error:
            announce.failed(self.provider, request, error)
            raise
        announce.finished(self.provider, request, response, self.cost)
        return response

    def stream(
        self, messages: tuple[Message, ...], options: dict[str, Any], request: Request | None = None
    ) -> ResponseStream:
        """The reply as a stream (`request`: `self.request(messages, options)`, if built)."""
        if self.client is not None:
            return self.client.stream(messages, **options)
        request = request or self.request(messages, options)
        announce.started(self.provider, request, streaming=True)
        return self.provider.stream(request)

    def stream_ended(
        self, request: Request | None, response: Response | None, failure: BaseException | None
    ) -> None:
        """A stream of `self.stream(..., request)` ended: a provider target announces how
        (`llmkit.server.announce`; a client announces its own)."""
        if self.client is not None or request is None:
            return
        if isinstance(failure, LLMError):
            announce.failed(self.provider, request, failure)
        elif response is not None:
            announce.finished(self.provider, request, response, self.cost)


class Router:
    """Builds and keeps the target of each model name."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._targets: dict[str, Target] = {}
        self._embedders: dict[str, EmbeddingClient] = {}

    def target(self, name: str) -> Target:
        """The target of `name`.

        Raises:
            GatewayError: 404 when the name routes nowhere.
        """
        found = self._targets.get(name)
        if found is None:
            found = self._targets[name] = self._build(name)
        return found

    def _build(self, name: str) -> Target:
        registry = self.registry
        config = registry.config
        try:
            if (config is not None and name in config.clients) or "@" in name:
                client = registry.client(name)
                return Target(name, client.provider, client=client)
            host, slash, model_id = name.partition("/")
            if slash and model_id and host in registry.provider_names():
                from llmkit.catalog import find

                provider = registry.provider(host)
                return Target(
                    name, provider, model_id=model_id, entry=find(provider.name, model_id)
                )
        except GatewayError:
            raise
        except ConfigurationError as exc:
            if _unknown(exc):
                raise _not_found(name) from None
            raise
        raise _not_found(name)

    def embedder(self, name: str) -> EmbeddingClient:
        """The embedding client for `name`: `provider` (the catalog's model) or `provider/model`."""
        found = self._embedders.get(name)
        if found is None:
            from llmkit.embeddings import EmbeddingClient

            host, _, model_id = name.partition("/")
            if host not in self.registry.provider_names():
                raise _not_found(name, what="embedding model")
            try:
                provider = self.registry.provider(host)
                found = EmbeddingClient(provider, model_id or None)
            except ConfigurationError as exc:
                raise GatewayError(
                    404, exc.message, code="model_not_found", param="model"
                ) from None
            self._embedders[name] = found
        return found

    def names(self, allowed: frozenset[str] | None) -> list[str]:
        """The model names to list for a key (its allow-list, else the configured clients)."""
        if allowed is not None:
            return sorted(allowed)
        from llmkit.registry import client_names

        config = self.registry.config
        names = list(config.clients) if config is not None else []
        if not names:  # no configuration: the offline families
            names = [f"{family}@fake" for family in client_names()]
        return names

    async def aclose(self) -> None:
        """Close every provider the registry built."""
        await self.registry.aclose()


def _unknown(exc: ConfigurationError) -> bool:
    text = exc.message
    return any(
        part in text
        for part in ("is not a client", "is not a provider", "names no", "is not a model family")
    )


def _not_found(name: str, *, what: str = "model") -> GatewayError:
    return GatewayError(
        404,
        f"The {what} '{name}' does not exist on this gateway; GET /v1/models lists the "
        "names this key may use (a configured client, family@provider, or provider/model-id)",
        code="model_not_found",
        param="model",
    )


def now() -> int:
    """Unix seconds, for `created`."""
    return int(time.time())
