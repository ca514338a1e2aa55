"""Providers and model clients by name: llmkit's own, yours, and plugins' through entry points.

    import llmkit

    client = llmkit.client("deepseek@openrouter")                  # family@provider
    client = llmkit.client("claude@openrouter", model="claude-sonnet-4-6")

Names resolve in this order: names registered in this process (`register_provider`,
`register_client`), llmkit's built-in names, then plugins: third-party packages declare
entry points in the groups `llmkit.providers` and `llmkit.clients`, loaded only when one
of their names is asked for (or when every name is listed)::

    [project.entry-points."llmkit.providers"]
    acme = "acme_llm:AcmeProvider"        # called with keyword options -> a Provider

    [project.entry-points."llmkit.clients"]
    acme-chat = "acme_llm:AcmeClient"     # called with provider=, model=, ... -> a client

A `Registry` adds the named providers and clients of a configuration file
(`llmkit.load()` builds one). Nothing here imports a provider until it is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any

from llmkit._hints import did_you_mean
from llmkit.errors import ConfigurationError

if TYPE_CHECKING:
    import os

    from llmkit._config_schema import ClientConfig, Config, ProviderConfig
    from llmkit.clients import ModelClient
    from llmkit.providers import Provider

__all__ = [
    "CLIENT_GROUP",
    "PROVIDER_GROUP",
    "Registry",
    "UnknownNameError",
    "client",
    "client_factory",
    "client_names",
    "load",
    "parse_target",
    "provider",
    "provider_factory",
    "provider_names",
    "provider_origin",
    "register_client",
    "register_provider",
    "reload_plugins",
]

PROVIDER_GROUP = "llmkit.providers"
CLIENT_GROUP = "llmkit.clients"

Factory = Callable[..., Any]

BUILTIN_PROVIDERS = {
    "anthropic": "llmkit.providers.anthropic:AnthropicProvider",
    "azure_openai": "llmkit.providers.azure_openai:AzureOpenAIProvider",
    "cohere": "llmkit.providers.cohere:CohereProvider",
    "deepseek": "llmkit.providers.deepseek:DeepSeekProvider",
    "fake": "llmkit.testing:FakeProvider",
    "gemini": "llmkit.providers.gemini:GeminiProvider",
    "groq": "llmkit.providers.groq:GroqProvider",
    "local": "llmkit.providers.local:TransformersProvider",
    "mistral": "llmkit.providers.mistral:MistralProvider",
    "ollama": "llmkit.providers.ollama:OllamaProvider",
    "openai": "llmkit.providers.openai:OpenAIProvider",
    "openai_compatible": "llmkit.providers.openai_compatible:OpenAICompatibleProvider",
    "openrouter": "llmkit.providers.openrouter:OpenRouterProvider",
    "voyage": "llmkit.providers.voyage:VoyageProvider",
}
"""Provider name → `module:attribute` of its class, imported on first use."""

BUILTIN_CLIENTS = {
    "claude": "llmkit.clients:ClaudeClient",
    "deepseek": "llmkit.clients:DeepSeekClient",
    "gemini": "llmkit.clients:GeminiClient",
    "gpt4": "llmkit.clients:GPT4Client",
    "llama": "llmkit.clients:LlamaClient",
    "mixtral": "llmkit.clients:MixtralClient",
    "qwen": "llmkit.clients:QwenClient",
}
"""Model family name → `module:attribute` of its client class."""


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    """The installed entry points of `group` (a seam for tests)."""
    return list(metadata.entry_points(group=group))


def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class UnknownNameError(ConfigurationError):
    """No provider or model family has this name (the message offers the closest one)."""


class _Names:
    """One kind of name (providers or clients): registered, built-in, then plugins."""

    def __init__(self, kind: str, group: str, builtin: dict[str, str]) -> None:
        self.kind = kind
        self.group = group
        self.builtin = builtin
        self.added: dict[str, Factory] = {}
        self._plugins: dict[str, metadata.EntryPoint] | None = None
        self._loaded: dict[str, Factory] = {}

    def plugins(self) -> dict[str, metadata.EntryPoint]:
        if self._plugins is None:
            found: dict[str, metadata.EntryPoint] = {}
            for entry in _entry_points(self.group):
                found.setdefault(entry.name, entry)  # the first installed wins
            self._plugins = found
        return self._plugins

    def names(self) -> list[str]:
        return sorted({*self.added, *self.builtin, *self.plugins()})

    def origin(self, name: str) -> str | None:
        name = name.replace("-", "_") if name.replace("-", "_") in self.builtin else name
        if name in self.added:
            return "registered"
        if name in self.builtin:
            return "built-in"
        if name in self.plugins():
            return "plugin"
        return None

    def get(self, name: str) -> Factory:
        alias = name.replace("-", "_")  # `openai-compatible`, as the provider calls itself
        if alias != name and name not in self.added and {*self.added, *self.builtin} & {alias}:
            name = alias
        if name in self.added:
            return self.added[name]
        if name in self._loaded:
            return self._loaded[name]
        if name in self.builtin:
            factory = _import(self.builtin[name])
        elif name in self.plugins():
            factory = self._load_plugin(name, self.plugins()[name])
        else:
            raise UnknownNameError(
                f"'{name}' is not a {self.kind}{did_you_mean(name, self.names())}; "
                f"known: {', '.join(self.names())}"
            )
        self._loaded[name] = factory
        return factory  # type: ignore[no-any-return]

    def _load_plugin(self, name: str, entry: metadata.EntryPoint) -> Factory:
        package = entry.dist.name if entry.dist is not None else "its package"
        try:
            factory = entry.load()
        except Exception as exc:
            raise ConfigurationError(
                f"The {self.kind} plugin '{name}' ({entry.value}, from {package}) failed to "
                f"load: {type(exc).__name__}: {exc}. Reinstall or upgrade {package}, "
                f"or uninstall it to hide this name."
            ) from exc
        if not callable(factory):
            raise ConfigurationError(
                f"The {self.kind} plugin '{name}' ({entry.value}, from {package}) is not "
                f"callable; an entry point in '{self.group}' must name a class or a function."
            )
        return factory  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._plugins = None
        self._loaded.clear()


_PROVIDERS = _Names("provider", PROVIDER_GROUP, BUILTIN_PROVIDERS)
_CLIENTS = _Names("model family", CLIENT_GROUP, BUILTIN_CLIENTS)


def register_provider(name: str, factory: Factory) -> None:
    """Make `name` build providers with `factory(**options)` (wins over built-ins)."""
    _PROVIDERS.added[name] = factory


def register_client(name: str, factory: Factory) -> None:
    """Make `name` build clients with `factory(provider=..., model=..., **options)`."""
    _CLIENTS.added[name] = factory


def provider_names() -> list[str]:
    """Every provider name: registered, built-in and plugins (plugins are not imported)."""
    return _PROVIDERS.names()


def provider_origin(name: str) -> str | None:
    """Where provider type `name` comes from: `registered`, `built-in`, `plugin`, or None."""
    return _PROVIDERS.origin(name)


def client_names() -> list[str]:
    """Every model family name: registered, built-in and plugins."""
    return _CLIENTS.names()


def provider_factory(name: str) -> Factory:
    """The class (or function) that builds provider `name`; imports it (or its plugin)."""
    return _PROVIDERS.get(name)


def client_factory(name: str) -> Factory:
    """The class (or function) that builds clients of family `name`."""
    return _CLIENTS.get(name)


def reload_plugins() -> None:
    """Forget discovered plugins, so that packages installed since are seen."""
    _PROVIDERS.reset()
    _CLIENTS.reset()


def parse_target(spec: str) -> tuple[str | None, str | None]:
    """`"deepseek@openrouter"` → `("deepseek", "openrouter")`; `"coder"` → `("coder", None)`."""
    spec = spec.strip()
    family, at, host = spec.partition("@")
    if not spec or "@" in host or (at and not (family or host)):
        raise ConfigurationError(
            f"'{spec}' is not a client: write CLIENT@PROVIDER, e.g. deepseek@openrouter"
        )
    return family or None, host or None


def provider(name: str, **options: Any) -> Provider:
    """A new provider of type `name`, built with `options` (`api_key=`, `base_url=`, ...)."""
    return provider_factory(name)(**options)  # type: ignore[no-any-return]


def client(spec: str, *, model: str | None = None, **options: Any) -> ModelClient:
    """A model client from `"family@provider"`, with llmkit's names only (no config file).

    Args:
        spec: `deepseek@openrouter`, `claude@openrouter`, `llama@fake` ...
        model: the model to ask for, over the family's default for that provider.
        options: further keyword arguments for the client's constructor.

    Raises:
        ConfigurationError: an unknown family or provider (with the closest name).
    """
    return Registry().client(spec, model=model, **options)


def load(path: str | os.PathLike[str] | None = None, *, name: str | None = None) -> Registry:
    """The registry of a configuration file: `load().client("coder")`, `.provider("groq")`.

    The file's provider types and model families are checked against this registry's
    names (`provider_names()`, `client_names()`). With no file found, the registry holds
    llmkit's built-in names only (`load().client("deepseek@fake")` still works).

    Raises:
        ConfigFileError: the file has problems (all of them are listed).
    """
    from llmkit.config import load_config

    found = load_config(path, name=name, provider_types=provider_names(), families=client_names())
    return Registry(found)


class Registry:
    """Named providers and clients: a configuration's, then llmkit's and plugins' names.

    Each provider is built once and shared by every client that names it, so its
    rate limits hold across them.
    """

    def __init__(self, config: Config | None = None, *, default_sender: str | None = None) -> None:
        """Args:
        config: a checked configuration (`llmkit.config.load_config`), or None.
        default_sender: the `sender` of the HTTP providers this registry builds whose
            configuration names none and passes no `http_client` (`llmkit serve` uses
            `"aiohttp"`); None: each provider's own default.
        """
        self.config = config
        self.default_sender = default_sender
        self._providers: dict[str, Provider] = {}

    def __repr__(self) -> str:
        source = self.config.source if self.config else None
        return f"Registry(source={source!r})"

    # -- names -----------------------------------------------------------------

    def provider_names(self) -> list[str]:
        """Configured provider names, then every other provider type."""
        configured = list(self.config.providers) if self.config else []
        return configured + [n for n in provider_names() if n not in configured]

    def client_names(self) -> list[str]:
        """Configured client names (use a family as `family@provider`)."""
        return list(self.config.clients) if self.config else []

    @property
    def default_client(self) -> str | None:
        """The client commands use when none is named."""
        return self.config.default_client if self.config else None

    # -- providers -------------------------------------------------------------

    def provider_config(self, name: str) -> ProviderConfig | None:
        """The configuration entry for provider `name`, if the file has one."""
        return self.config.providers.get(name) if self.config else None

    def provider(self, name: str) -> Provider:
        """The provider called `name` (built once, then shared)."""
        if name not in self._providers:
            entry = self.provider_config(name)
            kind = (entry.type if entry else None) or name
            try:
                factory = provider_factory(kind)
            except UnknownNameError:
                if entry is not None:
                    raise
                known = self.provider_names()
                raise UnknownNameError(
                    f"'{name}' is not a provider{did_you_mean(name, known)}; "
                    f"known: {', '.join(known)}"
                ) from None
            if entry is not None and self.config is not None:
                self.config.check_resolved("providers", name)
            options = _provider_options(entry, name) if entry else {}
            if self.default_sender is not None and _takes_sender(factory, options):
                options["sender"] = self.default_sender
            self._providers[name] = _build(factory, options, f"provider '{name}'")
        return self._providers[name]

    def name_of(self, provider: Provider) -> str:
        """The name `provider` has in this registry (`local`), else its type's (`provider.name`).

        For display: a configured `local: {type: openai_compatible}` shows as `local`,
        not as the internal `openai-compatible`.
        """
        for name, built in self._providers.items():
            if built is provider:
                return name
        return provider.name

    # -- clients ---------------------------------------------------------------

    def client(
        self,
        name: str | None = None,
        *,
        model: str | None = None,
        provider: str | None = None,
        **options: Any,
    ) -> ModelClient:
        """A model client: a configured name (`coder`) or `family@provider`.

        Args:
            name: a client under `clients:`, or `family@provider`; by default the
                configuration's `default_client`.
            model: the model to ask for, over the configured one.
            provider: a provider name to use instead of the configured one.
            options: further keyword arguments for the client's constructor.
        """
        name = name or self.default_client
        if not name:
            raise ConfigurationError(
                "No client named: give one as CLIENT@PROVIDER (e.g. deepseek@fake), "
                "or set default_client in the configuration"
            )
        entry = self.config.clients.get(name) if self.config else None
        if entry is not None:
            return self._configured_client(name, entry, model, provider, options)
        family, host = parse_target(name)
        host = provider or host
        if family is None:
            family = self.default_client and parse_target(self.default_client)[0]
        if family is None or host is None:
            raise ConfigurationError(_missing_part(name, family, self))
        if family in self.client_names():  # `coder@openrouter`: a configured client on another host
            return self.client(family, model=model, provider=host, **options)
        if family not in client_names():
            choices = [*self.client_names(), *client_names()]
            raise ConfigurationError(
                f"'{family}' is not a client or model family{did_you_mean(family, choices)}; "
                f"known: {', '.join(choices)}{_no_configuration(self)}"
            )
        kwargs = {"provider": self.provider(host), **options}
        if model is not None:
            kwargs["model"] = model
        built = _build(client_factory(family), kwargs, f"client '{name}'")
        return built  # type: ignore[no-any-return]

    def _configured_client(
        self,
        name: str,
        entry: ClientConfig,
        model: str | None,
        provider: str | None,
        options: dict[str, Any],
    ) -> ModelClient:
        if self.config is not None:
            self.config.check_resolved("clients", name)
        kwargs = _client_options(entry, name, model=model)
        kwargs["provider"] = self.provider(provider or entry.provider)
        if entry.fallbacks:
            kwargs["fallbacks"] = [self.provider(f) for f in entry.fallbacks]
        kwargs.update(options)
        built = _build(client_factory(entry.family or name), kwargs, f"client '{name}'")
        return built  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Close every provider this registry built."""
        for built in self._providers.values():
            await built.aclose()
        self._providers.clear()


