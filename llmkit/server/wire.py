"""OpenAI's Chat Completions and Embeddings requests, read as a server: bodies in.

`parse_chat(body)` checks a decoded request body and turns it into llmkit terms
(`ChatCall`: the model name, `Message`s, with content parts as llmkit's `Image`,
`Audio` and `Document`, and the per-call options of `generate`). Pure functions: no
HTTP, no I/O. A body that does not fit raises `WireError` with the path of the first
problem (`messages[2].content`), which the app returns as a 400. The replies going
back are `llmkit.server.replies`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import msgspec
from attrs import frozen

from llmkit.types import (
    Message,
    Role,
    ToolCall,
    ToolSpec,
)

__all__ = ["ChatCall", "WireError", "parse_chat", "parse_embeddings"]


class WireError(ValueError):
    """A request body that does not fit OpenAI's shape; `param` is the path of the problem."""

    def __init__(self, message: str, param: str | None = None, *, code: str | None = None):
        self.message = f"{param}: {message}" if param else message
        self.param = param or None
        self.code = code
        super().__init__(self.message)


@frozen
class ChatCall:
    """One chat request in llmkit's terms."""

    model: str
    messages: tuple[Message, ...]
    options: dict[str, Any]
    """Keyword arguments for `client.generate` / `client.stream`."""
    stream: bool = False
    include_usage: bool = False


_ROLES = {"system": Role.SYSTEM, "developer": Role.SYSTEM, "user": Role.USER}
_ROLES |= {"assistant": Role.ASSISTANT, "tool": Role.TOOL, "function": Role.TOOL}
_PASSTHROUGH = frozenset(
    {
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
        "parallel_tool_calls",
        "reasoning_effort",
        "service_tier",
        "metadata",
        "store",
        "prediction",
        "modalities",
        "verbosity",
        "web_search_options",
        "safety_identifier",
        "prompt_cache_key",
    }
)
"""OpenAI fields llmkit has no name for: passed to the host as `extra`, untouched."""
_KNOWN = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
        "seed",
        "n",
        "functions",
        "function_call",
    }
)


