"""`llmkit serve`: the OpenAI-compatible gateway under uvicorn (extra `server`)."""

from __future__ import annotations

import argparse
import ipaddress
import os
from typing import Any

from llmkit.cli._common import EXIT_OK, add_command, load_registry, note

__all__ = ["add_parser", "run"]

EXAMPLES = """\
  llmkit serve                                   # offline: deepseek@fake ... on 127.0.0.1:8000
  llmkit serve --config llmkit.yaml --port 8080  # the file's clients, keys and limits
  llmkit serve --host 0.0.0.0 --workers 4        # four processes (use server.redis_url to share limits)
  curl localhost:8000/v1/chat/completions -d '{"model":"deepseek@fake","messages":[{"role":"user","content":"hi"}]}'
"""

APP_FACTORY = "llmkit.cli.serve:_worker_app"
"""What each worker process imports when `--workers` is over 1 (the config path travels in
the environment)."""


def add_parser(subparsers: Any) -> None:
    """Register `llmkit serve`."""
    parser = add_command(
        subparsers,
        "serve",
        help="run the OpenAI-compatible gateway",
        description="Serve every configured client (and family@provider, provider/model-id) "
        "over OpenAI's HTTP API: chat completions with streaming, embeddings, models, "
        "tokenize, health and Prometheus metrics, with per-key limits and budgets from the "
        "configuration's server: block. See docs/gateway.md.",
        examples=EXAMPLES,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--keep-alive", type=float, default=75.0, metavar="SECONDS",
        help="how long an idle client connection stays open (default 75: longer than the "
        "usual load balancer's 60, so that it never reuses a connection being closed)",
    )  # fmt: skip
    parser.add_argument(
        "--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug")
    )
    parser.add_argument(
        "--otel", action="store_true",
        help="OpenTelemetry: a server span per request and the GenAI spans of its llmkit calls, "
        "to the global tracer provider (run under `opentelemetry-instrument` to export; "
        "extra otel, docs/gateway.md)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start uvicorn; returns when it stops (Ctrl-C or SIGTERM, after draining)."""
    from llmkit._imports import require

    uvicorn = require("uvicorn", extra="server")
    require("starlette", extra="server")
    if args.workers < 1:
        from llmkit.errors import ConfigurationError

        raise ConfigurationError("--workers must be at least 1")
    registry = load_registry(args)
    if args.otel:
        _instrument()
        os.environ[_OTEL_ENV] = "1"  # the workers of --workers N instrument themselves too
    from llmkit.server.app import create_app

    app = create_app(registry=registry)  # checks the configuration before listening
    gateway = app.state.gateway
    if gateway.open and not _loopback(args.host):
        note(
            f"warning: no keys are configured (server.keys) and {args.host} is not loopback: "
            "anyone who can reach this port can spend your providers' keys"
        )
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "timeout_graceful_shutdown": gateway.settings.drain_seconds,
        "timeout_keep_alive": args.keep_alive,
        "access_log": args.log_level in ("info", "debug"),
    }
    source = registry.config.source if registry.config is not None else None
    note(f"llmkit gateway on http://{args.host}:{args.port} (config: {source or 'none'})")
    if args.workers > 1:
        if source:
            os.environ["LLMKIT_CONFIG"] = source
        uvicorn.run(APP_FACTORY, factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(app, **options)
    return EXIT_OK


def _worker_app() -> Any:
    """The app in a worker process (`--workers N`): the configuration from `$LLMKIT_CONFIG`."""
    from llmkit.server.app import create_app

    if os.environ.get(_OTEL_ENV) == "1":
        _instrument()

    return create_app(config_path=os.environ.get("LLMKIT_CONFIG"))


_OTEL_ENV = "LLMKIT_SERVE_OTEL"


def _instrument() -> None:
    from llmkit._imports import require
    from llmkit.otel import instrument

    require("opentelemetry.instrumentation.asgi", extra="otel")  # fails now, naming the extra
    instrument()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
