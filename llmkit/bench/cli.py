"""`llmkit bench`: compare the latency of providers from the command line.

For the CLI (H6's `llmkit.cli`): this module is listed in `llmkit.cli.COMMANDS`;
`add_parser(subparsers)` registers `bench` with `func=run`. Other front ends can
use `add_arguments(parser)` on their own parser and call `run(args) -> int`
(synchronous; it runs its own event loop, so call it outside one).

    llmkit bench --demo                                  # offline, synthetic profiles
    llmkit bench deepseek --providers groq,openrouter,deepseek -n 30 --concurrency 4
    llmkit bench --model llama3.2 --base-url http://127.0.0.1:8000/v1   # any local server
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from attrs import field, frozen

from llmkit import bench
from llmkit.bench._engine import Target, client_target, provider_target, run_targets
from llmkit.bench._record import (
    builtin_profiles,
    load_recording,
    provenance,
    recording_of,
    replay_providers,
    save_recording,
)
from llmkit.bench._report import dumps, plot, render_table, write_csv
from llmkit.bench._results import BenchResult, Sample
from llmkit.errors import ConfigurationError
from llmkit.types import StreamEvent

__all__ = ["add_arguments", "add_parser", "run"]

EXIT_OK, EXIT_API, EXIT_INTERRUPTED = 0, 1, 130

EXAMPLES = """\
  llmkit bench --demo                               # offline: synthetic profiles of 4 hosts
  llmkit bench --demo --json | jq '.providers[].ttft.p50'
  llmkit bench deepseek --providers groq,openrouter,deepseek -n 30 --concurrency 4
  llmkit bench gpt4 --providers openai,openrouter --prompts long --csv runs.csv --plot lat.png
  llmkit bench --model qwen3 --base-url http://127.0.0.1:8000/v1 -n 50
  llmkit bench deepseek --providers deepseek --record run.jsonl && llmkit bench --replay run.jsonl
