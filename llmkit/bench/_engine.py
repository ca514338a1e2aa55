"""The benchmark engine: send one prompt set to several providers and time every event.

Providers are interleaved request by request (round robin, the order rotated
each round) so that a drift in the network does not favour one of them. Each
provider gets up to `concurrency` requests in flight of its own: a request
starts, in schedule order, as soon as its provider has a free slot, so a slow
host never holds back a fast one. Warm-up requests run
first and are not counted. Cancelling the run (Ctrl-C under `asyncio.run`)
or setting `stop` ends it cleanly: in-flight requests are cancelled and what
was measured so far comes back with `interrupted=True`.

Retries are the providers' own (their `RetryPolicy`); the engine counts them by
watching the HTTP responses each request gets through the providers'
`_observe_headers` hook, which also keeps the headers for a recording.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import attrs
from attrs import frozen

from llmkit.bench._results import BenchResult, Sample, aggregate
from llmkit.errors import ConfigurationError, LLMError
from llmkit.providers._stream import ResponseBuilder
from llmkit.types import Message, Request, Response, StreamEvent

__all__ = ["Target", "host_timings", "measure", "run_targets", "schedule"]

Clock = Callable[[], float]

# Groq reports its own timings under x_groq.usage on the last chunk (HOSTS.md §6).
GROQ_TIMINGS = ("queue_time", "prompt_time", "completion_time", "total_time")
HIDDEN_HEADERS = frozenset({"set-cookie", "authorization", "x-api-key", "api-key", "cookie"})


@frozen
class Target:
    """One thing to benchmark: a label and how to stream a reply to a prompt."""

    name: str
    send: Callable[[str], AsyncIterator[StreamEvent]]
    """Starts a stream for a prompt; if the stream has a `.response` once exhausted, it is used."""
    provider: Any = None
    """The provider underneath, whose HTTP responses are watched for retries and headers."""
    model: str | None = None
    """The id of the model this target asks its host for (None when not known beforehand)."""


def provider_target(
    name: str, provider: Any, model: str, *, max_tokens: int | None = None
) -> Target:
    """A target that sends each prompt straight to `provider` as a one-message request."""

    def send(prompt: str) -> AsyncIterator[StreamEvent]:
        request = Request(model=model, messages=(Message.user(prompt),), max_tokens=max_tokens)
        return provider.stream(request)  # type: ignore[no-any-return]

    return Target(name, send, provider, model)


def client_target(name: str, client: Any, *, max_tokens: int | None = None) -> Target:
    """A target that streams each prompt through a model client (which picks the model)."""
    options = {} if max_tokens is None else {"max_tokens": max_tokens}

    def send(prompt: str) -> AsyncIterator[StreamEvent]:
        return client.stream(prompt, **options)  # type: ignore[no-any-return]

    model = getattr(client, "model", None)
    return Target(
        name, send, getattr(client, "provider", None), model if isinstance(model, str) else None
    )


def schedule(providers: int, n: int, prompts: int) -> list[tuple[int, int]]:
    """The order of requests: `(provider, prompt)` pairs, round robin, rotated each round.

    Round `r` sends prompt `r % prompts` to every provider, starting with
    provider `r % providers`, so no provider always goes first.
    """
    order = []
    for round_ in range(n):
        for k in range(providers):
            order.append(((round_ + k) % providers, round_ % prompts))
    return order


def host_timings(provider_data: Mapping[str, Any], raw: Sequence[Any]) -> dict[str, float]:
    """Timings a host reported about itself, in seconds, keyed by the host's own names.

    Groq's `x_groq.usage` (`queue_time`, `prompt_time`, `completion_time`, `total_time`,
    seconds) from the raw chunks, and any `provider_data[host]["timings"]` (seconds; the
    Ollama codec puts its converted `*_duration` figures there).
    """
    found: dict[str, float] = {}
    for chunk in raw:
        groq = chunk.get("x_groq") if isinstance(chunk, Mapping) else None
        usage = groq.get("usage") if isinstance(groq, Mapping) else None
        if isinstance(usage, Mapping):
            found.update({k: float(usage[k]) for k in GROQ_TIMINGS if _is_number(usage.get(k))})
    for data in provider_data.values():
        timings = data.get("timings") if isinstance(data, Mapping) else None
        if isinstance(timings, Mapping):
            found.update({k: float(v) for k, v in timings.items() if _is_number(v)})
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- watching HTTP responses ----------------------------------------------------

_responses: ContextVar[list[dict[str, str]] | None] = ContextVar(
    "llmkit_bench_responses", default=None
)


@contextlib.contextmanager
def _watch_responses(providers: Sequence[Any]) -> Iterator[None]:
    """Wrap each provider's `_observe_headers` so the running request sees its responses."""
    patched: list[tuple[Any, Any]] = []
    for provider in {id(p): p for p in providers if p is not None}.values():
        original = getattr(provider, "_observe_headers", None)
        own = getattr(provider, "__dict__", None)
        if original is None or own is None:
            continue
        previous = own.get("_observe_headers")

        def observe(headers: Any, _original: Any = original) -> None:
            _original(headers)
            sink = _responses.get()
            if sink is not None:
                sink.append(_plain_headers(headers))

        provider._observe_headers = observe
        patched.append((provider, previous))
    try:
        yield
    finally:
        for provider, previous in patched:
            if previous is None:
                del provider._observe_headers
            else:
                provider._observe_headers = previous


