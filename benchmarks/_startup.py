"""Import time and memory of `import llmkit` (fresh subprocesses), and time to build a client.

Each figure is the median of several fresh interpreters: the import is timed
inside the child around the `import` statement alone (interpreter start-up
excluded), as wall time and as CPU time (on a shared, loaded machine the CPU
time is the import's own cost; the wall time adds waiting for a core), memory is the growth of the child's resident set over that import.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

VENDOR_SDKS = (
    "openai",
    "groq",
    "anthropic",
    "google.genai",
    "cohere",
    "tiktoken",
    "rich",
    "yaml",
    "httpx",
)

_CHILD = """
import json, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
before = rss()
start, cpu = time.perf_counter(), time.process_time()
import {module}
took, cpu_took = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({{"seconds": took, "cpu": cpu_took, "rss": rss() - before,
                  "loaded": [m for m in {vendors!r} if m in sys.modules]}}))
"""


def _env() -> dict[str, str]:
    """The children's environment: bytecode caches allowed, as in an installed wheel
    (PYTHONDONTWRITEBYTECODE would make every run compile llmkit from source)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def import_cost(module: str, runs: int) -> dict[str, Any]:
    """Median seconds and bytes of `import module` over `runs` fresh interpreters
    (after one unmeasured run that writes the bytecode caches)."""
    results = []
    code = _CHILD.format(module=module, vendors=VENDOR_SDKS)
    for _ in range(runs + 1):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
        ).stdout
        results.append(json.loads(out))
    results = results[1:]
    return {
        "module": module,
        "ms": statistics.median(r["seconds"] for r in results) * 1e3,
        "cpu_ms": statistics.median(r["cpu"] for r in results) * 1e3,
        "mib": statistics.median(r["rss"] for r in results) / 2**20,
        "loaded": sorted({m for r in results for m in r["loaded"]}),
        "runs": runs,
    }


_BUILD = """
import json, sys, time
t0 = time.perf_counter()
from llmkit.providers.openai import OpenAIProvider
from llmkit.clients import GPT4Client
t1 = time.perf_counter()
t2 = time.perf_counter()
OpenAIProvider(api_key="sk-bench")  # imports no SDK: llmkit sends with httpx2 itself
first_build = time.perf_counter() - t2
sdks = [m for m in ("openai", "groq", "anthropic") if m in sys.modules]
n = 2000
start = time.perf_counter()
for _ in range(n):
    GPT4Client(provider=OpenAIProvider(api_key="sk-bench"), model="gpt-4o-mini")
per = (time.perf_counter() - start) / n
import asyncio, httpx2
import _payloads as P
from llmkit.types import Message, Request
def handler(request):
    return httpx2.Response(200, content=P.COMPLETION_BYTES, headers={{"content-type": "application/json"}})
async def first():
    provider = OpenAIProvider(api_key="sk-bench", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    t = time.perf_counter()
    await provider.complete(Request(P.MODEL, [Message.user("hi")]))
    return time.perf_counter() - t
first_call = asyncio.run(first())
print(json.dumps({{"import_clients": t1 - t0, "first_build": first_build, "build": per, "first_call": first_call, "sdks": sdks}}))
"""


def build_cost(runs: int, cwd: str) -> dict[str, float]:
    """The first build of a provider (it imports the `openai` SDK), then the time to build a
    provider + client (warm, per build), and the first call's cost, medians over `runs`
    interpreters."""
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _BUILD.format()],
            capture_output=True, text=True, check=True, cwd=cwd, env=_env(),
        ).stdout  # fmt: skip
        results.append(json.loads(out))
    return {
        "first_build_sdks": sorted({m for r in results for m in r["sdks"]}),
        "first_build_ms": statistics.median(r["first_build"] for r in results) * 1e3,
        "build_us": statistics.median(r["build"] for r in results) * 1e6,
        "first_call_ms": statistics.median(r["first_call"] for r in results) * 1e3,
        "import_clients_ms": statistics.median(r["import_clients"] for r in results) * 1e3,
    }


_FIRST = {
    "raw httpx2 + json": """
import asyncio, json, sys
import httpx2
async def main():
    async with httpx2.AsyncClient() as client:
        body = json.dumps({{"model": "gpt-4o-mini", "max_tokens": 200, "messages": [
            {{"role": "user", "content": "Explain quicksort in one paragraph."}}]}}).encode()
        reply = await client.post(
            "{base}/chat/completions", content=body,
            headers={{"authorization": "Bearer sk-bench", "content-type": "application/json"}})
        return json.loads(reply.content)["choices"][0]["message"]["content"]
text = asyncio.run(main())
""",
    "llmkit OpenAIProvider": """
import asyncio, sys
from llmkit.providers import OpenAIProvider
from llmkit.types import Message, Request
async def main():
    async with OpenAIProvider(api_key="sk-bench", base_url="{base}") as provider:
        request = Request("gpt-4o-mini", [Message.user("Explain quicksort in one paragraph.")],
                          max_tokens=200)
        return (await provider.complete(request)).text
text = asyncio.run(main())
""",
}
_FIRST_TAIL = """
import json as _json
print(_json.dumps({{"ok": bool(text), "loaded": [m for m in {vendors!r} if m in sys.modules]}}),
      flush=True)
"""


def first_call(runs: int, cwd: str) -> list[dict[str, Any]]:
    """Process start to the first reply on loopback, in fresh interpreters (medians): the
    interpreter's start, the imports, building the client and the call itself. The two
    cases take turns, run by run, against one `_server.py` on 127.0.0.1."""
    import time

    from _loopback import start_server, stop_server

    process, base = start_server()
    took: dict[str, list[float]] = {label: [] for label in _FIRST}
    loaded: dict[str, set[str]] = {label: set() for label in _FIRST}
    try:
        for attempt in range(runs + 1):
            for label, code in _FIRST.items():
                script = code.format(base=base) + _FIRST_TAIL.format(vendors=VENDOR_SDKS)
                start = time.perf_counter()
                child = subprocess.Popen(
                    [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                    cwd=cwd, env=_env(),
                )  # fmt: skip
                assert child.stdout is not None
                line = child.stdout.readline()
                seconds = time.perf_counter() - start
                child.wait(timeout=60)
                result = json.loads(line)
                if not result["ok"]:
                    raise AssertionError(f"{label}: no reply")
                if attempt:  # the first round writes bytecode caches
                    took[label].append(seconds)
                    loaded[label].update(result["loaded"])
    finally:
        stop_server(process)
    return [
        {"case": label, "ms": statistics.median(took[label]) * 1e3,
         "loaded": sorted(loaded[label]), "runs": runs}
        for label in _FIRST
    ]  # fmt: skip


IMPORTS = ("attrs", "llmkit", "llmkit.providers", "llmkit.clients", "openai")
"""`attrs` (llmkit's one import-time dependency) is there for scale: llmkit's own share is the rest."""


def run(*, quick: bool, cwd: str) -> dict[str, Any]:
    runs = 3 if quick else 7
    return {
        "imports": [import_cost(m, runs) for m in IMPORTS],
        "build": build_cost(max(3, runs // 2), cwd),
        "first_call": first_call(runs, cwd),
    }
