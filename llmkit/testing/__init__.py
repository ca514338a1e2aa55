"""`FakeProvider`: a provider with scripted replies, for users' tests and the offline demo.

    from llmkit.clients import DeepSeekClient
    from llmkit.testing import FakeProvider

    fake = FakeProvider(["Four.", RateLimitError("slow down", retry_after=1)])
    client = DeepSeekClient(provider=fake)
    assert client.generate_sync("2+2?").text == "Four."
    fake.requests[0].messages  # what the client sent

No network, no keys, no vendor SDK. With no script (or once the script runs
out) it answers with a reply naming the model asked and echoing the last user
message, so demos work offline.

On a latency profile (a run recorded by `llmkit bench --record`, or a shipped
one) it replays the recorded replies with their timing, headers, usage and
host-reported figures; `llmkit bench --demo` runs on such fakes:

    fake = FakeProvider.from_recording("run.jsonl", provider="groq", seed=1)
    fake = FakeProvider(profile="groq")   # the shipped (synthetic) Groq profile

`FaultTransport` (from `llmkit.testing.faults`) goes under any real provider instead:
scripted 429s, 5xx, resets, cuts, stalls, malformed bodies; see docs/testing.md.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import aclosing
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from attrs import evolve, frozen

from llmkit import _sync
from llmkit.batches._methods import BatchMethods
from llmkit.errors import ConfigurationError, LLMError
from llmkit.providers._base import ModelInfo, SyncTwins
from llmkit.providers._stream import ResponseStream
from llmkit.testing.faults import Fault, FaultTransport, httpx_fault_transport
from llmkit.testing.profiles import (
    Picker,
    RecordedRequest,
    Recording,
    builtin_profiles,
    play,
    recorded_error,
    requests_of,
    retimed,
)
from llmkit.types import (
    Embeddings,
    FinishReason,
    Latency,
    Request,
    Response,
    Role,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "FakeProvider",
    "Fault",
    "FaultTransport",
    "Interrupted",
    "RecordedRequest",
    "Recording",
    "Reply",
    "httpx_fault_transport",
    "tool_calls",
]


@frozen
class Interrupted:
    """A scripted reply whose stream breaks: `after` events arrive, then `error` is raised.

    `complete` raises `error` at once (a whole reply never arrived).
    """

    reply: str | Response
    error: LLMError
    after: int = 1


Reply = (
    str
    | dict[str, Any]
    | list[Any]
    | Response
    | LLMError
    | Interrupted
    | Callable[[Request], "str | Response | LLMError"]
)
"""One scripted answer: text, a dict or list (answered as JSON text, for `output=`), a
whole `Response` (reasoning, tool calls, usage; see `tool_calls`), an error to raise,
an `Interrupted` stream, or a function of the request returning text, a `Response`
or an error."""


def tool_calls(*calls: tuple[str, Mapping[str, Any]] | ToolCall, text: str = "") -> Response:
    """A scripted reply that calls tools: `tool_calls(("get_weather", {"city": "Oslo"}))`.

    Calls given as `(name, arguments)` get the ids `call_<position>_<name>`.
    """
    made = [
        c if isinstance(c, ToolCall) else ToolCall(f"call_{i}_{c[0]}", c[0], dict(c[1]))
        for i, c in enumerate(calls)
    ]
    return Response(text=text, tool_calls=made)


_TOKEN = re.compile(r"\s*\S+|\s+")


def split_tokens(text: str) -> list[str]:
    """`text` cut into word-sized pieces (leading whitespace kept), joining back to `text`."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """A rough token count (one per word or punctuation mark): the fake's usage numbers."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def echo_reply(request: Request, provider: str) -> Response:
    """The unscripted answer: which model was asked, and the last user message."""
    last = next((m.text for m in reversed(request.messages) if m.role is Role.USER), "")
    return Response(text=f"[{provider}:{request.model}] You said: {last}")


def _completed(reply: Response, request: Request, provider: str, number: int) -> Response:
    """A scripted reply filled in as a host would: model, provider, id, finish, usage."""
    finish = reply.finish_reason
    if finish is FinishReason.OTHER:
        finish = FinishReason.TOOL_CALLS if reply.tool_calls else FinishReason.STOP
    usage = reply.usage
    if usage == Usage():
        prompt = sum(count_tokens(m.text) for m in request.messages)
        reasoning = count_tokens(reply.reasoning or "")
        output = count_tokens(reply.text) + reasoning
        output += sum(count_tokens(c.name) + len(c.arguments) for c in reply.tool_calls)
        usage = Usage(input_tokens=prompt, output_tokens=output, reasoning_tokens=reasoning or None)
    return evolve(
        reply,
        finish_reason=finish,
        raw_finish_reason=reply.raw_finish_reason or str(finish),
        usage=usage,
        model=reply.model or request.model,
        provider=provider,
        id=reply.id or f"fake-{number}",
    )


