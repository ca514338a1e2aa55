"""`llmkit embed`: vectors for texts (arguments, stdin, or a file of lines) as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from llmkit.cli._common import EXIT_OK, add_command, is_tty, load_registry, note

__all__ = ["add_parser", "run"]

EXAMPLES = """\
  llmkit embed fake "hello world"                        # offline: deterministic vectors
  llmkit embed openai "some text" -m text-embedding-3-large --dimensions 256
  llmkit embed voyage --kind query "what is SSE?" | jq '.embedding | length'
  llmkit embed openai --file lines.txt --out vectors.jsonl --cache ~/.cache/llmkit/cache.db
"""

CHUNK = 512
"""Lines handed to the client at a time with --file (the progress bar moves per chunk)."""


def add_parser(subparsers: Any) -> None:
    """Register `llmkit embed`."""
    parser = add_command(
        subparsers,
        "embed",
        help="embed texts and print the vectors as JSON",
        description="Embed texts with a provider's embedding model (the catalog's for the "
        "host, or -m) and print JSON on stdout; --file embeds every line of a file into "
        "JSON Lines, with a progress bar on stderr.",
        examples=EXAMPLES,
    )
    parser.add_argument("provider", help="a provider name (openai, gemini, voyage, fake, ...)")
    parser.add_argument("texts", nargs="*", help="texts to embed (default: stdin)")
    parser.add_argument("-m", "--model", help="the host's model id (default: the catalog's)")
    parser.add_argument("--kind", choices=("query", "document"), help="what the texts are for")
    parser.add_argument("--dimensions", type=int, help="shorter vectors, where the model can")
    parser.add_argument("--file", metavar="PATH", help="embed every non-empty line of PATH")
    parser.add_argument("--out", metavar="PATH", help="write JSON Lines here (default: stdout)")
    parser.add_argument("--batch-size", type=int, help="inputs per request (default: the host's)")
    parser.add_argument("--concurrency", type=int, default=4, help="batches at once (default 4)")
    parser.add_argument("--truncate", action="store_true", help="cut inputs over the limit")
    parser.add_argument("--cache", metavar="SPEC", help="a cache: a file, memory, redis://...")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Embed and print; returns the exit code."""
    from llmkit import _sync
    from llmkit.embeddings import EmbeddingClient

    registry = load_registry(args)
    cache = None
    if args.cache:
        from llmkit.cache import open_cache

        cache = open_cache(args.cache)
    client = EmbeddingClient(
        registry.provider(args.provider),
        args.model,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        truncate=args.truncate,
        cache=cache,
    )
    options = {"kind": args.kind, "dimensions": args.dimensions}
    if args.file:
        lines = _lines(args.file)
        out: TextIO = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
        try:
            return _sync.run(lambda: _embed_file(client, lines, out, options))
        finally:
            if out is not sys.stdout:
                out.close()
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    emb = client.embed_sync(texts, **options)
    data: dict[str, Any] = {
        "provider": emb.provider,
        "model": emb.model,
        "dimensions": emb.dimensions,
        "usage": {"input_tokens": emb.usage.input_tokens},
        "cost": None if emb.cost is None else emb.cost.total,
    }
    if len(emb.vectors) == 1:
        data["embedding"] = list(emb.vectors[0])
    else:
        data["embeddings"] = [list(v) for v in emb.vectors]
    print(json.dumps(data))
    return EXIT_OK


def _lines(path: str) -> list[str]:
    from llmkit.errors import ConfigurationError

    try:
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read --file {path}: {exc}") from exc


def _chunks(items: list[str], size: int) -> Iterator[tuple[int, list[str]]]:
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


async def _embed_file(client: Any, lines: list[str], out: TextIO, options: dict[str, Any]) -> int:
    tokens = 0
    with _progress(len(lines)) as advance:
        for start, chunk in _chunks(lines, CHUNK):
            emb = await client.embed(chunk, **options)
            tokens += emb.usage.input_tokens or 0
            for offset, (text, vector) in enumerate(zip(chunk, emb.vectors, strict=True)):
                record = {"index": start + offset, "text": text, "embedding": list(vector)}
                out.write(json.dumps(record) + "\n")
            advance(len(chunk))
    note(f"{len(lines)} vectors from {client.provider.name}/{client.model} ({tokens} tokens)")
    return EXIT_OK


class _progress:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: Any = None

    def __enter__(self) -> Any:
        if is_tty(sys.stderr):
            from llmkit._imports import require

            progress = require("rich.progress", extra="cli")
            self.bar = progress.Progress(
                progress.TextColumn("embedding"), progress.BarColumn(),
                progress.MofNCompleteColumn(), progress.TimeRemainingColumn(),
                transient=True,
            )  # fmt: skip
            self.bar.__enter__()
            task = self.bar.add_task("embed", total=self.total)
            return lambda n: self.bar.advance(task, n)
        return lambda n: None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
