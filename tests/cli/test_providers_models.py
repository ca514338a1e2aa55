"""`llmkit providers` (keys never shown, health checks) and `llmkit models` (the catalog)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from llmkit.catalog import CatalogEntry, Prices
from llmkit.cli.models import catalog_rows
from llmkit.cli.providers import key_status
from llmkit.errors import APIConnectionError
from llmkit.testing import FakeProvider
from tests.cli.conftest import Result, write_config

Cli = Callable[..., Result]

SECRET = "gsk_" + "NeverPrintMe0123456789"


def test_providers_say_whether_a_key_is_set_never_its_value(
    cli: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", SECRET)
    write_config(isolated, f"providers:\n  mine: {{type: openrouter, api_key: '{SECRET}x'}}\n")
    for args in (("providers",), ("providers", "--json")):
        result = cli(*args)
        assert result.code == 0
        assert SECRET not in result.out + result.err
    rows = {row["name"]: row for row in json.loads(cli("providers", "--json").out)}
    assert (rows["groq"]["key"], rows["groq"]["key_source"]) == ("set", "$GROQ_API_KEY")
    assert (rows["mine"]["key"], rows["mine"]["key_source"]) == ("set", "config")
    assert rows["openai"]["key"] == "missing"
    assert rows["fake"]["key"] == "not needed"


@pytest.mark.parametrize(
    ("factory_attrs", "configured", "env", "expected"),
    [
        ({"api_key_env": "X_KEY"}, None, {"X_KEY": "v"}, ("set", "$X_KEY")),
        ({"api_key_env": "X_KEY"}, None, {}, ("missing", "$X_KEY")),
        ({"api_key_env": "X_KEY"}, "k", {}, ("set", "config")),
        ({"api_key_env": "X_KEY", "requires_api_key": False}, None, {}, ("not needed", "")),
        ({}, None, {}, ("not needed", "")),
    ],
)
def test_key_status(
    factory_attrs: dict[str, object],
    configured: str | None,
    env: dict[str, str],
    expected: tuple[str, str],
) -> None:
    factory = type("P", (), factory_attrs)
    assert key_status(factory, configured, env) == expected


def test_check_times_each_reachable_provider(cli: Cli) -> None:
    result = cli("providers", "--check", "--json", "fake", "groq")
    assert result.code == 0
    rows = {row["name"]: row for row in json.loads(result.out)}
    assert rows["fake"]["check"]["ok"] is True
    assert rows["fake"]["check"]["detail"].endswith("models")
    assert isinstance(rows["fake"]["check"]["latency_ms"], int)
    assert rows["groq"]["check"] == {"ok": None, "detail": "skipped: key missing"}


def test_a_failed_check_exits_1(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmkit import registry

    class Down(FakeProvider):
        async def list_models(self) -> list:  # type: ignore[type-arg]
            raise APIConnectionError("cannot reach the host", provider="down")

    monkeypatch.setitem(registry._PROVIDERS.added, "down", lambda **_: Down())
    result = cli("providers", "--check", "down")
    assert result.code == 1
    assert "failed" in result.out and "cannot reach the host" in result.out


def test_models_lists_the_catalog(cli: Cli) -> None:
    rows = json.loads(cli("models", "--provider", "fake", "--family", "claude", "--json").out)
    assert (
        rows
        and {r["family"] for r in rows} == {"claude"}
        and {r["provider"] for r in rows} == {"fake"}
    )
    table = cli("models", "--provider", "fake", "--family", "claude")
    assert table.code == 0 and rows[0]["id"] in table.out and "context" in table.out


def test_models_live_asks_the_provider(cli: Cli) -> None:
    data = json.loads(cli("models", "--provider", "fake", "--live", "--json").out)
    assert data["live"] and {"id", "context", "shutdown_date"} <= set(data["live"][0])


def test_models_live_needs_a_provider(cli: Cli) -> None:
    result = cli("models", "--live")
    assert result.code == 2 and "--provider" in result.err


def test_catalog_rows_hide_retired_models_unless_asked() -> None:
    day = dt.date(2026, 11, 1)
    served = CatalogEntry(
        "llama", "l4", "groq", "l4-id", context_window=8192, prices=Prices(0.1, output=0.3)
    )
    gone = CatalogEntry("llama", "l3", "groq", "l3-id", retired=dt.date(2026, 8, 16))
    assert [r["id"] for r in catalog_rows([served, gone], today=day, include_retired=False)] == [
        "l4-id"
    ]
    rows = catalog_rows([served, gone], today=day, include_retired=True)
    assert rows[0]["in $/M"] == 0.1 and rows[0]["out $/M"] == 0.3 and rows[0]["status"] == "served"
    assert rows[1]["status"] == "retired 2026-08-16"


def test_plugin_rows_are_labelled_and_a_broken_plugin_error_is_shown_whole(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import metadata

    from llmkit import registry

    installed = [
        metadata.EntryPoint(
            name="acme", value="llmkit.testing:FakeProvider", group=registry.PROVIDER_GROUP
        ),
        metadata.EntryPoint(
            name="broken", value="no_such_module_h13:Thing", group=registry.PROVIDER_GROUP
        ),
    ]
    monkeypatch.setattr(
        registry,
        "_entry_points",
        lambda group: installed if group == registry.PROVIDER_GROUP else [],
    )
    registry.reload_plugins()
    try:
        result = cli("providers")
        as_json = json.loads(cli("providers", "--json").out)
    finally:
        monkeypatch.undo()
        registry.reload_plugins()
    assert result.code == 0
    assert "acme (plugin)" in result.out and "broken (plugin)" in result.out
    assert "groq (built-in)" in result.out
    error_line = next(line for line in result.out.splitlines() if line.startswith("broken:"))
    assert "failed to load: ModuleNotFoundError" in error_line
    assert "uninstall it to hide this name" in result.out
    rows = {row["name"]: row for row in as_json}
    assert rows["acme"]["origin"] == "plugin" and rows["groq"]["origin"] == "built-in"
    assert "ModuleNotFoundError" in rows["broken"]["error"]


@pytest.mark.parametrize(
    ("option", "typo", "meant"),
    [("--provider", "grok", "groq"), ("--family", "lama", "llama")],
)
def test_models_with_an_unknown_name_says_did_you_mean_and_exits_2(
    cli: Cli, option: str, typo: str, meant: str
) -> None:
    result = cli("models", option, typo)
    assert result.code == 2 and result.out == ""
    assert f"'{typo}' is not a" in result.err and f"(did you mean '{meant}'?)" in result.err


def test_models_accepts_a_configured_provider_name(cli: Cli, isolated: Path) -> None:
    write_config(isolated, "providers:\n  mine: {type: fake}\n")
    assert cli("models", "--provider", "mine", "--family", "claude").code == 0
