"""`POST /v1/chat/completions`: one request through a key's limits to an llmkit client.

Plain calls return a `chat.completion`; `"stream": true` returns Server-Sent
Events (`chat.completion.chunk`s, a usage chunk with
`stream_options.include_usage`, then `data: [DONE]`). A stream's first event is
awaited before the response starts, so an upstream refusal (429, 400, ...) still
comes back with its own status; an error after that ends the stream with an
`error` event, as OpenAI does. A client that hangs up cancels the upstream
request: the stream is closed, the key's lease released, and the budget charged
for what was generated only (priced from the catalog on a local token count).

A key's limits and budget in Redis are settled once the reply is sent (a stream:
once its end is sent), in a task the gateway tracks and awaits on shutdown, so
the caller never waits for that round trip; in memory they are settled inline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from llmkit.server import replies, wire
from llmkit.server.errors import ClientGone, GatewayError, classify, error_class
from llmkit.server.keys import log_settle_failure, settle_later

if TYPE_CHECKING:
    from starlette.requests import Request as HttpRequest
    from starlette.responses import Response as HttpResponse

    from llmkit.server.app import Gateway, Handled
    from llmkit.server.keys import ApiKey, Grant
    from llmkit.server.routing import Target
    from llmkit.types import Cost, Request, Response, StreamEvent, Usage

__all__ = ["chat_completions"]

_encode = msgspec.json.encode


async def chat_completions(
    gateway: Gateway, request: HttpRequest, handled: Handled
) -> HttpResponse:
    """Answer one chat request (errors are raised; the app turns them into responses)."""
    key = await gateway.authenticate(request)
    handled.key = key.name
    body = await gateway.read_json(request)
    call = wire.parse_chat(body, max_messages=gateway.settings.max_messages)
    handled.model = call.model
    if not key.allows(call.model):
        raise GatewayError(
            403,
            f"Key '{key.name}' may not use model '{call.model}'; GET /v1/models lists the ones it may",
            type="permission_error",
            code="model_not_allowed",
            param="model",
        )
    target = gateway.router.target(call.model)
    handled.provider = target.provider_name
    outgoing = None  # built only for a provider target (it is what is sent) or for a limit
    if target.client is None or key.rate_limit is not None or key.budget_limit is not None:
        outgoing = target.request(call.messages, call.options)
    grant = await key.admit(*_amounts(key, outgoing, target))
    if call.stream:
        return await _stream(gateway, call, target, key, grant, handled, outgoing)
    try:
        upstream_start = time.perf_counter()
        work = target.generate(call.messages, call.options, outgoing)
        response = await _unless_gone(request, work)
        upstream = time.perf_counter() - upstream_start
    except ClientGone:  # the host read the prompt: count it; what it wrote is unknown
        await _settle(gateway, key, grant, *_spent_so_far(None, call, target, outgoing))
        raise
    except BaseException:
        await _settle(gateway, key, grant, None, 0.0)
        raise
    payload = replies.completion(
        response, completion_id=_completion_id(response), created=int(time.time()), model=call.model
    )
    cost = target.cost(response)
    handled.usage, handled.cost, handled.cached = response.usage, cost, response.cached
    reply = gateway.json(payload, handled, upstream=upstream)
    await _settle(gateway, key, grant, response.usage, _total(cost))
    return reply


async def _unless_gone(http: HttpRequest, work: Awaitable[Response]) -> Response:
    """`work`, cancelled if the caller hangs up first (then `ClientGone`), so that the host
    stops generating a reply nobody will read. A watcher task waits for the ASGI server's
    `http.disconnect` (the body is read by then) and cancels this task; a cancellation
    from anywhere else (shutdown) goes through as it came."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await http.receive())["type"] != "http.disconnect":
            pass
        gone = True
        task.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if gone and task.uncancel() == 0:
            raise ClientGone from None
        raise
    finally:
        watcher.cancel()


async def _settle(
    gateway: Gateway, key: ApiKey, grant: Grant, usage: Usage | None, cost: float | None
) -> None:
    """Give `grant` back. In Redis that is a round trip: it runs in a task of its own
    (kept in `gateway.pending`, awaited on shutdown), which starts once this reply is on
    its way, so the caller never waits for it. In memory it is done now (it never suspends).
    A failure goes to the log (by the key's name), never to the caller: the reply stands."""
    if grant.remote:
        settle_later(gateway.pending, key, grant, usage, cost)
        return
    try:
        await key.settle(grant, usage, cost)
    except Exception as exc:
        log_settle_failure(key.name, exc)


def _amounts(
    key: ApiKey, estimate: Request | None, target: Target
) -> tuple[dict[str, float], float | None]:
    """What the request takes of the key's limits, and its worst-case cost for the budget
    (`estimate` is None only when the key has neither)."""
    if estimate is None:
        return {}, None
    amounts: dict[str, float] = {}
    if key.rate_limit is not None:
        amounts = key.rate_limit.amounts(estimate)
    if key.budget_limit is None:  # nothing to price: no estimate needed
        return amounts, None
    from llmkit.cost import worst_case
    from llmkit.ratelimit import estimate_tokens

    prompt = amounts["input_tokens"] if amounts else estimate_tokens(estimate)[0]
    return amounts, worst_case(int(prompt), estimate.max_tokens, target.prices)


def _total(cost: Cost | None) -> float | None:
    return cost.total if cost is not None else None


