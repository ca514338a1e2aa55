"""Where llmkit's CPU per call goes, layer by layer, through the mock transport.

    python benchmarks/breakdown.py

Peels llmkit's OpenAI-compatible path apart and times each layer the same
way as the suite (CPU per call, median of batches, cases taking turns):

1. the floor: raw `httpx2` + `json`;
2. + llmkit's codec on the raw HTTP reply (`parse_completion`; `SSEDecoder`
   + `ChatStreamParser`), still sent with raw `httpx2`;
3. the provider's own attempt, `provider._complete` / `provider._stream`: the
   `openai` SDK's generic `post` sends the request, the codec reads it;
4. the public `provider.complete` / `provider.stream`: adds the policy shell
   (`_calls`: rate-limit lease, retries, per-event timeouts) and `ResponseStream`.

The difference between consecutive rows is what that layer costs.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import _inprocess as I  # noqa: E402
import _payloads as P  # noqa: E402
import httpx2  # noqa: E402

from llmkit.providers._codecs.openai_chat import parse_completion  # noqa: E402
from llmkit.providers._codecs.openai_chat_stream import ChatStreamParser  # noqa: E402
from llmkit.providers._codecs.sse import SSEDecoder  # noqa: E402
from llmkit.providers.openai import OpenAIProvider  # noqa: E402
from llmkit.types import Message, Request  # noqa: E402

REQUEST = Request(
    model=P.MODEL,
    messages=[
        Message.system("You are terse."),
        Message.user("Explain quicksort in one paragraph."),
    ],
    max_tokens=200,
)


def layers() -> dict[str, tuple[I.Call, I.Call]]:
    url = I.BASE + "/chat/completions"
    plain_http, stream_http = I.mock_client(httpx2, False), I.mock_client(httpx2, True)
    body = json.dumps(P.REQUEST).encode()
    stream_body = json.dumps({**P.REQUEST, "stream": True}).encode()
    headers = {**I.AUTH, "content-type": "application/json"}

    async def codec_call() -> str:
        response = await plain_http.post(url, content=body, headers=headers)
        return parse_completion(json.loads(response.content), provider="openai").text

    async def codec_stream() -> str:
        parts = []
        async with stream_http.stream(
            "POST", url, content=stream_body, headers=headers
        ) as response:
            decoder, parser = (
                SSEDecoder(),
                ChatStreamParser(provider="openai", model=P.MODEL, status=200),
            )
            async for chunk in response.aiter_bytes():
                for sse in decoder.feed(chunk):
                    parts.extend(e.text for e in parser.feed(sse))
            parts.extend(e.text for e in parser.finish())
        return "".join(parts)

    plain = OpenAIProvider(
        api_key="sk-bench", base_url=I.BASE, http_client=I.mock_client(httpx2, False)
    )
    streaming = OpenAIProvider(
        api_key="sk-bench", base_url=I.BASE, http_client=I.mock_client(httpx2, True)
    )

    async def attempt_call() -> str:
        return (await plain._complete(REQUEST)).text

    async def attempt_stream() -> str:
        return "".join([e.text async for e in streaming._stream(REQUEST)])

    async def public_call() -> str:
        return (await plain.complete(REQUEST)).text

    async def public_stream() -> str:
        return (await streaming.stream(REQUEST).collect()).text

    raw_call, raw_stream = I.raw(lambda s: I.mock_client(httpx2, s))
    return {
        "1 raw httpx2 + json": (raw_call, raw_stream),
        "2 + llmkit codec (raw httpx2 sends)": (codec_call, codec_stream),
        "3 provider._complete/_stream (SDK post + codec)": (attempt_call, attempt_stream),
        "4 provider.complete/stream (+ policies, ResponseStream)": (public_call, public_stream),
    }


def main() -> None:
    runners: dict[tuple[str, int], Any] = {}
    for label, (call, stream) in layers().items():
        runners[label, 0], runners[label, 1] = I._Runner(call), I._Runner(stream)
    samples: dict[tuple[str, int], list[float]] = {key: [] for key in runners}
    try:
        for key, runner in runners.items():
            assert runner.check() == P.TEXT, key
            runner.batch(10)
        for _ in range(7):
            for key, runner in runners.items():
                samples[key].append(runner.batch(200 if key[1] == 0 else 40))
    finally:
        for runner in runners.values():
            runner.close()
    print(f"{'layer':<56} {'call µs':>9} {'+µs':>7} {'stream µs':>10} {'+µs':>7}")
    previous = (0.0, 0.0)
    for label in layers():
        call = statistics.median(samples[label, 0]) * 1e6
        stream = statistics.median(samples[label, 1]) * 1e6
        print(
            f"{label:<56} {call:>9,.0f} {call - previous[0]:>+7,.0f} {stream:>10,.0f} {stream - previous[1]:>+7,.0f}"
        )
        previous = (call, stream)


if __name__ == "__main__":
    main()
