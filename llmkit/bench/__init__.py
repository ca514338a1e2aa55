"""Latency benchmarks across providers: `await llmkit.bench.run(...)` and `llmkit bench`.

    from llmkit.bench import run
    from llmkit.providers import GroqProvider, OpenRouterProvider

    result = await run(
        {"groq": GroqProvider(), "openrouter": OpenRouterProvider()},
        model={"groq": "openai/gpt-oss-20b", "openrouter": "openai/gpt-oss-20b"},
        n=30, concurrency=4,
    )
    print(result["groq"].ttft.p50, result["groq"].tokens_per_second.p50)

The engine interleaves providers request by request, warms up first, caps the
requests in flight per provider, and measures per request the time to first
token, the gaps between tokens, the total, output tokens per second, errors,
retries and cost. `FakeProvider.from_recording` (`llmkit.testing`) replays a
recorded run offline with the same timing; `demo_providers()` builds fakes
replaying the shipped (synthetic) profiles, `replay_providers()` one fake per
provider of a recording.
Nothing here imports `rich` or `matplotlib` until a report asks for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from llmkit import _sync
from llmkit.bench._engine import Target, client_target, provider_target, run_targets
from llmkit.bench._prompts import BUILTIN, load_prompts
from llmkit.bench._record import (
    Recording,
    ReplayProvider,
    builtin_profiles,
    load_recording,
    recording_of,
    replay_providers,
    save_recording,
)
from llmkit.bench._results import BenchResult, ProviderResult, Sample
from llmkit.bench._stats import Distribution
from llmkit.errors import ConfigurationError
from llmkit.testing import FakeProvider
from llmkit.types import StreamEvent

__all__ = [
    "BUILTIN",
    "BenchResult",
    "Distribution",
    "ProviderResult",
    "Recording",
    "ReplayProvider",
    "Sample",
    "demo_providers",
    "load_prompts",
    "load_recording",
    "replay_providers",
    "run",
    "run_sync",
    "save_recording",
]


async def run(
    providers: Mapping[str, Any] | Sequence[Any],
    prompts: str | Sequence[str] = "short",
    *,
    model: str | Mapping[str, str] | None = None,
    client: Callable[..., Any] | None = None,
    n: int = 10,
    concurrency: int = 1,
    warmup: int = 1,
    max_tokens: int | None = None,
    on_sample: Callable[[Sample], None] | None = None,
    stop: asyncio.Event | None = None,
    record: str | Path | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> BenchResult:
    """Benchmark `providers` on one prompt set and return the typed results.

    Args:
        providers: providers to compare, as `{label: provider}` or a sequence
            (labelled by their `name`).
        prompts: a built-in set (`short`, `medium`, `long`), a file path, or the prompts.
        model: the host's model id, or one per label; not needed with `client`.
        client: a model client class or factory, called once per provider (e.g.
            `DeepSeekClient`). A client class with a `family` runs one model on every
            host: the newest that all of them serve (`client(provider=p, model=id)`
            with each host's id of it); a host that does not serve it gets the
            client's own choice. Each result's `model` says which id a host ran.
        n: measured requests per provider.
        concurrency: requests in flight at once, per provider.
        warmup: unmeasured requests per provider before the measured ones.
        max_tokens: a cap on output tokens.
        on_sample: called with each sample as it is measured (a progress bar).
        stop: set it to stop taking new requests; in-flight ones finish.
        record: a path to save the run to (every event with its arrival time,
            headers kept), for `FakeProvider.from_recording` or `llmkit bench --replay`.
        clock: seconds, monotonic; injectable for tests.

    Returns:
        One `ProviderResult` per provider, in the order given. Cancelling the
        task (Ctrl-C) returns what was measured, with `interrupted=True`.

    Raises:
        ConfigurationError: no provider, neither `model` nor `client`, a bad prompt set.
    """
    labelled = _labelled(providers)
    texts, prompts_name = _prompt_set(prompts)
    ids = _common_ids(client, labelled) if client is not None and model is None else {}
    targets = [
        _target(label, p, ids.get(label, model), client, max_tokens)
        for label, p in labelled.items()
    ]
    events: dict[int, list[tuple[float, StreamEvent]]] | None = {} if record else None
    result = await run_targets(
        targets,
        texts,
        n=n,
        concurrency=concurrency,
        warmup=warmup,
        prompts_name=prompts_name,
        model=model if isinstance(model, str) else None,
        on_sample=on_sample,
        stop=stop,
        clock=clock,
        events=events,
    )
    if record is not None and events is not None:
        save_recording(recording_of(result, events, texts), record)
    return result


def run_sync(
    providers: Mapping[str, Any] | Sequence[Any],
    prompts: str | Sequence[str] = "short",
    **options: Any,
) -> BenchResult:
    """Blocking twin of `run`: same arguments, same result."""
    return _sync.run(partial(run, providers, prompts, **options))


def demo_providers(speed: float = 1.0, seed: int | str | None = None) -> dict[str, FakeProvider]:
    """`FakeProvider`s replaying the shipped latency profiles of a few hosts, by host name.

    The profiles are synthetic, shaped after public figures (see each one's `note`),
    not recordings of real traffic. `speed` > 1 replays faster; with `seed`, each
    fake draws its recorded requests at random (reproducibly) instead of in order.
    """
    return {
        name: FakeProvider(profile=profile, name=name, speed=speed, seed=seed)
        for name, profile in builtin_profiles().items()
    }


def _labelled(providers: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    if isinstance(providers, Mapping):
        return dict(providers)
    names = [str(getattr(p, "name", type(p).__name__)) for p in providers]
    if len(set(names)) != len(names):
        raise ConfigurationError(
            f"Two providers share a name in {names}: pass a mapping of distinct labels to providers"
        )
    return dict(zip(names, providers, strict=True))


def _common_ids(client: Callable[..., Any], providers: Mapping[str, Any]) -> dict[str, str]:
    """Per label, the host's id of the one model of `client`'s family that every host
    serves (else the one most serve); empty when `client` has no `family`."""
    from llmkit.bench._models import common_model
    from llmkit.catalog import default_catalog

    family = getattr(client, "family", None)
    if not isinstance(family, str):
        return {}
    catalog = default_catalog()
    names = {label: str(getattr(p, "name", label)) for label, p in providers.items()}
    common = common_model(catalog, family, list(names.values()))
    ids = {}
    for label, name in names.items():
        served = [e.id for e in catalog.entries(family, name) if e.model == common]
        if served:
            ids[label] = served[0]
    return ids


def _prompt_set(prompts: str | Sequence[str]) -> tuple[tuple[str, ...], str]:
    if isinstance(prompts, str):
        name = prompts if prompts in BUILTIN else "custom"
        return load_prompts(prompts), name
    return tuple(prompts), "custom"


def _target(
    label: str,
    provider: Any,
    model: str | Mapping[str, str] | None,
    client: Callable[..., Any] | None,
    max_tokens: int | None,
) -> Target:
    if client is not None:
        chosen = model if isinstance(model, str) else None
        built = (
            client(provider=provider) if chosen is None else client(provider=provider, model=chosen)
        )
        return client_target(label, built, max_tokens=max_tokens)
    model_id = model.get(label) if isinstance(model, Mapping) else model
    if model_id is None:
        raise ConfigurationError(
            f"No model for {label}: pass `model=` (the host's id, or one per provider) "
            "or `client=` (a model client class such as DeepSeekClient)"
        )
    return provider_target(label, provider, model_id, max_tokens=max_tokens)