def _completion_id(response: Response) -> str:
    if response.id and response.id.startswith("chatcmpl"):
        return response.id
    import uuid

    return f"chatcmpl-{uuid.uuid4().hex}"


async def _stream(
    gateway: Gateway,
    call: wire.ChatCall,
    target: Target,
    key: ApiKey,
    grant: Grant,
    handled: Handled,
    outgoing: Request | None,
) -> HttpResponse:
    from llmkit.server.sse import EventStreamResponse

    stream = target.stream(call.messages, call.options, outgoing)
    events = stream.__aiter__()
    upstream_start = time.perf_counter()
    try:
        first: StreamEvent | None = await events.__anext__()
    except StopAsyncIteration:
        first = None
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await stream.aclose()
            await _settle(gateway, key, grant, None, 0.0)
        target.stream_ended(outgoing, None, exc)
        raise
    overhead = handled.elapsed() - (time.perf_counter() - upstream_start)
    completion_id = f"chatcmpl-{handled.request_id}"
    created = int(time.time())

    labels = handled.labels("chat")

    async def finish(response: Response | None, failure: BaseException | None) -> None:
        """Close the upstream stream, settle the key, count the reply (shielded)."""
        with anyio.CancelScope(shield=True):
            await stream.aclose()
            target.stream_ended(outgoing, response, failure)
            priced = None if response is None else target.cost(response)
            usage: Usage | None = None if response is None else response.usage
            if response is not None:
                cost = _total(priced)
            else:
                usage, cost = _spent_so_far(stream, call, target, outgoing)
            # in Redis: a task that runs once the stream's end is sent, not before
            await _settle(gateway, key, grant, usage, cost)
            handled.usage, handled.cost = usage, priced
            if failure is None:
                gateway.metrics.reply(
                    labels, status=200, seconds=handled.elapsed(), usage=usage,
                    cost=handled.cost, cached=response is not None and response.cached,
                )  # fmt: skip
            else:
                status = 499 if not isinstance(failure, Exception) else classify(failure)[0]
                gateway.metrics.reply(
                    labels, status=status, seconds=handled.elapsed(), usage=usage,
                    error=error_class(failure) if status != 499 else "ClientDisconnected",
                )  # fmt: skip

    async def body() -> AsyncIterator[bytes]:
        gateway.metrics.streams.labels(call.model, key.name).inc()
        gateway.streams += 1
        response: Response | None = None
        failure: BaseException | None = None
        try:
            yield _sse(
                replies.chunk(
                    completion_id, created, call.model, {"role": "assistant", "content": ""}
                )
            )
            event = first
            finish_reason: str | None = None
            seen_content = False
            while event is not None:
                delta = replies.delta_of(event)
                if delta is not None:
                    if not seen_content:
                        seen_content = True
                        gateway.metrics.ttft.labels(*labels).observe(handled.elapsed())
                    yield _sse(replies.chunk(completion_id, created, call.model, delta))
                if event.finish_reason is not None:
                    finish_reason = replies.finish_reason(event.finish_reason)
                event = await anext(events, None)
            response = stream.response
            if finish_reason is None:
                finish_reason = replies.finish_reason(response.finish_reason)
            yield _sse(replies.chunk(completion_id, created, call.model, {}, finish_reason))
            if call.include_usage:
                last = replies.chunk(completion_id, created, call.model, {})
                last["choices"], last["usage"] = [], replies.usage_json(response.usage)
                yield _sse(last)
            yield b"data: [DONE]\n\n"
        except Exception as exc:  # an error mid-stream: an `error` event ends it
            failure = exc
            status, payload, _ = classify(exc)
            payload["error"]["status"] = status
            yield _sse(payload)
        except BaseException as exc:  # the client hung up (cancelled): settle below
            failure = exc
            raise
        finally:
            gateway.streams -= 1
            gateway.metrics.streams.labels(call.model, key.name).dec()
            await finish(response, failure)

    async def never_started() -> None:  # the caller left before the first byte was sent
        await finish(None, anyio.get_cancelled_exc_class()())

    handled.streamed = True
    headers = gateway.headers(handled, overhead=overhead)
    headers["cache-control"] = "no-cache"
    return EventStreamResponse(body(), headers=headers, on_unstarted=never_started)


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + _encode(payload) + b"\n\n"


def _spent_so_far(
    stream: Any, call: wire.ChatCall, target: Target, outgoing: Request | None
) -> tuple[Usage | None, float | None]:
    """What a reply cut short used and cost: the prompt's estimate and the text a stream
    generated so far (None: no stream, nothing known) counted locally, priced from the
    catalog (`outgoing`: the request as built for the host, when it was)."""
    from llmkit.cost import price_usage
    from llmkit.ratelimit import estimate_tokens
    from llmkit.tokens import count_text
    from llmkit.types import Usage

    try:
        partial = stream.partial() if stream is not None else None
    except Exception:
        partial = None
    model = target.model_id or (target.client.model if target.client is not None else call.model)
    prompt, _ = estimate_tokens(outgoing or target.request(call.messages, call.options))
    text = "" if partial is None else partial.text + (partial.reasoning or "")
    generated = int(count_text(text, model)) if text else 0
    usage = Usage(input_tokens=prompt, output_tokens=generated)
    cost = price_usage(usage, target.prices)
    return usage, None if cost is None else cost.total
