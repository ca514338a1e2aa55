"""What `llmkit bench` measures: the targets of `--demo`, `--replay` or live hosts.

Each host gets the model chosen for it (`llmkit.bench._models`): with a family,
one canonical model on every host that serves it; `-m ID` or `-m host=ID,...`
otherwise. `--demo` with a family, `-m` or `--providers` replays each host's shipped
profile of that model (`llmkit/data/profiles/models/`), so the demo compares like
for like too. `Source.models` says which model each host runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import field, frozen

from llmkit import bench
from llmkit.bench._engine import Target, client_target, provider_target
from llmkit.bench._models import (
    HostModel,
    ModelOption,
    canonical,
    common_model,
    parse_model_option,
)
from llmkit.bench._record import (
    Recording,
    builtin_profiles,
    load_recording,
    provenance,
    replay_providers,
)
from llmkit.errors import ConfigurationError
from llmkit.testing.profiles import model_profiles

__all__ = ["DEMO_NOTE", "Source", "targets"]

DEMO_NOTE = (
    "demo: FakeProviders replaying SYNTHETIC latency profiles (shaped after public figures, "
    "not recordings of real traffic; see docs/bench.md)"
)


@frozen
class Source:
    """What a run measures, what to close afterwards, extra JSON fields, and its provenance
    (carried into a `--record`ing, so a replay of it still says where it came from)."""

    targets: list[Target]
    providers: list[Any]
    extra: dict[str, Any] = field(factory=dict)
    synthetic: bool = False
    note: str = ""
    sources: dict[str, str] = field(factory=dict)
    models: list[HostModel] = field(factory=list)
    """The model each host runs (a warning is printed when they differ)."""


def targets(args: argparse.Namespace) -> Source:
    if args.demo and (args.family or args.model or args.providers):
        return _demo_targets(args)
    if args.demo:
        print(DEMO_NOTE, file=sys.stderr)
        replays = bench.demo_providers(speed=args.speed, seed=args.seed)
        profiles = builtin_profiles()
        demo = [
            provider_target(name, p, str(profiles[name].meta.get("model") or "demo"))
            for name, p in replays.items()
        ]
        return Source(
            demo,
            list(replays.values()),
            {"synthetic": True},
            models=_host_models(demo, {name: name for name in replays}),
            synthetic=True,
            note="Recorded by `llmkit bench --record` from `llmkit bench --demo`: FakeProviders "
            "replaying SYNTHETIC latency profiles, not real traffic (see `sources`).",
            sources={name: str(profiles[name].meta.get("note", "")) for name in replays},
        )
    if args.replay:
        recording = load_recording(args.replay)
        replays = replay_providers(recording, speed=args.speed, seed=args.seed)
        synthetic = bool(recording.meta.get("synthetic"))
        if synthetic:
            print(
                f"replay of a SYNTHETIC recording, not real traffic: "
                f"{recording.meta.get('note', '')}",
                file=sys.stderr,
            )
        replayed = [
            provider_target(name, p, _recorded_model(recording, name))
            for name, p in replays.items()
        ]
        return Source(
            replayed,
            list(replays.values()),
            {"replay_of": str(args.replay), **({"synthetic": True} if synthetic else {})},
            models=_host_models(replayed, {name: name for name in replays}),
            synthetic=synthetic,
            note=f"Recorded by `llmkit bench --record` from a replay of {Path(args.replay).name}"
            + (" (SYNTHETIC: not real traffic)." if synthetic else "."),
            sources={name: provenance(recording, name) for name in replays},
        )
    return _live_targets(args)


def _recorded_model(recording: Recording, label: str) -> str:
    """The model id `label`'s recorded replies named (else the run's model, else `replay`)."""
    for request in recording.requests:
        if request.provider == label:
            for _, event in request.events:
                if event.model:
                    return event.model
    return str(recording.meta.get("model") or "replay")


def _host_names(args: argparse.Namespace, *, default: Sequence[str] = ()) -> list[str]:
    names = [n.strip() for n in (args.providers or "").split(",") if n.strip()] or list(default)
    labels = names + (["local"] if args.base_url else [])
    twice = sorted({n for n in labels if labels.count(n) > 1})
    if twice:
        raise ConfigurationError(
            f"--providers names {', '.join(twice)} more than once: list each provider once "
            "(--base-url is labelled 'local'); to compare two setups of one host, configure "
            "them under different names in your llmkit configuration"
        )
    return names


def _model_ids(
    family: str | None, option: ModelOption, hosts: Mapping[str, str]
) -> dict[str, str | None]:
    """The id each host (label -> catalog provider name) is asked for.

    `-m`'s id for the host (a canonical name becomes the host's id, `gpt-oss-120b` ->
    `openai/gpt-oss-120b` on Groq); else, with a family, the host's id of the one model
    chosen for every host (`common_model`); None leaves the host's client to choose
    (it serves none of the chosen model).

    Raises:
        ConfigurationError: no family and no `-m` id for a host.
    """
    from llmkit.catalog import default_catalog

    catalog = default_catalog()
    free = {label: name for label, name in hosts.items() if option.for_host(label) is None}
    common = common_model(catalog, family, list(free.values())) if family and free else None
    ids: dict[str, str | None] = {}
    for label, name in hosts.items():
        given = option.for_host(label)
        if given is not None:
            entry = catalog.find(name, given)
            if family is not None and entry is not None and entry.family != family:
                entry = None
            ids[label] = entry.id if entry is not None else given
        elif family is not None:
            served = [e for e in catalog.entries(family, name) if e.model == common]
            ids[label] = served[0].id if served else None
        else:
            raise ConfigurationError(
                f"No model for {label}: name a model family (llmkit bench gpt4 ...), or pass "
                f"-m ID for every host or -m {label}=ID"
            )
    return ids


def _family(registry: Any, name: str | None) -> str | None:
    """The catalog family of `name`: a family, or a configured client's."""
    if name is None or registry is None:
        return name
    entry = registry.config.clients.get(name) if registry.config else None
    return (entry.family or name) if entry is not None else name


