"""The model catalog: which host serves which model of a family, under which id, at what price.

Dated data, not code. `llmkit/data/catalog.json` lists, per family (deepseek,
mixtral, gpt4, claude, gemini, llama), the canonical model names newest first
and, per provider, the host's id, context window, max output, USD prices per
million tokens, and the dates the host added and retired the model. A user
JSON (`LLMKIT_CATALOG`, or `Catalog.load(path)`) is merged over it, and
`await refresh(provider)` caches the host's live `list_models()` under
`~/.cache/llmkit/` (or `LLMKIT_CACHE_DIR`), which the resolver then prefers.

Resolution (`resolve(family, provider, model=None, today=None)`):

- an explicit `model=` always wins: a canonical name becomes the host's id, any
  other string is sent verbatim;
- otherwise the newest model the host still serves `today` (by added date;
  a model with no date is taken to be no older than those listed after it);
- a family the host does not serve, or serves only retired models, raises
  `ConfigurationError` saying so and naming the providers that do.

This module reads JSON only (no yaml) and loads on first use.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import evolve, field, frozen

from llmkit._hints import did_you_mean
from llmkit.errors import ConfigurationError

if TYPE_CHECKING:
    from llmkit.providers._base import ModelInfo, Provider

__all__ = [
    "Catalog",
    "CatalogEntry",
    "PriceTier",
    "Prices",
    "default_catalog",
    "find",
    "refresh",
    "resolve",
]

_SHIPPED = Path(__file__).parent / "data" / "catalog.json"
_ENV_CATALOG = "LLMKIT_CATALOG"
_ENV_CACHE = "LLMKIT_CACHE_DIR"


@frozen
class PriceTier:
    """Prices that apply once a prompt has more than `above_input_tokens` tokens."""

    above_input_tokens: int
    input: float | None = None
    cached_input: float | None = None
    output: float | None = None


@frozen
class Prices:
    """USD per million tokens; None where the catalog does not know."""

    input: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None
    output: float | None = None
    tiers: tuple[PriceTier, ...] = ()
    """Long-context tiers, lowest threshold first."""
    time_of_day: dict[str, Any] | None = None
    """Peak / off-peak pricing as data (DeepSeek): `peak_days`, `peak_hours_utc`, `off_peak_multiplier`."""


@frozen
class CatalogEntry:
    """One model as one host serves it."""

    family: str
    model: str
    """The canonical name (`deepseek-flash`), or the verbatim id for a model the catalog lacks."""
    provider: str
    id: str
    """What the host calls it: the `model` field of a request."""
    context_window: int | None = None
    max_output: int | None = None
    prices: Prices | None = None
    reasoning: bool | None = None
    """Whether it is a reasoning model (None: unknown, e.g. a verbatim id)."""
    added: dt.date | None = None
    retired: dt.date | None = None
    withdrawn: bool = False
    """Retired at a date the catalog does not know."""
    note: str | None = None
    known: bool = True
    """False for an explicit `model=` the catalog has no entry for."""
    source: str = "catalog"
    """`catalog`, `cache` (a live list confirmed it), or `explicit`."""
    order: int = field(default=0, eq=False, repr=False)
    """Position in the family's list (0 = listed first = newest)."""

    def served_on(self, today: dt.date) -> bool:
        """Whether the host still serves the model on `today`."""
        if self.withdrawn or (self.retired is not None and self.retired <= today):
            return False
        return self.added is None or self.added <= today

    def retirement(self) -> str:
        """`retired 2026-07-24` or `retired (date unknown)`, for messages."""
        return f"retired {self.retired.isoformat()}" if self.retired else "retired (date unknown)"


