"""Where llmkit's CPU per call goes, layer by layer, through the mock transport.

    python benchmarks/breakdown.py

Peels llmkit's OpenAI-compatible path apart and times each layer the same
way as the suite (CPU per call, median of batches, cases taking turns):

1. the floor: raw `httpx2` + `json`;
2. + llmkit's codec on the raw HTTP reply (`to_params`, `parse_reply`; the
   contract's `StreamParser`), still sent with raw `httpx2`;
3. the provider's own attempt, `provider._complete` / `provider._stream`:
   llmkit builds the URL and headers and sends with `httpx2` (the default
   sender), observes the rate-limit headers, the codec reads the reply;
4. the public `provider.complete` / `provider.stream`: adds the policy shell
   (`_calls`: rate-limit lease, retries, per-event timeouts) and `ResponseStream`.

The difference between consecutive rows is what that layer costs. A last row,
for comparison, is layer 3 with `sender="sdk"` (the `openai` SDK's `post` sends).
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

from llmkit.providers._codecs.openai_chat import StreamParser, parse_reply, to_params  # noqa: E402
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
    plain = OpenAIProvider(
        api_key="sk-bench", base_url=I.BASE, http_client=I.mock_client(httpx2, False)
    )
    streaming = OpenAIProvider(
        api_key="sk-bench", base_url=I.BASE, http_client=I.mock_client(httpx2, True)
    )
    plain_http, stream_http = I.mock_client(httpx2, False), I.mock_client(httpx2, True)
    headers = {**I.AUTH, "content-type": "application/json"}

    async def codec_call() -> str:
        content = json.dumps(to_params(REQUEST, plain.dialect)).encode()
        response = await plain_http.post(url, content=content, headers=headers)
        return parse_reply(json.loads(response.content), provider="openai").text

    async def codec_stream() -> str:
        parts = []
        content = json.dumps(to_params(REQUEST, plain.dialect, stream=True)).encode()
        async with stream_http.stream("POST", url, content=content, headers=headers) as response:
            parser = StreamParser(provider="openai", model=P.MODEL)
            async for chunk in response.aiter_bytes():
                parts.extend(e.text for e in parser.feed(chunk))
            parts.extend(e.text for e in parser.flush())
        return "".join(parts)

    sdk_plain = OpenAIProvider(
        api_key="sk-bench", base_url=I.BASE, http_client=I.mock_client(httpx2, False), sender="sdk"
    )
    sdk_streaming = OpenAIProvider(
        api_key="sk-bench", base_url=I.BASE, http_client=I.mock_client(httpx2, True), sender="sdk"
    )

    async def sdk_call() -> str:
        return (await sdk_plain._complete(REQUEST)).text

    async def sdk_stream() -> str:
        return "".join([e.text async for e in sdk_streaming._stream(REQUEST)])

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
        "3 provider._complete/_stream (llmkit sends + codec)": (attempt_call, attempt_stream),
        "4 provider.complete/stream (+ policies, ResponseStream)": (public_call, public_stream),
        "(3 with sender='sdk': the openai SDK's post sends)": (sdk_call, sdk_stream),
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
    figures: dict[str, tuple[float, float]] = {}
    for label in layers():
        call = statistics.median(samples[label, 0]) * 1e6
        stream = statistics.median(samples[label, 1]) * 1e6
        figures[label] = (call, stream)
        if label.startswith("("):  # the SDK sender: compared with layer 2, as layer 3 is
            previous = next(v for k, v in figures.items() if k.startswith("2 "))
        print(
            f"{label:<56} {call:>9,.0f} {call - previous[0]:>+7,.0f} {stream:>10,.0f} {stream - previous[1]:>+7,.0f}"
        )
        previous = (call, stream)


if __name__ == "__main__":
    main()
