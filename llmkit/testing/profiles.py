"""Latency profiles for `FakeProvider`: the recording format, and replaying it with its timing.

A recording is JSON Lines: a `run` line (model, date, prompts, whether it is
synthetic and a note saying where it came from), then one `request` line per
request: its provider, prompt, the HTTP headers of every response it got
(retries included), every stream event with its arrival time in seconds
after sending, when it ended, and its error if it failed. A profile shipped in
`llmkit/data/profiles/` is the same thing as one JSON document (`requests`
holds the request lines). `llmkit bench --record` writes recordings.

`Picker` chooses which recorded request serves each call (in order, cycling,
or drawn with a seeded RNG), `retimed` lays a scripted reply over a recorded
request's timing, and `play` yields events at their recorded offsets (host-reported
timings scaled by the replay speed, `scaled_timings`).
`llmkit.testing.FakeProvider` puts them together (`profile=`, `from_recording`).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from llmkit import errors
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import StreamEvent, from_dict, to_dict

__all__ = [
    "FORMAT_VERSION",
    "Picker",
    "RecordedRequest",
    "Recording",
    "builtin_profiles",
    "load_recording",
    "model_profiles",
    "play",
    "recorded_error",
    "requests_of",
    "retimed",
    "save_recording",
    "scaled_timings",
]

FORMAT_VERSION = 1

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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
        return _parse(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"{path} is not an llmkit bench recording ({exc}); make one with `llmkit bench --record`"
        ) from exc


def builtin_profiles() -> dict[str, Recording]:
    """The latency profiles shipped with llmkit, by host name (synthetic; see their `note`)."""
    folder = resources.files("llmkit").joinpath("data", "profiles")
    profiles = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            profiles[item.name.removesuffix(".json")] = _parse(item.read_text(encoding="utf-8"))
    return profiles


def model_profiles() -> dict[tuple[str, str], Recording]:
    """The shipped per-model latency profiles, by `(host, the host's model id)` (synthetic).

    `builtin_profiles` holds one profile per host, each of its own model; these are
    the same model on several hosts (`gpt-oss-120b` on Groq, OpenRouter and Ollama),
    for like-for-like demos (`llmkit bench gpt4 -m gpt-oss-120b --demo ...`).
    """
    folder = resources.files("llmkit").joinpath("data", "profiles", "models")
    profiles = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            recording = _parse(item.read_text(encoding="utf-8"))
            key = (str(recording.meta.get("provider")), str(recording.meta.get("model")))
            profiles[key] = recording
    return profiles


def _parse(text: str) -> Recording:
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


# -- choosing what to replay ---------------------------------------------------------


def requests_of(
    source: str | Path | Recording | Sequence[RecordedRequest | Mapping[str, Any]],
    provider: str | None = None,
) -> tuple[tuple[RecordedRequest, ...], str | None]:
    """The recorded requests to replay from `source`, and the provider label they carry.

    Args:
        source: a recording's path, a `Recording`, or its requests (objects or the
            JSON lines as dicts).
        provider: the label to keep when the recording holds several providers.

    Raises:
        ConfigurationError: nothing to replay, or several providers and none chosen.
    """
    if isinstance(source, str | Path):
        source = load_recording(source)
    if isinstance(source, Recording):
        meta_name = source.meta.get("provider")
        requests = source.requests
    else:
        meta_name = None
        requests = tuple(r if isinstance(r, RecordedRequest) else _request_of(r) for r in source)
    labels = tuple(dict.fromkeys(r.provider for r in requests))
    if provider is not None:
        requests = tuple(r for r in requests if r.provider == provider)
    elif len(labels) > 1:
        raise ConfigurationError(
            f"The recording holds several providers {list(labels)}: pick one with provider=..."
        )
    if not requests:
        if provider is not None and labels:
            raise ConfigurationError(
                f"Nothing to replay for {provider}: the recording holds {list(labels)}"
            )
        raise ConfigurationError("Nothing to replay: the recording has no requests")
    name = provider or (labels[0] if labels else None) or meta_name
    return requests, name


class Picker:
    """Which recorded request serves each call: in order, cycling, or drawn with a seeded RNG."""

    def __init__(self, requests: Sequence[RecordedRequest], seed: int | str | None = None) -> None:
        """Cycle through `requests`; with a `seed`, draw them at random, reproducibly."""
        self.requests = tuple(requests)
        self._rng = None if seed is None else random.Random(seed)
        self._order = itertools.cycle(range(len(self.requests)))

    def next(self) -> RecordedRequest:
        """The recorded request for the next call."""
        if self._rng is not None:
            return self.requests[self._rng.randrange(len(self.requests))]
        return self.requests[next(self._order)]

    def models(self) -> list[str]:
        """The model names the recorded events carry, sorted."""
        return sorted({e.model for r in self.requests for _, e in r.events if e.model})


# -- timing -------------------------------------------------------------------------


def retimed(
    events: Sequence[StreamEvent], recorded: RecordedRequest
) -> tuple[tuple[tuple[float, StreamEvent], ...], float]:
    """`events` (a scripted reply) given `recorded`'s timing: `(offset, event)` pairs and the end.

    The first content event comes at the recorded time to first token; each next
    one after the next recorded gap (cycling through the gaps when the reply is
    longer than the recording); other events go with the content before them;
    the reply ends after the recorded tail (the time from the last token to the end).
    """
    content = [t for t, e in recorded.events if e.has_content]
    ttft = content[0] if content else recorded.end
    gaps = [b - a for a, b in itertools.pairwise(content)]
    tail = max(0.0, recorded.end - (content[-1] if content else recorded.end))
    now, seen, timed = ttft, 0, []
    for event in events:
        if event.has_content:
            if seen and gaps:
                now += gaps[(seen - 1) % len(gaps)]
            seen += 1
        timed.append((now, event))
    return tuple(timed), now + tail


async def play(
    timed: Sequence[tuple[float, StreamEvent]],
    end: float,
    *,
    speed: float,
    clock: Clock,
    sleep: Sleep,
) -> AsyncGenerator[StreamEvent, None]:
    """Yield each event at its offset (divided by `speed`), then wait until `end`.

    Deadlines are absolute, so a late event does not delay the ones after it;
    an event due within half a millisecond goes at once.
    """
    start = clock()

    async def until(offset: float) -> None:
        delay = start + offset / speed - clock()
        if delay > 0.0005:
            await sleep(delay)

    for offset, event in timed:
        await until(offset)
        yield event if speed == 1 else scaled_timings(event, speed)
    await until(end)


def scaled_timings(event: StreamEvent, speed: float) -> StreamEvent:
    """`event` with the timings the host reported about itself divided by `speed`.

    Replayed `speed` times faster, a reply must not carry the host's original
    durations: Groq's `x_groq.usage` times (`*_time`, in `raw`) and the
    `timings` under `provider_data[host]` (Ollama's durations) are scaled like
    the client-side times; token counts and everything else are kept.
    """
    raw, data = event.raw, event.provider_data
    groq = raw.get("x_groq") if isinstance(raw, Mapping) else None
    usage = groq.get("usage") if isinstance(groq, Mapping) else None
    if isinstance(raw, Mapping) and isinstance(groq, Mapping) and isinstance(usage, Mapping):
        times = {k: _scaled(v, speed) if k.endswith("_time") else v for k, v in usage.items()}
        raw = {**raw, "x_groq": {**groq, "usage": times}}
    if any(isinstance(d, Mapping) and isinstance(d.get("timings"), Mapping) for d in data.values()):
        data = {host: _with_scaled_timings(d, speed) for host, d in data.items()}
    if raw is event.raw and data is event.provider_data:
        return event
    return attrs.evolve(event, raw=raw, provider_data=data)


def _with_scaled_timings(data: Any, speed: float) -> Any:
    timings = data.get("timings") if isinstance(data, Mapping) else None
    if not isinstance(timings, Mapping):
        return data
    return {**data, "timings": {k: _scaled(v, speed) for k, v in timings.items()}}


def _scaled(value: Any, speed: float) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return value / speed if number else value


def recorded_error(recorded: RecordedRequest, provider: str) -> LLMError | None:
    """The error `recorded` ended with, as its llmkit class (`LLMError` if unknown)."""
    if recorded.error_type is None:
        return None
    cls = getattr(errors, recorded.error_type, None)
    if not (isinstance(cls, type) and issubclass(cls, LLMError)):
        cls = LLMError
    return cls(recorded.error or "replayed error", provider=provider)
