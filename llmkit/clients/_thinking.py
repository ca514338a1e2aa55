"""Inline `<think>…</think>` reasoning moved out of the text, streamed or whole.

Hosts that serve open-weight reasoning models without a reasoning field
(Ollama's `/v1`, vLLM, llama.cpp, Groq's `reasoning_format: raw`) put the
reasoning inline. `ThinkTagSplitter` is a push-style decoder over text deltas
(like httpx's `LineDecoder`): it holds back a partial tag until the next delta
decides it, so tags cut across chunks are found. `split_think_tags` runs the
same splitter over a whole reply, so streamed and complete replies agree by
construction, with one exception: a whole reply with only a `</think>` (a
template that opened the block in the prompt) is split at it, while a stream
cannot know it began inside a block until the close arrives, so it keeps that
text (serve such models with the server's reasoning parser). Whitespace around the reasoning (`<think>\\n…\\n</think>\\n\\n`) is
dropped, as R1's template produces it (pydantic-ai's
`ignore_streamed_leading_whitespace` does the same).
"""

from __future__ import annotations

from attrs import evolve

from llmkit.types import Response, StreamEvent

__all__ = ["CLOSE", "OPEN", "ThinkTagRewriter", "ThinkTagSplitter", "split_think_tags"]

OPEN = "<think>"
CLOSE = "</think>"


def _held_back(buffer: str, tag: str) -> int:
    """Length of the longest end of `buffer` that could start `tag`."""
    for size in range(min(len(buffer), len(tag) - 1), 0, -1):
        if tag.startswith(buffer[-size:]):
            return size
    return 0


class ThinkTagSplitter:
    """Splits text deltas into text and reasoning events: `feed(delta)`, then `flush()`."""

    def __init__(self, *, inside: bool = False) -> None:
        """Start outside a think block, or `inside` one for templates that open it in the prompt."""
        self._buffer = ""
        self._inside = inside
        self._strip = inside  # drop whitespace at the start of each part after a tag
        self._lead: str | None = None if inside else ""  # whitespace before anything else
        self._pending = ""  # trailing whitespace of reasoning, dropped if the block closes

    def feed(self, delta: str) -> list[StreamEvent]:
        """The events `delta` completes; a possible partial tag is held back."""
        self._buffer += delta
        events: list[StreamEvent] = []
        while True:
            tag = CLOSE if self._inside else OPEN
            at = self._buffer.find(tag)
            if at < 0:
                keep = _held_back(self._buffer, tag)
                cut = len(self._buffer) - keep
                self._emit(self._buffer[:cut], events)
                self._buffer = self._buffer[cut:]
                return events
            self._emit(self._buffer[:at], events)
            self._buffer = self._buffer[at + len(tag) :]
            self._inside = not self._inside
            self._strip = True
            self._lead = None
            self._pending = ""

    def flush(self) -> list[StreamEvent]:
        """What is still held back, at the end of the stream (an unclosed block is reasoning)."""
        events: list[StreamEvent] = []
        self._emit(self._buffer, events)
        if self._lead:  # a reply of whitespace only
            events.append(StreamEvent(text=self._lead))
        self._buffer = ""
        self._pending = ""
        self._lead = None
        return events

    def _emit(self, piece: str, events: list[StreamEvent]) -> None:
        if self._lead is not None:
            if not piece.strip():
                self._lead += piece
                return
            piece, self._lead = self._lead + piece, None
        elif self._strip:
            piece = piece.lstrip()
            if not piece:
                return
            self._strip = False
        if not self._inside:
            if piece:
                events.append(StreamEvent(text=piece))
            return
        body = piece.rstrip()
        if body:
            events.append(StreamEvent(reasoning=self._pending + body))
            self._pending = piece[len(body) :]
        else:
            self._pending += piece


class ThinkTagRewriter:
    """`ThinkTagSplitter` over stream events: text deltas split, everything else kept.

    Text still held back when the event with the finish reason arrives is
    flushed before that event, so the finish (and usage) stay last. No event
    without text, reasoning, a tool call, a finish reason or usage is made:
    the model and id of an event with nothing else (a first chunk with only a
    role, a text event held back whole) ride on the next event out.
    """

    def __init__(self, *, inside: bool = False) -> None:
        """A fresh rewriter for one stream."""
        self._splitter = ThinkTagSplitter(inside=inside)
        self._carry: StreamEvent | None = None
        """A text event whose text was all held back: its model, id and provider_data."""

    def feed(self, event: StreamEvent) -> list[StreamEvent]:
        """The events for one incoming event."""
        final = event.finish_reason is not None
        if not event.text and not final:
            if _carries_nothing(event):  # e.g. a first chunk with only a role: its model/id wait
                self._hold(event)
                return []
            return self._attach([event])
        pieces = self._splitter.feed(event.text) if event.text else []
        if final:
            pieces.extend(self._splitter.flush())  # held-back text goes before the finish
        rest = evolve(event, text="")
        keep_rest = not _carries_nothing(rest)
        if not pieces:
            if keep_rest:
                return self._attach([rest])
            self._hold(rest)
            return []
        pieces[0] = evolve(pieces[0], model=event.model, id=event.id, raw=event.raw,
                           provider_data=event.provider_data)  # fmt: skip
        if rest.has_content or final or rest.usage is not None:
            pieces.append(evolve(rest, model=None, id=None, raw=None, provider_data={}))
        return self._attach(pieces)

    def flush(self) -> list[StreamEvent]:
        """Text held back at the end of the stream."""
        return self._attach(self._splitter.flush())

    def _hold(self, event: StreamEvent) -> None:
        if self._carry is not None:
            event = _merged(self._carry, event)
        self._carry = evolve(event, raw=None)

    def _attach(self, events: list[StreamEvent]) -> list[StreamEvent]:
        if self._carry is not None and events:
            events[0] = _merged(self._carry, events[0])
            self._carry = None
        return events


def _carries_nothing(event: StreamEvent) -> bool:
    """No text, reasoning, tool call, finish, usage or provider_data: only model, id, raw."""
    return not (
        event.has_content
        or event.finish_reason is not None
        or event.usage is not None
        or event.provider_data
    )


def _merged(earlier: StreamEvent, later: StreamEvent) -> StreamEvent:
    """`later` with the model, id and provider_data of `earlier` where it has none."""
    return evolve(
        later,
        model=later.model or earlier.model,
        id=later.id or earlier.id,
        provider_data={**earlier.provider_data, **later.provider_data},
    )


def split_think_tags(response: Response) -> Response:
    """Move inline `<think>…</think>` text into `reasoning`, for hosts with no reasoning field.

    A reply with a `</think>` but no `<think>` began inside the block: chat templates
    that open it in the prompt (Qwen3.5 and later, DeepSeek-R1-0528) leave only the close.
    """
    text = response.text
    if response.reasoning is not None or (OPEN not in text and CLOSE not in text):
        return response
    splitter = ThinkTagSplitter(inside=OPEN not in text)
    events = [*splitter.feed(text), *splitter.flush()]
    reasoning = "".join(e.reasoning for e in events)
    return evolve(response, text="".join(e.text for e in events), reasoning=reasoning or None)
