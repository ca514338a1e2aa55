"""The response cache and embeddings against their targets (issue 16).

    .venv/bin/python benchmarks/cache_embed.py            # ~1 minute
    .venv/bin/python benchmarks/cache_embed.py --quick    # a smoke run

1. A memory-cache hit (`provider.complete` with `MemoryCache`) costs less than 5% of a
   raw httpx2 call's CPU (both in process, through a MockTransport; `time.process_time`).
2. A disk-cache hit (`DiskCache`, SQLite) takes less wall time than a raw httpx2 call to a
   server on loopback.
3. Embedding 10,000 short inputs through `EmbeddingClient` on a loopback server takes at
   most 1.2x the time of raw httpx2 sending the same batches (same concurrency, base64
   vectors decoded to floats either way).

The loopback servers run in subprocesses (this file with `--serve`, and `_server.py`) and
exit when their stdin closes. Loops are bounded. Prints one line per target, PASS or MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
DIMS = 256
VECTOR = base64.b64encode(struct.pack(f"<{DIMS}f", *[i / DIMS for i in range(DIMS)]))


# -- the embeddings server (run as `cache_embed.py --serve`) ---------------------------


class _Embeddings(asyncio.Protocol):
    """POST /v1/embeddings: one base64 float32 vector per input, HTTP/1.1 keep-alive."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n")[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = json.loads(self.buffer[end + 4 : end + 4 + length])
            self.buffer = self.buffer[end + 4 + length :]
            items = b",".join(
                b'{"object":"embedding","index":%d,"embedding":"%s"}' % (i, VECTOR)
                for i in range(len(body["input"]))
            )
            reply = b'{"object":"list","data":[%s],"model":"%s","usage":{"prompt_tokens":%d}}' % (
                items, body["model"].encode(), 3 * len(body["input"]),
            )  # fmt: skip
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                % len(reply)
                + reply
            )


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Embeddings, "127.0.0.1", 0, backlog=1024)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if not line or line[0] != "ready":
        process.kill()
        raise RuntimeError(f"{args[0]} did not start")
    return process, f"http://127.0.0.1:{line[1]}/v1"


