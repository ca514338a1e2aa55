"""`llmkit bench`: compare the latency of providers from the command line.

For the CLI (H6's `llmkit.cli`): this module is listed in `llmkit.cli.COMMANDS`;
`add_parser(subparsers)` registers `bench` with `func=run`. Other front ends can
use `add_arguments(parser)` on their own parser and call `run(args) -> int`
(synchronous; it runs its own event loop, so call it outside one).

    llmkit bench --demo                                  # offline, synthetic profiles
    llmkit bench gpt4 -m gpt-oss-120b --providers groq,openrouter,ollama -n 30
    llmkit bench --model llama3.2 --base-url http://127.0.0.1:8000/v1   # any local server
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from llmkit import bench
from llmkit.bench._engine import run_targets
from llmkit.bench._models import differing, warning
from llmkit.bench._record import recording_of, save_recording
from llmkit.bench._report import dumps, plot, render_table, write_csv
from llmkit.bench._results import BenchResult, Sample
from llmkit.bench._sources import Source, targets
from llmkit.errors import ConfigurationError
from llmkit.types import StreamEvent

__all__ = ["add_arguments", "add_parser", "run"]

EXIT_OK, EXIT_API, EXIT_INTERRUPTED = 0, 1, 130

EXAMPLES = """\
  llmkit bench --demo                               # offline: synthetic profiles of 4 hosts
  llmkit bench gpt4 -m gpt-oss-120b --providers groq,openrouter,ollama   # one model, 3 hosts
  llmkit bench gpt4 -m gpt-oss-120b --providers groq,openrouter,ollama --demo   # offline
  llmkit bench --demo --json | jq '.providers[].ttft.p50'
  llmkit bench deepseek --providers openrouter,deepseek -n 30 --concurrency 4
  llmkit bench --providers groq,ollama -m groq=openai/gpt-oss-20b,ollama=gpt-oss:20b
  llmkit bench gpt4 --providers openai,openrouter --prompts long --csv runs.csv --plot lat.png
  llmkit bench --model qwen3 --base-url http://127.0.0.1:8000/v1 -n 50
  llmkit bench deepseek --providers deepseek --record run.jsonl && llmkit bench --replay run.jsonl
"""


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
    parser.add_argument(
        "-m", "--model", metavar="ID|HOST=ID,...",
        help="the model: one id (or canonical name) for every provider, or hand-picked "
        "ids per provider (groq=openai/gpt-oss-120b,ollama=gpt-oss:120b); with a family, "
        "default: the newest model every provider serves",
    )  # fmt: skip
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
    live = bool(args.providers or args.base_url)
    if (args.replay and (args.demo or live)) or not (args.demo or args.replay or live):
        raise ConfigurationError(
            "Say what to benchmark: --demo, --replay PATH, or --providers A,B (and/or --base-url)"
        )
    if args.demo and args.base_url:
        raise ConfigurationError(
            "--demo replays shipped profiles and --base-url measures a live server: "
            "give one of them"
        )
    if args.plot:
        from llmkit._imports import require

        require("matplotlib", extra="plot")  # fail before the run, not after it
    if args.providers and not args.demo and not (args.family or args.model):
        raise ConfigurationError(
            "Name a model family (llmkit bench deepseek --providers ...) or pass --model ID"
        )


async def _main(args: argparse.Namespace) -> BenchResult:
    source = targets(args)
    warned = differing(source.models)
    if warned:
        print(warning(source.models), file=sys.stderr)
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
    _output(args, result, source)
    if warned:
        print(warning(source.models), file=sys.stderr)  # again, under the table
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


def _output(args: argparse.Namespace, result: BenchResult, source: Source) -> None:
    if args.json is not None:
        text = dumps(result, **source.extra)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
            print(f"wrote the summary (JSON) to {args.json}", file=sys.stderr)
    if args.json != "-":
        from llmkit._imports import require

        rich_console = require("rich.console", extra="cli")
        width = None if sys.stdout.isatty() else 160  # a file or a pipe gets the whole table
        console = rich_console.Console(highlight=False, width=width)
        console.print(render_table(result, title="llmkit bench" + (" (demo)" if args.demo else "")))
    if args.csv:
        write_csv(result, args.csv)
        print(f"wrote {len(result.samples)} rows (CSV) to {args.csv}", file=sys.stderr)
    if args.plot:
        plot(result, args.plot, synthetic=source.synthetic)
        print(f"wrote the plot to {args.plot}", file=sys.stderr)
