"""Responses API stream events, parsed push-style into `StreamEvent`s.

Pure: feed it each server-sent event's data (the JSON `type` names the event;
the `event:` line only repeats it); no I/O. Text comes from
`response.output_text.delta`, refusals from `response.refusal.delta`, reasoning
from `response.reasoning_summary_text.delta` (or `response.reasoning_text.delta`
for an item with no summary: DeepSeek, open-weight models on OpenRouter),
function calls from `response.output_item.added` / `.done` and the
`response.function_call_arguments.delta`s (the complete string of
`.arguments.done` or of the done item supplies whatever the deltas missed).
`response.completed` / `response.incomplete` end the reply with its status,
usage and the items kept for the next turn; `response.failed` and `error`
events are the host's in-stream errors.
"""

from __future__ import annotations

import json
from typing import Any

from llmkit.errors import InvalidResponseError, LLMError, StreamError
from llmkit.providers._codecs.openai_chat_errors import error_from_body
from llmkit.providers._codecs.openai_responses import (
    FINISH_REASONS,
    failure,
    parse_usage,
    raw_finish,
    reasoning_text,
    saved_items,
)
from llmkit.types import FinishReason, StreamEvent, ToolCallDelta

__all__ = ["ResponsesEvents"]

_TERMINAL = frozenset({"response.completed", "response.incomplete"})


class _Item:
    """What was emitted so far for one output item (by `output_index`)."""

    __slots__ = ("arguments", "id_sent", "name_sent", "summary", "text", "thought")

    def __init__(self) -> None:
        self.arguments = ""
        self.id_sent = False
        self.name_sent = False
        self.summary = False
        """A summary delta arrived (reasoning text deltas are then not reasoning)."""
        self.thought = False
        """Reasoning was emitted for this item."""
        self.text = False
        """Text or refusal was emitted for this item."""