def _stop(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


# -- 1. memory hit vs a raw call, CPU in process ---------------------------------------------


async def memory_hit(rounds: int, count: int) -> tuple[float, float]:
    """(raw httpx2 call CPU, memory-cache hit CPU) in seconds, medians of `rounds`."""
    import _inprocess as I
    import httpx2

    from llmkit.cache import MemoryCache
    from llmkit.providers import OpenAICompatibleProvider
    from llmkit.types import Message, Request

    call, _ = I.raw(lambda stream: I.mock_client(httpx2, stream))
    provider = OpenAICompatibleProvider(
        base_url=I.BASE, api_key="sk-bench", http_client=I.mock_client(httpx2, False)
    )
    provider.cache = MemoryCache(1000)
    request = Request(model="m", messages=[Message.system("Be terse."), Message.user("Hi")])
    await provider.complete(request)
    raws, hits = [], []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(count):
            await call()
        raws.append((time.process_time() - start) / count)
        start = time.process_time()
        for _ in range(count):  # the raw call's body is built once too
            await provider.complete(request)
        hits.append((time.process_time() - start) / count)
    return statistics.median(raws), statistics.median(hits)


# -- 2. disk hit vs a raw loopback call, wall time -------------------------------------------


async def disk_hit(count: int) -> tuple[float, float]:
    """(raw loopback call, disk-cache hit) wall seconds, medians."""
    import _inprocess as I
    import httpx2

    from llmkit.cache import DiskCache
    from llmkit.providers import OpenAICompatibleProvider
    from llmkit.types import Message, Request

    server, base = _start([str(HERE / "_server.py"), "0"])
    try:
        async with httpx2.AsyncClient() as client:
            call, _ = I.raw(lambda stream: client, base)
            with tempfile.TemporaryDirectory() as folder:
                provider = OpenAICompatibleProvider(base_url=base, api_key="sk-bench")
                provider.cache = DiskCache(Path(folder) / "bench.db")
                request = Request(model="m", messages=[Message.user("Explain SSE")])
                await provider.complete(request)
                raws, hits = [], []
                for _ in range(count):
                    start = time.perf_counter()
                    await call()
                    raws.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    reply = await provider.complete(request)
                    hits.append(time.perf_counter() - start)
                    assert reply.cached
                provider.cache.close()
                await provider.aclose()
    finally:
        _stop(server)
    return statistics.median(raws), statistics.median(hits)


# -- 3. 10,000 inputs through EmbeddingClient vs raw batches ---------------------------------


async def embeddings(total: int, rounds: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, CPU) seconds of raw httpx2 batches and of EmbeddingClient for `total` inputs,
    the best of `rounds` each (the server's CPU is in its own process)."""
    import httpx2

    from llmkit.embeddings import EmbeddingClient
    from llmkit.providers import OpenAIProvider

    texts = [f"short input number {i}" for i in range(total)]
    batch, concurrency, model = 2048, 4, "text-embedding-3-small"
    server, base = _start([str(Path(__file__).name), "--serve"])
    try:
        async with httpx2.AsyncClient(timeout=60) as client:
            gate = asyncio.Semaphore(concurrency)
            headers = {"authorization": "Bearer sk-bench", "content-type": "application/json"}

            async def raw_batch(chunk: list[str]) -> list[list[float]]:
                body = {"model": model, "input": chunk, "encoding_format": "base64"}
                async with gate:
                    response = await client.post(
                        base + "/embeddings", content=json.dumps(body), headers=headers
                    )
                data = json.loads(response.content)["data"]
                out = []
                for item in sorted(data, key=lambda d: d["index"]):
                    vector = array("f")
                    vector.frombytes(base64.b64decode(item["embedding"]))
                    out.append(vector.tolist())
                return out

            async def raw() -> int:
                chunks = [texts[i : i + batch] for i in range(0, total, batch)]
                parts = await asyncio.gather(*(raw_batch(c) for c in chunks))
                return sum(len(p) for p in parts)

            provider = OpenAIProvider(base_url=base, api_key="sk-bench", http_client=client)
            embedder = EmbeddingClient(provider, model, concurrency=concurrency)

            async def llmkit() -> int:
                return len((await embedder.embed(texts)).vectors)

            timings: dict[str, list[tuple[float, float]]] = {"raw": [], "llmkit": []}
            await raw()
            await llmkit()
            for index in range(rounds):  # alternate who goes first: a busy machine drifts
                order = [("raw", raw), ("llmkit", llmkit)]
                for name, run in order if index % 2 == 0 else order[::-1]:
                    wall, cpu = time.perf_counter(), time.process_time()
                    assert await run() == total
                    timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    finally:
        _stop(server)
    return min(timings["raw"]), min(timings["llmkit"])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


async def main(quick: bool) -> None:
    raw, hit = await memory_hit(3 if quick else 7, 500 if quick else 3000)
    print(
        f"memory hit  {hit * 1e6:7.1f} us CPU vs raw httpx2 call {raw * 1e6:7.1f} us: "
        f"{hit / raw:6.1%}  (target < 5%)   {_verdict(hit < 0.05 * raw)}"
    )
    raw, hit = await disk_hit(200 if quick else 2000)
    print(
        f"disk hit    {hit * 1e6:7.1f} us wall vs raw loopback call {raw * 1e6:7.1f} us: "
        f"{hit / raw:6.2f}x (target < 1x)   {_verdict(hit < raw)}"
    )
    (raw, raw_cpu), (ours, ours_cpu) = await embeddings(10_000, 4 if quick else 10)
    print(
        f"embeddings  10,000 inputs {ours * 1e3:7.1f} ms vs raw batches {raw * 1e3:7.1f} ms: "
        f"{ours / raw:6.2f}x (target <= 1.2x) {_verdict(ours <= 1.2 * raw)}  "
        f"[client CPU {ours_cpu * 1e3:.0f} vs {raw_cpu * 1e3:.0f} ms: {ours_cpu / raw_cpu:.2f}x]"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        asyncio.run(_serve())
    else:
        asyncio.run(main(options.quick))
