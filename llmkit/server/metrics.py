"""The gateway's Prometheus metrics, served at `/metrics`.

Each app has its own `CollectorRegistry` (two apps in one process, as in the
tests, do not collide). Labels: `model` (the name the caller asked for),
`provider`, and `key` (the key's name, never its value). Metrics are counted in
this process; with `--workers N` or several replicas, Prometheus sums them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The gateway's counters, histograms and gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("endpoint", "model", "provider", "key")
        r = self.registry
        self.requests = Counter(
            "llmkit_gateway_requests",
            "Requests answered, by status",
            (*labels, "status"),
            registry=r,
        )
        self.errors = Counter(
            "llmkit_gateway_errors", "Errors, by class", (*labels, "error"), registry=r
        )
        self.tokens = Counter(
            "llmkit_gateway_tokens",
            "Tokens, by direction (input, output)",
            (*labels, "direction"),
            registry=r,
        )
        self.cost = Counter("llmkit_gateway_cost_usd", "Cost in USD", labels, registry=r)
        self.cache_hits = Counter(
            "llmkit_gateway_cache_hits", "Replies served from a response cache", labels, registry=r
        )
        self.latency = Histogram(
            "llmkit_gateway_request_seconds", "Time to the whole reply", labels,
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "llmkit_gateway_time_to_first_token_seconds", "Time to a stream's first content",
            labels, buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.streams = Gauge(
            "llmkit_gateway_streams_in_flight",
            "Streams being sent now",
            ("model", "key"),
            registry=r,
        )

    def reply(
        self,
        labels: tuple[str, str, str, str],
        *,
        status: int,
        seconds: float,
        usage: Any = None,
        cost: Any = None,
        cached: bool = False,
        error: str | None = None,
    ) -> None:
        """Count one answered request."""
        child = self._child
        child(self.requests, (*labels, str(status))).inc()
        if error is not None:
            child(self.errors, (*labels, error)).inc()
        else:
            child(self.latency, labels).observe(seconds)
        if usage is not None:
            if usage.input_tokens:
                child(self.tokens, (*labels, "input")).inc(usage.input_tokens)
            if usage.output_tokens:
                child(self.tokens, (*labels, "output")).inc(usage.output_tokens)
        if cost is not None and cost.total:
            child(self.cost, labels).inc(cost.total)
        if cached:
            child(self.cache_hits, labels).inc()

    def _child(self, metric: Any, values: tuple[str, ...]) -> Any:
        """`metric.labels(*values)`, looked up once per label set (`labels()` validates and
        locks on every call: a few microseconds, five times a request)."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
