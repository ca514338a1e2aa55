"""The shape of an llmkit configuration file: attrs classes, and the converter that fills them.

Every key a file may hold is a field below, with its docstring; `docs/configuration.md`
is the same reference in prose. Pure data: no file reading, no environment, no
providers built here (`llmkit.config` reads files; `llmkit.registry` builds from these).
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs
from attrs import field, frozen

from llmkit._hints import did_you_mean

__all__ = [
    "BudgetConfig",
    "ClientConfig",
    "Config",
    "DefaultsConfig",
    "ProviderConfig",
    "RateLimitConfig",
    "RetryConfig",
    "ServerBudgetConfig",
    "ServerConfig",
    "ServerKeyConfig",
    "ServerRateLimitConfig",
    "TimeoutsConfig",
    "out_of_range",
    "structure",
    "unknown_keys",
]

SECRET_KEYS = frozenset(
    {"api_key", "key", "token", "secret", "password", "authorization", "master_key"}
)
"""Keys whose values are secrets, wherever they appear: masked by `config show`, never quoted."""


@frozen
class RetryConfig:
    """`providers.<name>.retry`: how failed calls are retried (`llmkit.retry.RetryPolicy`)."""

    max_attempts: int | None = None
    """Attempts in all, the first included; 1 turns retries off (default 3)."""
    base_delay: float | None = None
    """Seconds of the first backoff, doubled each attempt, with full jitter (default 0.5)."""
    max_delay: float | None = None
    """Cap on one backoff sleep, in seconds (default 8)."""
    deadline: float | None = None
    """Seconds after the first attempt when no new attempt starts (default: none)."""


@frozen
class TimeoutsConfig:
    """`providers.<name>.timeout` as a mapping: a limit per phase (`llmkit.timeouts.Timeouts`)."""

    connect: float | None = None
    """Opening the connection (default 10)."""
    first_token: float | None = None
    """From sending a stream request to its first event with content (default: none)."""
    idle: float | None = None
    """Longest gap between two stream events with content (default: none)."""
    total: float | None = None
    """One attempt from start to end (default 600)."""


@frozen
class RateLimitConfig:
    """`providers.<name>.rate_limit`: limits shared by every client of the provider."""

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_concurrency: int | None = None
    """Requests in flight at once."""
    redis_url: str | None = None
    """Share this limit with every process that uses the same Redis (`redis://host:6379/0`);
    default: this process only."""
    redis_key: str | None = None
    """The limit's name in Redis; processes with the same key share it (default: the provider's
    entry name)."""


@frozen
class ProviderConfig:
    """`providers.<name>`: one host, under a name clients refer to."""

    type: str | None = None
    """The provider type (`groq`, `openrouter`, `openai_compatible`, a plugin's name ...);
    defaults to the entry's own name."""
    api_key: str | None = field(default=None, repr=False)  # never in a repr, once expanded
    """The key; write `${VAR}` rather than the key itself. Default: the host's usual variable."""
    base_url: str | None = None
    """The API root (needed for `openai_compatible`; default: the host's public endpoint)."""
    timeout: float | TimeoutsConfig | None = None
    """Seconds one attempt may take in all (default 600), or a mapping of `TimeoutsConfig`."""
    retry: RetryConfig | None = None
    rate_limit: RateLimitConfig | None = None
    options: dict[str, Any] = field(factory=dict)
    """Further keyword arguments for the provider's constructor, passed as written."""


@frozen
class DefaultsConfig:
    """`clients.<name>.defaults`: request settings used when a call does not give its own."""

    system: str | None = None
    """A system prompt put first in every conversation (a conversation's own wins)."""
    temperature: float | None = None
    max_tokens: int | None = None
    """The most output tokens a reply may take."""


@frozen
class BudgetConfig:
    """`clients.<name>.budget`: a spending limit in USD (`llmkit.budget.Budget`)."""

    limit_usd: float
    """The most this client may spend, in USD."""
    on_exceed: Literal["raise", "warn"] = "raise"
    """`raise` refuses a request that could cross the limit (`BudgetExceededError`);
    `warn` lets it through with a `BudgetWarning`."""
    warn_at: float | None = 0.8
    """The fraction of the limit at which to warn once; null never warns."""
    allow_unpriced: bool = False
    """Let through requests whose cost cannot be priced from the catalog."""
    redis_url: str | None = None
    """Share this budget with every process that uses the same Redis; default: this process."""
    redis_key: str | None = None
    """The budget's name in Redis (default: the client's entry name)."""


@frozen
class ClientConfig:
    """`clients.<name>`: a model client on a provider, under a name of your choice."""

    provider: str
    """A name under `providers`, or a built-in provider (`groq`, `fake`, ...)."""
    family: str | None = None
    """The model family (`deepseek`, `claude`, `gpt4`, ...); defaults to the entry's own name."""
    model: str | None = None
    """The model to ask for; default: the family's newest model on the provider."""
    fallbacks: tuple[str, ...] = ()
    """Providers to try in order when the main one fails with a retryable error."""
    defaults: DefaultsConfig = field(factory=DefaultsConfig)
    budget: BudgetConfig | None = None
    context_strategy: Literal["keep_newest", "drop_middle"] | None = None
    """What to do with a prompt too long for the context window: refuse it (default),
    or truncate it keeping the newest turns or dropping the middle ones."""
    options: dict[str, Any] = field(factory=dict)
    """Further keyword arguments for the client's constructor, passed as written."""


@frozen
class ServerRateLimitConfig:
    """`server.keys.<name>.rate_limit`: one key's limits (`llmkit.ratelimit.RateLimit`)."""

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    concurrency: int | None = None
    """Requests of this key in flight at once."""


@frozen
class ServerBudgetConfig:
    """`server.keys.<name>.budget`: what one key may spend (`llmkit.budget.Budget`)."""

    limit_usd: float
    """The most this key may spend in one period, in USD."""
    period: Literal["day", "week", "month", "total"] = "total"
    """The budget starts afresh each UTC day, ISO week or month; `total` never does."""


@frozen
class ServerKeyConfig:
    """`server.keys.<name>`: one API key of the gateway (`llmkit serve`), by name."""

    key: str | None = field(default=None, repr=False)
    """The key itself; write `${VAR}`. Or give `key_sha256` instead."""
    key_sha256: str | None = None
    """The SHA-256 hex digest of the key, so that the file never holds the key."""
    models: tuple[str, ...] | None = None
    """The model names this key may use (configured clients, `family@provider`,
    `provider/model-id`); all when left out."""
    budget: ServerBudgetConfig | None = None
    rate_limit: ServerRateLimitConfig | None = None
    metadata: dict[str, Any] = field(factory=dict)
    """Free-form labels (team, owner), shown by `/keys`."""


@frozen
class ServerConfig:
    """`server`: the OpenAI-compatible gateway `llmkit serve` (see docs/gateway.md)."""

    master_key: str | None = field(default=None, repr=False)
    """The key that may mint, list and revoke keys at `/keys`; write `${VAR}`."""
    redis_url: str | None = None
    """Share limits, budgets and minted keys with every replica on this Redis."""
    key_store: str | None = None
    """A SQLite file for minted keys when there is no Redis (default: in memory)."""
    keys: dict[str, ServerKeyConfig] = field(factory=dict)
    """API keys by name; with none (and no master key), the gateway needs no key."""
    max_body_bytes: int = 4_000_000
    """The largest request body accepted (413 above)."""
    max_messages: int = 1000
    """The most messages one chat request may hold."""
    cors_origins: tuple[str, ...] = ()
    """Origins browsers may call from (`*` for any); none by default (CORS off)."""
    drain_seconds: float = 30.0
    """On shutdown, how long streams in flight may take to finish."""


@frozen
class Config:
    """A whole configuration file."""

    version: Literal[1] = 1
    """The file format version."""
    default_client: str | None = None
    """The client commands use when none is named: a name under `clients`, or `family@provider`."""
    providers: dict[str, ProviderConfig] = field(factory=dict)
    clients: dict[str, ClientConfig] = field(factory=dict)
    server: ServerConfig | None = None
    """The gateway's settings (`llmkit serve`)."""
    source: str | None = None
    """Where the file was read from (set by the loader, not a key)."""
    unset: dict[str, tuple[str, ...]] = field(factory=dict)
    """Per entry (`providers.groq`, `clients.coder`), the `${VAR}`s it names that were not
    set, as messages (set by the loader, not a key). The entry's settings that use them
    are left out; building that provider or client raises (`check_resolved`), nothing else does."""

    def check_resolved(self, section: str, name: str) -> None:
        """Raise when entry `name` of `section` (`providers`, `clients`) names unset variables.

        Raises:
            ConfigurationError: listing each unset variable, and how to set it.
        """
        missing = self.unset.get(f"{section}.{name}")
        if missing:
            from llmkit.errors import ConfigurationError

            where = f" in {self.source}" if self.source else ""
            raise ConfigurationError(
                f"{section}.{name}{where} cannot be used: " + "; ".join(missing)
            )


_NOT_KEYS = {"source", "unset"}
_REFERENCES = {"type", "base_url", "provider", "family", "fallbacks"}
_FREE_FORM = {"options", "extra"}


# -- value ranges ---------------------------------------------------------------------

_Rule = tuple[Callable[[float], bool], str]


def _positive(value: float) -> bool:
    return value > 0  # False for NaN too


def _at_least(low: float) -> Callable[[float], bool]:
    return lambda value: value >= low


def _between(low: float, high: float) -> Callable[[float], bool]:
    return lambda value: low <= value <= high


_POSITIVE_SECONDS: _Rule = (
    _positive,
    "must be a positive number of seconds (omit it for no limit)",
)
_RULES: dict[tuple[type, str], _Rule] = {
    (RetryConfig, "max_attempts"): (_at_least(1), "must be at least 1 (1 turns retries off)"),
    (RetryConfig, "base_delay"): (_at_least(0), "must be 0 or more seconds"),
    (RetryConfig, "max_delay"): (_at_least(0), "must be 0 or more seconds"),
    (RetryConfig, "deadline"): _POSITIVE_SECONDS,
    (TimeoutsConfig, "connect"): _POSITIVE_SECONDS,
    (TimeoutsConfig, "first_token"): _POSITIVE_SECONDS,
    (TimeoutsConfig, "idle"): _POSITIVE_SECONDS,
    (TimeoutsConfig, "total"): _POSITIVE_SECONDS,
    (ProviderConfig, "timeout"): _POSITIVE_SECONDS,
    (RateLimitConfig, "requests_per_minute"): (_positive, "must be a positive number"),
    (RateLimitConfig, "tokens_per_minute"): (_positive, "must be a positive number"),
    (RateLimitConfig, "max_concurrency"): (_at_least(1), "must be at least 1"),
    (DefaultsConfig, "temperature"): (_between(0, 2), "must be between 0 and 2"),
    (DefaultsConfig, "max_tokens"): (_at_least(1), "must be at least 1"),
    (BudgetConfig, "limit_usd"): (_at_least(0), "must be 0 or more (USD)"),
    (ServerBudgetConfig, "limit_usd"): (_at_least(0), "must be 0 or more (USD)"),
    (ServerRateLimitConfig, "requests_per_minute"): (_positive, "must be a positive number"),
    (ServerRateLimitConfig, "tokens_per_minute"): (_positive, "must be a positive number"),
    (ServerRateLimitConfig, "concurrency"): (_at_least(1), "must be at least 1"),
    (ServerConfig, "max_body_bytes"): (_at_least(1), "must be at least 1 (bytes)"),
    (ServerConfig, "max_messages"): (_at_least(1), "must be at least 1"),
    (ServerConfig, "drain_seconds"): (_at_least(0), "must be 0 or more seconds"),
    (BudgetConfig, "warn_at"): (
        lambda value: 0 < value <= 1,
        "must be a fraction of the limit above 0 and at most 1 (0.8 warns at 80%), or null",
    ),
}
"""What each number may be; checked when a file is validated, so that a bad value is
reported with its path instead of failing when a provider or client is built."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def out_of_range(data: Any, cls: type = Config, path: str = "") -> list[tuple[str, str]]:
    """`(path, message)` for every number in `data` outside what its key allows, at any depth.

    Values of the wrong type are left to `structure`, which reports them.
    """
    if not isinstance(data, Mapping):
        return []
    found: list[tuple[str, str]] = []
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in hints or key in _FREE_FORM or key in _NOT_KEYS:
            continue
        rule = _RULES.get((cls, str(key)))
        if rule is not None and _is_number(value):
            allowed, message = rule
            if math.isnan(value) or not allowed(value):
                found.append((where, message))
            continue
        tp = hints[key]
        if (inner := _attrs_class(tp)) is not None:
            found.extend(out_of_range(value, inner, where))
        elif (inner := _dict_value_class(tp)) is not None and isinstance(value, Mapping):
            for name, entry in value.items():
                found.extend(out_of_range(entry, inner, f"{where}.{name}"))
    return found


def _attrs_class(tp: Any) -> type | None:
    """The attrs class inside `tp` (`X`, `X | None`), if any."""
    if typing.get_origin(tp) is dict:
        return None
    for candidate in (tp, *typing.get_args(tp)):
        if isinstance(candidate, type) and attrs.has(candidate):
            return candidate
    return None


def _dict_value_class(tp: Any) -> type | None:
    if typing.get_origin(tp) is dict:
        return _attrs_class(typing.get_args(tp)[1])
    return None


def unknown_keys(data: Any, cls: type = Config, path: str = "") -> list[tuple[str, str]]:
    """`(path, message)` for every key in `data` that `cls` does not know, at any depth."""
    if not isinstance(data, Mapping):
        return []
    found: list[tuple[str, str]] = []
    hints = typing.get_type_hints(cls)
    known = [a.name for a in attrs.fields(cls) if a.name not in _NOT_KEYS]
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in known:
            found.append((where, f"unknown key{did_you_mean(str(key), known)}; it is ignored"))
            continue
        if key in _FREE_FORM:
            continue
        tp = hints[key]
        if (inner := _attrs_class(tp)) is not None:
            found.extend(unknown_keys(value, inner, where))
        elif (inner := _dict_value_class(tp)) is not None and isinstance(value, Mapping):
            for name, entry in value.items():
                found.extend(unknown_keys(entry, inner, f"{where}.{name}"))
    return found


# -- structuring ----------------------------------------------------------------

_converter: Any = None


def _strict_str(value: Any, _: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("expected a string")
    return str(value)


def _strict_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return float(value)


def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected a whole number")
    return value


def _strict_bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _strict_dict(value: Any, _: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("expected a mapping")
    return dict(value)


def _strings(value: Any, _: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple):
        raise ValueError("expected a list of strings")
    return tuple(_strict_str(item, str) for item in value)


def _is_literal(tp: Any) -> bool:
    origin: Any = typing.get_origin(tp)
    return origin is Literal


def _literal(value: Any, tp: Any) -> Any:
    choices = typing.get_args(tp)
    if value in choices and not isinstance(value, bool):
        return value
    names = ", ".join(repr(choice) for choice in choices)
    hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else ""
    raise ValueError(f"expected one of {names}{hint}")


def _timeout_hook(conv: Any) -> Any:
    def structure_timeout(value: Any, _: Any) -> float | TimeoutsConfig | None:
        if value is None:
            return None
        if isinstance(value, Mapping):
            return conv.structure(value, TimeoutsConfig)  # type: ignore[no-any-return]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number of seconds, or a mapping (connect, total ...)")
        return float(value)

    return structure_timeout


def _get_converter() -> Any:
    global _converter
    if _converter is None:  # cattrs on first use: `import llmkit` stays light
        import cattrs

        conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
        conv.register_structure_hook(str, _strict_str)
        conv.register_structure_hook(float, _strict_float)
        conv.register_structure_hook(int, _strict_int)
        conv.register_structure_hook(bool, _strict_bool)
        conv.register_structure_hook_func(lambda t: t == dict[str, Any], _strict_dict)
        conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _strings)
        conv.register_structure_hook_func(_is_literal, _literal)
        conv.register_structure_hook_func(
            lambda t: t == (float | TimeoutsConfig | None), _timeout_hook(conv)
        )
        _converter = conv
    return _converter


def _describe(exc: BaseException, tp: Any) -> str:
    """One line for one structuring failure; never quotes the offending value."""
    if isinstance(exc, KeyError):
        return "required key is missing"
    if isinstance(exc, ValueError) and str(exc).startswith("expected"):
        return str(exc)
    if typing.get_origin(tp) is Literal:
        return "expected one of " + ", ".join(repr(v) for v in typing.get_args(tp))
    if _attrs_class(tp) is not None or typing.get_origin(tp) is dict:
        return "expected a mapping of keys"
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
    for candidate in (tp, *typing.get_args(tp)):
        if candidate in names:
            return f"expected {names[candidate]}"
    return "invalid value"


_INDEX = re.compile(r"\['([^']*)'\]")


def _clean_path(path: str) -> str:
    path = _INDEX.sub(r".\1", path)
    return path.removeprefix("$").removeprefix(".")


def _structure_one(data: Any, cls: type, path: str) -> tuple[Any, list[tuple[str, str]]]:
    import cattrs

    try:
        return _get_converter().structure(data, cls), []
    except cattrs.BaseValidationError as exc:
        problems = []
        for line in cattrs.transform_error(exc, path="$", format_exception=_describe):
            message, _, where = line.rpartition(" @ ")
            where = _clean_path(where)
            problems.append((".".join(part for part in (path, where) if part), message))
        return None, problems


def structure(data: Any) -> tuple[Config, list[tuple[str, str]]]:
    """`data` as a `Config`, and `(path, message)` for every problem found.

    Each provider and client is structured on its own, so that one bad entry does
    not hide the others' problems; the `Config` holds the entries that were valid.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return Config(), [("", "the file must hold a mapping of keys (providers:, clients:)")]
    problems: list[tuple[str, str]] = []
    sections: dict[str, dict[str, Any]] = {}
    for key, cls in (("providers", ProviderConfig), ("clients", ClientConfig)):
        section = data.get(key) or {}
        sections[key] = {}
        if not isinstance(section, Mapping):
            problems.append((key, "expected a mapping of names to settings"))
            continue
        for name, entry in section.items():
            value, found = _structure_one({} if entry is None else entry, cls, f"{key}.{name}")
            problems.extend(found)
            problems.extend(out_of_range(entry, cls, f"{key}.{name}"))
            if value is None and isinstance(entry, Mapping):
                # Keep the names it refers to, so that they are checked too.
                names = {k: v for k, v in entry.items() if k in _REFERENCES}
                value, _ = _structure_one(names, cls, "")
            if value is not None:
                sections[key][str(name)] = value
    top = {k: data[k] for k in ("version", "default_client") if k in data}
    config, found = _structure_one(top, Config, "")
    problems.extend(found)
    config = config or Config()
    server, found = _structure_server(data.get("server"))
    problems.extend(found)
    return (
        Config(
            config.version,
            config.default_client,
            providers=sections["providers"],
            clients=sections["clients"],
            server=server,
        ),
        problems,
    )


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _structure_server(data: Any) -> tuple[ServerConfig | None, list[tuple[str, str]]]:
    """The `server:` block, and its problems (each key needs exactly one of key, key_sha256)."""
    if data is None:
        return None, []
    server, problems = _structure_one(data, ServerConfig, "server")
    problems.extend(out_of_range(data, ServerConfig, "server"))
    keys = data.get("keys") if isinstance(data, Mapping) else None
    for name, entry in (keys or {}).items() if isinstance(keys, Mapping) else ():
        if not isinstance(entry, Mapping):
            continue
        where = f"server.keys.{name}"
        has_key, digest = bool(entry.get("key")), entry.get("key_sha256")
        if has_key == bool(digest):
            problems.append((where, "give exactly one of key (write ${VAR}) or key_sha256"))
        elif isinstance(digest, str) and not _SHA256.fullmatch(digest.lower()):
            problems.append((f"{where}.key_sha256", "expected 64 hexadecimal digits"))
    return (server if not problems else None), problems
