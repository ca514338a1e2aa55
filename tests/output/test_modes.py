"""Which structured-output mode a (host, model) gets, from the catalog data."""

from __future__ import annotations

import pytest

from llmkit.catalog import default_catalog
from llmkit.errors import ConfigurationError
from llmkit.output.modes import OutputSupport, support_for

DATA = {
    "structured_output": {
        "hosts": {
            "acme": {
                "mode": "native",
                "dialect": "openai-strict",
                "enforced": True,
                "models": {"old-": {"mode": "tool"}, "old-but-gold": {"mode": "prompted"}},
            }
        }
    }
}


def test_host_defaults_and_model_prefix_exceptions_longest_first() -> None:
    assert support_for(DATA, "acme", "new-1") == OutputSupport("native", "openai-strict", True)
    assert support_for(DATA, "acme", "old-1").mode == "tool"
    assert support_for(DATA, "acme", "old-but-gold-2").mode == "prompted"
    assert support_for(DATA, "acme", "old-1").dialect == "openai-strict"  # inherited


def test_an_unknown_host_is_prompted_and_unenforced() -> None:
    support = support_for(DATA, "nowhere", "m")
    assert (support.mode, support.enforced) == ("prompted", False)


def test_output_mode_overrides_and_is_checked() -> None:
    assert support_for(DATA, "acme", "new-1", override="prompted").mode == "prompted"
    with pytest.raises(ConfigurationError, match="native, tool, prompted"):
        support_for(DATA, "acme", "new-1", override="grammar")


@pytest.mark.parametrize(
    ("host", "model", "mode", "dialect", "enforced"),
    [
        ("openai", "gpt-5.6", "native", "openai-strict", True),
        ("openrouter", "openai/gpt-5.6", "native", "openai-strict", True),
        ("openrouter", "anthropic/claude-sonnet-5", "native", "json-schema", False),
        ("groq", "openai/gpt-oss-120b", "native", "openai-strict", True),
        ("groq", "qwen/qwen3.8-27b", "prompted", "json-schema", False),
        ("deepseek", "deepseek-flash", "prompted", "json-schema", False),  # HOSTS.md: unenforced
        ("anthropic", "claude-sonnet-5", "native", "anthropic", True),
        ("anthropic", "claude-3-5-haiku-latest", "tool", "anthropic", True),
        ("gemini", "gemini-3.8-flash", "native", "gemini", True),
        ("ollama", "llama4:maverick", "native", "json-schema", True),
        ("cohere", "command-a-03-2025", "native", "json-schema", True),
        ("mistral", "mistral-large-latest", "native", "json-schema", False),
    ],
)
def test_the_shipped_catalog(
    host: str, model: str, mode: str, dialect: str, enforced: bool
) -> None:
    support = support_for(default_catalog().data, host, model)
    assert (support.mode, support.dialect, support.enforced) == (mode, dialect, enforced)


def test_anthropic_has_no_json_mode_for_prompted_output() -> None:
    support = support_for(
        default_catalog().data, "anthropic", "claude-sonnet-5", override="prompted"
    )
    assert support.json_mode is False


def test_a_tool_loop_on_gemini_2_answers_through_the_output_tool() -> None:
    data = default_catalog().data
    assert support_for(data, "gemini", "gemini-2.5-flash").mode == "native"
    assert support_for(data, "gemini", "gemini-2.5-flash", with_tools=True).mode == "tool"
    assert support_for(data, "gemini", "gemini-3.8-flash", with_tools=True).mode == "native"
    forced = support_for(data, "gemini", "gemini-2.5-flash", override="native", with_tools=True)
    assert forced.mode == "native"  # output_mode= always wins