# -- loading -----------------------------------------------------------------------


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` deep-merged over `base`; a None value removes the key."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigurationError(
            f"catalog: {where} has a bad date {value!r}; use YYYY-MM-DD"
        ) from None


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigurationError(
            f"catalog: {where} should be a whole number of tokens, not {value!r}"
        )
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(
            f"catalog: {where} should be a whole number of tokens, not {value!r}"
        ) from None


def _prices(data: Mapping[str, Any] | None) -> Prices | None:
    if not data:
        return None
    tiers = tuple(
        PriceTier(
            int(t["above_input_tokens"]), t.get("input"), t.get("cached_input"), t.get("output")
        )
        for t in data.get("tiers", ())
    )
    return Prices(
        input=data.get("input"),
        cached_input=data.get("cached_input"),
        cache_write=data.get("cache_write"),
        output=data.get("output"),
        tiers=tuple(sorted(tiers, key=lambda t: t.above_input_tokens)),
        time_of_day=data.get("time_of_day"),
    )


def parse_entries(data: Mapping[str, Any]) -> list[CatalogEntry]:
    """Every (family, model, provider) entry of a catalog document."""
    entries = []
    for family, fam in data.get("families", {}).items():
        for order, (name, model) in enumerate(fam.get("models", {}).items()):
            for provider, host in model.get("hosts", {}).items():
                if not host:
                    continue
                where = f"{family}/{name}/{provider}"
                retired = host.get("retired")
                entries.append(
                    CatalogEntry(
                        family=family,
                        model=name,
                        provider=provider,
                        id=host.get("id", name),
                        context_window=_int(
                            host.get("context_window", model.get("context_window")),
                            f"{where}.context_window",
                        ),
                        max_output=_int(
                            host.get("max_output", model.get("max_output")), f"{where}.max_output"
                        ),
                        prices=_prices(host.get("prices")),
                        reasoning=host.get("reasoning", model.get("reasoning")),
                        added=_date(host.get("added", model.get("added")), where),
                        retired=_date(retired, where),
                        withdrawn=retired is True,
                        note=host.get("note"),
                        order=order,
                    )
                )
    return entries


# -- the live-list cache ---------------------------------------------------------------


def cache_dir() -> Path:
    """Where live model lists are cached: `LLMKIT_CACHE_DIR` or `~/.cache/llmkit`."""
    return Path(os.environ.get(_ENV_CACHE) or Path.home() / ".cache" / "llmkit")


def _cache_path(directory: Path, provider: str) -> Path:
    return directory / f"models-{provider}.json"


def apply_live_list(
    entries: Iterable[CatalogEntry], live: Mapping[str, Mapping[str, Any]]
) -> list[CatalogEntry]:
    """Entries as a host's live list says: absent → withdrawn, its `shutdown_date` → retired,
    its `created` → added (where the catalog has no date)."""
    out = []
    for entry in entries:
        info = live.get(entry.id)
        if info is None:
            out.append(evolve(entry, withdrawn=True, note="absent from the host's live model list"))
            continue
        shutdown = _date(info.get("shutdown_date"), f"cache/{entry.provider}/{entry.id}")
        added = entry.added or _from_unix(info.get("created"))
        out.append(evolve(entry, retired=shutdown or entry.retired, added=added, source="cache"))
    return out


def _from_unix(value: Any) -> dt.date | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC).date()


# -- choosing ---------------------------------------------------------------------


def newest_first(entries: Iterable[CatalogEntry]) -> list[CatalogEntry]:
    """Entries newest first: by added date, a dateless model counting as no older than
    those listed after it, then by list order."""
    ordered = sorted(entries, key=lambda e: e.order)
    effective: dict[int, dt.date] = {}
    floor = dt.date.min
    for index in range(len(ordered) - 1, -1, -1):  # oldest (last listed) first
        entry = ordered[index]
        floor = max(floor, entry.added or floor)
        effective[index] = entry.added or floor
    ranked = sorted(
        range(len(ordered)), key=lambda i: (effective[i], -ordered[i].order), reverse=True
    )
    return [ordered[i] for i in ranked]


def _today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(dt.UTC).date()


class Catalog:
    """Catalog entries with the resolver; build with `Catalog.load()` or `default_catalog()`."""

    def __init__(self, data: Mapping[str, Any], *, cache_dir: Path | str | None = None) -> None:
        """Index `data` (a catalog document); `cache_dir` overrides where live lists are read."""
        self.data = data
        self._entries = parse_entries(data)
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._live: dict[str, dict[str, dict[str, Any]] | None] = {}

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, cache_dir: Path | str | None = None
    ) -> Catalog:
        """The shipped catalog, with `path` (or `$LLMKIT_CATALOG`) merged over it."""
        data: dict[str, Any] = json.loads(_SHIPPED.read_text(encoding="utf-8"))
        override = path or os.environ.get(_ENV_CATALOG)
        if override:
            try:
                user = json.loads(Path(override).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigurationError(
                    f"cannot read catalog override {override!s}: {exc}"
                ) from exc
            data = merge(data, user)
        return cls(data, cache_dir=cache_dir)

    # -- queries ----------------------------------------------------------------

    def families(self) -> list[str]:
        """The family names."""
        return list(self.data.get("families", {}))

    def entries(self, family: str | None = None, provider: str | None = None) -> list[CatalogEntry]:
        """Entries of `family` on `provider` (either may be None for all), as the cache says."""
        chosen = [
            e
            for e in self._entries
            if (family is None or e.family == family)
            and (provider is None or e.provider == provider)
        ]
        if provider is not None:
            live = self._live_list(provider)
            if live is not None:
                chosen = apply_live_list(chosen, live)
        return chosen

    def providers_for(self, family: str, *, today: dt.date | None = None) -> list[str]:
        """Providers that serve some model of `family` on `today` (catalog data)."""
        day = _today(today)
        return sorted(
            {e.provider for e in self._entries if e.family == family and e.served_on(day)}
        )

    def find(self, provider: str, model_id: str) -> CatalogEntry | None:
        """The entry for a host's model id (or canonical name); dated snapshots match their base id."""
        candidates = [e for e in self._entries if e.provider == provider]
        for entry in candidates:
            if entry.id == model_id:
                return entry
        for entry in candidates:
            if entry.model == model_id:
                return entry
        prefixed = [e for e in candidates if model_id.startswith(e.id + "-")]
        return max(prefixed, key=lambda e: len(e.id), default=None)

    def resolve(
        self,
        family: str,
        provider: str,
        model: str | None = None,
        *,
        today: dt.date | None = None,
    ) -> CatalogEntry:
        """The entry to use for `family` on `provider`; see the module docstring.

        Raises:
            ConfigurationError: unknown family, or the provider serves no current model of it.
        """
        if family not in self.data.get("families", {}):
            raise ConfigurationError(_unknown("model family", family, self.families()))
        if model is not None:
            return self._explicit(family, provider, model)
        day = _today(today)
        entries = self.entries(family, provider)
        served = [e for e in entries if e.served_on(day)]
        if served:
            return newest_first(served)[0]
        raise ConfigurationError(
            not_served_message(family, provider, entries, self.providers_for(family, today=day)),
            provider=provider,
        )

    def _explicit(self, family: str, provider: str, model: str) -> CatalogEntry:
        mine = self.entries(family, provider)
        for entry in mine:
            if model in (entry.model, entry.id):
                return evolve(entry, source="explicit")
        known = self.find(provider, model)
        if known is not None:
            return evolve(known, source="explicit")
        return CatalogEntry(
            family=family, model=model, provider=provider, id=model, known=False, source="explicit"
        )

    # -- the live cache ------------------------------------------------------------

    def _directory(self) -> Path:
        return self._cache_dir or cache_dir()

    def _live_list(self, provider: str) -> dict[str, dict[str, Any]] | None:
        if provider not in self._live:
            path = _cache_path(self._directory(), provider)
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                self._live[provider] = {m["id"]: m for m in document["models"]}
            except (OSError, ValueError, KeyError, TypeError):
                self._live[provider] = None
        return self._live[provider]

    async def refresh(self, provider: Provider) -> Path:
        """Fetch `provider.list_models()` and cache it; later resolutions prefer it.

        Returns:
            The cache file written.
        """
        models = await provider.list_models()
        path = _cache_path(self._directory(), provider.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "provider": provider.name,
            "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "models": [_model_info_dict(m) for m in models],
        }
        path.write_text(json.dumps(document, indent=1), encoding="utf-8")
        self._live.pop(provider.name, None)
        return path


def _model_info_dict(info: ModelInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "created": info.created,
        "shutdown_date": info.shutdown_date,
        "context_window": info.context_window,
    }


def not_served_message(
    family: str, provider: str, entries: list[CatalogEntry], serving: list[str]
) -> str:
    """Why `provider` cannot serve `family`, and who can (pure, for `ConfigurationError`)."""
    if entries:
        gone = ", ".join(f"{e.model} ({e.id}) {e.retirement()}" for e in newest_first(entries))
        why = f"{provider} no longer serves any {family} model: {gone}."
    else:
        why = f"{provider} does not serve the {family} family (no catalog entry)."
    others = [p for p in serving if p != provider]
    who = (
        f" Providers that do: {', '.join(others)}."
        if others
        else " No provider in the catalog serves it now."
    )
    return f"{why}{who} Pass `model=` to use a specific id anyway, or see docs/catalog.md to override the catalog."


def _unknown(kind: str, name: str, known: list[str]) -> str:
    hint = did_you_mean(name, known)
    return f"{name!r} is not a known {kind}{hint}; known: {', '.join(known)}"


# -- module-level conveniences ---------------------------------------------------------------

_default: Catalog | None = None


def default_catalog() -> Catalog:
    """The shipped catalog with `$LLMKIT_CATALOG` merged over it, loaded once."""
    global _default
    if _default is None:
        _default = Catalog.load()
    return _default


def resolve(
    family: str, provider_name: str, model: str | None = None, *, today: dt.date | None = None
) -> CatalogEntry:
    """`default_catalog().resolve(...)`."""
    return default_catalog().resolve(family, provider_name, model, today=today)


def find(provider_name: str, model_id: str) -> CatalogEntry | None:
    """`default_catalog().find(...)`: the entry (with prices) for a host's model id."""
    return default_catalog().find(provider_name, model_id)


async def refresh(provider: Provider) -> Path:
    """`default_catalog().refresh(provider)`."""
    return await default_catalog().refresh(provider)
