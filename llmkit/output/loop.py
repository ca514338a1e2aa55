"""The loops behind `generate(output=...)`, `stream(output=...)`, `run` and `run_stream`.

One loop serves all four. Each turn is an ordinary `client.generate` (or
`client.stream`) call, so every turn goes through the client's policies:
the budget is reserved before each one (a re-ask that could cross it raises
`BudgetExceededError` and is not sent), transport retries and fallbacks happen
inside it, and a transport error (a 429 that outlived its retries) is raised
to the caller, never fed to the model. Per turn, the reply is:

- the typed answer (`output=`): validated; if it does not match, the errors are
  sent back (`OutputPlan.reask`) up to `output_retries` times, then
  `OutputValidationError`;
- tool calls (`run`): the tools run concurrently, their results (or errors) are
  appended, and the loop goes on, up to `max_turns`, then `MaxTurnsExceededError`;
- a plain answer: the end.

The reply returned carries `output`, `messages` (the whole conversation) and
`usage` / `cost` summed over every turn and attempt.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from attrs import evolve

from llmkit.errors import MaxTurnsExceededError, OutputValidationError
from llmkit.output.modes import support_for
from llmkit.output.partial import PartialJSON
from llmkit.output.plan import OUTPUT_TOOL, OutputPlan, plan_output
from llmkit.output.validate import OutputInvalid, format_issues
from llmkit.providers._stream import ResponseStream
from llmkit.types import Cost, Message, Prompt, Response, Role, StreamEvent, Usage

if TYPE_CHECKING:
    from llmkit.clients._base import ModelClient
    from llmkit.tools import Tool

__all__ = ["generate", "run", "stream", "sum_costs", "sum_usage"]

OUTPUT_OPTIONS = ("output", "output_mode", "output_retries")


def sum_usage(usages: Sequence[Usage]) -> Usage:
    """Token counts added field by field (None where no reply reported that count)."""

    def total(name: str) -> int | None:
        values = [getattr(u, name) for u in usages if getattr(u, name) is not None]
        return sum(values) if values else None

    return Usage(
        input_tokens=total("input_tokens"),
        output_tokens=total("output_tokens"),
        reasoning_tokens=total("reasoning_tokens"),
        cached_input_tokens=total("cached_input_tokens"),
        cache_write_tokens=total("cache_write_tokens"),
    )


def sum_costs(costs: Sequence[Cost | None]) -> Cost | None:
    """Costs added part by part; None when any reply's cost is unknown (a total that leaves
    one out would understate it)."""
    if not costs or any(c is None for c in costs):
        return None
    known = [c for c in costs if c is not None]
    sources = {c.source for c in known}
    return Cost(
        total=sum(c.total for c in known),
        input=sum(c.input for c in known),
        cached_input=sum(c.cached_input for c in known),
        cache_write=sum(c.cache_write for c in known),
        output=sum(c.output for c in known),
        source=sources.pop() if len(sources) == 1 else "mixed",
    )


class _Run:
    """The state of one loop: options, plan, tools, conversation, replies so far."""

    def __init__(
        self,
        client: ModelClient,
        prompt: Prompt,
        options: Mapping[str, Any],
        *,
        tools: Sequence[Tool] = (),
        max_turns: int | None = None,
        default_retries: int = 2,
    ) -> None:
        from llmkit.clients._base import to_messages

        rest = {k: v for k, v in options.items() if k not in OUTPUT_OPTIONS}
        self.client = client
        self.messages: list[Message] = list(to_messages(prompt))
        self.tools = list(tools)
        self.max_turns = max_turns
        self.retries = int(options.get("output_retries", default_retries))
        self.plan = None
        if options.get("output") is not None:
            self.plan = _plan(client, options, with_tools=bool(self.tools))
        if self.tools:
            rest["tools"] = [*(rest.get("tools") or ()), *self.tools]
        if self.plan is not None:
            rest = self.plan.options(rest, system=self._system(rest))
        self.options = rest
        self.replies: list[Response] = []
        self.failures = 0

    def _system(self, options: Mapping[str, Any]) -> str | None:
        if options.get("system") is not None:
            return str(options["system"])
        if self.messages and self.messages[0].role is Role.SYSTEM:
            return self.messages[0].text
        return self.client.system

    def summed(self, response: Response, **fields: Any) -> Response:
        """`response` with usage and cost summed over every reply so far."""
        return evolve(
            response,
            usage=sum_usage([r.usage for r in self.replies]),
            cost=sum_costs([r.cost for r in self.replies]),
            **fields,
        )

    async def step(self, response: Response) -> Response | None:
        """Take one reply into account: the final reply, or None to go on."""
        from llmkit.tools import call_tools

        self.replies.append(response)
        plan = self.plan
        if plan is not None and (plan.answered(response) or not response.tool_calls):
            try:
                value = plan.parse(response)
            except OutputInvalid as exc:
                self.failures += 1
                if self.failures > self.retries:
                    raise self._invalid(response, plan, exc) from None
                self.messages += plan.reask(response, exc.issues)
                return None
            self.messages.append(response.to_message())
            call = plan.output_call(response) if plan.mode == "tool" else None
            if call is not None:  # answer the output call, so the conversation can go on
                self.messages.append(Message.tool("ok", tool_call_id=call.id, name=call.name))
            return self.summed(response, output=value, messages=tuple(self.messages))
        if not response.tool_calls or not self.tools:
            self.messages.append(response.to_message())
            return self.summed(response, messages=tuple(self.messages))
        self.messages.append(response.to_message())
        calls = [c for c in response.tool_calls if c.name != OUTPUT_TOOL]
        self.messages += await call_tools(self.tools, calls)
        if self.max_turns is not None and len(self.replies) >= self.max_turns:
            last = self.summed(response, messages=tuple(self.messages))
            raise MaxTurnsExceededError(
                f"the tool loop made {len(self.replies)} model calls without a final answer; "
                "raise max_turns= or change the prompt (the conversation so far is in .messages)",
                messages=tuple(self.messages),
                response=last,
                provider=response.provider,
                model=response.model,
            )
        return None

    def _invalid(
        self, response: Response, plan: OutputPlan, exc: OutputInvalid
    ) -> OutputValidationError:
        self.messages.append(response.to_message())
        name = getattr(plan.type, "__name__", None) or repr(plan.type)
        return OutputValidationError(
            f"the model's answer did not match {name} after {self.failures} attempt(s):\n"
            f"{format_issues(exc.issues)}",
            errors=exc.issues,
            raw=plan.raw(response),
            attempts=self.failures,
            messages=tuple(self.messages),
            response=self.summed(response, messages=tuple(self.messages)),
            provider=response.provider,
            model=response.model,
        )


def _plan(client: ModelClient, options: Mapping[str, Any], *, with_tools: bool) -> OutputPlan:
    model = client.model
    requested = options.get("model")
    if requested is not None:
        model = client.catalog.resolve(client.family, client.provider.name, requested).id
    support = support_for(
        client.catalog.data,
        client.provider.name,
        model,
        override=options.get("output_mode"),
        with_tools=with_tools,
    )
    return plan_output(options["output"], support)


async def generate(client: ModelClient, prompt: Prompt, options: Mapping[str, Any]) -> Response:
    """`client.generate(prompt, output=T, ...)`: re-asks until the answer validates."""
    state = _Run(client, prompt, options)
    while True:
        response = await client.generate(state.messages, **state.options)
        final = await state.step(response)
        if final is not None:
            return final


async def run(
    client: ModelClient,
    prompt: Prompt,
    tools: Sequence[Tool],
    options: Mapping[str, Any],
    *,
    max_turns: int,
) -> Response:
    """`client.run(prompt, tools=[...])`: the tool loop to a final (typed) answer."""
    state = _Run(client, prompt, options, tools=tools, max_turns=max_turns)
    while True:
        response = await client.generate(state.messages, **state.options)
        final = await state.step(response)
        if final is not None:
            return final


def stream(
    client: ModelClient,
    prompt: Prompt,
    options: Mapping[str, Any],
    *,
    tools: Sequence[Tool] = (),
    max_turns: int | None = None,
) -> ResponseStream:
    """`client.stream(prompt, output=T)` and `client.run_stream(...)`: every turn's events,
    each carrying `partial_output` once the answer's JSON starts; `.response` at the end.

    A stream re-asks only with `output_retries=` (default 0): the events of a re-asked
    answer follow the rejected one's, and `partial_output` starts again from None.
    """
    retries = 2 if tools else 0
    state = _Run(client, prompt, options, tools=tools, max_turns=max_turns, default_retries=retries)
    result: list[Response] = []

    def finish(timed: Response) -> Response:
        return evolve(result[0], latency=timed.latency)

    return ResponseStream(
        lambda: _turns(client, state, result),
        provider=client.provider.name,
        finish=finish,
        fold=False,
    )


async def _turns(
    client: ModelClient, state: _Run, result: list[Response]
) -> AsyncIterator[StreamEvent]:
    while True:
        inner = client.stream(state.messages, **state.options)
        async with aclosing(_with_partials(inner, state.plan)) as events:
            async for event in events:
                yield event
        final = await state.step(inner.response)
        if final is not None:
            result.append(final)
            return


async def _with_partials(
    inner: ResponseStream, plan: OutputPlan | None
) -> AsyncGenerator[StreamEvent, None]:
    parser = PartialJSON()
    output_index: int | None = None
    try:
        async for event in inner:
            if plan is None:
                yield event
                continue
            piece = event.text if plan.mode != "tool" else ""
            delta = event.tool_call
            if plan.mode == "tool" and delta is not None:
                if delta.name == OUTPUT_TOOL:
                    output_index = delta.index
                if delta.index == output_index:
                    piece = delta.arguments
            if piece:
                parser.feed(piece)
            if parser.value is not None:
                event = evolve(event, partial_output=plan.unwrap(parser.value))
            yield event
    finally:
        await inner.aclose()
