"""What a benchmark run produces: one `Sample` per request, summaries per provider.

Frozen attrs types plus the pure `aggregate` that turns a provider's samples
into its `ProviderResult`. No I/O, no clock: the engine measures, this module
only counts and summarises, so its figures can be recomputed from a saved run.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from attrs import field, frozen

from llmkit.bench._stats import Distribution, summarize

__all__ = ["BenchResult", "ProviderResult", "Sample", "aggregate"]


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if value else {}


@frozen
class Sample:
    """One measured request. Times are seconds; `started` counts from the run's start."""

    provider: str
    """The label of the provider the request went to."""
    index: int
    """Its place in the run's schedule (0 is the first request sent)."""
    prompt_index: int
    """Which prompt of the set it sent."""
    started: float
    ttft: float | None = None
    """Time to first token: from sending to the first content (text, reasoning, tool call)."""
    total: float | None = None
    """From sending to the end of the reply (or to the error)."""
    inter_token: tuple[float, ...] = ()
    """Gaps between consecutive content events, in arrival order."""
    output_tokens: int | None = None
    tokens_source: str | None = None
    """`host` when the host reported usage, `counted` when llmkit counted content events."""
    tokens_per_second: float | None = None
    """Output tokens over the time from the first token to the end (generation speed)."""
    retries: int = 0
    """Retries the provider's policy made, seen as extra HTTP responses for one request."""
    cost: float | None = None
    """USD, when the provider or client priced the reply."""
    host_timings: dict[str, float] = field(factory=dict, converter=_dict)
    """Timings the host reported about itself (Groq's `queue_time`; Ollama's durations), seconds."""
    headers: tuple[dict[str, str], ...] = ()
    """The HTTP headers of every response the request got (retries included), where visible."""
    error_type: str | None = None
    """The llmkit error class name, when the request failed."""
    error: str | None = None
    """The error message, when the request failed."""
    model: str | None = None
    """The model id the host answered with (else the one asked for), when known."""

    @property
    def ok(self) -> bool:
        """Whether the request completed without an error."""
        return self.error_type is None


@frozen
class ProviderResult:
    """The summary of one provider's samples."""

    provider: str
    count: int
    """Requests measured (completed or failed; warm-ups and cancelled ones are not counted)."""
    errors: int
    ttft: Distribution | None
    total: Distribution | None
    inter_token: Distribution | None
    """Over every gap between content events of every successful request."""
    tokens_per_second: Distribution | None
    output_tokens: int
    retries: int
    cost: float | None
    """Total USD over the priced requests; None when none was priced."""
    error_types: dict[str, int] = field(factory=dict, converter=_dict)
    host_timings: dict[str, Distribution] = field(factory=dict, converter=_dict)
    samples: tuple[Sample, ...] = field(default=(), eq=False, repr=False)
    model: str | None = None
    """The model id the provider was asked for (else the one its replies named), when known."""


@frozen
class BenchResult:
    """A whole run: its settings and one `ProviderResult` per provider, in the order given."""

    providers: tuple[ProviderResult, ...]
    n: int
    """Requests asked of each provider."""
    concurrency: int
    """Requests in flight at once, per provider."""
    warmup: int
    prompts: str
    """The prompt set's name, or `custom`."""
    model: str | None
    started_at: str
    """ISO 8601 UTC time the measured requests began."""
    duration: float
    """Seconds from the first measured request to the end."""
    interrupted: bool = False
    """True when the run was stopped (Ctrl-C, cancellation, `stop`) before every request ran."""

    @property
    def models(self) -> dict[str, str | None]:
        """The model id of each provider, by label."""
        return {p.provider: p.model for p in self.providers}

    def __getitem__(self, provider: str) -> ProviderResult:
        """The result of the provider labelled `provider`."""
        for result in self.providers:
            if result.provider == provider:
                return result
        raise KeyError(provider)

    @property
    def samples(self) -> tuple[Sample, ...]:
        """Every sample of the run, in the order the requests were sent."""
        everything = [s for result in self.providers for s in result.samples]
        return tuple(sorted(everything, key=lambda s: s.index))


def aggregate(
    provider: str, samples: Sequence[Sample], *, model: str | None = None
) -> ProviderResult:
    """Summarise the samples of one provider (samples of other providers are ignored).

    `model`: the id the provider was asked for; by default the one its replies named.
    """
    mine = [s for s in samples if s.provider == provider]
    good = [s for s in mine if s.ok]
    costs = [s.cost for s in mine if s.cost is not None]
    timing_keys = sorted({key for s in good for key in s.host_timings})
    host_timings = {
        key: dist
        for key in timing_keys
        if (dist := summarize([s.host_timings[key] for s in good if key in s.host_timings]))
    }
    return ProviderResult(
        provider=provider,
        count=len(mine),
        errors=len(mine) - len(good),
        ttft=summarize(_present(s.ttft for s in good)),
        total=summarize(_present(s.total for s in good)),
        inter_token=summarize([gap for s in good for gap in s.inter_token]),
        tokens_per_second=summarize(_present(s.tokens_per_second for s in good)),
        output_tokens=sum(s.output_tokens or 0 for s in good),
        retries=sum(s.retries for s in mine),
        cost=math.fsum(costs) if costs else None,
        error_types=dict(Counter(s.error_type for s in mine if s.error_type)),
        host_timings=host_timings,
        samples=tuple(mine),
        model=model or next((s.model for s in mine if s.model), None),
    )


def _present(values: Any) -> list[float]:
    return [v for v in values if v is not None]
