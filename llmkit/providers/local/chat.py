"""A `Request` in the terms of a local model: chat-template messages and `generate` arguments.

Pure functions over plain data (no torch): `template_messages` turns llmkit
messages into the dicts that Hugging Face chat templates read (tool calls
and tool results included), `template_tools` the tool specs, and
`generation_options` maps temperature, top_p, top_k, seed, stop sequences
and max tokens onto `generate`'s keyword arguments.
"""

from __future__ import annotations

from typing import Any

from llmkit.errors import ConfigurationError
from llmkit.types import Message, Request, Role

__all__ = ["generation_options", "open_think_prefix", "template_messages", "template_tools"]

_PROVIDER = "local"
_SUPPORTED_EXTRA = frozenset({"top_k", "repetition_penalty", "min_p", "chat_template_kwargs"})


def template_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """The conversation as chat-template dicts (`role`, `content`, `tool_calls`, ...)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": str(message.role), "content": _text(message)}
        if message.tool_calls:
            item["tool_calls"] = [
                {
                    "type": "function",
                    **({"id": call.id} if call.id else {}),
                    "function": {"name": call.name, "arguments": dict(call.arguments)},
                }
                for call in message.tool_calls
            ]
        if message.role is Role.TOOL:
            if message.name:
                item["name"] = message.name
            if message.tool_call_id:
                item["tool_call_id"] = message.tool_call_id
        out.append(item)
    return out


def _text(message: Message) -> str:
    content: Any = message.content
    if isinstance(content, str):
        return content
    # content parts: a text-only local model takes their text, and refuses the rest
    texts = []
    for part in content:
        text = getattr(part, "text", None)
        if not isinstance(text, str):
            raise ConfigurationError(
                f"a local text model cannot take a {type(part).__name__} part; "
                "send text only, or use a host that accepts it",
                provider=_PROVIDER,
            )
        texts.append(text)
    return "".join(texts)


def template_tools(request: Request) -> list[dict[str, Any]] | None:
    """The tools in the JSON-schema form chat templates take, or None."""
    if not request.tools:
        return None
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": dict(tool.parameters),
            },
        }
        for tool in request.tools
    ]


def generation_options(request: Request, *, max_new_tokens: int) -> dict[str, Any]:
    """`generate` keyword arguments for `request` (the seed is applied by the caller).

    Raises:
        ConfigurationError: an option a local model cannot honour (it is never dropped).
    """
    unknown = sorted(set(request.extra) - _SUPPORTED_EXTRA)
    if unknown:
        raise ConfigurationError(
            f"the local provider does not understand extra option(s) {unknown}; "
            f"it takes {sorted(_SUPPORTED_EXTRA)}",
            provider=_PROVIDER,
            model=request.model,
        )
    if request.response_format is not None:
        raise ConfigurationError(
            "the local provider cannot enforce `response_format`; ask for JSON in the prompt",
            provider=_PROVIDER,
            model=request.model,
        )
    options: dict[str, Any] = {
        "max_new_tokens": request.max_tokens or max_new_tokens,
    }
    if request.temperature is not None:
        if request.temperature <= 0:
            options["do_sample"] = False
        else:
            options.update(do_sample=True, temperature=request.temperature)
    if request.top_p is not None:
        options["top_p"] = request.top_p
    for key in ("top_k", "repetition_penalty", "min_p"):
        if key in request.extra:
            options[key] = request.extra[key]
    if ("top_p" in options or "top_k" in options) and "do_sample" not in options:
        options["do_sample"] = True
    return options


def open_think_prefix(prompt: str) -> str:
    """`<think>` when the rendered prompt ends inside an opened reasoning block.

    Templates such as DeepSeek-R1's and Qwen 3's thinking mode start the
    assistant turn with `<think>`; the reply then holds only the closing tag,
    and the family client's `<think>` splitting needs the opening one back.
    """
    tail = prompt.rstrip()
    if tail.endswith("<think>"):
        return "<think>\n" if prompt.endswith("\n") else "<think>"
    return ""