def _no_configuration(registry: Registry) -> str:
    """`; no configuration file was found (looked in ...)`, when the registry has none."""
    if registry.config is not None:
        return ""
    from llmkit.config import search_path

    places = ", ".join(str(place) for place in search_path())
    return (
        f"; no configuration file was found (looked in: {places}); "
        "write one with `llmkit config init`"
    )


def _missing_part(spec: str, family: str | None, registry: Registry) -> str:
    if family is not None and family not in client_names() and registry.config is None:
        return (
            f"'{spec}' is not a model family, and there is no configured client of that name"
            f"{_no_configuration(registry)}, or write FAMILY@PROVIDER (e.g. deepseek@fake)"
        )
    if family is None:
        return f"'{spec}' names no model family: write FAMILY@PROVIDER, e.g. deepseek@fake"
    configured = registry.client_names()
    hint = did_you_mean(family, configured) if configured else ""
    return (
        f"'{spec}' names no provider{hint}: write {family}@PROVIDER "
        f"(providers: {', '.join(registry.provider_names())})"
    )


def _takes_sender(factory: Factory, options: dict[str, Any]) -> bool:
    """Whether a registry's `default_sender` applies: an llmkit HTTP provider whose options
    choose neither a sender, an `http_client`, nor a cloud platform (which signs with its SDK)."""
    from llmkit.providers._base import BaseProvider

    return (
        isinstance(factory, type)
        and issubclass(factory, BaseProvider)
        and not {"sender", "http_client"} & options.keys()
        and options.get("platform", "anthropic") == "anthropic"
    )