"""

DEMO_NOTE = (
    "demo: FakeProviders replaying SYNTHETIC latency profiles (shaped after public figures, "
    "not recordings of real traffic; see docs/bench.md)"
)


def add_parser(subparsers: Any) -> None:
    """Register `llmkit bench` on an argparse subparsers object, with `func=run`."""
    parser = subparsers.add_parser(
        "bench",
        help="compare the latency of providers (time to first token, tokens/s, p50/p90/p99)",
        description="Send one prompt set to several providers, interleaved request by "
        "request, and report time to first token, total latency, inter-token latency and "
        "output tokens per second (p50/p90/p99, mean with a 95% confidence interval).",
        epilog=f"examples:\n{EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `bench`'s arguments to `parser`."""
    parser.add_argument(
        "family", nargs="?", metavar="CLIENT",
        help="a model family (deepseek, gpt4, claude, ...) or a configured client; "
        "each provider gets its own client, which picks that host's model id",
    )  # fmt: skip
    parser.add_argument(
        "--providers", metavar="A,B,...",
        help="providers to compare, comma-separated (names or configured providers)",
    )  # fmt: skip
    parser.add_argument("-m", "--model", help="the model id to ask every provider for")
    parser.add_argument("-n", type=int, default=10, help="measured requests per provider (10)")
    parser.add_argument(
        "--concurrency", type=int, help="requests in flight per provider (1; 4 for --demo)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured requests first (1)")
    parser.add_argument(
        "--prompts", default="short", metavar="SET|PATH",
        help="short, medium, long, or a .txt/.json/.jsonl file of prompts (short)",
    )  # fmt: skip
    parser.add_argument("--max-tokens", type=int, metavar="N", help="cap on output tokens")
    parser.add_argument(
        "--base-url", metavar="URL",
        help="also benchmark an OpenAI-compatible server at URL (labelled 'local')",
    )  # fmt: skip
    parser.add_argument(
        "--demo", action="store_true",
        help="offline: replay the shipped synthetic latency profiles of several hosts",
    )  # fmt: skip
    parser.add_argument("--replay", metavar="PATH", help="replay a recorded run offline")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="replay speed for --demo/--replay (1.0)"
    )
    parser.add_argument(
        "--seed", type=int, metavar="N",
        help="--demo/--replay: draw recorded requests at random with this seed (default: in order)",
    )  # fmt: skip
    parser.add_argument(
        "--record", metavar="PATH",
        help="save every event with its arrival time and headers (.jsonl) to replay later",
    )  # fmt: skip
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="PATH",
        help="write the summary as JSON to PATH, or to stdout instead of the table",
    )  # fmt: skip
    parser.add_argument("--csv", metavar="PATH", help="write one row per request to PATH")
    parser.add_argument("--plot", metavar="PATH", help="draw latency distributions (matplotlib)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run `llmkit bench` with parsed `args`; the exit code (130 when interrupted)."""
    _check(args)
    result = asyncio.run(_main(args))
    if result.interrupted:
        print("interrupted: the results cover the requests that finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    if all(p.count and p.errors == p.count for p in result.providers):
        return EXIT_API
    return EXIT_OK


def _check(args: argparse.Namespace) -> None:
    if args.concurrency is None:
        args.concurrency = 4 if args.demo else 1
    if args.n < 1 or args.concurrency < 1 or args.warmup < 0:
        raise ConfigurationError("-n and --concurrency must be at least 1, --warmup at least 0")
    if args.speed <= 0:
        raise ConfigurationError("--speed must be positive (2 replays twice as fast)")
    sources = [bool(args.demo), bool(args.replay), bool(args.providers or args.base_url)]
    if sum(sources) != 1:
        raise ConfigurationError(
            "Say what to benchmark: --demo, --replay PATH, or --providers A,B (and/or --base-url)"
        )
    if args.plot:
        from llmkit._imports import require

        require("matplotlib", extra="plot")  # fail before the run, not after it
    if args.providers and not (args.family or args.model):
        raise ConfigurationError(
            "Name a model family (llmkit bench deepseek --providers ...) or pass --model ID"
        )


async def _main(args: argparse.Namespace) -> BenchResult:
    source = _targets(args)
    prompts, prompts_name = _prompt_set(args.prompts)
    events: dict[int, list[tuple[float, StreamEvent]]] | None = {} if args.record else None
    try:
        with _Progress(args, len(source.targets) * args.n) as on_sample:
            result = await run_targets(
                source.targets,
                prompts,
                n=args.n,
                concurrency=args.concurrency,
                warmup=args.warmup,
                prompts_name=prompts_name,
                model=args.model or args.family,
                on_sample=on_sample,
                events=events,
            )
    finally:
        for provider in source.providers:
            await provider.aclose()
    _output(args, result, source.extra)
    if args.record and events is not None:
        recording = recording_of(
            result,
            events,
            prompts,
            note=source.note,
            synthetic=source.synthetic,
            sources=source.sources,
        )
        save_recording(recording, args.record)
        print(f"recorded {len(result.samples)} requests to {args.record}", file=sys.stderr)
    return result


def _prompt_set(spec: str) -> tuple[tuple[str, ...], str]:
    return bench.load_prompts(spec), spec if spec in bench.BUILTIN else Path(spec).name


@frozen
class _Source:
    """What a run measures, what to close afterwards, extra JSON fields, and its provenance
    (carried into a `--record`ing, so a replay of it still says where it came from)."""

    targets: list[Target]
    providers: list[Any]
    extra: dict[str, Any] = field(factory=dict)
    synthetic: bool = False
    note: str = ""
    sources: dict[str, str] = field(factory=dict)


def _targets(args: argparse.Namespace) -> _Source:
    if args.demo:
        print(DEMO_NOTE, file=sys.stderr)
        replays = bench.demo_providers(speed=args.speed, seed=args.seed)
        profiles = builtin_profiles()
        return _Source(
            [provider_target(name, p, "demo") for name, p in replays.items()],
            list(replays.values()),
            {"synthetic": True},
            synthetic=True,
            note="Recorded by `llmkit bench --record` from `llmkit bench --demo`: FakeProviders "
            "replaying SYNTHETIC latency profiles, not real traffic (see `sources`).",
            sources={name: str(profiles[name].meta.get("note", "")) for name in replays},
        )
    if args.replay:
        recording = load_recording(args.replay)
        replays = replay_providers(recording, speed=args.speed, seed=args.seed)
        synthetic = bool(recording.meta.get("synthetic"))
        if synthetic:
            print(
                f"replay of a SYNTHETIC recording, not real traffic: "
                f"{recording.meta.get('note', '')}",
                file=sys.stderr,
            )
        return _Source(
            [provider_target(name, p, "replay") for name, p in replays.items()],
            list(replays.values()),
            {"replay_of": str(args.replay), **({"synthetic": True} if synthetic else {})},
            synthetic=synthetic,
            note=f"Recorded by `llmkit bench --record` from a replay of {Path(args.replay).name}"
            + (" (SYNTHETIC: not real traffic)." if synthetic else "."),
            sources={name: provenance(recording, name) for name in replays},
        )
    return _live_targets(args)


def _live_targets(args: argparse.Namespace) -> _Source:
    from llmkit.cli._common import load_registry

    names = [n.strip() for n in (args.providers or "").split(",") if n.strip()]
    labels = names + (["local"] if args.base_url else [])
    twice = sorted({n for n in labels if labels.count(n) > 1})
    if twice:
        raise ConfigurationError(
            f"--providers names {', '.join(twice)} more than once: list each provider once "
            "(--base-url is labelled 'local'); to compare two setups of one host, configure "
            "them under different names in your llmkit configuration"
        )
    if args.base_url and not args.model:
        raise ConfigurationError("--base-url needs --model: the id the server knows")
    registry = load_registry(args)
    targets: list[Target] = []
    providers: list[Any] = []
    for name in names:
        if args.family:
            client = registry.client(f"{args.family}@{name}", model=args.model)
            targets.append(client_target(name, client, max_tokens=args.max_tokens))
            providers.append(client.provider)
        else:
            provider = registry.provider(name)
            targets.append(provider_target(name, provider, args.model, max_tokens=args.max_tokens))
            providers.append(provider)
    if args.base_url:
        from llmkit.providers.openai_compatible import OpenAICompatibleProvider

        local = OpenAICompatibleProvider(base_url=args.base_url)
        targets.append(provider_target("local", local, args.model, max_tokens=args.max_tokens))
        providers.append(local)
    return _Source(targets, list({id(p): p for p in providers}.values()))


class _Progress:
    """A rich progress bar on stderr while the run goes (only on a terminal)."""

    def __init__(self, args: argparse.Namespace, total: int) -> None:
        self._show = not args.no_progress and sys.stderr.isatty()
        self._total = total
        self._bar: Any = None

    def __enter__(self) -> Any:
        if not self._show:
            return None
        from llmkit._imports import require

        progress = require("rich.progress", extra="cli")
        console = require("rich.console", extra="cli").Console(file=sys.stderr)
        self._bar = progress.Progress(
            progress.TextColumn("bench"),
            progress.BarColumn(),
            progress.MofNCompleteColumn(),
            progress.TextColumn("{task.fields[last]}"),
            progress.TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._bar.start()
        task = self._bar.add_task("bench", total=self._total, last="")

        def on_sample(sample: Sample) -> None:
            state = "error" if not sample.ok else f"{sample.total or 0:.2f} s"
            self._bar.update(task, advance=1, last=f"{sample.provider}: {state}")

        return on_sample

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _output(args: argparse.Namespace, result: BenchResult, extra: dict[str, Any]) -> None:
    if args.json is not None:
        text = dumps(result, **extra)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.json != "-":
        from llmkit._imports import require

        rich_console = require("rich.console", extra="cli")
        width = None if sys.stdout.isatty() else 120  # a file or a pipe gets the whole table
        console = rich_console.Console(highlight=False, width=width)
        console.print(render_table(result, title="llmkit bench" + (" (demo)" if args.demo else "")))
    if args.csv:
        write_csv(result, args.csv)
    if args.plot:
        plot(result, args.plot)
