"""Record a benchmark run, and replay it later, offline, with the same timing.

A recording is JSON Lines: a `run` line (model, date, prompts, whether it is
synthetic and a note saying where it came from), then one `request` line per
request: its provider, prompt, the HTTP headers of every response it got
(retries included), every stream event with its arrival time in seconds
after sending, when it ended, and its error if it failed. A profile shipped in
`llmkit/data/profiles/` is the same thing as one JSON document (`requests`
holds the request lines).

`ReplayProvider` serves a recording as a provider: each `stream()` replays the
next recorded request, events at their recorded offsets (divided by `speed`),
headers through `_observe_headers`, and the recorded error at the end. The
offline `--demo` runs on such replays.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from attrs import field, frozen

from llmkit import errors
from llmkit.bench._results import BenchResult, Sample
from llmkit.errors import ConfigurationError, LLMError
from llmkit.providers._base import ModelInfo
from llmkit.providers._stream import ResponseStream
from llmkit.types import Request, Response, StreamEvent, from_dict, to_dict

__all__ = [
    "FORMAT_VERSION",
    "RecordedRequest",
    "Recording",
    "ReplayProvider",
    "builtin_profiles",
    "load_recording",
    "recording_of",
    "save_recording",
]

FORMAT_VERSION = 1


@frozen
class RecordedRequest:
    """One request of a recording, with the arrival time of each of its events."""

    provider: str
    events: tuple[tuple[float, StreamEvent], ...]
    """`(seconds after sending, event)`, in arrival order."""
    end: float
    """Seconds after sending when the reply ended (or failed)."""
    index: int = 0
    prompt_index: int = 0
    started: float = 0.0
    """Seconds after the run's start when it was sent."""
    headers: tuple[dict[str, str], ...] = ()
    error_type: str | None = None
    error: str | None = None


@frozen
class Recording:
    """A recorded run (or a shipped profile): metadata and the requests."""

    requests: tuple[RecordedRequest, ...]
    meta: dict[str, Any] = field(factory=dict)
    """`model`, `started_at`, `prompts`, `synthetic`, `note`, ... as written."""

    @property
    def providers(self) -> tuple[str, ...]:
        """The provider labels in the recording, in order of first appearance."""
        return tuple(dict.fromkeys(r.provider for r in self.requests))

    def for_provider(self, name: str) -> tuple[RecordedRequest, ...]:
        """The requests sent to `name`, in the order they were sent."""
        return tuple(r for r in self.requests if r.provider == name)


def recording_of(
    result: BenchResult,
    events: Mapping[int, Sequence[tuple[float, StreamEvent]]],
    prompts: Sequence[str],
    *,
    note: str = "",
) -> Recording:
    """The recording of a finished run, from its samples and the events the engine kept."""
    requests = tuple(_recorded(s, events.get(s.index, ())) for s in result.samples)
    meta = {
        "model": result.model,
        "started_at": result.started_at,
        "prompts": list(prompts),
        "synthetic": False,
        "note": note or "Recorded by `llmkit bench --record`.",
    }
    return Recording(requests, meta)


def _recorded(sample: Sample, events: Sequence[tuple[float, StreamEvent]]) -> RecordedRequest:
    return RecordedRequest(
        provider=sample.provider,
        events=tuple(events),
        end=sample.total or 0.0,
        index=sample.index,
        prompt_index=sample.prompt_index,
        started=sample.started,
        headers=sample.headers,
        error_type=sample.error_type,
        error=sample.error,
    )


# -- files ------------------------------------------------------------------------


def save_recording(recording: Recording, path: str | Path) -> None:
    """Write `recording` as JSON Lines (`.jsonl`) or, for a `.json` path, one document."""
    path = Path(path)
    lines = [_request_data(r) for r in recording.requests]
    head = {"kind": "run", "version": FORMAT_VERSION, **recording.meta}
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps({**head, "requests": lines}, indent=1) + "\n", encoding="utf-8")
        return
    with path.open("w", encoding="utf-8") as out:
        for item in (head, *lines):
            out.write(json.dumps(item, separators=(",", ":")) + "\n")