def _build(factory: Factory, kwargs: dict[str, Any], what: str) -> Any:
    try:
        return factory(**kwargs)
    except ConfigurationError:
        raise
    except TypeError as exc:
        raise ConfigurationError(f"Cannot build {what}: {exc}") from exc


def _provider_options(entry: ProviderConfig, name: str) -> dict[str, Any]:
    """Constructor keywords for a configured provider (settings left out keep their default)."""
    options: dict[str, Any] = {}
    if entry.api_key:
        options["api_key"] = entry.api_key
    if entry.base_url:
        options["base_url"] = entry.base_url
    if isinstance(entry.timeout, float):
        options["timeout"] = entry.timeout
    elif entry.timeout is not None:
        from llmkit.timeouts import Timeouts

        options["timeout"] = Timeouts(
            **{k: v for k, v in _asdict(entry.timeout).items() if v is not None}
        )
    if entry.retry is not None:
        from llmkit.retry import RetryPolicy

        fields = {k: v for k, v in _asdict(entry.retry).items() if v is not None}
        options["retry"] = RetryPolicy(**fields)
    if entry.rate_limit is not None:
        options["rate_limit"] = _rate_limit(entry, name)
    options.update(entry.options)
    return options


def _rate_limit(entry: ProviderConfig, name: str) -> Any:
    from llmkit.ratelimit import RateLimit

    assert entry.rate_limit is not None
    fields = {k: v for k, v in _asdict(entry.rate_limit).items() if v is not None}
    url, key = fields.pop("redis_url", None), fields.pop("redis_key", None)
    if url is not None:
        from llmkit.ratelimit.redis import RedisBackend

        fields["backend"] = RedisBackend(url, key=key or name)
    return RateLimit(**fields)


def _client_options(entry: ClientConfig, name: str, *, model: str | None) -> dict[str, Any]:
    """Constructor keywords for a configured client."""
    options: dict[str, Any] = {}
    if model or entry.model:
        options["model"] = model or entry.model
    options.update({k: v for k, v in _asdict(entry.defaults).items() if v is not None})
    if entry.budget is not None:
        from llmkit.budget import Budget

        fields = _asdict(entry.budget)
        url, key = fields.pop("redis_url", None), fields.pop("redis_key", None)
        if url is not None:
            from llmkit.cost_redis import RedisBudgetBackend

            fields["backend"] = RedisBudgetBackend(url, key=key or name)
        options["budget"] = Budget(**fields)
    if entry.context_strategy is not None:
        options["context_strategy"] = entry.context_strategy
    options.update(entry.options)
    return options


def _asdict(value: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(value, recurse=False)