class ResponsesEvents:
    """Turns the events of a `/responses` stream into `StreamEvent`s.

    `feed(data)` returns the events one server-sent event produced. An error
    event sets `error` (later input is ignored) and `finish()` raises it;
    `finish()` raises `StreamError` when no terminal event arrived.
    """

    def __init__(self, *, provider: str, model: str | None = None, status: int = 200) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        self.done = False
        """`response.completed` or `response.incomplete` arrived."""
        self.error: LLMError | None = None
        self._items: dict[int, _Item] = {}
        self._done_items: dict[int, Any] = {}
        self._announced = False

    def feed(self, data: str) -> list[StreamEvent]:
        """The events one server-sent event's data carries (often one, sometimes none).

        Raises:
            InvalidResponseError: the data is not a JSON object.
        """
        if self.done or self.error is not None or not data or data == "[DONE]":
            return []
        try:
            event = json.loads(data)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            raise InvalidResponseError(
                f"{self.provider} sent a stream event that is not a JSON object: {data[:200]!r}",
                provider=self.provider,
                model=self.model,
                body=data,
            )
        kind = event.get("type")
        if kind == "response.output_text.delta":
            self._item(event).text = True
            return [StreamEvent(text=event.get("delta") or "", raw=event)]
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        return handler(self, event) if handler is not None else []

    def finish(self) -> list[StreamEvent]:
        """End of the body.

        Raises:
            LLMError: the error the host reported inside the stream.
            StreamError: no terminal event arrived.
        """
        if self.error is not None:
            raise self.error
        if not self.done:
            raise StreamError(
                f"the {self.provider} stream ended before the response was complete "
                "(no response.completed event); what arrived is in `.partial`",
                provider=self.provider,
                model=self.model,
                retryable=True,
            )
        return []

    # -- handlers -----------------------------------------------------------------

    def _item(self, event: dict[str, Any]) -> _Item:
        index = event.get("output_index")
        return self._items.setdefault(index if isinstance(index, int) else -1, _Item())

    def _created(self, event: dict[str, Any]) -> list[StreamEvent]:
        response = event.get("response")
        if self._announced or not isinstance(response, dict):
            return []
        model, id_ = response.get("model") or None, response.get("id") or None
        if not (model or id_):
            return []
        self._announced = True
        return [StreamEvent(model=model, id=id_, raw=event)]

    def _refusal(self, event: dict[str, Any]) -> list[StreamEvent]:
        self._item(event).text = True
        return [StreamEvent(refusal=event.get("delta") or None, raw=event)]

    def _summary(self, event: dict[str, Any]) -> list[StreamEvent]:
        item = self._item(event)
        item.summary = item.thought = True
        return [StreamEvent(reasoning=event.get("delta") or "", raw=event)]

    def _reasoning_text(self, event: dict[str, Any]) -> list[StreamEvent]:
        item = self._item(event)
        if item.summary:
            return []
        item.thought = True
        return [StreamEvent(reasoning=event.get("delta") or "", raw=event)]

    def _call_piece(
        self, index: int, wire: dict[str, Any], arguments: str, full: bool
    ) -> list[StreamEvent]:
        """A tool-call delta with what was not sent yet: id, name, arguments."""
        item = self._items.setdefault(index, _Item())
        call_id = wire.get("call_id") or wire.get("id") or None
        name = wire.get("name") or None
        if full:  # the complete string: send what the deltas missed
            if not arguments.startswith(item.arguments):
                arguments = ""  # they disagree; the deltas stand
            arguments = arguments[len(item.arguments) :]
        piece = ToolCallDelta(
            index=index,
            id=call_id if not item.id_sent else None,
            name=name if not item.name_sent else None,
            arguments=arguments,
        )
        item.id_sent |= piece.id is not None
        item.name_sent |= piece.name is not None
        item.arguments += arguments
        if piece.id is None and piece.name is None and not piece.arguments:
            return []
        return [StreamEvent(tool_call=piece, raw=wire)]

    def _added(self, event: dict[str, Any]) -> list[StreamEvent]:
        wire = event.get("item")
        index = event.get("output_index")
        if not isinstance(wire, dict) or not isinstance(index, int):
            return []
        if wire.get("type") == "function_call":
            return self._call_piece(index, wire, wire.get("arguments") or "", full=False)
        return []

    def _arguments_delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        index = event.get("output_index")
        if not isinstance(index, int):
            return []
        return self._call_piece(index, {}, event.get("delta") or "", full=False)

    def _arguments_done(self, event: dict[str, Any]) -> list[StreamEvent]:
        index = event.get("output_index")
        if not isinstance(index, int) or not isinstance(event.get("arguments"), str):
            return []
        return self._call_piece(index, {}, event["arguments"], full=True)

    def _item_done(self, event: dict[str, Any]) -> list[StreamEvent]:
        wire = event.get("item")
        index = event.get("output_index")
        if not isinstance(wire, dict) or not isinstance(index, int):
            return []
        self._done_items[index] = wire
        item = self._items.setdefault(index, _Item())
        kind = wire.get("type")
        if kind == "function_call":
            arguments = wire.get("arguments")
            text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
            return self._call_piece(index, wire, text, full=True)
        if kind == "reasoning" and not item.thought:  # a host that sent no deltas
            thought = reasoning_text(wire)
            item.thought = bool(thought)
            return [StreamEvent(reasoning=thought, raw=event)] if thought else []
        if kind == "message" and not item.text:
            return self._message_parts(wire, item, event)
        return []

    def _message_parts(self, wire: dict[str, Any], item: _Item, event: Any) -> list[StreamEvent]:
        text = refusal = ""
        for part in wire.get("content") or ():
            if isinstance(part, dict) and part.get("type") == "output_text":
                text += part.get("text") or ""
            elif isinstance(part, dict) and part.get("type") == "refusal":
                refusal += part.get("refusal") or ""
        item.text = bool(text or refusal)
        if not item.text:
            return []
        return [StreamEvent(text=text, refusal=refusal or None, raw=event)]

    def _terminal(self, event: dict[str, Any]) -> list[StreamEvent]:
        response = event.get("response")
        response = response if isinstance(response, dict) else {}
        self.done = True
        raw = raw_finish(response)
        output = response.get("output")
        if not (isinstance(output, list) and output):
            output = [self._done_items[i] for i in sorted(self._done_items)]
        saved = saved_items(output)
        return [
            StreamEvent(
                finish_reason=FINISH_REASONS.get(raw, FinishReason.OTHER) if raw else None,
                raw_finish_reason=raw,
                usage=parse_usage(response.get("usage")),
                model=response.get("model") or None,
                id=response.get("id") or None,
                provider_data={self.provider: {"items": saved}} if saved else {},
                raw=event,
            )
        ]

    def _failed(self, event: dict[str, Any]) -> list[StreamEvent]:
        response = event.get("response")
        response = response if isinstance(response, dict) else {"status": "failed"}
        self.error = failure(
            {**response, "status": "failed"}, provider=self.provider, status=self.status
        )
        usage = parse_usage(response.get("usage"))
        return [StreamEvent(usage=usage, raw=event)] if usage else []

    def _error(self, event: dict[str, Any]) -> list[StreamEvent]:
        inner = event.get("error")
        detail = inner if isinstance(inner, dict) else event
        payload = {k: detail.get(k) for k in ("message", "code", "param") if detail.get(k)}
        if not payload.get("message"):
            payload["message"] = f"{self.provider} reported an error inside the stream"
        self.error = error_from_body(
            self.status, {"error": payload}, provider=self.provider, model=self.model
        )
        return []


_HANDLERS: dict[str, Any] = {
    "response.created": ResponsesEvents._created,
    "response.in_progress": ResponsesEvents._created,
    "response.refusal.delta": ResponsesEvents._refusal,
    "response.reasoning_summary_text.delta": ResponsesEvents._summary,
    "response.reasoning_text.delta": ResponsesEvents._reasoning_text,
    "response.output_item.added": ResponsesEvents._added,
    "response.function_call_arguments.delta": ResponsesEvents._arguments_delta,
    "response.function_call_arguments.done": ResponsesEvents._arguments_done,
    "response.output_item.done": ResponsesEvents._item_done,
    "response.completed": ResponsesEvents._terminal,
    "response.incomplete": ResponsesEvents._terminal,
    "response.failed": ResponsesEvents._failed,
    "error": ResponsesEvents._error,
}
