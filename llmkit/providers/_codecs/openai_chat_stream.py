"""OpenAI-compatible stream chunks, parsed push-style into `StreamEvent`s.

Pure: feed it the server-sent events the `SSEDecoder` produced, one at a
time; no I/O, so tests can cut a stream anywhere. Per chunk it does one
`json.loads`, a few dict reads and builds one `StreamEvent` (one more per
extra tool-call piece): no typed SDK objects.

Host quirks handled here: usage on a last chunk with empty `choices`
(`stream_options.include_usage`), Groq's usage under `x_groq.usage`,
errors inside a 200 stream (OpenRouter's `error` chunk, Groq's
`event: error`), `reasoning_content` vs `reasoning`, Mistral's thinking
chunks, OpenRouter's `reasoning_details` kept for the next turn, and a
stream that stops without `[DONE]` or a finish reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmkit.errors import InvalidResponseError, LLMError, StreamError
from llmkit.providers._codecs.openai_chat import (
    FINISH_REASONS,
    parse_content,
    parse_cost,
    parse_usage,
    reasoning_of,
    refusal_of,
)
from llmkit.providers._codecs.openai_chat_errors import error_from_body
from llmkit.providers._codecs.sse import ServerSentEvent
from llmkit.types import Cost, FinishReason, StreamEvent, ToolCallDelta

__all__ = ["ChatStreamParser"]


class ChatStreamParser:
    """Turns a `/chat/completions` event stream into `StreamEvent`s.

    `feed(event)` returns the events one SSE event produced. When the host
    reports an error inside the stream, `error` is set and later input is
    ignored; `finish()` then raises it. `finish()` at the end of the body
    returns the last events, or raises `StreamError` if the stream stopped
    with neither `[DONE]` nor a finish reason.
    """

    def __init__(self, *, provider: str, model: str | None = None, status: int = 200) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        self.done = False
        """`[DONE]` arrived."""
        self.finished = False
        """A finish reason arrived."""
        self.error: LLMError | None = None
        """The error the host reported inside the stream, if any."""
        self.cost: Cost | None = None
        """The cost the host reported (OpenRouter's `usage.cost`)."""
        self._saw_usage = False
        self._announced = False
        self._details: list[dict[str, Any]] = []

    def feed(self, event: ServerSentEvent) -> list[StreamEvent]:
        """The events one server-sent event carries (often one, sometimes none).

        Raises:
            InvalidResponseError: the event's data is not JSON.
        """
        return self.feed_data(event.data, event.event)

    def feed_data(self, data: str, name: str | None = None) -> list[StreamEvent]:
        """`feed` for an event given as its data (and its `event:` name, if any).

        Raises:
            InvalidResponseError: the data is not JSON.
        """
        if self.done or self.error is not None:
            return []
        if data == "[DONE]":
            self.done = True
            return []
        if not data or data.isspace():
            return []
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise InvalidResponseError(
                f"{self.provider} sent a stream chunk that is not JSON: {data[:200]!r}",
                provider=self.provider,
                model=self.model,
                body=data,
            ) from exc
        if not isinstance(chunk, dict):
            raise InvalidResponseError(
                f"{self.provider} sent a stream chunk that is not a JSON object: {data[:200]!r}",
                provider=self.provider,
                model=self.model,
                body=chunk,
            )
        if name == "error" or chunk.get("error"):
            # OpenRouter: https://openrouter.ai/docs/api-reference/errors#error-during-streaming
            # Groq: `event: error` with the error object as data.
            self.error = error_from_body(
                self.status, chunk, provider=self.provider, model=self.model
            )
        return self._events(chunk)

    def finish(self) -> list[StreamEvent]:
        """End of the body: the last events, or the error the stream ended with.

        Raises:
            LLMError: the error the host reported inside the stream.
            StreamError: the stream stopped with neither `[DONE]` nor a finish reason.
        """
        if self.error is not None:
            raise self.error
        if not (self.done or self.finished):
            raise StreamError(
                f"the {self.provider} stream ended before the reply was finished "
                "(no finish reason, no [DONE]); what arrived is in `.partial`",
                provider=self.provider,
                model=self.model,
                retryable=True,
            )
        if self._details:
            return [
                StreamEvent(provider_data={self.provider: {"reasoning_details": self._details}})
            ]
        return []

    def _events(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        # `dict`, not `Mapping`, in this per-chunk path: json.loads gives dicts, and the ABC check is slow.
        text = _plain_text(chunk)
        if text is not None:
            self._announced = True
            model, id_ = chunk.get("model") or None, chunk.get("id") or None
            return [StreamEvent(text=text, model=model, id=id_, raw=chunk)]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._saw_usage = True
        elif not self._saw_usage:
            # Groq's older placement: https://console.groq.com/docs/openai
            groq = chunk.get("x_groq")
            usage = groq.get("usage") if isinstance(groq, dict) else None
        parsed_usage = parse_usage(usage) if isinstance(usage, dict) else None
        cost = parse_cost(usage) if isinstance(usage, dict) else None

        text = reasoning = ""
        refusal: str | None = None
        raw_finish: str | None = None
        calls: list[Any] = []
        choices = chunk.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                text = content
            elif content is not None:
                text, reasoning = parse_content(content)
            reasoning = reasoning_of(delta) + reasoning
            refusal = refusal_of(delta)
            calls = delta.get("tool_calls") or []
            raw_finish = choice.get("finish_reason") or None
            if delta.get("reasoning_details"):
                self._add_details(delta["reasoning_details"])

        finish = None
        if raw_finish is not None:
            self.finished = True
            finish = FINISH_REASONS.get(raw_finish, FinishReason.OTHER)
        deltas = [_tool_delta(call, n) for n, call in enumerate(calls)]
        model = chunk.get("model") or None
        announce = not self._announced and (model is not None or chunk.get("id"))
        if cost is not None:
            self.cost = cost
        if not (text or reasoning or refusal or deltas or finish or parsed_usage or announce):
            return []
        self._announced = True
        events = [
            StreamEvent(
                text=text,
                reasoning=reasoning,
                refusal=refusal,
                tool_call=deltas[0] if deltas else None,
                finish_reason=finish,
                raw_finish_reason=raw_finish,
                usage=parsed_usage,
                cost=cost,
                model=model,
                id=chunk.get("id") or None,
                raw=chunk,
            )
        ]
        events.extend(StreamEvent(tool_call=d) for d in deltas[1:])
        return events

    def _add_details(self, details: Any) -> None:
        """Merge OpenRouter's streamed `reasoning_details` pieces (same index: text appended)."""
        for piece in details if isinstance(details, list) else ():
            if not isinstance(piece, Mapping):
                continue
            last = self._details[-1] if self._details else None
            if (
                last is not None
                and last.get("index") == piece.get("index")
                and last.get("type") == piece.get("type")
            ):
                for key, value in piece.items():
                    if key in ("text", "summary", "data") and isinstance(value, str):
                        last[key] = (last.get(key) or "") + value
                    elif value is not None:
                        last[key] = value
            else:
                self._details.append(dict(piece))


_PLAIN_DELTA = frozenset({"content", "role"})


def _plain_text(chunk: dict[str, Any]) -> str | None:
    """The text of the commonest chunk, or None: one choice whose delta holds only text.

    Such a chunk carries no usage, reasoning, tool call or finish reason, so
    it skips every check of the general path and gives the same event.
    """
    choices = chunk.get("choices")
    if type(choices) is not list or len(choices) != 1 or "x_groq" in chunk:
        return None
    choice = choices[0]
    delta = choice.get("delta") if type(choice) is dict else None
    if type(delta) is not dict or not delta.keys() <= _PLAIN_DELTA:
        return None
    if choice.get("finish_reason") or chunk.get("usage") is not None:
        return None
    content = delta.get("content")
    return content if type(content) is str and content else None


def _tool_delta(call: Mapping[str, Any], position: int) -> ToolCallDelta:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, Mapping):  # some servers send the object itself
        arguments = json.dumps(arguments)
    index = call.get("index")
    return ToolCallDelta(
        index=index if isinstance(index, int) else position,
        id=call.get("id") or None,
        name=function.get("name") or None,
        arguments=arguments or "",
    )