def load_recording(path: str | Path) -> Recording:
    """Read a recording written by `save_recording` (either layout).

    Raises:
        ConfigurationError: the file is missing or is not a recording.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the recording {path}: {exc.strerror}") from exc
    try:
        items = _items(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"{path} is not an llmkit bench recording ({exc}); make one with `llmkit bench --record`"
        ) from exc
    return items


def _items(text: str) -> Recording:
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and "requests" in document:
        lines = document.pop("requests")
    else:
        parsed = [json.loads(line) for line in text.splitlines() if line.strip()]
        document, lines = parsed[0], parsed[1:]
    if document.get("kind") not in {"run", "profile"}:
        raise ValueError("its first item is not a run header")
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(f"format version {document.get('version')}, expected {FORMAT_VERSION}")
    meta = {k: v for k, v in document.items() if k not in {"kind", "version"}}
    return Recording(tuple(_request_of(line) for line in lines), meta)


def _request_data(request: RecordedRequest) -> dict[str, Any]:
    return {
        "kind": "request",
        "provider": request.provider,
        "index": request.index,
        "prompt_index": request.prompt_index,
        "started": round(request.started, 6),
        "headers": list(request.headers),
        "events": [[round(t, 6), _event_data(e)] for t, e in request.events],
        "end": round(request.end, 6),
        "error": None
        if request.error_type is None
        else {"type": request.error_type, "message": request.error},
    }


def _event_data(event: StreamEvent) -> dict[str, Any]:
    """Only the fields that are set, so recordings stay small and diff well."""
    data = to_dict(event)
    return {k: v for k, v in data.items() if v not in (None, "", {})}


def _request_of(data: Mapping[str, Any]) -> RecordedRequest:
    error = data.get("error") or {}
    return RecordedRequest(
        provider=str(data["provider"]),
        events=tuple((float(t), from_dict(e, StreamEvent)) for t, e in data["events"]),
        end=float(data["end"]),
        index=int(data.get("index", 0)),
        prompt_index=int(data.get("prompt_index", 0)),
        started=float(data.get("started", 0.0)),
        headers=tuple(dict(h) for h in data.get("headers", ())),
        error_type=error.get("type"),
        error=error.get("message"),
    )


def builtin_profiles() -> dict[str, Recording]:
    """The latency profiles shipped with llmkit, by host name (synthetic; see their `note`)."""
    folder = resources.files("llmkit").joinpath("data", "profiles")
    profiles = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            recording = _items(item.read_text(encoding="utf-8"))
            profiles[item.name.removesuffix(".json")] = recording
    return profiles


# -- replay -------------------------------------------------------------------------


class ReplayProvider:
    """A provider that replays recorded requests with their timing; no network.

    Each `stream()` (or `complete()`) takes the next recorded request, cycling,
    whatever the request asks: it is a latency profile, not a model.
    """

    def __init__(
        self,
        requests: Sequence[RecordedRequest],
        *,
        name: str = "replay",
        speed: float = 1.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Serve `requests` under `name`; `speed` > 1 replays faster (2.0: in half the time).

        Args:
            clock: seconds, monotonic (default: the event loop's clock); with `sleep`,
                injectable so tests replay on a fake clock.
            sleep: waits the given seconds.
        """
        if not requests:
            raise ConfigurationError(f"Nothing to replay for {name}: the recording has no requests")
        if speed <= 0:
            raise ConfigurationError(f"speed must be positive, not {speed}")
        self.name = name
        self.speed = speed
        self._requests = tuple(requests)
        self._next = itertools.cycle(range(len(self._requests)))
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"ReplayProvider(name={self.name!r}, requests={len(self._requests)}, speed={self.speed})"

    def stream(self, request: Request) -> ResponseStream:
        """Replay the next recorded request."""
        recorded = self._requests[next(self._next)]
        return ResponseStream(partial(self._replay, recorded), provider=self.name)

    async def complete(self, request: Request) -> Response:
        """Replay the next recorded request and return the whole reply."""
        return await self.stream(request).collect()

    async def list_models(self) -> list[ModelInfo]:
        """The model names the recorded events carry."""
        names = {e.model for r in self._requests for _, e in r.events if e.model}
        return [ModelInfo(id=name, provider=self.name) for name in sorted(names)]

    async def aclose(self) -> None:
        """Nothing to release."""

    async def __aenter__(self) -> ReplayProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _observe_headers(self, headers: Any) -> None:
        """Receives each recorded response's headers, as a real provider's hook would."""

    async def _replay(self, recorded: RecordedRequest) -> AsyncIterator[StreamEvent]:
        clock = self._clock or asyncio.get_running_loop().time
        start = clock()
        for headers in recorded.headers:
            self._observe_headers(headers)
        for offset, event in recorded.events:
            await self._sleep_until(clock, start + offset / self.speed)
            yield event
        await self._sleep_until(clock, start + recorded.end / self.speed)
        if recorded.error_type is not None:
            raise _error(recorded.error_type, recorded.error or "replayed error", self.name)

    async def _sleep_until(self, clock: Callable[[], float], when: float) -> None:
        """Sleep until `when`; events due within half a millisecond go at once.

        Deadlines are absolute, so a late event does not delay the ones after it.
        """
        delay = when - clock()
        if delay > 0.0005:
            await self._sleep(delay)


def _error(type_name: str, message: str, provider: str) -> LLMError:
    cls = getattr(errors, type_name, None)
    if not (isinstance(cls, type) and issubclass(cls, LLMError)):
        cls = LLMError
    return cls(message, provider=provider)
