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
