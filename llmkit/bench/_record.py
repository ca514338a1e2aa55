"""Record a benchmark run, so it can be replayed later, offline, with the same timing.

The recording format (JSON Lines: a `run` header, then one line per request
with its headers, every event with its arrival time, its end and its error)
lives in `llmkit.testing.profiles`, beside the replay: `FakeProvider.from_recording`
serves a recording back, and `llmkit bench --demo` and `--replay` run on such
fakes. This module turns a finished run into a `Recording`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from llmkit.bench._results import BenchResult, Sample
from llmkit.testing import FakeProvider
from llmkit.testing.profiles import (
    FORMAT_VERSION,
    RecordedRequest,
    Recording,
    builtin_profiles,
    load_recording,
    save_recording,
)
from llmkit.types import StreamEvent

__all__ = [
    "FORMAT_VERSION",
    "RecordedRequest",
    "Recording",
    "ReplayProvider",
    "builtin_profiles",
    "load_recording",
    "provenance",
    "recording_of",
    "replay_providers",
    "save_recording",
]


def recording_of(
    result: BenchResult,
    events: Mapping[int, Sequence[tuple[float, StreamEvent]]],
    prompts: Sequence[str],
    *,
    note: str = "",
    synthetic: bool = False,
    sources: Mapping[str, str] | None = None,
) -> Recording:
    """The recording of a finished run, from its samples and the events the engine kept.

    Args:
        note: where the run came from (default: recorded by `llmkit bench --record`).
        synthetic: the run replayed synthetic profiles (`--demo`, or a replay of
            a synthetic recording): not real traffic. Replays of the recording say so.
        sources: per provider label, the note of what it replayed, kept as `sources`.
    """
    requests = tuple(_recorded(s, events.get(s.index, ())) for s in result.samples)
    meta: dict[str, object] = {
        "model": result.model,
        "started_at": result.started_at,
        "prompts": list(prompts),
        "synthetic": synthetic,
        "note": note or "Recorded by `llmkit bench --record`.",
    }
    if sources:
        meta["sources"] = dict(sources)
    return Recording(requests, meta)


def provenance(recording: Recording, label: str) -> str:
    """What `label`'s requests in `recording` came from: its `sources` entry, else the note."""
    sources = recording.meta.get("sources")
    if isinstance(sources, Mapping) and isinstance(sources.get(label), str):
        return str(sources[label])
    return str(recording.meta.get("note", ""))


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


def replay_providers(
    recording: Recording, *, speed: float = 1.0, seed: int | str | None = None
) -> dict[str, FakeProvider]:
    """One `FakeProvider` per provider of `recording`, replaying its requests, by label."""
    return {
        name: FakeProvider.from_recording(recording, provider=name, speed=speed, seed=seed)
        for name in recording.providers
    }


class ReplayProvider(FakeProvider):
    """`FakeProvider` replaying `requests` in order, cycling (its older name, kept for callers).

    New code: `FakeProvider.from_recording(path_or_requests, speed=..., seed=...)`.
    """

    def __init__(
        self,
        requests: Sequence[RecordedRequest],
        *,
        name: str = "replay",
        speed: float = 1.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Serve `requests` under `name`; `speed` > 1 replays faster (2.0: in half the time)."""
        super().__init__(name=name, profile=requests, speed=speed, clock=clock, sleep=sleep)
