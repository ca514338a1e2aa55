"""The gateway's other endpoints: `/v1/embeddings`, `/v1/tokenize` and `/keys`.

Embeddings go through `llmkit.embeddings.EmbeddingClient` (the catalog's model
for the provider, batching, the provider's limits and retries); `model` is a
provider name (`openai`, `fake`) or `provider/model-id`. Tokenize counts locally
with llmkit's counters and says whether the count is exact. `/keys` lets the
master key mint, list and revoke keys (`llmkit.server.store`).
"""

from __future__ import annotations

import base64
import struct
import time
from typing import TYPE_CHECKING, Any

import anyio

from llmkit.server import wire
from llmkit.server.errors import GatewayError

if TYPE_CHECKING:
    from starlette.requests import Request as HttpRequest
    from starlette.responses import Response as HttpResponse

    from llmkit.server.app import Gateway, Handled

__all__ = ["embeddings", "keys_endpoint", "tokenize"]


def _forbid(key_name: str, model: str) -> GatewayError:
    return GatewayError(
        403, f"Key '{key_name}' may not use model '{model}'",
        type="permission_error", code="model_not_allowed", param="model",
    )  # fmt: skip


async def embeddings(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    """`POST /v1/embeddings`."""
    key = await gateway.authenticate(request)
    handled.key = key.name
    model, texts, options = wire.parse_embeddings(await gateway.read_json(request))
    handled.model = model
    if not key.allows(model):
        raise _forbid(key.name, model)
    client = gateway.router.embedder(model)
    handled.provider = str(client.provider.name)
    tokens = sum(len(text) for text in texts) // 4 + len(texts)
    amounts = {"requests": 1, "tokens": tokens, "input_tokens": tokens, "output_tokens": 0}
    grant = await key.admit(amounts if key.rate_limit is not None else {}, None)
    try:
        start = time.perf_counter()
        result = await client.embed(texts, dimensions=options.get("dimensions"))
        upstream = time.perf_counter() - start
    except BaseException:
        with anyio.CancelScope(shield=True):
            await key.settle(grant, None, 0.0)
        raise
    cost = result.cost.total if result.cost is not None else None
    with anyio.CancelScope(shield=True):
        await key.settle(grant, result.usage, cost)
    handled.usage, handled.cost = result.usage, result.cost
    as_base64 = options["encoding_format"] == "base64"
    data = [
        {"object": "embedding", "index": index, "embedding": _vector(vector, as_base64)}
        for index, vector in enumerate(result.vectors)
    ]
    prompt = result.usage.input_tokens or 0
    payload = {
        "object": "list",
        "data": data,
        "model": result.model or model,
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }
    return gateway.json(payload, handled, upstream=upstream)


def _vector(vector: tuple[float, ...], as_base64: bool) -> Any:
    if not as_base64:
        return list(vector)
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


async def tokenize(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    """`POST /v1/tokenize`: `{model, messages}` or `{model, input}` → the count and how."""
    key = await gateway.authenticate(request)
    handled.key = key.name
    body = await gateway.read_json(request)
    if not isinstance(body, dict):
        raise wire.WireError("expected a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise wire.WireError("required: a model name", "model")
    handled.model = model
    if not key.allows(model):
        raise _forbid(key.name, model)
    target = gateway.router.target(model)
    handled.provider = target.provider_name
    from llmkit import tokens

    model_id = target.model_id or (target.client.model if target.client else model)
    tokenizer = target.client.tokenizer if target.client is not None else None
    if "input" in body:
        text = body["input"]
        if not isinstance(text, str):
            raise wire.WireError("expected a string", "input")
        count = tokens.count_text(text, model_id, tokenizer=tokenizer)
    else:
        call = wire.parse_chat(
            {"model": model, "messages": body.get("messages")},
            max_messages=gateway.settings.max_messages,
        )
        count = tokens.count_messages(call.messages, model_id, tokenizer=tokenizer)
    payload = {"model": model, "tokens": int(count), "exact": count.exact, "method": count.method}
    return gateway.json(payload, handled)


async def keys_endpoint(gateway: Gateway, request: HttpRequest, handled: Handled) -> HttpResponse:
    """`GET /keys`, `POST /keys` (mint), `GET /keys/{name}`, `DELETE /keys/{name}` (revoke)."""
    gateway.require_master(request)
    handled.key = "master"
    store = gateway.store
    assert store is not None  # require_master passed: there is a master key, hence a store
    name = request.path_params.get("name")
    if request.method == "POST":
        body = await gateway.read_json(request)
        minted, token = await store.mint(body, configured=_configured_names(gateway))
        return gateway.json({**minted, "key": token}, handled, status=201)
    if request.method == "DELETE":
        if not await store.revoke(str(name)):
            raise GatewayError(404, f"No minted key named '{name}'", code="key_not_found")
        return gateway.json({"name": name, "revoked": True}, handled)
    if name is not None:
        found = await store.describe(str(name))
        if found is None:
            raise GatewayError(404, f"No minted key named '{name}'", code="key_not_found")
        return gateway.json(found, handled)
    listed = [{"name": n, "source": "config"} for n in _configured_names(gateway)]
    listed += [{**k, "source": "minted"} for k in await store.list()]
    return gateway.json({"object": "list", "data": listed}, handled)


def _configured_names(gateway: Gateway) -> list[str]:
    return sorted(key.name for key in gateway.keys.values())
