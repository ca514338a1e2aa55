"""`llmkit serve`: an OpenAI-compatible gateway over every llmkit client (extra `server`).

    from llmkit.server import create_app
    app = create_app()            # an ASGI app: uvicorn, or mount it in your own

Endpoints in OpenAI's shapes (`/v1/chat/completions`, `/v1/embeddings`,
`/v1/models`), plus `/v1/tokenize`, `/health/liveness`, `/health/readiness`,
`/metrics` and `/keys`; see docs/gateway.md. Nothing here is imported by
`import llmkit`: Starlette, uvicorn and prometheus-client load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmkit.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from llmkit._imports import require

        require("starlette", extra="server")
        require("prometheus_client", extra="server")
        from llmkit.server.app import create_app

        return create_app
    raise AttributeError(f"module 'llmkit.server' has no attribute {name!r}")
