"""Configuration files: structure, `${VAR}`, every problem at once, secrets, discovery."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from llmkit import config
from llmkit import registry as registry_module
from llmkit._config_schema import BudgetConfig, TimeoutsConfig
from llmkit.config import ConfigWarning, Problem, interpolate, validate_text
from llmkit.errors import ConfigurationError
from llmkit.registry import Registry

PROVIDER_TYPES = ["anthropic", "fake", "groq", "openai_compatible", "openrouter"]
FAMILIES = ["claude", "deepseek", "llama"]

GOOD = """
version: 1
default_client: coder
providers:
  groq:
    api_key: ${GROQ_KEY}
    timeout: 30
    retry: {max_attempts: 5, base_delay: 0.25}
    rate_limit: {requests_per_minute: 30, max_concurrency: 4}
  local:
    type: openai_compatible
    base_url: ${LOCAL_URL:-http://localhost:8000/v1}
    timeout: {connect: 2, first_token: 20}
  fake: {}
clients:
  coder:
    family: deepseek
    provider: fake
    fallbacks: [groq, local]
    defaults: {system: Be terse., temperature: 0.2, max_tokens: 300}
    budget: {limit_usd: 2.5, on_exceed: warn}
  claude:
    provider: anthropic
    model: claude-sonnet-4-6
"""


def check(text: str, env: dict[str, str] | None = None) -> config.Validation:
    return validate_text(
        text, source="test.yaml", env=env or {}, provider_types=PROVIDER_TYPES, families=FAMILIES
    )


def test_a_good_file_structures_into_typed_settings() -> None:
    result = check(GOOD, {"GROQ_KEY": "gsk_secretsecretsecret"})
    assert result.ok, result.problems
    cfg = result.config
    assert cfg is not None and cfg.default_client == "coder" and cfg.source == "test.yaml"
    groq = cfg.providers["groq"]
    assert groq.api_key == "gsk_secretsecretsecret"
    assert groq.timeout == 30.0
    assert groq.retry is not None and groq.retry.max_attempts == 5 and groq.retry.base_delay == 0.25
    assert groq.rate_limit is not None and groq.rate_limit.max_concurrency == 4
    local = cfg.providers["local"]
    assert local.base_url == "http://localhost:8000/v1"
    assert local.timeout == TimeoutsConfig(connect=2.0, first_token=20.0)
    coder = cfg.clients["coder"]
    assert coder.fallbacks == ("groq", "local")
    assert coder.defaults.max_tokens == 300 and coder.defaults.system == "Be terse."
    assert coder.budget == BudgetConfig(limit_usd=2.5, on_exceed="warn")
    assert cfg.clients["claude"].family is None  # the entry's name is the family
    assert result.warnings == ()


BROKEN = """
default_client: codr
providers:
  groq:
    api_key: ${GROQ_KEY}
    timeout: soon
    rate_limits: {requests_per_minute: 30}
    retry: {max_attempts: many}
  local:
    type: openai_compatibl
  bare:
    type: openai_compatible
clients:
  coder:
    family: deepseek
    provider: grok
    fallbacks: [openroutr]
    defaults: {temperature: warm, max_tokens: 1.5}
    budget: {limit_usd: 5, on_exceed: explode}
  writer:
    family: clod
    provider: fake
    modle: x
  nohost:
    family: llama
"""


def test_a_broken_file_reports_every_problem_with_its_path() -> None:
    result = check(BROKEN)
    assert not result.ok and result.config is None
    found = {p.path: p.message for p in result.problems}
    assert found == {
        "providers.groq.api_key": "environment variable GROQ_KEY is not set "
        "(set it, or write ${GROQ_KEY:-default})",
        "providers.groq.timeout": "expected a number of seconds, or a mapping (connect, total ...)",
        "providers.groq.retry.max_attempts": "expected a whole number",
        "providers.local.type": "unknown provider type 'openai_compatibl' "
        "(did you mean 'openai_compatible'?)",
        "providers.bare.base_url": "required for type openai_compatible",
        "clients.coder.provider": "unknown provider 'grok' (did you mean 'groq'?)",
        "clients.coder.fallbacks[0]": "unknown provider 'openroutr' (did you mean 'openrouter'?)",
        "clients.coder.defaults.temperature": "expected a number",
        "clients.coder.defaults.max_tokens": "expected a whole number",
        "clients.coder.budget.on_exceed": "expected one of 'raise', 'warn'",
        "clients.writer.family": "unknown model family 'clod' (did you mean 'claude'?)",
        "clients.nohost.provider": "required key is missing",
        "default_client": "unknown client 'codr' (did you mean 'coder'?)",
    }
    assert all(p.source == "test.yaml" for p in result.problems)
    assert str(result.problems[0]).startswith("test.yaml: providers.groq.api_key: ")


def test_unknown_keys_are_warnings_with_the_closest_key() -> None:
    result = check(BROKEN)
    warned = {p.path: p.message for p in result.warnings}
    assert warned["providers.groq.rate_limits"] == (
        "unknown key (did you mean 'rate_limit'?); it is ignored"
    )
    assert warned["clients.writer.modle"] == "unknown key (did you mean 'model'?); it is ignored"


def test_unknown_top_level_and_nested_timeout_keys_warn() -> None:
    result = check("colour: blue\nproviders:\n  groq: {timeout: {conect: 3}}\n")
    assert result.ok
    assert [p.path for p in result.warnings] == ["colour", "providers.groq.timeout.conect"]


def test_options_are_free_form() -> None:
    result = check("providers:\n  groq: {options: {anything: 1, at: {all: 2}}}\n")
    assert result.ok and result.warnings == ()
    assert result.config is not None
    assert result.config.providers["groq"].options == {"anything": 1, "at": {"all": 2}}


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ("providers: [groq]", "providers", "expected a mapping of names to settings"),
        ("- a\n- b\n", "", "the file must hold a mapping of keys (providers:, clients:)"),
        ("version: 2", "version", "expected one of 1"),
        ("providers: {groq: {timeout: true}}", "providers.groq.timeout", "expected a number"),
        ("providers: {groq: {base_url: [x]}}", "providers.groq.base_url", "expected a string"),
        (
            "clients: {c: {provider: fake, family: llama, budget: {limit_usd: 1, allow_unpriced: yes-ish}}}",
            "clients.c.budget.allow_unpriced",
            "expected true or false",
        ),
    ],
)
def test_shape_problems(text: str, path: str, message: str) -> None:
    result = check(text)
    assert any(p.path == path and p.message.startswith(message) for p in result.problems), (
        result.problems
    )


OUT_OF_RANGE = """
providers:
  groq:
    timeout: -5
    retry: {max_attempts: 0, base_delay: -1, max_delay: -2, deadline: 0}
    rate_limit: {requests_per_minute: -3, tokens_per_minute: 0, max_concurrency: 0}
  local:
    type: openai_compatible
    base_url: http://localhost:8000/v1
    timeout: {connect: 0, first_token: -1, idle: .nan, total: -600}
clients:
  coder:
    family: deepseek
    provider: groq
    context_strategy: keep_newst
    defaults: {temperature: 9, max_tokens: -4}
    budget: {limit_usd: -1, warn_at: 5}
"""


def test_values_out_of_range_are_all_reported_with_their_paths() -> None:
    result = check(OUT_OF_RANGE)
    assert not result.ok and result.config is None
    found = {p.path: p.message for p in result.problems}
    assert set(found) == {
        "providers.groq.timeout",
        "providers.groq.retry.max_attempts",
        "providers.groq.retry.base_delay",
        "providers.groq.retry.max_delay",
        "providers.groq.retry.deadline",
        "providers.groq.rate_limit.requests_per_minute",
        "providers.groq.rate_limit.tokens_per_minute",
        "providers.groq.rate_limit.max_concurrency",
        "providers.local.timeout.connect",
        "providers.local.timeout.first_token",
        "providers.local.timeout.idle",
        "providers.local.timeout.total",
        "clients.coder.context_strategy",
        "clients.coder.defaults.temperature",
        "clients.coder.defaults.max_tokens",
        "clients.coder.budget.limit_usd",
        "clients.coder.budget.warn_at",
    }
    assert found["providers.groq.retry.max_attempts"] == "must be at least 1 (1 turns retries off)"
    assert found["clients.coder.defaults.temperature"] == "must be between 0 and 2"
    assert found["clients.coder.context_strategy"] == (
        "expected one of 'keep_newest', 'drop_middle' (did you mean 'keep_newest'?)"
    )


def test_values_at_the_edges_of_their_range_are_accepted() -> None:
    text = """
providers:
  groq:
    timeout: 0.5
    retry: {max_attempts: 1, base_delay: 0, max_delay: 0}
    rate_limit: {requests_per_minute: 0.5, max_concurrency: 1}
clients:
  coder:
    family: deepseek
    provider: groq
    defaults: {temperature: 0, max_tokens: 1}
    budget: {limit_usd: 0, warn_at: 1}
"""
    assert check(text).ok, check(text).problems


def test_a_valid_file_builds_its_policies_without_error() -> None:
    """What validation accepts, the registry can build (no error deferred to run time)."""
    from llmkit.registry import Registry

    result = validate_text(GOOD, env={"GROQ_KEY": "k"})
    assert result.config is not None
    registry = Registry(result.config)
    for name in result.config.clients:
        if name != "claude":
            registry.client(name)


def test_invalid_yaml_says_where() -> None:
    result = check("providers:\n  groq: {timeout: 3\n")
    assert not result.ok
    (problem,) = result.problems
    assert problem.path.startswith("line ") and "invalid YAML" in problem.message


def test_a_client_naming_a_provider_with_bad_settings_is_not_blamed_too() -> None:
    result = check(
        "providers:\n  mine: {type: groq, timeout: x}\nclients:\n  c: {family: llama, provider: mine}\n"
    )
    assert [p.path for p in result.problems] == ["providers.mine.timeout"]


# -- ${VAR} ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
        ("${A:-fallback}", {}, "fallback"),
        ("${A:-fallback}", {"A": ""}, "fallback"),
        ("${A-fallback}", {"A": ""}, ""),
        ("${A:-}", {}, ""),
        ("$${A}", {"A": "x"}, "${A}"),
        ("cost: $$5", {}, "cost: $5"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
    ],
)
def test_interpolation(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate({"k": text}, env) == ({"k": expected}, [])


def test_interpolation_walks_lists_and_leaves_other_values() -> None:
    data = {"a": [1, "${X}", {"b": "${Y:-y}"}], "c": None, "d": 2.5}
    assert interpolate(data, {"X": "x"}) == ({"a": [1, "x", {"b": "y"}], "c": None, "d": 2.5}, [])


def test_a_missing_variable_names_the_file_the_key_and_the_variable(tmp_path: Path) -> None:
    file = tmp_path / "team.yaml"
    file.write_text(
        "clients:\n  c:\n    family: llama\n    provider: fake\n    model: ${MODEL_NAME}\n"
    )
    result = config.read(file, env={})  # what `llmkit config validate` reads: strict
    assert list(result.problems) == [
        Problem(
            "clients.c.model",
            "environment variable MODEL_NAME is not set (set it, or write ${MODEL_NAME:-default})",
            str(file),
        )
    ]
    loaded = config.load_config(file, env={})  # loading defers it to building client c
    assert loaded is not None
    with pytest.raises(ConfigurationError) as caught:
        Registry(loaded).client("c")
    text = str(caught.value)
    assert str(file) in text and "clients.c" in text and "model" in text and "MODEL_NAME" in text


LAZY = """
providers:
  groq: {api_key: "${GROQ_KEY}", timeout: 30}
  local: {type: openai_compatible, base_url: "${LOCAL_URL}"}
clients:
  coder: {family: deepseek, provider: fake}
  fast: {family: llama, provider: groq}
"""


def test_an_unset_variable_blocks_only_the_provider_that_uses_it(tmp_path: Path) -> None:
    file = tmp_path / "llmkit.yaml"
    file.write_text(LAZY)
    loaded = config.load_config(file, env={})
    assert loaded is not None and loaded.providers["groq"].timeout == 30
    registry = Registry(loaded)
    assert registry.client("deepseek@fake").generate_sync("hi").text  # unaffected
    assert registry.client("coder").generate_sync("hi").text
    with pytest.raises(ConfigurationError, match=r"providers\.groq.*GROQ_KEY is not set"):
        registry.provider("groq")
    with pytest.raises(ConfigurationError, match="GROQ_KEY"):
        registry.client("fast")  # its provider is groq
    with pytest.raises(ConfigurationError, match=r"base_url: environment variable LOCAL_URL"):
        registry.provider("local")
    strict = config.read(file, env={})
    assert {p.path for p in strict.problems} == {
        "providers.groq.api_key",
        "providers.local.base_url",
    }


# -- secrets --------------------------------------------------------------------

SECRET = "gsk_" + "S3cr3tS3cr3tS3cr3t"


def test_no_problem_or_warning_ever_quotes_a_secret() -> None:
    text = f"""
providers:
  groq: {{api_key: [{SECRET}], timeout: {SECRET}}}
  other: {{type: {SECRET}}}
clients:
  c: {{family: llama, provider: {SECRET}, {SECRET}: 1}}
"""
    result = check(text, {"K": SECRET})
    shown = "\n".join(str(p) for p in (*result.problems, *result.warnings))
    assert len(result.problems) >= 4
    assert SECRET not in shown


def test_hide_secrets_masks_url_credentials_and_keys() -> None:
    assert config.hide_secrets("redis://:pw123456@host:6379/0") == "redis://***@host:6379/0"
    assert config.hide_secrets("see http://u:p@h/v1 and https://h/x@y") == (
        "see http://***@h/v1 and https://h/x@y"
    )
    assert config.masked({"rate_limit": {"redis_url": "rediss://user:pw@h/0"}}) == {
        "rate_limit": {"redis_url": "rediss://***@h/0"}
    }


def test_a_key_written_in_clear_is_warned_about_but_not_shown() -> None:
    result = check(f"providers:\n  groq: {{api_key: {SECRET}}}\n")
    assert result.ok
    (warning,) = result.warnings
    assert warning.path == "providers.groq.api_key" and "prefer ${VARIABLE}" in warning.message
    assert SECRET not in str(warning)


def test_masked_hides_secrets_wherever_they_are() -> None:
    data = {"providers": {"g": {"api_key": SECRET, "options": {"token": "t0k3n!", "n": 1}}}}
    assert config.masked(data) == {
        "providers": {"g": {"api_key": "***", "options": {"token": "***", "n": 1}}}
    }
    assert config.masked({"note": f"key is {SECRET}"}) == {"note": "key is ***"}


# -- loading --------------------------------------------------------------------


def test_load_config_warns_about_unknown_keys(tmp_path: Path) -> None:
    file = tmp_path / "llmkit.yaml"
    file.write_text("providers:\n  fake: {tiemout: 3}\n")
    with pytest.warns(
        ConfigWarning, match=r"providers\.fake\.tiemout: unknown key \(did you mean 'timeout'\?\)"
    ):
        cfg = config.load_config(file, env={})
    assert cfg is not None and "fake" in cfg.providers


def test_load_builds_a_registry(tmp_path: Path) -> None:
    file = tmp_path / "llmkit.yaml"
    file.write_text("default_client: demo\nclients:\n  demo: {family: llama, provider: fake}\n")
    registry = registry_module.load(file)
    client = registry.client()
    assert client.generate_sync("ping").text.endswith("You said: ping")


# -- discovery --------------------------------------------------------------------


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "xdg"
    (home / "llmkit").mkdir(parents=True)
    cwd = tmp_path / "project"
    cwd.mkdir()
    return {"root": tmp_path, "xdg": home, "folder": home / "llmkit", "cwd": cwd}


def _write(path: Path) -> Path:
    path.write_text("providers: {}\n")
    return path


def test_discovery_order(places: dict[str, Path]) -> None:
    env = {"XDG_CONFIG_HOME": str(places["xdg"])}
    folder_default = _write(places["folder"] / "config.yaml")
    assert config.find(env=env, cwd=places["cwd"]) == folder_default
    local = _write(places["cwd"] / "llmkit.yaml")
    assert config.find(env=env, cwd=places["cwd"]) == local
    from_env = _write(places["root"] / "env.yaml")
    env["LLMKIT_CONFIG"] = str(from_env)
    assert config.find(env=env, cwd=places["cwd"]) == from_env
    explicit = _write(places["root"] / "explicit.yaml")
    assert config.find(explicit, env=env, cwd=places["cwd"]) == explicit


def test_no_file_anywhere_is_none(places: dict[str, Path]) -> None:
    env = {"XDG_CONFIG_HOME": str(places["xdg"])}
    assert config.find(env=env, cwd=places["cwd"]) is None


def test_load_config_without_a_file_is_none(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(places["cwd"])
    assert config.load_config(env={"XDG_CONFIG_HOME": str(places["xdg"])}) is None


def test_home_config_is_used_without_xdg(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(places["root"]))
    assert config.user_folder({}) == places["root"] / ".config" / "llmkit"


def test_named_configurations_in_a_folder(places: dict[str, Path]) -> None:
    env = {"XDG_CONFIG_HOME": str(places["xdg"])}
    work = _write(places["folder"] / "work.yaml")
    _write(places["folder"] / "home.yml")
    assert config.find(name="work", env=env, cwd=places["cwd"]) == work
    assert config.find(env={**env, "LLMKIT_PROFILE": "home"}, cwd=places["cwd"]) == (
        places["folder"] / "home.yml"
    )
    with pytest.raises(
        ConfigurationError,
        match=r"No configuration named 'wrk'.*available: home, work.*did you mean 'work'",
    ):
        config.find(name="wrk", env=env, cwd=places["cwd"])
    assert config.named_configs(places["folder"]) == ["home", "work"]


def test_a_name_skips_the_local_file(places: dict[str, Path]) -> None:
    env = {"XDG_CONFIG_HOME": str(places["xdg"])}
    _write(places["cwd"] / "llmkit.yaml")
    work = _write(places["folder"] / "work.yaml")
    assert config.find(name="work", env=env, cwd=places["cwd"]) == work


def test_an_explicit_folder_holds_named_configurations(places: dict[str, Path]) -> None:
    team = places["root"] / "team"
    team.mkdir()
    only = _write(team / "staging.yaml")
    assert config.find(team, env={}, cwd=places["cwd"]) == only  # the only one
    prod = _write(team / "prod.yaml")
    assert config.find(team, name="prod", env={}, cwd=places["cwd"]) == prod


@pytest.mark.parametrize("how", ["explicit", "env"])
def test_a_missing_explicit_file_is_an_error(places: dict[str, Path], how: str) -> None:
    missing = places["root"] / "nope.yaml"
    env = {"LLMKIT_CONFIG": str(missing)} if how == "env" else {}
    with pytest.raises(ConfigurationError, match=r"No configuration file at .*nope\.yaml"):
        config.find(missing if how == "explicit" else None, env=env, cwd=places["cwd"])


def test_search_path_lists_where_llmkit_looks(places: dict[str, Path]) -> None:
    env = {"XDG_CONFIG_HOME": str(places["xdg"]), "LLMKIT_CONFIG": "/x.yaml"}
    assert config.search_path("a.yaml", env=env, cwd=places["cwd"]) == [
        Path("a.yaml"),
        Path("/x.yaml"),
        places["cwd"] / "llmkit.yaml",
        places["cwd"] / "llmkit.yml",
        places["folder"],
    ]


def test_validation_uses_the_registry_names_by_default() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = validate_text("clients:\n  c: {family: gpt4, provider: fake}\n", env={})
    assert result.ok, result.problems


def test_import_llmkit_stays_light() -> None:
    code = (
        "import sys, llmkit; llmkit.load; llmkit.client; import llmkit.config, llmkit.registry; "
        "print(sorted(m for m in ('yaml', 'rich', 'prompt_toolkit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_parsed_config_never_shows_an_expanded_key_in_its_repr() -> None:
    text = "providers:\n  groq:\n    api_key: ${MY_KEY}\nclients: {}\n"
    result = validate_text(text, env={"MY_KEY": "zz-secret-value-123456"})
    assert result.ok, result.problems
    assert result.config is not None
    assert result.config.providers["groq"].api_key == "zz-secret-value-123456"
    assert "zz-secret-value-123456" not in repr(result.config)
