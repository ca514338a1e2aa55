"""Generate the synthetic latency profiles that `llmkit bench --demo` replays on FakeProvider.

    python benchmarks/make_demo_profiles.py      # rewrites llmkit/data/profiles/*.json

llmkit's sandbox has no network, so these are NOT recordings of real traffic:
they are generated here, deterministically (fixed seed), in the recording
format of `llmkit.testing.profiles` (what `FakeProvider(profile="groq")` replays),
and shaped after public figures where there are any (Groq's published output
speed for gpt-oss-20b, HOSTS.md section 6).
Every other number is an illustrative guess, and each profile says so in its
`note`. Replace them with real runs: `llmkit bench ... --record run.jsonl`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "llmkit" / "data" / "profiles"
REQUESTS = 8
WORDS = [
    "Quicksort",
    "picks",
    "a",
    "pivot,",
    "partitions",
    "the",
    "array",
    "so",
    "that",
    "smaller",
    "items",
    "come",
    "before",
    "it",
    "and",
    "larger",
    "ones",
    "after,",
    "then",
    "sorts",
    "both",
    "parts",
    "the",
    "same",
    "way.",
    "With",
    "a",
    "good",
    "pivot",
    "each",
    "level",
    "halves",
    "the",
    "work,",
    "so",
    "it",
    "runs",
    "in",
    "n",
    "log",
    "n",
    "time",
    "on",
    "average,",
    "in",
    "place,",
    "and",
    "its",
    "inner",
    "loop",
    "is",
    "tight",
    "enough",
    "that",
    "it",
    "usually",
    "beats",
    "mergesort",
    "in",
    "practice,",
    "although",
    "a",
    "bad",
    "pivot",
    "on",
    "sorted",
    "input",
    "makes",
    "it",
    "quadratic",
    "unless",
    "the",
    "pivot",
    "is",
    "chosen",
    "at",
    "random.",
]

HOSTS: dict[str, dict[str, Any]] = {
    "groq": {
        "model": "openai/gpt-oss-20b",
        "ttft": 0.20,
        "speed": 1000.0,
        "shaped_after": "Groq's published output speed for gpt-oss-20b, ~1,000 tokens/s "
        "(Groq pricing page as quoted in May 2026, see HOSTS.md section 6)",
        "groq_timings": True,
    },
    "openrouter": {
        "model": "openai/gpt-oss-20b",
        "ttft": 0.60,
        "speed": 180.0,
        "shaped_after": "nothing published in HOSTS.md; illustrative guesses",
        "retry_on": 3,
    },
    "deepseek": {
        "model": "deepseek-flash",
        "ttft": 0.90,
        "speed": 45.0,
        "shaped_after": "nothing published in HOSTS.md; illustrative guesses",
        "error_on": 5,
    },
    "ollama": {
        "model": "gpt-oss:20b",
        "ttft": 0.12,
        "speed": 40.0,
        "shaped_after": "nothing published in HOSTS.md; illustrative guesses for a laptop GPU",
        "ollama_timings": True,
    },
}


# Per-model profiles (llmkit/data/profiles/models/), for `llmkit bench CLIENT --demo`: the
# same canonical model on several hosts, so a demo comparison is like for like. Keyed by
# host and the host's model id; `llmkit bench gpt4 -m gpt-oss-120b --providers
# groq,openrouter,ollama --demo` replays these three.
MODEL_HOSTS: dict[str, dict[str, Any]] = {
    "groq-gpt-oss-120b": {
        "provider": "groq",
        "model": "openai/gpt-oss-120b",
        "ttft": 0.25,
        "speed": 500.0,
        "shaped_after": "Groq's published speeds for gpt-oss-20b (~1,000 tokens/s) and "
        "llama-3.3-70b (~560 tokens/s), HOSTS.md section 6; no figure for gpt-oss-120b "
        "is quoted there, so its speed is an illustrative guess between them",
        "groq_timings": True,
    },
    "openrouter-gpt-oss-120b": {
        "provider": "openrouter",
        "model": "openai/gpt-oss-120b",
        "ttft": 0.65,
        "speed": 150.0,
        "shaped_after": "nothing published in HOSTS.md; illustrative guesses",
        "retry_on": 4,
    },
    "ollama-gpt-oss-120b": {
        "provider": "ollama",
        "model": "gpt-oss:120b",
        "ttft": 0.30,
        "speed": 25.0,
        "shaped_after": "nothing published in HOSTS.md; illustrative guesses for a "
        "workstation GPU with room for a 120B mixture-of-experts model",
        "ollama_timings": True,
    },
}


def make_request(host: str, spec: dict[str, Any], i: int, rng: random.Random) -> dict[str, Any]:
    headers = [{"content-type": "text/event-stream", "x-request-id": f"req_synthetic_{host}_{i}"}]
    if spec.get("retry_on") == i:
        headers.insert(0, {"content-type": "application/json", "retry-after": "0"})
    if spec.get("error_on") == i:
        headers = [{"content-type": "application/json"}]
        end = round(rng.lognormvariate(0, 0.2) * 0.4, 4)
        return _request(
            host,
            i,
            headers,
            [],
            end,
            {
                "type": "OverloadedError",
                "message": "Server overloaded, please retry shortly (synthetic)",
            },
        )
    ttft = spec["ttft"] * rng.lognormvariate(0, 0.35)
    tokens = rng.randint(48, 96)
    t = ttft * 0.97
    events: list[list[Any]] = [
        [round(t, 6), {"model": spec["model"], "id": f"synthetic-{host}-{i}"}]
    ]
    t = ttft
    for n in range(tokens):
        word = WORDS[n % len(WORDS)]
        events.append([round(t, 6), {"text": word if n == 0 else " " + word}])
        t += rng.expovariate(spec["speed"]) if rng.random() > 0.002 else 0.05  # rare stalls
    last: dict[str, Any] = {
        "finish_reason": "stop",
        "raw_finish_reason": "stop",
        "usage": {"input_tokens": 24, "output_tokens": tokens},
    }
    if spec.get("groq_timings"):
        queue = round(rng.lognormvariate(-3.2, 0.5), 6)
        completion = round(t - ttft, 6)
        last["raw"] = {"x_groq": {"id": f"req_synthetic_{i}", "usage": {
            "queue_time": queue, "prompt_tokens": 24, "prompt_time": 0.004,
            "completion_tokens": tokens, "completion_time": completion,
            "total_time": round(queue + 0.004 + completion, 6)}}}  # fmt: skip
    if spec.get("ollama_timings"):
        last["provider_data"] = {"ollama": {"timings": {
            "total_duration": round(t, 6), "load_duration": 0.01,
            "prompt_eval_duration": round(ttft * 0.8, 6), "eval_duration": round(t - ttft, 6)}}}  # fmt: skip
    events.append([round(t, 6), last])
    return _request(host, i, headers, events, round(t + 0.001, 6), None)


def _request(
    host: str, i: int, headers: Any, events: Any, end: float, error: Any
) -> dict[str, Any]:
    return {
        "kind": "request",
        "provider": host,
        "index": i,
        "prompt_index": i,
        "started": 0.0,
        "headers": headers,
        "events": events,
        "end": end,
        "error": error,
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "models").mkdir(exist_ok=True)
    jobs = [(host, host, spec, OUT / f"{host}.json") for host, spec in HOSTS.items()]
    jobs += [
        (key, spec["provider"], spec, OUT / "models" / f"{key}.json")
        for key, spec in MODEL_HOSTS.items()
    ]
    for key, host, spec, path in jobs:
        rng = random.Random(f"llmkit-demo-{key}")
        profile = {
            "kind": "profile",
            "version": 1,
            "provider": host,
            "model": spec["model"],
            "synthetic": True,
            "note": (
                "SYNTHETIC latency profile, not a recording of real traffic (llmkit was built "
                f"without network access). Generated by benchmarks/make_demo_profiles.py; shaped "
                f"after {spec['shaped_after']}. Median time to first token {spec['ttft']} s and "
                f"{spec['speed']:g} output tokens/s are inputs of the generator, not measurements."
            ),
            "requests": [make_request(host, spec, i, rng) for i in range(REQUESTS)],
        }
        path.write_text(json.dumps(profile, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")


if __name__ == "__main__":
    main()
