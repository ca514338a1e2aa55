"""The gateway's own cost: `llmkit serve` against the same loopback host called directly.

    .venv/bin/python benchmarks/gateway.py            # ~1-2 minutes; prints a Markdown table
    .venv/bin/python benchmarks/gateway.py --quick    # a smoke run

One run, bounded (fixed counts, every process stopped at the end):

- the loopback host: `_server.py` (plain asyncio, canned completion and 64-chunk stream);
- the gateway: `python -m llmkit serve` (one uvicorn worker) routing `up/gpt-4o-mini` to an
  `openai_compatible` provider on that host, no keys (open);
- the same with Redis limits on: a key with a rate limit and a budget, in a local
  `redis-server` (skipped, said so, when the binary is missing);
- for reference, `_bare_proxy.py` under the same uvicorn: a raw ASGI app that forwards
  the bytes with aiohttp and does nothing else, i.e. what one more Python process on the
  path costs on this machine, whatever it does.

Measured with raw `httpx2` as the client (the same client and pool both ways):
sequential plain calls (added latency p50/p99 = gateway minus direct, and the gateway's
own `x-llmkit-overhead-ms`), then rounds of 256 concurrent streams (streams per second,
gateway / direct). Targets (issue 17): added p50 <= 1 ms, p99 <= 3 ms; 256 streams through
one worker >= 80% of direct throughput, with and without Redis limits.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _loopback  # noqa: E402
import _payloads as P  # noqa: E402

CONCURRENT = 256
BARE = "bare Python proxy (floor)"
KEY = "sk-bench-gateway-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[Any], seconds: float = 30) -> None:
    import httpx2

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx2.get(url + "/health/readiness", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def start_gateway(
    upstream: str, redis_url: str | None, folder: Path
) -> tuple[subprocess.Popen[Any], str]:
    config = f"""
providers:
  up: {{type: openai_compatible, base_url: "{upstream}", api_key: "${{BENCH_KEY:-bench}}", retry: {{max_attempts: 1}}}}
"""
    if redis_url:
        digest = hashlib.sha256(KEY.encode()).hexdigest()
        config += f"""
server:
  redis_url: {redis_url}
  keys:
    bench:
      key_sha256: {digest}
      rate_limit: {{requests_per_minute: 10000000, tokens_per_minute: 100000000000, concurrency: 100000}}
      budget: {{limit_usd: 1000000, period: day}}