def _plain_headers(headers: Any) -> dict[str, str]:
    items = headers.items() if hasattr(headers, "items") else headers
    return {str(k).lower(): str(v) for k, v in items if str(k).lower() not in HIDDEN_HEADERS}


# -- one request ------------------------------------------------------------------


async def measure(
    target: Target,
    prompt: str,
    *,
    index: int = 0,
    prompt_index: int = 0,
    started: float = 0.0,
    clock: Clock = time.perf_counter,
    keep_events: list[tuple[float, StreamEvent]] | None = None,
) -> Sample:
    """Stream one reply from `target` and time it; an error becomes a failed sample.

    `LLMError`s are what providers raise; any other exception (a provider's bug)
    is recorded too, under its own class name, so one bad request never ends a run.
    A `ConfigurationError` (no key, no SDK) is raised: it is not a latency figure.

    Args:
        keep_events: a list to append `(seconds since sending, event)` to, for recordings.
    """
    responses: list[dict[str, str]] = []
    token = _responses.set(responses)
    builder = ResponseBuilder(provider=target.name)
    arrivals: list[float] = []
    begin = clock()
    error: Exception | None = None
    stream = target.send(prompt)
    try:
        async for event in stream:
            now = clock()
            if event.has_content:
                arrivals.append(now - begin)
            builder.add(event)
            if keep_events is not None:
                keep_events.append((now - begin, event))
    except ConfigurationError:
        raise  # a missing key or SDK is not a latency figure: stop the run and say how to fix it
    except Exception as exc:  # a provider's bug is a failed request too, not the end of the run
        error = exc
    finally:
        _responses.reset(token)
        await _close(stream)
    total = clock() - begin
    response = _final_response(stream, builder)
    sample = _sample(
        target.name, index, prompt_index, started, arrivals, total, response, responses, error
    )
    model = response.model or target.model
    return attrs.evolve(sample, model=model) if model else sample


async def _close(stream: Any) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def _final_response(stream: Any, builder: ResponseBuilder) -> Response:
    try:
        response = stream.response
    except (AttributeError, LLMError):
        return builder.build()
    return response if isinstance(response, Response) else builder.build()


def _sample(
    name: str,
    index: int,
    prompt_index: int,
    started: float,
    arrivals: list[float],
    total: float,
    response: Response,
    responses: list[dict[str, str]],
    error: Exception | None,
) -> Sample:
    reported = response.usage.output_tokens
    tokens = reported if reported is not None else (len(arrivals) or None)
    ttft = arrivals[0] if arrivals else None
    speed = None
    if tokens and ttft is not None and len(arrivals) > 1 and total > ttft:
        speed = tokens / (total - ttft)
    raw = response.raw if isinstance(response.raw, list) else [response.raw]
    return Sample(
        provider=name,
        index=index,
        prompt_index=prompt_index,
        started=started,
        ttft=ttft,
        total=total,
        inter_token=tuple(b - a for a, b in itertools.pairwise(arrivals)),
        output_tokens=tokens,
        tokens_source=None if tokens is None else ("host" if reported is not None else "counted"),
        tokens_per_second=speed,
        retries=max(0, len(responses) - 1),
        cost=response.cost.total if response.cost is not None else None,
        host_timings=host_timings(response.provider_data, raw),
        headers=tuple(responses),
        error_type=None if error is None else type(error).__name__,
        error=None
        if error is None
        else (error.message if isinstance(error, LLMError) else str(error)),
    )


# -- the run --------------------------------------------------------------------


