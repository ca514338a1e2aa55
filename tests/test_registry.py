"""The name registry: built-ins, did-you-mean, entry-point plugins, and configured registries."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import llmkit
from llmkit import registry
from llmkit.clients import DeepSeekClient, LlamaClient
from llmkit.config import ConfigWarning, validate_text
from llmkit.cost import Budget
from llmkit.errors import ConfigurationError
from llmkit.ratelimit import RateLimit
from llmkit.registry import Registry, parse_target
from llmkit.retry import RetryPolicy
from llmkit.testing import FakeProvider
from llmkit.timeouts import Timeouts


class AcmeProvider(FakeProvider):
    """A plugin's provider (any callable returning a Provider will do)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(name="acme")
        self.options = options


NOT_CALLABLE = 42


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[metadata.EntryPoint]]]:
    """Fake installed entry points, by group."""
    installed: dict[str, list[metadata.EntryPoint]] = {}
    monkeypatch.setattr(registry, "_entry_points", lambda group: installed.get(group, []))
    registry.reload_plugins()
    yield installed
    registry.reload_plugins()


def _entry(name: str, value: str, group: str = registry.PROVIDER_GROUP) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=value, group=group)


# -- names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("deepseek@groq", ("deepseek", "groq")),
        ("coder", ("coder", None)),
        ("@groq", (None, "groq")),
        (" claude@openrouter ", ("claude", "openrouter")),
    ],
)
def test_parse_target(spec: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_target(spec) == expected


@pytest.mark.parametrize("spec", ["", "@", "a@b@c"])
def test_parse_target_rejects_malformed_specs(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="CLIENT@PROVIDER"):
        parse_target(spec)


@pytest.mark.parametrize("name", sorted(registry.BUILTIN_PROVIDERS))
def test_every_builtin_provider_imports_and_names_itself(name: str) -> None:
    factory = registry.provider_factory(name)
    assert callable(factory)
    assert getattr(factory, "name", name).replace("-", "_") in (
        name,
        "base",
    )  # fake sets it per instance


@pytest.mark.parametrize("name", sorted(registry.BUILTIN_CLIENTS))
def test_every_builtin_family_imports_and_names_itself(name: str) -> None:
    assert registry.client_factory(name).family == name


def test_fake_is_a_registered_provider_and_replies_name_the_model() -> None:
    assert "fake" in registry.provider_names()
    client = llmkit.client("deepseek@fake")
    assert isinstance(client, DeepSeekClient) and isinstance(client.provider, FakeProvider)
    reply = client.generate_sync("hi")
    assert reply.text == f"[fake:{client.model}] You said: hi"


def test_the_one_line_form_takes_a_model() -> None:
    client = llmkit.client("llama@fake", model="my-own-llama")
    assert isinstance(client, LlamaClient) and client.model == "my-own-llama"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("deepseek@grok", "'grok' is not a provider (did you mean 'groq'?)"),
        ("deepsek@fake", "'deepsek' is not a client or model family (did you mean 'deepseek'?)"),
        ("deepseek", "'deepseek' names no provider: write deepseek@PROVIDER"),
        ("@fake", "names no model family"),
    ],
)
def test_unknown_names_say_the_closest(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        llmkit.client(spec)
    assert message in str(caught.value)


def test_the_hyphenated_provider_name_resolves() -> None:
    assert registry.provider_factory("openai-compatible") is registry.provider_factory(
        "openai_compatible"
    )


def test_register_provider_wins_and_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry._PROVIDERS.added, "mine", AcmeProvider)
    assert "mine" in registry.provider_names()
    provider = registry.provider("mine", base_url="http://x")
    assert isinstance(provider, AcmeProvider) and provider.options == {"base_url": "http://x"}