def _expect(value: Any, kind: type | tuple[type, ...], path: str, what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
        raise WireError(f"expected {what}", path)
    return value


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    _expect(value, (int, float), name, "a number")
    if not low <= value <= high:
        raise WireError(f"must be between {low:g} and {high:g}", name)
    return float(value)


def _int(body: Mapping[str, Any], name: str, low: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    _expect(value, int, name, "an integer")
    if value < low:
        raise WireError(f"must be at least {low}", name)
    return int(value)


def _text(content: Any, path: str) -> Any:
    """A message's content: a string, or a list of parts (text parts joined when all are text;
    `image_url`, `input_image`, `input_audio` and `file` parts become llmkit's `Image`,
    `Audio` and `Document` parts, so the content is then a tuple of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    _expect(content, list, path, "a string or a list of content parts")
    parts: list[Any] = []
    for index, part in enumerate(content):
        where = f"{path}[{index}]"
        _expect(part, dict, where, "a content part object")
        kind = part.get("type")
        if kind in ("text", "input_text", "refusal"):
            field_name = "refusal" if kind == "refusal" else "text"
            parts.append(_expect(part.get(field_name), str, f"{where}.{field_name}", "a string"))
        elif kind == "image_url":
            parts.append(_image(part.get("image_url"), f"{where}.image_url"))
        elif kind in _MEDIA_PARTS:
            parts.append(_MEDIA_PARTS[kind](part, where))
        else:
            raise WireError(
                "expected a part of type 'text', 'image_url', 'input_audio' or 'file'",
                f"{where}.type",
            )
    if all(isinstance(part, str) for part in parts):
        return "".join(parts)
    from llmkit.types import Text

    return tuple(Text(part) if isinstance(part, str) else part for part in parts)


def _image(value: Any, path: str) -> Any:
    from llmkit.errors import ConfigurationError
    from llmkit.types import Image

    if isinstance(value, str):
        value = {"url": value}
    _expect(value, dict, path, "an object with a url")
    url = _expect(value.get("url"), str, f"{path}.url", "a URL (https: or data:)")
    detail = value.get("detail")
    if detail is not None and detail not in ("auto", "low", "high"):
        raise WireError("expected auto, low or high", f"{path}.detail")
    try:
        if url[:5].lower() == "data:":
            # bytes, not a data: URL: every host's codec takes bytes (Anthropic's and
            # Gemini's do not take data: URLs), and the media type is checked per host
            data, media_type = _data_uri(url, f"{path}.url")
            return Image(data=data, media_type=media_type, detail=detail)
        return Image.from_url(url, detail=detail)
    except ConfigurationError as exc:
        raise WireError(exc.message, f"{path}.url") from None


# -- media parts: input_audio, file, input_image ----------------------------------------

_AUDIO_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg"}
"""OpenAI's `input_audio.format` values (https://platform.openai.com/docs/api-reference/chat/create)."""

_NO_FILES_API = (
    "this gateway has no Files API, so it cannot resolve file ids; "
    "send the file's bytes instead ({how})"
)


def _missing(value: Mapping[str, Any], where: str, field: str, expected: str, how: str) -> NoReturn:
    """A media part without its `field`: a 400 on its `file_id` when it names one (no Files
    API here: `how` says what to send instead), else on the missing field."""
    if value.get("file_id") is not None:
        raise WireError(_NO_FILES_API.format(how=how), f"{where}.file_id")
    raise WireError(f"required: {expected}", f"{where}.{field}")


def _base64(text: Any, path: str) -> bytes:
    """Standard base64 text as bytes (one decode of the text, no intermediate copy)."""
    import binascii

    _expect(text, str, path, "base64 text")
    try:
        data = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise WireError(
            "not valid base64 (standard alphabet, padded, no line breaks)", path
        ) from None
    if not data:
        raise WireError("empty: expected base64 bytes", path)
    return data


def _data_uri(url: str, path: str) -> tuple[bytes, str | None]:
    """The bytes and media type of a `data:<type>;base64,<data>` URI."""
    head, comma, body = url.partition(",")
    if not comma or not head.lower().endswith(";base64"):
        raise WireError("expected a base64 data: URI (data:<media type>;base64,<data>)", path)
    media_type = head[5:-7].strip() or None
    return _base64(body, path), media_type


def _input_audio(part: Mapping[str, Any], where: str) -> Any:
    """`{"type": "input_audio", "input_audio": {"data", "format"}}` as an `Audio` part."""
    from llmkit.types import Audio

    where = f"{where}.input_audio"
    value = _expect(part.get("input_audio"), dict, where, "an object with data and format")
    fmt = value.get("format")
    if fmt not in _AUDIO_FORMATS:
        raise WireError("expected wav or mp3", f"{where}.format")
    return Audio(data=_base64(value.get("data"), f"{where}.data"), media_type=_AUDIO_FORMATS[fmt])


def _file(part: Mapping[str, Any], where: str) -> Any:
    """`{"type": "file", "file": {"file_data", "filename"}}` as a `Document` (an `Image` or
    `Audio` when its media type says so, as `llmkit.parts.part_from_path` decides)."""
    from llmkit.errors import ConfigurationError
    from llmkit.parts import guess_from_name, normalise_media_type, sniff
    from llmkit.types import Audio, Document, Image

    where = f"{where}.file"
    value = _expect(part.get("file"), dict, where, "an object with file_data and filename")
    filename = value.get("filename")
    if filename is not None:
        _expect(filename, str, f"{where}.filename", "a string")
    raw = value.get("file_data")
    if raw is None:
        uri = "a data:<media type>;base64,... URI"
        _missing(value, where, "file_data", uri, f"file.file_data: {uri}, with file.filename")
    _expect(raw, str, f"{where}.file_data", "a data:<media type>;base64,... URI")
    if raw[:5].lower() == "data:":
        data, media_type = _data_uri(raw, f"{where}.file_data")
    elif raw[:8].lower().startswith(("https://", "http://")):
        raise WireError(
            "expected the file's bytes (a data:<media type>;base64,... URI), not a URL: "
            "this gateway does not fetch files",
            f"{where}.file_data",
        )
    else:
        data, media_type = _base64(raw, f"{where}.file_data"), None
    if media_type is not None:
        media_type = normalise_media_type(media_type)
    if media_type in (None, "application/octet-stream"):
        media_type = sniff(data) or (guess_from_name(filename) if filename else None)
    kind = (media_type or "").split("/", 1)[0]
    cls = Image if kind == "image" else Audio if kind == "audio" else Document
    try:
        return cls(data=data, media_type=media_type, filename=filename)
    except ConfigurationError as exc:
        raise WireError(exc.message, f"{where}.file_data") from None


def _input_image(part: Mapping[str, Any], where: str) -> Any:
    """A Responses-API `input_image` part (`image_url` a URL string or `{url}`, `detail`)."""
    value = part.get("image_url")
    if value is None:
        url = "an https or data: URL"
        _missing(part, where, "image_url", url, f"input_image.image_url: {url}")
    if isinstance(value, str):
        value = {"url": value, "detail": part.get("detail")}
    return _image(value, f"{where}.image_url")


_MEDIA_PARTS = {"input_audio": _input_audio, "file": _file, "input_image": _input_image}


def _tool_calls(value: Any, path: str) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    _expect(value, list, path, "a list of tool calls")
    calls = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        _expect(item, dict, where, "a tool call object")
        function = _expect(item.get("function"), dict, f"{where}.function", "an object")
        name = _expect(function.get("name"), str, f"{where}.function.name", "a string")
        raw = function.get("arguments") or "{}"
        _expect(raw, str, f"{where}.function.arguments", "a JSON string")
        try:
            arguments = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            arguments = None
        call_id = item.get("id")
        if isinstance(arguments, dict):
            calls.append(ToolCall(call_id, name, arguments))
        else:
            calls.append(ToolCall(call_id, name, {}, raw_arguments=raw))
    return tuple(calls)


def _message(item: Any, path: str) -> Message:
    _expect(item, dict, path, "a message object")
    role = item.get("role")
    if role not in _ROLES:
        raise WireError("expected one of system, developer, user, assistant, tool", f"{path}.role")
    content = _text(item.get("content"), f"{path}.content")
    if role == "assistant":
        reasoning = item.get("reasoning_content")
        if reasoning is not None:
            _expect(reasoning, str, f"{path}.reasoning_content", "a string")
        calls = _tool_calls(item.get("tool_calls"), f"{path}.tool_calls")
        return Message(Role.ASSISTANT, content, tool_calls=calls, reasoning=reasoning)
    if role in ("tool", "function"):
        call_id = item.get("tool_call_id")
        if role == "tool":
            _expect(call_id, str, f"{path}.tool_call_id", "a string (the call this answers)")
        name = item.get("name")
        return Message(Role.TOOL, content, tool_call_id=call_id, name=name)
    if "content" not in item:
        raise WireError("required", f"{path}.content")
    return Message(_ROLES[role], content)


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    _expect(value, list, "tools", "a list of tools")
    specs = []
    for index, item in enumerate(value):
        where = f"tools[{index}]"
        _expect(item, dict, where, "a tool object")
        if item.get("type", "function") != "function":
            raise WireError("only tools of type 'function' are supported", f"{where}.type")
        function = _expect(item.get("function"), dict, f"{where}.function", "an object")
        name = _expect(function.get("name"), str, f"{where}.function.name", "a string")
        description = function.get("description") or ""
        _expect(description, str, f"{where}.function.description", "a string")
        params = function.get("parameters")
        if params is None:
            params = {"type": "object", "properties": {}}
        _expect(params, dict, f"{where}.function.parameters", "a JSON Schema object")
        specs.append(ToolSpec(name, description, params))
    return tuple(specs)


def _tool_choice(value: Any) -> str:
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise WireError("expected auto, none, required or a function", "tool_choice")
        return value
    _expect(value, dict, "tool_choice", "a string or an object")
    function = _expect(value.get("function"), dict, "tool_choice.function", "an object")
    return str(_expect(function.get("name"), str, "tool_choice.function.name", "a string"))


def parse_chat(body: Any, *, max_messages: int) -> ChatCall:
    """A decoded `/v1/chat/completions` body as a `ChatCall`.

    Raises:
        WireError: the first problem, with its path.
    """
    _expect(body, dict, "", "a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise WireError("required: a model name", "model")
    unknown = sorted(k for k in body if k not in _KNOWN and k not in _PASSTHROUGH)
    if unknown:
        raise WireError(f"unrecognized request argument '{unknown[0]}'", unknown[0])
    raw = body.get("messages")
    _expect(raw, list, "messages", "a list of messages")
    if not raw:
        raise WireError("must hold at least one message", "messages")
    if len(raw) > max_messages:
        raise WireError(f"at most {max_messages} messages per request", "messages")
    messages = tuple(_message(item, f"messages[{i}]") for i, item in enumerate(raw))
    if _int(body, "n", 1) not in (None, 1):
        raise WireError("only n=1 is supported", "n")
    options: dict[str, Any] = {}
    for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1)):
        if (value := _number(body, name, low, high)) is not None:
            options[name] = value
    cap = _int(body, "max_completion_tokens", 1) or _int(body, "max_tokens", 1)
    if cap is not None:
        options["max_tokens"] = cap
    if (seed := body.get("seed")) is not None:
        options["seed"] = _expect(seed, int, "seed", "an integer")
    if (stop := body.get("stop")) is not None:
        if isinstance(stop, list):
            for i, item in enumerate(stop):
                _expect(item, str, f"stop[{i}]", "a string")
        else:
            _expect(stop, str, "stop", "a string or a list of strings")
        options["stop"] = stop
    if body.get("tools") is not None:
        options["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        options["tool_choice"] = _tool_choice(body["tool_choice"])
    if (fmt := body.get("response_format")) is not None:
        _expect(fmt, dict, "response_format", "an object")
        kind = fmt.get("type")
        if kind not in ("text", "json_object", "json_schema"):
            raise WireError("expected text, json_object or json_schema", "response_format.type")
        if kind == "json_schema":
            _expect(fmt.get("json_schema"), dict, "response_format.json_schema", "an object")
        if kind != "text":
            options["response_format"] = dict(fmt)
    extra = {k: body[k] for k in _PASSTHROUGH if k in body}
    if extra:
        options["extra"] = extra
    stream = body.get("stream") or False
    _expect(stream, bool, "stream", "true or false")
    stream_options = body.get("stream_options") or {}
    _expect(stream_options, dict, "stream_options", "an object")
    include_usage = bool(stream_options.get("include_usage"))
    return ChatCall(model, messages, options, stream, include_usage)


def parse_embeddings(body: Any) -> tuple[str, list[str], dict[str, Any]]:
    """A decoded `/v1/embeddings` body: the model, the texts, and options (`dimensions`)."""
    _expect(body, dict, "", "a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise WireError("required: a model name", "model")
    raw = body.get("input")
    if isinstance(raw, str):
        texts = [raw]
    else:
        _expect(raw, list, "input", "a string or a list of strings")
        for index, item in enumerate(raw):
            _expect(item, str, f"input[{index}]", "a string (token arrays are not supported)")
        texts = list(raw)
    if not texts:
        raise WireError("must hold at least one text", "input")
    fmt = body.get("encoding_format", "float")
    if fmt not in ("float", "base64"):
        raise WireError("expected float or base64", "encoding_format")
    options: dict[str, Any] = {"encoding_format": fmt}
    if (dims := _int(body, "dimensions", 1)) is not None:
        options["dimensions"] = dims
    return model, texts, options