"""
    path = folder / ("redis.yaml" if redis_url else "open.yaml")
    path.write_text(config)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llmkit", "serve", "--config", str(path), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"{path.stem}.log").open("w"),  # the gateway's errors, if any
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url, process)
    return process, url


def start_bare_proxy(upstream: str, folder: Path) -> tuple[subprocess.Popen[Any], str]:
    """`_bare_proxy.py` under uvicorn (one worker, like the gateway): the floor of a hop."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "_bare_proxy:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "75"],
        cwd=HERE, env={**os.environ, "BARE_PROXY_UPSTREAM": upstream},
        stdout=subprocess.DEVNULL, stderr=(folder / "bare.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait(url, process)
    return process, url


def start_redis(folder: Path) -> tuple[subprocess.Popen[Any] | None, str | None]:
    binary = os.environ.get("LLMKIT_REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        return None, None
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.3)
    return process, f"redis://127.0.0.1:{port}/0"


def stop(process: subprocess.Popen[Any] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


class Target:
    """Plain and streamed calls to one base URL, with one pooled httpx2 client."""

    def __init__(self, base: str, model: str, key: str | None) -> None:
        import httpx2

        headers = {"authorization": f"Bearer {key or 'none'}"}
        limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=300)
        # Two pools: the sequential calls' (one connection) and the stream rounds' (256).
        # One shared pool would time httpx2's own walk over 256 idle connections on every
        # sequential call (~8 ms of the client's CPU per call after a round, measured),
        # not the path under test.
        self.client = httpx2.AsyncClient(
            base_url=base.rstrip("/") + "/", headers=headers, limits=limits, timeout=60
        )
        self.stream_client = httpx2.AsyncClient(
            base_url=base.rstrip("/") + "/", headers=headers, limits=limits, timeout=60
        )
        self.body = json.dumps({**P.REQUEST, "model": model}).encode()
        self.stream_body = json.dumps({**P.REQUEST, "model": model, "stream": True}).encode()
        self.overheads: list[float] = []

    async def call(self) -> float:
        start = time.perf_counter()
        reply = await self.client.post(
            "chat/completions", content=self.body, headers={"content-type": "application/json"}
        )
        took = time.perf_counter() - start
        if reply.status_code != 200 or reply.json()["choices"][0]["message"]["content"] != P.TEXT:
            raise AssertionError(f"bad reply {reply.status_code}: {reply.text[:200]}")
        if "x-llmkit-overhead-ms" in reply.headers:
            self.overheads.append(float(reply.headers["x-llmkit-overhead-ms"]))
        return took

    async def stream(self) -> float:
        start = time.perf_counter()
        text, errors = [], []
        async with self.stream_client.stream(
            "POST", "chat/completions", content=self.stream_body,
            headers={"content-type": "application/json"},
        ) as reply:  # fmt: skip
            if reply.status_code != 200:
                raise AssertionError(f"status {reply.status_code}: {(await reply.aread())[:300]!r}")
            async for line in reply.aiter_lines():
                if line.startswith("data: {"):
                    event = json.loads(line[6:])
                    if "error" in event:
                        errors.append(event["error"])
                    for choice in event.get("choices") or ():
                        text.append(choice["delta"].get("content") or "")
        if "".join(text) != P.TEXT:
            raise AssertionError(f"incomplete stream: {reply.status_code} {errors[:1]}")
        return time.perf_counter() - start

    async def round(self) -> float:
        start = time.perf_counter()
        await asyncio.gather(*(self.stream() for _ in range(CONCURRENT)))
        return CONCURRENT / (time.perf_counter() - start)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def measure(
    targets: dict[str, Target], calls: int, rounds: int
) -> dict[str, dict[str, float]]:
    """Sequential calls, interleaved call by call; then 256-stream rounds, taking turns."""
    for target in targets.values():  # warm up: connections, clients, catalogs
        for _ in range(20):
            await target.call()
        await target.round()
        target.overheads.clear()
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(calls):
        for name, target in targets.items():
            latencies[name].append(await target.call())
    throughput: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, target in targets.items():
            throughput[name].append(await target.round())
    out = {}
    for name, target in targets.items():
        out[name] = {
            "p50_ms": statistics.median(latencies[name]) * 1e3,
            "p99_ms": _p99(latencies[name]) * 1e3,
            "streams_per_s": statistics.median(throughput[name]),
            "overhead_p50_ms": statistics.median(target.overheads)
            if target.overheads
            else float("nan"),
            "overhead_p99_ms": _p99(target.overheads) if target.overheads else float("nan"),
        }
        await target.client.aclose()
        await target.stream_client.aclose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    args = parser.parse_args()
    calls, rounds = (200, 2) if args.quick else (1000, 5)
    folder = Path(tempfile.mkdtemp(prefix="llmkit-gw-bench-"))
    processes: list[subprocess.Popen[Any] | None] = []
    try:
        upstream_process, upstream = _loopback.start_server()
        redis_process, redis_url = start_redis(folder)
        processes += [redis_process]
        gateway, gateway_url = start_gateway(upstream, None, folder)
        processes.append(gateway)
        bare, bare_url = start_bare_proxy(upstream, folder)
        processes.append(bare)
        targets = {
            "direct": Target(upstream, P.MODEL, None),
            BARE: Target(bare_url + "/v1", f"up/{P.MODEL}", None),
            "gateway": Target(gateway_url + "/v1", f"up/{P.MODEL}", None),
        }
        if redis_url:
            limited, limited_url = start_gateway(upstream, redis_url, folder)
            processes.append(limited)
            targets["gateway + Redis limits"] = Target(limited_url + "/v1", f"up/{P.MODEL}", KEY)
        results = asyncio.run(measure(targets, calls, rounds))
    finally:
        for process in processes:
            stop(process)
        if "upstream_process" in locals():
            _loopback.stop_server(upstream_process)
        if sys.exc_info()[0] is None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"logs kept in {folder}", file=sys.stderr)
    direct = results["direct"]
    print(f"gateway benchmark, {time.strftime('%Y-%m-%d %H:%M')} UTC, load {os.getloadavg()[0]:.1f}, "
          f"{calls} sequential calls, {rounds} rounds of {CONCURRENT} streams\n")  # fmt: skip
    print(
        "| path | call p50 | call p99 | added p50 | added p99 | x-llmkit-overhead-ms p50 / p99 | 256 streams/s | vs direct |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, row in results.items():
        added = "" if name == "direct" else f"{row['p50_ms'] - direct['p50_ms']:.2f} ms"
        added99 = "" if name == "direct" else f"{row['p99_ms'] - direct['p99_ms']:.2f} ms"
        overhead = (
            ""
            if name in ("direct", BARE)
            else f"{row['overhead_p50_ms']:.2f} / {row['overhead_p99_ms']:.2f}"
        )
        ratio = row["streams_per_s"] / direct["streams_per_s"]
        print(
            f"| {name} | {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms | {added} | {added99} | "
            f"{overhead} | {row['streams_per_s']:.0f} | {ratio:.0%} |"
        )
    if "gateway + Redis limits" not in results:
        print("\n(redis-server not found: the Redis row was skipped)")
    gw = results["gateway"]
    checks = [
        ("added p50 <= 1 ms", gw["p50_ms"] - direct["p50_ms"] <= 1.0),
        ("added p99 <= 3 ms", gw["p99_ms"] - direct["p99_ms"] <= 3.0),
        ("256 streams >= 80% of direct", gw["streams_per_s"] >= 0.8 * direct["streams_per_s"]),
    ]
    if "gateway + Redis limits" in results:
        rl = results["gateway + Redis limits"]
        checks.append(
            (
                "with Redis limits >= 80% of direct",
                rl["streams_per_s"] >= 0.8 * direct["streams_per_s"],
            )
        )
    print()
    for label, ok in checks:
        print(f"- {label}: {'PASS' if ok else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