def _live_targets(args: argparse.Namespace) -> Source:
    from llmkit.cli._common import load_registry

    names = _host_names(args)
    if args.base_url and not args.model:
        raise ConfigurationError("--base-url needs --model: the id the server knows")
    option = parse_model_option(args.model, [*names, *(["local"] if args.base_url else [])])
    registry = load_registry(args)
    family = _family(registry, args.family)
    built = {name: registry.provider(name) for name in names}
    ids = _model_ids(family, option, {name: p.name for name, p in built.items()})
    targets: list[Target] = []
    providers: list[Any] = list(built.values())
    for name in names:
        model = ids[name]
        if args.family:
            client = registry.client(f"{args.family}@{name}", model=model)
            targets.append(client_target(name, client, max_tokens=args.max_tokens))
        else:
            assert model is not None
            targets.append(provider_target(name, built[name], model, max_tokens=args.max_tokens))
    if args.base_url:
        from llmkit.providers.openai_compatible import OpenAICompatibleProvider

        local = OpenAICompatibleProvider(base_url=args.base_url)
        model = option.for_host("local")
        if model is None:
            raise ConfigurationError("--base-url needs --model: the id the server knows")
        targets.append(provider_target("local", local, model, max_tokens=args.max_tokens))
        providers.append(local)
    hosts = {**{n: p.name for n, p in built.items()}, "local": "local"}
    return Source(
        targets, list({id(p): p for p in providers}.values()), models=_host_models(targets, hosts)
    )


def _demo_targets(args: argparse.Namespace) -> Source:
    """`--demo` with a family, `-m` or `--providers`: each host replays its shipped profile
    of the model chosen for it (FakeProviders named after the hosts)."""
    from llmkit import registry as names_registry
    from llmkit.testing import FakeProvider

    print(DEMO_NOTE, file=sys.stderr)
    per_model = model_profiles()
    per_host = builtin_profiles()
    default = sorted({host for host, _ in per_model}) if (args.family or args.model) else []
    hosts = _host_names(args, default=default or sorted(per_host))
    option = parse_model_option(args.model, hosts)
    family = args.family
    if family is not None and family not in names_registry.client_names():
        raise ConfigurationError(
            f"--demo runs a model family, not {family!r}: one of "
            f"{', '.join(names_registry.client_names())}"
        )
    wanted = {host: host for host in hosts}
    if family is None and args.model is None:
        ids: dict[str, str | None] = {
            h: str(per_host[h].meta.get("model")) if h in per_host else None for h in hosts
        }
    else:
        ids = _model_ids(family, option, wanted)
    targets: list[Target] = []
    providers: list[Any] = []
    sources: dict[str, str] = {}
    for host in hosts:
        profile = _demo_profile(host, ids[host], family, per_model, per_host)
        fake = FakeProvider(profile=profile, name=host, speed=args.speed, seed=args.seed)
        model = str(profile.meta.get("model"))
        sources[host] = str(profile.meta.get("note", ""))
        providers.append(fake)
        if family is not None:
            client = names_registry.client_factory(family)(provider=fake, model=model)
            targets.append(client_target(host, client, max_tokens=args.max_tokens))
        else:
            targets.append(provider_target(host, fake, model, max_tokens=args.max_tokens))
    return Source(
        targets,
        providers,
        {"synthetic": True},
        synthetic=True,
        note="Recorded by `llmkit bench --record` from `llmkit bench --demo`: FakeProviders "
        "replaying SYNTHETIC latency profiles, not real traffic (see `sources`).",
        sources=sources,
        models=_host_models(targets, wanted),
    )


def _demo_profile(
    host: str,
    model: str | None,
    family: str | None,
    per_model: Mapping[tuple[str, str], Recording],
    per_host: Mapping[str, Recording],
) -> Recording:
    """The shipped profile of `model` on `host` (the host's own profile when its model matches).

    Raises:
        ConfigurationError: no shipped profile of that model on that host (lists what there is).
    """
    from llmkit.catalog import default_catalog

    if model is None and family is not None:
        model = default_catalog().resolve(family, host).id  # raises when the host serves none
    if model is not None and (host, model) in per_model:
        return per_model[(host, model)]
    own = per_host.get(host)
    if own is not None and (model is None or own.meta.get("model") == model):
        return own
    have: dict[str, list[str]] = {}
    for key_host, key_model in [
        *per_model,
        *((h, str(r.meta.get("model"))) for h, r in per_host.items()),
    ]:
        have.setdefault(key_host, []).append(key_model)
    listed = "; ".join(f"{h}: {', '.join(sorted(set(m)))}" for h, m in sorted(have.items()))
    raise ConfigurationError(
        f"--demo has no profile of {model or 'any model'} on {host}; the shipped profiles: "
        f"{listed}. Add one with benchmarks/make_demo_profiles.py, or record a real run with --record"
    )


def _host_models(targets: Sequence[Target], hosts: Mapping[str, str]) -> list[HostModel]:
    from llmkit.catalog import default_catalog

    catalog = default_catalog()
    return [
        HostModel(
            t.name,
            t.model,
            canonical(catalog, hosts.get(t.name, t.name), t.model) if t.model else None,
        )
        for t in targets
    ]
