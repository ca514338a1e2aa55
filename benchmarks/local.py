"""TransformersProvider against `model.generate` on the same tiny model: overhead and memory.

Builds the tests' tiny random-weight Llama (nothing is downloaded), then, for
the same prompt and greedy decoding to a fixed number of tokens, times:

- direct: `model.generate(..., streamer=TextIteratorStreamer)` read in a thread,
  the plain transformers way to stream;
- llmkit: `TransformersProvider.stream(...)` read to the end.

Reports tokens per second and time to first token (medians), llmkit's
overhead against direct (target: at most 5% on tokens per second), and the
process's memory before loading, loaded and after `unload()`.

    .venv/bin/python benchmarks/local.py [--rounds 9] [--tokens 128] [--hidden 256]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _builder() -> Any:
    spec = importlib.util.spec_from_file_location(
        "tiny", ROOT / "tests" / "providers" / "local" / "conftest.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_model


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def direct(model: Any, tokenizer: Any, prompt: list[int], tokens: int) -> tuple[float, float]:
    """(time to first token, tokens per second) streaming with `TextIteratorStreamer`."""
    import torch
    from transformers import TextIteratorStreamer

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
    inputs = torch.tensor([prompt])
    kwargs = {
        "input_ids": inputs,
        "attention_mask": torch.ones_like(inputs),
        "max_new_tokens": tokens,
        "min_new_tokens": tokens,
        "do_sample": False,
        "streamer": streamer,
        "pad_token_id": tokenizer.pad_token_id,
    }
    start = time.perf_counter()
    worker = threading.Thread(target=lambda: model.generate(**kwargs))
    worker.start()
    first = None
    for piece in streamer:
        if piece and first is None:
            first = time.perf_counter() - start
    worker.join()
    total = time.perf_counter() - start
    return first or total, tokens / total


async def through_llmkit(provider: Any, request: Any) -> tuple[float, float]:
    stream = provider.stream(request)
    async for _ in stream:
        pass
    response = stream.response
    return response.latency.first_token, response.usage.output_tokens / response.latency.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256, help="hidden size of the tiny model")
    args = parser.parse_args()

    import torch

    from llmkit.providers.local import TransformersProvider
    from llmkit.types import Message, Request

    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="llmkit-bench-local-"))
    build = _builder()
    path = str(build(folder))
    if args.hidden != 32:  # a wider model, so generation dominates as on real models
        from transformers import LlamaConfig, LlamaForCausalLM

        config = LlamaConfig.from_pretrained(path)
        config.hidden_size, config.intermediate_size = args.hidden, args.hidden * 2
        config.num_hidden_layers, config.num_attention_heads = 2, 4
        config.num_key_value_heads = 4
        LlamaForCausalLM(config).save_pretrained(path)

    before = _rss_mb()
    provider = TransformersProvider(model=path, device="cpu")
    request = Request(path, [Message.user("hello world")], max_tokens=args.tokens, temperature=0)
    asyncio.run(provider.load())
    loaded = provider._held[next(iter(provider._held))]
    prompt = provider._render(loaded, request)[0]
    # min_new_tokens for llmkit too, so both generate exactly `tokens` tokens
    loaded.model.generation_config.min_new_tokens = args.tokens
    at_load = _rss_mb()

    runs: dict[str, list[tuple[float, float]]] = {"direct": [], "llmkit": []}
    for _ in range(args.rounds):  # interleaved, so drift hits both alike
        runs["direct"].append(direct(loaded.model, loaded.tokenizer, prompt, args.tokens))
        runs["llmkit"].append(asyncio.run(through_llmkit(provider, request)))

    asyncio.run(provider.unload())
    gc.collect()
    after = _rss_mb()

    print(f"tiny Llama, hidden {args.hidden}, {args.tokens} tokens, {args.rounds} rounds, CPU")
    print(f"{'':8} {'first token ms':>15} {'tokens/s':>10}")
    medians = {}
    for name, samples in runs.items():
        first = statistics.median(s[0] for s in samples) * 1000
        rate = statistics.median(s[1] for s in samples)
        medians[name] = rate
        print(f"{name:8} {first:15.1f} {rate:10.1f}")
    overhead = medians["direct"] / medians["llmkit"] - 1
    verdict = "PASS" if overhead <= 0.05 else "MISS"
    print(f"llmkit overhead on tokens/s: {overhead:+.1%} (target <= 5%: {verdict})")
    print(f"RSS MB: before load {before:.0f}, loaded {at_load:.0f}, after unload() {after:.0f}")


if __name__ == "__main__":
    main()
