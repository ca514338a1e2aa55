"""The model catalog: resolution by date, retirements, explicit models, overrides, live cache."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from llmkit.catalog import Catalog, CatalogEntry, merge, newest_first
from llmkit.errors import ConfigurationError
from llmkit.providers import ModelInfo
from llmkit.testing import FakeProvider

D = dt.date.fromisoformat


def doc(models: dict[str, Any]) -> dict[str, Any]:
    return {"families": {"fam": {"models": models}}}


TOY = doc(
    {
        "new": {"hosts": {"h": {"id": "h-new", "added": "2026-09-10"}}},
        "mid": {"hosts": {"h": {"id": "h-mid", "added": "2026-04-24", "retired": "2026-12-01"}}},
        "old": {"hosts": {"h": {"id": "h-old", "added": "2025-01-01", "retired": "2026-07-24"}}},
        "gone": {"hosts": {"h": {"id": "h-gone", "retired": True}, "other": {"id": "o-gone"}}},
    }
)


@pytest.fixture
def toy(tmp_path: Path) -> Catalog:
    return Catalog(TOY, cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("today", "chosen"),
    [
        ("2025-06-01", "h-old"),
        ("2026-07-23", "h-mid"),
        ("2026-07-24", "h-mid"),  # old retired that day
        ("2026-09-10", "h-new"),
        ("2027-06-01", "h-new"),
    ],
)
def test_resolves_the_newest_model_served_today(toy: Catalog, today: str, chosen: str) -> None:
    assert toy.resolve("fam", "h", today=D(today)).id == chosen


def test_only_retired_models_is_an_error_with_dates_and_other_hosts(toy: Catalog) -> None:
    only_old = Catalog(
        doc({k: v for k, v in TOY["families"]["fam"]["models"].items() if k in ("old", "gone")})
    )
    with pytest.raises(ConfigurationError) as info:
        only_old.resolve("fam", "h", today=D("2026-11-22"))
    message = str(info.value)
    assert "h no longer serves any fam model" in message
    assert "old (h-old) retired 2026-07-24" in message
    assert "gone (h-gone) retired (date unknown)" in message
    assert "Providers that do: other" in message


def test_a_host_with_no_entry_says_so(toy: Catalog) -> None:
    with pytest.raises(ConfigurationError, match="nowhere does not serve the fam family"):
        toy.resolve("fam", "nowhere")


def test_an_unknown_family_suggests_a_known_one() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'deepseek'"):
        Catalog.load().resolve("deepsek", "deepseek")


@pytest.mark.parametrize(
    ("model", "expected_id", "known"),
    [("old", "h-old", True), ("h-gone", "h-gone", True), ("custom-ft", "custom-ft", False)],
)
def test_an_explicit_model_always_wins(
    toy: Catalog, model: str, expected_id: str, known: bool
) -> None:
    entry = toy.resolve("fam", "h", model, today=D("2026-11-22"))
    assert (entry.id, entry.known, entry.source) == (expected_id, known, "explicit")


def test_dateless_models_count_as_no_older_than_those_listed_after_them() -> None:
    entries = [
        CatalogEntry("f", "a", "h", "a", order=0),
        CatalogEntry("f", "b", "h", "b", order=1, added=D("2026-01-01")),
        CatalogEntry("f", "c", "h", "c", order=2),
        CatalogEntry("f", "d", "h", "d", order=3, added=D("2026-06-01")),
    ]
    # c counts as dated 2026-06-01 like d, and is listed first; b is dated older than d
    assert [e.id for e in newest_first(entries)] == ["a", "c", "d", "b"]


def test_merge_overrides_deeply_and_none_removes() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": 3}
    assert merge(base, {"a": {"b": 9, "c": None}, "e": 4}) == {"a": {"b": 9}, "d": 3, "e": 4}


def test_user_catalog_merges_over_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "mine.json"
    user.write_text(
        json.dumps(
            {
                "families": {
                    "deepseek": {
                        "models": {
                            "deepseek-flash": {"hosts": {"deepseek": {"retired": "2026-11-01"}}},
                            "my-distill": {
                                "hosts": {"groq": {"id": "my-distill-groq", "added": "2026-11-01"}}
                            },
                        }
                    }
                }
            }
        )
    )
    catalog = Catalog.load(user, cache_dir=tmp_path)
    today = D("2026-11-22")
    assert catalog.resolve("deepseek", "deepseek", today=today).id == "deepseek-v4-pro"
    assert catalog.resolve("deepseek", "groq", today=today).id == "my-distill-groq"
    monkeypatch.setenv("LLMKIT_CATALOG", str(user))
    assert (
        Catalog.load(cache_dir=tmp_path).resolve("deepseek", "groq", today=today).id
        == "my-distill-groq"
    )


def test_a_broken_override_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigurationError, match=r"bad\.json"):
        Catalog.load(bad)


async def test_the_live_cache_is_preferred(tmp_path: Path) -> None:
    catalog = Catalog(TOY, cache_dir=tmp_path)
    today = D("2026-11-22")
    assert catalog.resolve("fam", "h", today=today).id == "h-new"
    host = FakeProvider(name="h", models=["h-mid", "unrelated"])
    path = await catalog.refresh(host)
    assert path == tmp_path / "models-h.json"
    # h-new is absent from the live list: treated as not served
    assert catalog.resolve("fam", "h", today=today).id == "h-mid"
    # a fresh catalog reads the same cache file
    assert Catalog(TOY, cache_dir=tmp_path).resolve("fam", "h", today=today).source == "cache"


async def test_the_live_lists_shutdown_date_counts_as_retirement(tmp_path: Path) -> None:
    class Host(FakeProvider):
        async def list_models(self) -> list[ModelInfo]:
            return [
                ModelInfo("h-new", "h", shutdown_date="2026-11-01"),
                ModelInfo("h-mid", "h"),
            ]

    catalog = Catalog(TOY, cache_dir=tmp_path)
    await catalog.refresh(Host(name="h"))
    entries = {e.id: e for e in catalog.entries("fam", "h")}
    assert entries["h-new"].retired == D("2026-11-01")
    assert catalog.resolve("fam", "h", today=D("2026-10-01")).id == "h-new"
    assert catalog.resolve("fam", "h", today=D("2026-11-22")).id == "h-mid"


def test_cache_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models-h.json").write_text(json.dumps({"models": [{"id": "h-old"}]}))
    monkeypatch.setenv("LLMKIT_CACHE_DIR", str(tmp_path))
    assert Catalog(TOY).resolve("fam", "h", today=D("2026-01-01")).id == "h-old"


# -- the shipped data --------------------------------------------------------------------

TODAY = D("2026-11-22")


@pytest.mark.parametrize(
    ("family", "host", "expected"),
    [
        ("deepseek", "deepseek", "deepseek-flash"),
        ("deepseek", "openrouter", "deepseek/deepseek-v4-pro"),
        ("deepseek", "ollama", "deepseek-r1"),
        ("mixtral", "ollama", "mixtral:8x22b"),
        ("gpt4", "openai", "gpt-5.6"),
        ("claude", "anthropic", "claude-sonnet-5"),
        ("gemini", "gemini", "gemini-3.8-flash"),
        ("llama", "openrouter", "meta-llama/llama-4-maverick"),
    ],
)
def test_shipped_catalog_late_2026(family: str, host: str, expected: str, tmp_path: Path) -> None:
    assert Catalog.load(cache_dir=tmp_path).resolve(family, host, today=TODAY).id == expected


@pytest.mark.parametrize(
    ("family", "host", "model", "retired"),
    [
        ("deepseek", "deepseek", "deepseek-chat", "2026-07-24"),
        ("deepseek", "deepseek", "deepseek-reasoner", "2026-07-24"),
        ("llama", "groq", "llama-3.3-70b", "2026-08-16"),
        ("gpt4", "openai", "gpt-5", "2026-12-11"),
        ("gpt4", "openai", "o3", "2026-12-11"),
        ("gpt4", "openai", "gpt-4o", "2027-01-14"),
        ("claude", "anthropic", "claude-sonnet-4-5", "2026-11-30"),
    ],
)
def test_shipped_retirement_dates(
    family: str, host: str, model: str, retired: str, tmp_path: Path
) -> None:
    entry = next(
        e for e in Catalog.load(cache_dir=tmp_path).entries(family, host) if e.model == model
    )
    assert entry.retired == D(retired)


def test_shipped_catalog_has_fake_entries_for_every_model(tmp_path: Path) -> None:
    catalog = Catalog.load(cache_dir=tmp_path)
    for family in ("deepseek", "mixtral", "gpt4", "claude", "gemini", "llama"):
        models = {e.model for e in catalog.entries(family)}
        assert {e.model for e in catalog.entries(family, "fake")} == models
        assert catalog.resolve(family, "fake", today=TODAY).known


def test_shipped_prices_and_tiers(tmp_path: Path) -> None:
    catalog = Catalog.load(cache_dir=tmp_path)
    flash = catalog.find("deepseek", "deepseek-flash")
    assert flash is not None and flash.prices is not None
    assert (flash.prices.input, flash.prices.cached_input, flash.prices.output) == (
        0.30,
        0.006,
        1.20,
    )
    assert (
        flash.prices.time_of_day is not None
        and flash.prices.time_of_day["off_peak_multiplier"] == 0.5
    )
    gpt = catalog.find("openai", "gpt-5.4")
    assert gpt is not None and gpt.prices is not None
    assert gpt.prices.tiers[0].above_input_tokens == 272_000 and gpt.prices.tiers[0].input == 5.00


FIRST_PARTY = {"deepseek": "deepseek", "gpt4": "openai", "claude": "anthropic", "gemini": "gemini"}


def test_openrouter_entries_carry_the_first_party_prices(tmp_path: Path) -> None:
    """OpenRouter passes first-party list prices through: a budget can bound its requests."""
    catalog = Catalog.load(cache_dir=tmp_path)
    for family, host in FIRST_PARTY.items():
        for routed in catalog.entries(family, "openrouter"):
            direct = next(
                (e for e in catalog.entries(family, host) if e.model == routed.model), None
            )
            if direct is None or direct.prices is None:
                continue
            assert routed.prices is not None, routed.id
            assert (routed.prices.input, routed.prices.cached_input, routed.prices.output) == (
                direct.prices.input,
                direct.prices.cached_input,
                direct.prices.output,
            )
            assert routed.prices.time_of_day is None  # the peak rate: an upper bound
            assert routed.note is not None and "openrouter.ai/docs/faq" in routed.note
    pro = catalog.find("openrouter", "deepseek/deepseek-v4-pro")
    assert pro is not None and pro.prices is not None and pro.prices.input == 1.32


def test_find_matches_dated_snapshots(tmp_path: Path) -> None:
    catalog = Catalog.load(cache_dir=tmp_path)
    entry = catalog.find("openai", "gpt-4o-mini-2024-07-18")
    assert entry is not None and entry.model == "gpt-4o-mini"
    assert catalog.find("openai", "nonexistent") is None


def test_token_counts_in_user_data_are_checked() -> None:
    assert (
        Catalog(doc({"m": {"hosts": {"h": {"context_window": "32768"}}}}))
        .entries()[0]
        .context_window
        == 32768
    )
    with pytest.raises(ConfigurationError, match=r"fam/m/h\.max_output"):
        Catalog(doc({"m": {"hosts": {"h": {"max_output": "lots"}}}}))


async def test_the_live_lists_created_time_dates_undated_models(tmp_path: Path) -> None:
    data = doc({"a": {"hosts": {"h": {"id": "a"}}}, "b": {"hosts": {"h": {"id": "b"}}}})

    class Host(FakeProvider):
        async def list_models(self) -> list[ModelInfo]:
            created = int(dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp())
            return [
                ModelInfo("a", "h", created=created - 86400 * 365),
                ModelInfo("b", "h", created=created),
            ]

    catalog = Catalog(data, cache_dir=tmp_path)
    assert catalog.resolve("fam", "h", today=TODAY).id == "a"  # listed first
    await catalog.refresh(Host(name="h"))
    assert catalog.resolve("fam", "h", today=TODAY).id == "b"  # created later
    assert catalog.resolve("fam", "h", today=D("2026-06-01")).id == "a"  # b not added yet
