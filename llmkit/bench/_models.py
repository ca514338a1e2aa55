"""Which model each host runs in a benchmark: one canonical model everywhere it can be.

A latency comparison is only fair on the same model. `llmkit bench deepseek
--providers a,b` used to let each host's client pick its own newest model
(`deepseek-flash` on DeepSeek, `deepseek/deepseek-v4-pro` on OpenRouter). Here,
with a family, the model is chosen once (`common_model`: the newest canonical
model every host serves, else the one most hosts serve) and each host is asked
for its own id of it; `-m ID` names it, `-m host=ID,...` names each host's id.
`differing` says when the hosts still run different models, for a loud warning.

Pure functions over the catalog: no provider is built here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from attrs import field, frozen

from llmkit._hints import did_you_mean
from llmkit.errors import ConfigurationError

if TYPE_CHECKING:
    from llmkit.catalog import Catalog

__all__ = [
    "HostModel",
    "ModelOption",
    "canonical",
    "common_model",
    "differing",
    "labels_of",
    "parse_model_option",
    "warning",
]


@frozen
class ModelOption:
    """What `-m` said: one id for every host, and/or one per host."""

    every: str | None = None
    per_host: dict[str, str] = field(factory=dict)

    def for_host(self, host: str) -> str | None:
        """The id `-m` gives `host`, if any."""
        return self.per_host.get(host, self.every)


def parse_model_option(value: str | None, hosts: Sequence[str]) -> ModelOption:
    """`-m ID` (every host) or `-m host=ID,host=ID` (hand-picked ids), checked against `hosts`.

    Raises:
        ConfigurationError: a pair names a host that is not benchmarked, a host
            twice, or pairs are mixed with a plain id.
    """
    if not value:
        return ModelOption()
    if "=" not in value:
        return ModelOption(every=value.strip())
    pairs: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",")):
        host, sep, model = part.partition("=")
        host, model = host.strip(), model.strip()
        if not sep or not host or not model:
            raise ConfigurationError(
                f"-m {value!r}: write one id for every host (-m gpt-oss-120b) or "
                "host=id pairs (-m groq=openai/gpt-oss-120b,ollama=gpt-oss:120b), not both"
            )
        if host in pairs:
            raise ConfigurationError(f"-m names {host} twice: give each host one id")
        if host not in hosts:
            raise ConfigurationError(
                f"-m names {host!r}, which is not benchmarked{did_you_mean(host, hosts)}; "
                f"the hosts are: {', '.join(hosts)}"
            )
        pairs[host] = model
    return ModelOption(per_host=pairs)


def canonical(catalog: Catalog, provider: str, model_id: str) -> str:
    """The catalog's canonical name of `provider`'s `model_id` (the id itself if unknown)."""
    entry = catalog.find(provider, model_id)
    return entry.model if entry is not None else model_id


def common_model(
    catalog: Catalog, family: str, providers: Sequence[str], *, today: dt.date | None = None
) -> str | None:
    """The canonical model of `family` to run on every one of `providers` (catalog names).

    The newest model that all of them serve today; when none is served by all, the
    one served by the most (newest first among equals); None when none serves the family.
    """
    from llmkit.catalog import newest_first

    day = today or dt.datetime.now(dt.UTC).date()
    served: list[list[str]] = []
    for provider in providers:
        entries = [e for e in catalog.entries(family, provider) if e.served_on(day)]
        served.append([e.model for e in newest_first(entries)])
    order: list[str] = []
    for models in served:
        order += [m for m in models if m not in order]
    if not order:
        return None
    counts = {m: sum(m in models for models in served) for m in order}
    best = max(counts.values())
    return next(m for m in order if counts[m] == best)


@frozen
class HostModel:
    """The model one benchmarked host runs."""

    host: str
    """The host's label in the run."""
    id: str | None
    """The id the host is asked for (None: unknown until it answers)."""
    model: str | None
    """Its canonical name in the catalog (the id itself when the catalog does not know it)."""


def differing(models: Sequence[HostModel]) -> bool:
    """Whether the hosts run different models (by canonical name)."""
    return len({m.model for m in models}) > 1


def warning(models: Sequence[HostModel]) -> str:
    """The loud line for a run whose hosts run different models."""
    listed = ", ".join(f"{m.host}={m.id or '?'}" for m in models)
    return (
        f"WARNING: the hosts run DIFFERENT MODELS ({listed}): the latencies compare the "
        "models as much as the hosts. Pick one model for all with -m ID, or hand-pick "
        "each host's id with -m host=ID,host=ID."
    )


def labels_of(models: Mapping[str, str | None]) -> str:
    """`groq=openai/gpt-oss-120b, ollama=gpt-oss:120b` for a title."""
    return ", ".join(f"{host}={model or '?'}" for host, model in models.items())
