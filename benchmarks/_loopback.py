"""End to end on loopback: a local OpenAI-compatible server in a subprocess.

Sequential latency (plain calls and 64-chunk streams, one at a time), then
256 concurrent streams per round: throughput (streams/s) and p99 latency.
Every client gets the same connection limits as llmkit's own pool (1000
connections, 100 kept alive); llmkit runs with its own pool, as users get it.
Loops are bounded: a fixed number of requests and rounds.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _inprocess as I
import _payloads as P

HERE = Path(__file__).resolve().parent
CONCURRENT = 256


def start_server() -> tuple[subprocess.Popen[str], str]:
    """Start `_server.py` on a free port; returns the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "_server.py"), "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if not line or line[0] != "ready":
        process.kill()
        raise RuntimeError("the loopback server did not start")
    return process, f"http://127.0.0.1:{line[1]}/v1"


def stop_server(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


def clients(base: str) -> dict[str, Callable[[], tuple[I.Call, I.Call]]]:
    import httpx
    import httpx2

    def limits(module: Any) -> Any:
        return module.Limits(max_connections=1000, max_keepalive_connections=100)

    def client2(stream: bool) -> Any:
        return httpx2.AsyncClient(limits=limits(httpx2), timeout=60)

    def client1(stream: bool) -> Any:
        return httpx.AsyncClient(limits=limits(httpx), timeout=60)

    return {
        "raw httpx + json": lambda: I.raw(client1, base),
        "raw httpx2 + json": lambda: I.raw(client2, base),
        "openai SDK alone (typed)": lambda: I.openai_sdk(client2, base),
        "llmkit OpenAICompatibleProvider": lambda: I.llmkit_provider(
            "llmkit.providers.openai_compatible.OpenAICompatibleProvider", lambda s: None, base
        ),
        "raw aiohttp + json": lambda: I.raw_aiohttp(base),
        "llmkit OpenAICompatibleProvider sender=aiohttp": lambda: I.llmkit_provider(
            "llmkit.providers.openai_compatible.OpenAICompatibleProvider",
            lambda s: None,
            base,
            sender="aiohttp",
        ),
        "llmkit OpenAICompatibleProvider sender=sdk": lambda: I.llmkit_provider(
            "llmkit.providers.openai_compatible.OpenAICompatibleProvider",
            lambda s: None,
            base,
            sender="sdk",
        ),
    }


async def _timed(fn: I.Call) -> float:
    start = time.perf_counter()
    text = await fn()
    if text != P.TEXT:
        raise AssertionError("incomplete reply")
    return time.perf_counter() - start


async def _sequential(call: I.Call, stream: I.Call, count: int) -> dict[str, float]:
    for _ in range(10):
        await _timed(call)
        await _timed(stream)
    plain = [await _timed(call) for _ in range(count)]
    streamed = [await _timed(stream) for _ in range(count // 2)]
    await _concurrent(stream)  # opens the pool's connections before the measured rounds
    return {
        "seq_call_p50_ms": statistics.median(plain) * 1e3,
        "seq_call_p99_ms": _p99(plain) * 1e3,
        "seq_stream_p50_ms": statistics.median(streamed) * 1e3,
    }


async def _concurrent(stream: I.Call) -> tuple[float, list[float]]:
    """One round of 256 streams at once: (seconds for the round, each stream's latency)."""
    start = time.perf_counter()
    took = await asyncio.gather(*(_timed(stream) for _ in range(CONCURRENT)))
    return time.perf_counter() - start, list(took)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run(*, quick: bool) -> list[dict[str, Any]]:
    """Measure every client against one local server; the server is stopped at the end.

    The clients take turns round by round (each on its own event loop), so that a
    change in the machine's load during the run does not favour one of them.
    """
    process, base = start_server()
    sequential, rounds, budget = (40, 1, 0.0) if quick else (150, 3, 90.0)
    loops: dict[str, asyncio.AbstractEventLoop] = {}
    try:
        calls = {}
        rows: dict[str, dict[str, Any]] = {}
        for label, make in clients(base).items():
            loops[label] = asyncio.new_event_loop()
            calls[label] = make()
            rows[label] = {"case": label}
        for label, (call, stream) in calls.items():
            rows[label].update(
                loops[label].run_until_complete(_sequential(call, stream, sequential))
            )
        throughputs: dict[str, list[float]] = {label: [] for label in calls}
        latencies: dict[str, list[float]] = {label: [] for label in calls}
        began = time.perf_counter()
        for done in range(rounds):
            if done and time.perf_counter() - began > budget:
                break  # bounded: slow clients make for fewer rounds, never an endless run
            for label, (_, stream) in calls.items():
                wall, took = loops[label].run_until_complete(_concurrent(stream))
                throughputs[label].append(CONCURRENT / wall)
                latencies[label].extend(took)
        for label in calls:
            rows[label]["streams_per_s"] = statistics.median(throughputs[label])
            rows[label]["concurrent_p99_ms"] = _p99(latencies[label]) * 1e3
            rows[label]["rounds"] = len(throughputs[label])
        return list(rows.values())
    finally:
        for label, loop in loops.items():
            close = getattr(calls.get(label, (None,))[0], "close", None)
            if close is not None:  # a client that keeps sessions of its own (raw aiohttp)
                loop.run_until_complete(close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        stop_server(process)