def test_register_client_adds_a_family(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def factory(**kwargs: Any) -> str:
        calls.append(kwargs)
        return "a client"

    registry.register_client("scribe", factory)
    try:
        assert llmkit.client("scribe@fake", model="m1") == "a client"
        assert calls[0]["model"] == "m1" and isinstance(calls[0]["provider"], FakeProvider)
    finally:
        registry._CLIENTS.added.pop("scribe")


# -- plugins ----------------------------------------------------------------------


def test_entry_point_plugins_are_found_and_loaded(plugins: dict[str, list[Any]]) -> None:
    plugins[registry.PROVIDER_GROUP] = [_entry("acme", f"{__name__}:AcmeProvider")]
    assert "acme" in registry.provider_names()
    client = llmkit.client("llama@acme", model="acme-1")
    assert isinstance(client.provider, AcmeProvider)
    assert client.generate_sync("yo").text == "[acme:acme-1] You said: yo"


def test_client_plugins_come_from_their_own_group(plugins: dict[str, list[Any]]) -> None:
    plugins[registry.CLIENT_GROUP] = [
        _entry("acme-chat", "tests.test_registry:_acme_client", registry.CLIENT_GROUP)
    ]
    assert "acme-chat" in registry.client_names()
    assert llmkit.client("acme-chat@fake") == ("acme-chat", "fake")


def _acme_client(*, provider: Any, **_: Any) -> tuple[str, str]:
    return ("acme-chat", provider.name)


def test_listing_names_does_not_import_plugins(plugins: dict[str, list[Any]]) -> None:
    plugins[registry.PROVIDER_GROUP] = [_entry("broken", "no_such_module_for_llmkit:Thing")]
    assert "broken" in registry.provider_names()  # no error: nothing was imported
    assert llmkit.client("llama@fake").provider.name == "fake"  # other names unaffected


def test_a_plugin_that_fails_to_load_says_which_and_why(plugins: dict[str, list[Any]]) -> None:
    plugins[registry.PROVIDER_GROUP] = [_entry("broken", "no_such_module_for_llmkit:Thing")]
    with pytest.raises(ConfigurationError) as caught:
        llmkit.client("llama@broken")
    text = str(caught.value)
    assert "provider plugin 'broken'" in text
    assert "no_such_module_for_llmkit:Thing" in text
    assert "failed to load: ModuleNotFoundError" in text
    assert "Reinstall or upgrade" in text


def test_a_plugin_that_is_not_callable_is_refused(plugins: dict[str, list[Any]]) -> None:
    plugins[registry.PROVIDER_GROUP] = [_entry("odd", f"{__name__}:NOT_CALLABLE")]
    with pytest.raises(ConfigurationError, match="is not callable"):
        registry.provider_factory("odd")


def test_builtin_names_win_over_plugins(plugins: dict[str, list[Any]]) -> None:
    plugins[registry.PROVIDER_GROUP] = [_entry("fake", "no_such_module_for_llmkit:Thing")]
    assert registry.provider_factory("fake") is FakeProvider
    assert registry.provider_names().count("fake") == 1


def test_plugins_are_looked_up_once_until_reloaded(
    plugins: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    looked: list[str] = []
    monkeypatch.setattr(registry, "_entry_points", lambda group: looked.append(group) or [])
    registry.reload_plugins()
    registry.provider_names()
    registry.provider_names()
    assert looked == [registry.PROVIDER_GROUP]


# -- a configured registry --------------------------------------------------------------

CONFIG = """
default_client: coder
providers:
  fake: {}
  second: {type: fake, options: {name: deepseek}}
  tuned:
    type: groq
    api_key: gsk_placeholder_not_real
    base_url: http://groq.test/v1
    timeout: {connect: 3, total: 40}
    retry: {max_attempts: 5}
    rate_limit: {requests_per_minute: 30}
clients:
  coder:
    family: deepseek
    provider: fake
    fallbacks: [second]
    defaults: {system: Be terse., temperature: 0.1, max_tokens: 99}
    budget: {limit_usd: 3, on_exceed: warn}
    context_strategy: keep_newest
  helper:
    family: llama
    provider: fake
"""


@pytest.fixture
def configured() -> Registry:
    result = validate_text(CONFIG, env={})
    assert result.ok, result.problems
    return Registry(result.config)


def test_configured_clients_get_their_settings(configured: Registry) -> None:
    coder = configured.client("coder")
    assert isinstance(coder, DeepSeekClient)
    assert coder.system == "Be terse." and coder.temperature == 0.1 and coder.max_tokens == 99
    assert isinstance(coder.budget, Budget) and coder.budget.limit_usd == 3
    assert coder.budget.on_exceed == "warn"
    assert [p.name for p in coder.fallbacks] == ["deepseek"]
    assert configured.client().system == "Be terse."  # default_client


def test_configured_providers_get_their_policies(configured: Registry) -> None:
    tuned: Any = configured.provider("tuned")
    assert tuned.base_url == "http://groq.test/v1"
    assert tuned.retry == RetryPolicy(max_attempts=5)
    assert isinstance(tuned.rate_limit, RateLimit) and tuned.rate_limit.requests_per_minute == 30
    assert tuned.timeouts == Timeouts(connect=3, total=40)


def test_one_provider_instance_is_shared_by_every_client(configured: Registry) -> None:
    assert configured.client("coder").provider is configured.client("helper").provider
    assert configured.provider("fake") is configured.provider("fake")


def test_a_configured_client_on_another_host(configured: Registry) -> None:
    moved = configured.client("coder@second")
    assert moved.provider.name == "deepseek" and moved.system == "Be terse."
    assert configured.client("coder", provider="second").provider is moved.provider


def test_families_work_alongside_configured_names(configured: Registry) -> None:
    assert isinstance(configured.client("llama@fake"), LlamaClient)
    assert configured.client("deepseek@second").provider is configured.provider("second")
    assert configured.provider_names()[:3] == ["fake", "second", "tuned"]
    assert configured.client_names() == ["coder", "helper"]


def test_unknown_names_offer_configured_ones_too(configured: Registry) -> None:
    with pytest.raises(
        ConfigurationError, match=r"'secnd' is not a provider \(did you mean 'second'\?\)"
    ):
        configured.provider("secnd")
    with pytest.raises(
        ConfigurationError,
        match=r"'codr' is not a client or model family \(did you mean 'coder'\?\)",
    ):
        configured.client("codr@fake")


def test_without_a_default_client_the_error_says_what_to_write() -> None:
    with pytest.raises(ConfigurationError, match="deepseek@fake"):
        Registry().client()


def test_a_provider_that_rejects_an_option_is_a_configuration_error() -> None:
    result = validate_text("providers:\n  odd: {type: fake, options: {colour: blue}}\n", env={})
    with pytest.raises(ConfigurationError, match=r"Cannot build provider 'odd'.*colour"):
        Registry(result.config).provider("odd")


def test_load_reads_the_file(tmp_path: Path) -> None:
    file = tmp_path / "llmkit.yaml"
    file.write_text(CONFIG)
    with pytest.warns(ConfigWarning, match="providers.tuned.api_key: a key is written in the file"):
        loaded = llmkit.load(file)
    assert loaded.config is not None and loaded.config.source == str(file)
    assert loaded.client("helper").generate_sync("x").text.endswith("You said: x")


SHARED_CONFIG = """
providers:
  groq:
    api_key: gsk_placeholder_not_real
    rate_limit: {requests_per_minute: 30, redis_url: "redis://127.0.0.1:6390/0"}
clients:
  team:
    family: deepseek
    provider: fake
    budget: {limit_usd: 5, redis_url: "redis://127.0.0.1:6390/1", redis_key: team-budget}
"""


def test_redis_url_shares_limits_and_budgets_across_processes() -> None:
    from llmkit.cost_redis import RedisBudgetBackend
    from llmkit.ratelimit.redis import RedisBackend

    result = validate_text(SHARED_CONFIG, env={})
    assert result.ok, result.problems
    registry = Registry(result.config)
    limit: Any = registry.provider("groq").rate_limit
    assert isinstance(limit.backend, RedisBackend)
    assert limit.backend.url == "redis://127.0.0.1:6390/0"
    assert limit.backend.prefix == "llmkit:ratelimit:{groq}"  # the entry name is the default key
    budget: Any = registry.client("team").budget
    assert isinstance(budget.backend, RedisBudgetBackend)
    assert budget.backend.url == "redis://127.0.0.1:6390/1"
    assert budget.backend.prefix == "llmkit:budget:{team-budget}"


def test_a_client_name_without_any_configuration_says_where_llmkit_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("LLMKIT_CONFIG", raising=False)
    monkeypatch.delenv("LLMKIT_PROFILE", raising=False)
    loaded = llmkit.load()
    assert loaded.config is None
    for name in ("coder", "coder@groq"):
        with pytest.raises(ConfigurationError) as info:
            loaded.client(name)
        message = info.value.message
        assert "no configuration file was found" in message, message
        assert str(tmp_path / "llmkit.yaml") in message
        assert str(tmp_path / "xdg" / "llmkit") in message
        assert "llmkit config init" in message