async def run_targets(
    targets: Sequence[Target],
    prompts: Sequence[str],
    *,
    n: int = 10,
    concurrency: int = 1,
    warmup: int = 1,
    prompts_name: str = "custom",
    model: str | None = None,
    on_sample: Callable[[Sample], None] | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock = time.perf_counter,
    events: dict[int, list[tuple[float, StreamEvent]]] | None = None,
) -> BenchResult:
    """Benchmark `targets` on `prompts`; see the module docstring for the rules.

    Args:
        events: when given, filled with every event of every measured request,
            keyed by the sample's `index`, with its arrival time (for recordings).
    """
    _check(targets, prompts, n, concurrency, warmup)
    order = schedule(len(targets), n, len(prompts))
    samples: list[Sample] = []
    interrupted = False
    started_at, begin = _now(), clock()
    with _watch_responses([t.provider for t in targets]):
        try:
            await _warm_up(targets, prompts, warmup, clock)
            started_at, begin = _now(), clock()
            await _drive(
                targets, prompts, order, concurrency, samples, begin, on_sample, stop, clock, events
            )
        except asyncio.CancelledError:
            # A clean stop: keep what was measured. Un-cancel so the caller's task goes on.
            interrupted = True
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
    interrupted = interrupted or len(samples) < len(order)
    return BenchResult(
        providers=tuple(aggregate(t.name, samples, model=t.model) for t in targets),
        n=n,
        concurrency=concurrency,
        warmup=warmup,
        prompts=prompts_name,
        model=model,
        started_at=started_at,
        duration=clock() - begin,
        interrupted=interrupted,
    )


async def _warm_up(
    targets: Sequence[Target], prompts: Sequence[str], warmup: int, clock: Clock
) -> None:
    """`warmup` unmeasured requests per provider; providers warm up side by side."""

    async def warm(target: Target) -> None:
        for round_ in range(warmup):
            await measure(target, prompts[round_ % len(prompts)], clock=clock)

    await asyncio.gather(*(warm(t) for t in targets))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _check(
    targets: Sequence[Target], prompts: Sequence[str], n: int, concurrency: int, warmup: int
) -> None:
    if not targets:
        raise ConfigurationError("Nothing to benchmark: pass at least one provider")
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ConfigurationError(
            f"Two providers share a name in {names}: pass a mapping of distinct labels to providers"
        )
    if not prompts:
        raise ConfigurationError("The prompt set is empty: pass at least one prompt")
    if n < 1 or concurrency < 1 or warmup < 0:
        raise ConfigurationError(
            f"n and concurrency must be at least 1 and warmup at least 0 (got n={n}, "
            f"concurrency={concurrency}, warmup={warmup})"
        )


async def _drive(
    targets: Sequence[Target],
    prompts: Sequence[str],
    order: list[tuple[int, int]],
    concurrency: int,
    samples: list[Sample],
    begin: float,
    on_sample: Callable[[Sample], None] | None,
    stop: asyncio.Event | None,
    clock: Clock,
    events: dict[int, list[tuple[float, StreamEvent]]] | None,
) -> None:
    """Start requests in schedule order, each as soon as its provider has a free slot.

    A request never waits behind another provider's: while a slow host has
    `concurrency` requests in flight, the other hosts' next requests still
    start (see `next_provider`).
    """
    queues: list[collections.deque[tuple[int, int]]] = [collections.deque() for _ in targets]
    for index, (who, what) in enumerate(order):
        queues[who].append((index, what))
    in_flight = [0] * len(targets)
    running: dict[asyncio.Task[None], int] = {}

    async def one(index: int, who: int, what: int) -> None:
        kept = None if events is None else events.setdefault(index, [])
        sample = await measure(
            targets[who],
            prompts[what],
            index=index,
            prompt_index=what,
            started=clock() - begin,
            clock=clock,
            keep_events=kept,
        )
        samples.append(sample)
        if on_sample is not None:
            on_sample(sample)

    try:
        while True:
            while not (stop is not None and stop.is_set()):
                heads = [q[0][0] if q else None for q in queues]
                chosen = next_provider(heads, in_flight, concurrency)
                if chosen is None:
                    break
                index, what = queues[chosen].popleft()
                in_flight[chosen] += 1
                running[asyncio.create_task(one(index, chosen, what))] = chosen
            if not running:
                return
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                in_flight[running.pop(task)] -= 1
                task.result()  # raises what ends the run (a ConfigurationError)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def next_provider(
    heads: Sequence[int | None], in_flight: Sequence[int], concurrency: int
) -> int | None:
    """Which provider sends next: of those with a free slot and a request left, the one
    whose next request comes first in the schedule (`heads`: its schedule index, or None).
    """
    free = [
        (head, who)
        for who, head in enumerate(heads)
        if head is not None and in_flight[who] < concurrency
    ]
    return min(free)[1] if free else None
