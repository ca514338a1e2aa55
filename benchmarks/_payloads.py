"""What the mock and loopback servers answer: one chat completion, one 64-chunk stream.

Shaped like OpenAI's Chat Completions replies (ids, `system_fingerprint`,
usage), so that every client parses the same realistic bytes.
"""

from __future__ import annotations

import json

MODEL = "gpt-4o-mini"
CHUNKS = 64
WORDS = [f" word{i}" for i in range(CHUNKS)]
TEXT = "".join(WORDS)

REQUEST = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Explain quicksort in one paragraph."},
    ],
    "max_tokens": 200,
}

COMPLETION = {
    "id": "chatcmpl-bench0000000000000000000001",
    "object": "chat.completion",
    "created": 1763769600,
    "model": MODEL,
    "system_fingerprint": "fp_bench",
    "service_tier": "default",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": TEXT, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 24,
        "completion_tokens": CHUNKS,
        "total_tokens": 24 + CHUNKS,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
}
COMPLETION_BYTES = json.dumps(COMPLETION).encode()


def _chunk(
    delta: dict[str, object] | None, finish: str | None = None, usage: object = None
) -> bytes:
    choices = (
        []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    body = {
        "id": "chatcmpl-bench0000000000000000000002",
        "object": "chat.completion.chunk",
        "created": 1763769600,
        "model": MODEL,
        "system_fingerprint": "fp_bench",
        "service_tier": "default",
        "choices": choices,
        "usage": usage,
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


STREAM_EVENTS: list[bytes] = [
    _chunk({"role": "assistant", "content": "", "refusal": None}),
    *(_chunk({"content": word}) for word in WORDS),
    _chunk({}, finish="stop"),
    _chunk(None, usage=COMPLETION["usage"]),  # stream_options.include_usage
    b"data: [DONE]\n\n",
]
"""One SSE event per network chunk: role, 64 content deltas, finish, usage, [DONE]."""
STREAM_BYTES = b"".join(STREAM_EVENTS)


# -- Anthropic Messages: the same text, as Anthropic's API sends it ---------------------

ANTHROPIC_MODEL = "claude-sonnet-4-6"
ANTHROPIC_REQUEST = {
    "model": ANTHROPIC_MODEL,
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "Explain quicksort in one paragraph."}],
    "max_tokens": 200,
}
ANTHROPIC_MESSAGE = {
    "id": "msg_bench000000000000000001",
    "type": "message",
    "role": "assistant",
    "model": ANTHROPIC_MODEL,
    "content": [{"type": "text", "text": TEXT}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 24,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": CHUNKS,
        "service_tier": "standard",
    },
}
ANTHROPIC_MESSAGE_BYTES = json.dumps(ANTHROPIC_MESSAGE).encode()


def _event(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


_START = {
    **ANTHROPIC_MESSAGE,
    "content": [],
    "stop_reason": None,
    "usage": {**ANTHROPIC_MESSAGE["usage"], "output_tokens": 1},
}  # type: ignore[dict-item]
ANTHROPIC_STREAM_EVENTS: list[bytes] = [
    _event("message_start", {"type": "message_start", "message": _START}),
    _event(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    _event("ping", {"type": "ping"}),
    *(
        _event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": word},
            },
        )
        for word in WORDS
    ),
    _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
    _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": CHUNKS},
        },
    ),
    _event("message_stop", {"type": "message_stop"}),
]
"""One SSE event per network chunk: start, block start, ping, 64 text deltas, stops."""