def to_events(response: Response) -> list[StreamEvent]:
    """A complete reply as the stream a host would send: reasoning, text, tool calls, then
    a last event with the finish reason and usage."""
    events = [StreamEvent(reasoning=piece) for piece in split_tokens(response.reasoning or "")]
    events += [StreamEvent(text=piece) for piece in split_tokens(response.text)]
    for index, call in enumerate(response.tool_calls):
        events.append(StreamEvent(tool_call=ToolCallDelta(index, id=call.id, name=call.name)))
        arguments = call.raw_arguments if call.raw_arguments is not None else _json(call.arguments)
        events += [
            StreamEvent(tool_call=ToolCallDelta(index, arguments=piece))
            for piece in split_tokens(arguments)
        ]
    last = StreamEvent(
        finish_reason=response.finish_reason,
        raw_finish_reason=response.raw_finish_reason,
        usage=response.usage,
        provider_data=response.provider_data,
    )
    if events:
        events[0] = evolve(events[0], model=response.model, id=response.id)
    else:
        last = evolve(last, model=response.model, id=response.id)
    return [*events, last]


def _json(arguments: Mapping[str, object]) -> str:
    return json.dumps(arguments)


class FakeProvider(BatchMethods, SyncTwins):
    """A scripted provider that implements the whole `Provider` protocol offline.

    Replies are used in order, one per call (`complete` or `stream`); an error in
    the script is raised on its call; `errors={n: error}` raises on the n-th call
    (1-based) whatever the script says. Streams are cut into word-sized tokens,
    after `first_token_delay` seconds and `token_delay` seconds between tokens.

    With a `profile` (a recording), each call takes a recorded request (in
    order, cycling; drawn at random with `seed`) and replays it: its headers
    go to `_observe_headers` as a real provider's responses would, its events
    (text, usage, `provider_data`, host-reported timings) arrive at their
    recorded offsets divided by `speed`, and its recorded error is raised at
    its recorded end. A scripted reply on a profile keeps its own content and
    takes the recorded timing (time to first token, gaps between tokens).
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        name: str | None = None,
        errors: Mapping[int, LLMError] | None = None,
        token_delay: float = 0.0,
        first_token_delay: float = 0.0,
        models: Iterable[str] | None = None,
        profile: str | Recording | Sequence[RecordedRequest] | None = None,
        speed: float = 1.0,
        seed: int | str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        batch_delay: float = 0.0,
        batch_dir: str | Path | None = None,
    ) -> None:
        """A fake host.

        Args:
            replies: the script (see `Reply`); when it runs out, `echo_reply` answers
                (or, on a profile, the recorded reply).
            name: the provider name to report, e.g. `deepseek` to look like that host
                (the catalog then resolves that host's model ids). Default: the
                profile's provider, else `fake`.
            errors: call number (1-based) → error raised on that call.
            token_delay: seconds between streamed tokens (without a profile).
            first_token_delay: seconds before the first streamed token (without a profile).
            models: what `list_models` returns (default: the models a profile's
                events name, else the catalog's ids for `name`).
            profile: a latency profile to replay: a shipped one by name (`groq`,
                `openrouter`, `deepseek`, `ollama`; synthetic), a `Recording` of
                one provider, or its `RecordedRequest`s. See `from_recording`.
            speed: replay speed; 2.0 replays a profile in half its recorded time (host-reported
                timings in `provider_data` and Groq's `x_groq` are divided by it too).
            seed: draw the recorded requests at random with this seed (reproducible)
                instead of cycling through them in order.
            clock: seconds, monotonic (default: the event loop's); with `sleep`,
                injectable so tests replay a profile on a fake clock.
            sleep: waits the given seconds (default: `anyio.sleep`).
            batch_delay: seconds (wall clock) a batch job takes to complete (`llmkit.batches`).
            batch_dir: where batch jobs are kept, so another process can collect them
                (default `$LLMKIT_FAKE_BATCH_DIR`; neither: in this fake's memory).

        Raises:
            ConfigurationError: an unknown shipped profile, an empty one, or a
                speed that is not positive.
        """
        if speed <= 0:
            raise ConfigurationError(
                f"speed must be positive (2.0 replays twice as fast), not {speed}"
            )
        self._picker: Picker | None = None
        if profile is not None:
            requests, label = requests_of(_profile(profile))
            self._picker = Picker(requests, seed)
            name = name or label
        self.name = name or "fake"
        self._script = list(replies)
        self.errors = dict(errors or {})
        self.token_delay = token_delay
        self.first_token_delay = first_token_delay
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._models = list(models) if models is not None else None
        self.requests: list[Request] = []
        """Every request received, in order."""
        self.embedded: list[list[str]] = []
        """The inputs of every `embed` call, in order."""
        self.closed = False
        self.batch_delay = batch_delay
        self.batch_dir = batch_dir

    @classmethod
    def from_recording(
        cls,
        source: str | Path | Recording | Sequence[RecordedRequest | Mapping[str, Any]],
        *,
        provider: str | None = None,
        speed: float = 1.0,
        seed: int | str | None = None,
        name: str | None = None,
        replies: Iterable[Reply] = (),
        errors: Mapping[int, LLMError] | None = None,
        models: Iterable[str] | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> FakeProvider:
        """A fake that replays a recorded run with its timing (see the class docstring).

        Args:
            source: a recording's path (`llmkit bench --record run.jsonl`), a
                `Recording`, or its requests (`RecordedRequest`s or their JSON dicts).
            provider: which provider of the recording to replay (needed when it
                holds several); also the fake's default `name`.
            speed, seed, name, replies, errors, models, clock, sleep: as for `FakeProvider`.

        Raises:
            ConfigurationError: an unreadable file, nothing to replay, several
                providers and none chosen.
        """
        requests, label = requests_of(source, provider)
        return cls(
            replies,
            name=name or label,
            errors=errors,
            models=models,
            profile=requests,
            speed=speed,
            seed=seed,
            clock=clock,
            sleep=sleep,
        )

    batch_api = "fake"  # llmkit.batches._fake: jobs complete after `batch_delay` seconds

    def __repr__(self) -> str:
        profile = "" if self._picker is None else f", profile={len(self._picker.requests)} requests"
        return f"{type(self).__name__}(name={self.name!r}, calls={len(self.requests)}{profile})"

    def add(self, *replies: Reply) -> None:
        """Append replies to the script."""
        self._script.extend(replies)

    @property
    def calls(self) -> int:
        """How many requests arrived."""
        return len(self.requests)

    def _next(self, request: Request) -> tuple[Response | None, Interrupted | None]:
        """Record `request` and produce this call's reply (or raise its error).

        `None` means: replay the recorded reply (a profile, and no script left).
        """
        self.requests.append(request)
        number = len(self.requests)
        if number in self.errors:
            raise self.errors[number]
        if not self._script and self._picker is not None:
            return None, None
        reply: Reply = self._script.pop(0) if self._script else echo_reply(request, self.name)
        if callable(reply) and not isinstance(reply, (Response, LLMError, Interrupted)):
            reply = reply(request)
        cut: Interrupted | None = None
        if isinstance(reply, Interrupted):
            cut, reply = reply, reply.reply
        if isinstance(reply, LLMError):
            raise reply
        if isinstance(reply, dict | list):
            reply = Response(text=json.dumps(reply))
        if isinstance(reply, str):
            reply = Response(text=reply)
        return _completed(reply, request, self.name, number), cut

    # -- the protocol -----------------------------------------------------------

    def _observe_headers(self, headers: Any) -> None:
        """Receives each recorded response's headers, as a real provider's hook does."""

    async def complete(self, request: Request) -> Response:
        """The next scripted reply (on a profile: the replayed reply, at its recorded pace)."""
        if self._picker is not None:
            return await self.stream(request).collect()
        started = time.perf_counter()
        response, cut = self._next(request)
        assert response is not None  # only a profile replays recorded replies
        if cut is not None:
            raise cut.error
        if self.first_token_delay:
            await anyio.sleep(self.first_token_delay)
        elapsed = time.perf_counter() - started
        return evolve(response, latency=Latency(first_token=elapsed, total=elapsed))

    def stream(self, request: Request) -> ResponseStream:
        """The next scripted reply streamed token by token, or the next recorded one replayed."""
        return ResponseStream(partial(self._events, request), provider=self.name)

    async def _events(self, request: Request) -> AsyncIterator[StreamEvent]:
        response, cut = self._next(request)
        if self._picker is not None:
            events = self._replayed(self._picker.next(), response)
        else:
            assert response is not None  # only a profile replays recorded replies
            events = self._paced(to_events(response))
        async with aclosing(events):
            index = 0
            async for event in events:
                if cut is not None and index >= cut.after:
                    raise cut.error
                yield event
                index += 1

    async def _paced(self, events: list[StreamEvent]) -> AsyncGenerator[StreamEvent, None]:
        """`events` after `first_token_delay`, with `token_delay` between content events."""
        if self.first_token_delay:
            await anyio.sleep(self.first_token_delay)
        for index, event in enumerate(events):
            if index and self.token_delay and event.has_content:
                await anyio.sleep(self.token_delay)
            yield event

    async def _replayed(
        self, recorded: RecordedRequest, response: Response | None
    ) -> AsyncGenerator[StreamEvent, None]:
        """`recorded` replayed: headers, events at their offsets, its error at its end.

        A scripted `response` takes the recorded timing instead of the recorded events.
        """
        for headers in recorded.headers:
            self._observe_headers(headers)
        if response is None:
            timed, end = recorded.events, recorded.end
        else:
            timed, end = retimed(to_events(response), recorded)
        clock = self._clock or anyio.current_time
        events = play(timed, end, speed=self.speed, clock=clock, sleep=self._sleep or anyio.sleep)
        async with aclosing(events):
            async for event in events:
                yield event
        error = recorded_error(recorded, self.name) if response is None else None
        if error is not None:
            raise error

    async def list_models(self) -> list[ModelInfo]:
        """The models this fake serves: `models=`, a profile's models, or the catalog's ids."""
        if self._models is None and self._picker is not None:
            self._models = self._picker.models() or None
        if self._models is None:
            from llmkit.catalog import default_catalog

            day = dt.datetime.now(dt.UTC).date()
            ids = [e.id for e in default_catalog().entries(provider=self.name) if e.served_on(day)]
            self._models = ids
        return [ModelInfo(id=model, provider=self.name) for model in self._models]

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str = "fake-embed",
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Deterministic unit vectors (from a hash of model, kind and text), 16 long by default.

        Every call's inputs are appended to `embedded`; the same text always gets the
        same vector, so similarity tests and caches behave as with a real host.
        """
        from llmkit.providers._embed import check_inputs

        texts = check_inputs(inputs, kind=kind, dimensions=dimensions, provider=self.name)
        self.embedded.append(texts)
        return Embeddings(
            [fake_vector(f"{model}\0{kind}\0{text}", dimensions or 16) for text in texts],
            model=model,
            provider=self.name,
            usage=Usage(input_tokens=sum(len(t.split()) + 1 for t in texts)),
        )

    def embed_sync(
        self,
        inputs: str | Sequence[str],
        *,
        model: str = "fake-embed",
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Blocking twin of `embed`."""
        return _sync.run(partial(self.embed, inputs, model=model, kind=kind, dimensions=dimensions))

    async def aclose(self) -> None:
        """Nothing to release; marks the fake closed."""
        self.closed = True

    async def __aenter__(self) -> FakeProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- sync twins ---------------------------------------------------------------


def fake_vector(seed: str, dimensions: int) -> list[float]:
    """A unit vector of `dimensions` floats drawn from SHA-256 of `seed` (stable everywhere)."""
    import hashlib
    import math

    numbers: list[float] = []
    block = 0
    while len(numbers) < dimensions:
        digest = hashlib.sha256(f"{block}:{seed}".encode()).digest()
        numbers.extend(b / 127.5 - 1.0 for b in digest)
        block += 1
    vector = numbers[:dimensions]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _profile(
    profile: str | Recording | Sequence[RecordedRequest],
) -> Recording | Sequence[RecordedRequest]:
    """A shipped profile by name, or `profile` itself."""
    if not isinstance(profile, str):
        return profile
    shipped = builtin_profiles()
    if profile not in shipped:
        raise ConfigurationError(
            f"No shipped latency profile named {profile!r}: choose one of {sorted(shipped)}, "
            "or use FakeProvider.from_recording(path) for a recorded run"
        )
    return shipped[profile]
