"""`ModelClient.generate_batch`: a client's prompts as host batch jobs.

Each prompt becomes a `Request` exactly as `generate` builds it, rewritten by
the family for the host (`prepare`); the budget reserves the worst case of the
whole batch at the host's batch price, and refuses it like a live call would;
replies pass the family's `finish`, are priced at the batch price, recorded
on the cost tracker, and come back in input order, a failed request as the
`LLMError` in its slot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from llmkit.batches._limits import batch_prices
from llmkit.batches._runner import Poll, ProgressCallback, generate_batch
from llmkit.batches._types import BatchJob
from llmkit.cost import worst_case
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Prompt, Request, Response

if TYPE_CHECKING:
    from llmkit.clients._base import ModelClient, Route

__all__ = ["client_generate_batch", "prepare_batch"]

_REFUSED = ("output", "output_mode", "output_retries", "cache", "cache_ttl")


def prepare_batch(
    client: ModelClient, prompts: Sequence[Prompt], options: dict[str, Any]
) -> tuple[Route, list[Request]]:
    """Each prompt as the `Request` `generate` would send (family rewrites applied), and
    the route (provider, catalog entry) they go to.

    Raises:
        ConfigurationError: an option a batch cannot honour (`output=`, `cache=`).
    """
    refused = [name for name in _REFUSED if options.get(name) is not None]
    if refused:
        raise ConfigurationError(
            f"generate_batch does not take {refused[0]}=; validate structured answers "
            "from the replies yourself, or use generate_many"
        )
    route = client._route
    prepared: list[Request] = []
    for prompt in prompts:
        route, request = client._build_request(client._route, prompt, options)  # type: ignore[arg-type]
        prepared.append(client.prepare(request, route.provider, route.entry))
    return route, prepared


async def client_generate_batch(
    client: ModelClient,
    prompts: Sequence[Prompt],
    options: dict[str, Any],
    *,
    poll: Poll | float | None = None,
    on_progress: ProgressCallback | None = None,
    on_submit: Callable[[BatchJob], Any] | None = None,
) -> list[Response | LLMError]:
    """See `ModelClient.generate_batch`."""
    if not prompts:
        return []
    route, prepared = prepare_batch(client, prompts, options)
    provider = route.provider
    budget = client.budget
    reservation = None
    if budget is not None:
        prices = batch_prices(provider.name, route.entry.id, client.catalog)
        limit = route.entry.max_output if isinstance(route.entry.max_output, int) else None
        worst: float | None = 0.0
        for request in prepared:
            one = worst_case(int(client.count_tokens(request)), request.max_tokens or limit, prices)
            worst = None if one is None or worst is None else worst + one
        reservation = await budget.reserve(
            worst, what=f"batch of {len(prepared)} requests to {route.entry.id}"
        )
    try:
        results = await generate_batch(
            provider, prepared, poll=poll, on_progress=on_progress, on_submit=on_submit
        )
    except BaseException:
        if budget is not None and reservation is not None:
            await budget.release(reservation)
        raise
    finished: list[Response | LLMError] = []
    spent: float | None = 0.0
    for result in results:
        if isinstance(result, Response):
            result = client.finish(result)
            spent = None if result.cost is None or spent is None else spent + result.cost.total
            if client.cost_tracker is not None:
                client.cost_tracker.record(result, client=client._policies.client)
        finished.append(result)
    if budget is not None and reservation is not None:
        await budget.settle(reservation, spent)
    return finished
