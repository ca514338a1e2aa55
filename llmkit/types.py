"""llmkit's value types: messages, requests, responses, stream events, usage.

Frozen attrs classes with no I/O and no knowledge of any wire format. Codecs
turn them into a host's JSON and back; `cattrs` turns them into plain data
(`llmkit.types.to_dict` / `from_dict`) for logs, exports and the CLI's `--json`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from attrs import field, frozen

__all__ = [
    "Audio",
    "CachePoint",
    "Content",
    "Cost",
    "Document",
    "Embeddings",
    "FileRef",
    "FinishReason",
    "Image",
    "Latency",
    "Message",
    "Part",
    "Prompt",
    "Request",
    "Response",
    "Role",
    "StreamEvent",
    "Text",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "Usage",
    "from_dict",
    "to_dict",
]


class Role(enum.StrEnum):
    """Who speaks a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class FinishReason(enum.StrEnum):
    """Why the model stopped, normalised across hosts (`raw_finish_reason` keeps the host's word)."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"
    OTHER = "other"


def _frozen_dict(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value) if value else {}


@frozen
class ToolSpec:
    """A function the model may call."""

    name: str
    """The function's name, as the model will call it."""
    description: str = ""
    """What the function does; models read it to decide when to call."""
    parameters: dict[str, Any] = field(
        factory=lambda: {"type": "object", "properties": {}}, converter=_frozen_dict
    )
    """A JSON Schema object describing the arguments."""

    @classmethod
    def from_function(
        cls, function: Any, *, name: str | None = None, description: str | None = None
    ) -> ToolSpec:
        """A spec for a typed Python function, which `client.run` can call (`llmkit.tools`)."""
        from llmkit.tools import tool_from_function

        return tool_from_function(function, name=name, description=description)


@frozen
class ToolCall:
    """One call the model asked for."""

    id: str | None
    """The host's id for the call (None where the host gives none, as Gemini may)."""
    name: str
    """The function name."""
    arguments: dict[str, Any] = field(factory=dict, converter=_frozen_dict)
    """The parsed arguments (`{}` when the model sent none)."""
    raw_arguments: str | None = None
    """The arguments text as sent, kept only when it was not a JSON object (then `arguments` is `{}`)."""


@frozen
class ToolCallDelta:
    """A piece of a streamed tool call; pieces with the same `index` form one call."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    """A fragment of the JSON arguments text."""


def _tuple(value: Sequence[Any] | None) -> tuple[Any, ...]:
    return tuple(value) if value else ()


# -- content parts (constructors and sniffing live in llmkit.parts) -------------------


@frozen
class Text:
    """A text part of a message."""

    text: str


_B = TypeVar("_B", bound="_Binary")


class _Binary:
    """What `Image`, `Audio` and `Document` share: the check on construction and the
    constructors from a file, bytes or a URL (`hints` are a kind's own fields, e.g. `detail`)."""

    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            data: bytes | None = None,
            url: str | None = None,
            media_type: str | None = None,
            filename: str | None = None,
            **hints: Any,
        ) -> None: ...

    def __attrs_post_init__(self) -> None:
        from llmkit.parts import check_media

        check_media(self)  # type: ignore[arg-type]  # always an Image, Audio or Document

    @classmethod
    def from_path(cls: type[_B], path: Any, *, media_type: str | None = None, **hints: Any) -> _B:
        """Read from a file (the media type sniffed from the bytes or the name when not given)."""
        from llmkit.parts import read_path

        data, name = read_path(path)
        return cls(data=data, media_type=media_type, filename=name, **hints)

    @classmethod
    def from_bytes(cls: type[_B], data: bytes, media_type: str | None = None, **hints: Any) -> _B:
        """From bytes (the media type sniffed from the magic bytes when not given)."""
        return cls(data=data, media_type=media_type, **hints)

    @classmethod
    def from_url(cls: type[_B], url: str, *, media_type: str | None = None, **hints: Any) -> _B:
        """At `url`: the host fetches it, or llmkit downloads it where the host will not."""
        return cls(url=url, media_type=media_type, **hints)


@frozen
class Image(_Binary):
    """An image: `data` bytes or a `url`; `media_type` is sniffed when not given."""

    data: bytes | None = field(default=None, repr=False)
    url: str | None = None
    media_type: str | None = None
    detail: str | None = None
    """OpenAI's resolution hint: `auto`, `low` or `high` (other hosts ignore it)."""
    filename: str | None = None


@frozen
class Audio(_Binary):
    """An audio clip: `data` bytes or a `url`; `media_type` is sniffed when not given."""

    data: bytes | None = field(default=None, repr=False)
    url: str | None = None
    media_type: str | None = None
    filename: str | None = None


@frozen
class Document(_Binary):
    """A document (PDF, plain text): `data` bytes or a `url`."""

    data: bytes | None = field(default=None, repr=False)
    url: str | None = None
    media_type: str | None = None
    filename: str | None = None

    @classmethod
    def from_text(cls, text: str, *, media_type: str = "text/plain") -> Document:
        """A plain-text document."""
        return cls(data=text.encode(), media_type=media_type)


@frozen
class FileRef:
    """A file uploaded beforehand to `provider`'s Files API (OpenAI `file-…`, Anthropic
    `file_…`, a Gemini file URI)."""

    file_id: str
    provider: str | None = None
    media_type: str | None = None


@frozen
class CachePoint:
    """A prompt-cache breakpoint after the part before it (Anthropic `cache_control`)."""

    ttl: str | None = None
    """`5m` (the default) or `1h`."""

    def __attrs_post_init__(self) -> None:
        if self.ttl not in (None, "5m", "1h"):
            from llmkit.errors import ConfigurationError

            raise ConfigurationError(f"CachePoint ttl must be '5m' or '1h', not {self.ttl!r}")


Part = Text | Image | Audio | Document | FileRef | CachePoint
"""One piece of a message's content."""
Content = str | tuple[Part, ...]
"""A message's content: plain text (the common case) or parts in order."""
PART_TYPES = (Text, Image, Audio, Document, FileRef, CachePoint)


def _content(value: str | Sequence[Any] | None) -> Content:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, PART_TYPES):
        return (value,)
    parts = tuple(Text(p) if isinstance(p, str) else p for p in value)
    for part in parts:
        if not isinstance(part, PART_TYPES):
            from llmkit.errors import ConfigurationError

            raise ConfigurationError(
                f"message content takes text and parts (Text, Image, Audio, Document, FileRef, "
                f"CachePoint), not {type(part).__name__}"
            )
    return parts


def text_of(content: Content) -> str:
    """The text of a message's content: the string, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    return "\n".join(p.text for p in content if isinstance(p, Text))


@frozen
class Message:
    """One turn of a conversation."""

    role: Role = field(converter=Role)
    content: Content = field(default="", converter=_content)
    """Plain text, or a tuple of parts (`Text`, `Image`, `Audio`, `Document`, `FileRef`,
    `CachePoint`) in order."""
    tool_calls: tuple[ToolCall, ...] = field(default=(), converter=_tuple)
    """Calls an assistant turn made."""
    tool_call_id: str | None = None
    """For a tool turn: the call it answers."""
    name: str | None = None
    """For a tool turn: the function's name (Gemini pairs results by name)."""
    reasoning: str | None = None
    """For an assistant turn: the reasoning the model showed, to send back where a host wants it."""
    provider_data: dict[str, Any] = field(factory=dict, converter=_frozen_dict)
    """Opaque data a host needs back verbatim (thinking signatures, reasoning_details),
    keyed by provider name, so it never travels to another host."""

    @property
    def text(self) -> str:
        """The message's text (its text parts joined by newlines when it has parts)."""
        return text_of(self.content)

    @property
    def parts(self) -> tuple[Part, ...]:
        """The content as parts (a plain string is one `Text` part; empty text none)."""
        if isinstance(self.content, str):
            return (Text(self.content),) if self.content else ()
        return self.content

    @classmethod
    def system(cls, text: str | Part, *parts: str | Part) -> Message:
        """A system prompt (text, or text and `CachePoint`s)."""
        return cls(Role.SYSTEM, _joined(text, parts))

    @classmethod
    def user(cls, text: str | Part, *parts: str | Part) -> Message:
        """A user turn: `Message.user("What is this?", Image.from_path("cat.png"))`."""
        return cls(Role.USER, _joined(text, parts))

    @classmethod
    def assistant(
        cls,
        text: str = "",
        *,
        tool_calls: Sequence[ToolCall] = (),
        reasoning: str | None = None,
        provider_data: Mapping[str, Any] | None = None,
    ) -> Message:
        """An assistant turn, as history."""
        return cls(
            Role.ASSISTANT,
            text,
            tool_calls=tuple(tool_calls),
            reasoning=reasoning,
            provider_data=dict(provider_data or {}),
        )

    @classmethod
    def tool(
        cls,
        result: str | Sequence[str | Part],
        *,
        tool_call_id: str | None,
        name: str | None = None,
    ) -> Message:
        """The result of a tool call, answering `tool_call_id`."""
        return cls(Role.TOOL, result, tool_call_id=tool_call_id, name=name)


def _joined(first: str | Part, rest: tuple[str | Part, ...]) -> Content:
    if not rest and isinstance(first, str):
        return first
    return _content((first, *rest))


Prompt = str | Message | Sequence[Message]
"""What `generate` and `stream` accept: a user's text, one message, or a whole conversation."""


def _stops(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


@frozen
class Request:
    """One request to a host, in llmkit's terms; `model` is the id that host knows."""

    model: str
    messages: tuple[Message, ...] = field(converter=_tuple)
    temperature: float | None = None
    max_tokens: int | None = None
    """The most output tokens; the codec names it as the host wants it."""
    top_p: float | None = None
    stop: tuple[str, ...] | None = field(default=None, converter=_stops)
    tools: tuple[ToolSpec, ...] = field(default=(), converter=_tuple)
    tool_choice: str | None = None
    """`auto`, `none`, `required`, or the name of one tool to force."""
    response_format: dict[str, Any] | None = None
    """`{"type": "json_object"}` or `{"type": "json_schema", "json_schema": {...}}`."""
    seed: int | None = None
    extra: dict[str, Any] = field(factory=dict, converter=_frozen_dict)
    """Host-specific body fields, passed through untouched (they win over llmkit's own)."""
    cache_tools: bool = False
    """Put a prompt-cache breakpoint after the tool definitions (Anthropic `cache_control`)."""


@frozen
class Usage:
    """Token counts a host reported; each None when the host did not say."""

    input_tokens: int | None = None
    """All prompt tokens, cached ones included."""
    output_tokens: int | None = None
    """All generated tokens, reasoning included."""
    reasoning_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None


@frozen
class Latency:
    """Client-side timings of one reply, in seconds."""

    first_token: float | None = None
    """From sending the request to the first content (text, reasoning or tool call)."""
    total: float | None = None
    """From sending the request to the end of the reply."""


@frozen
class Cost:
    """What a reply cost in USD."""

    total: float
    input: float = 0.0
    cached_input: float = 0.0
    cache_write: float = 0.0
    output: float = 0.0
    cache_saving: float = 0.0
    """What prompt caching saved against the full input price (negative while cache
    writes cost more than reads have saved); 0 without cache reads or writes."""
    source: str = "catalog"
    """`catalog` (computed from llmkit's prices) or `host` (the host reported it)."""


@frozen
class Response:
    """A complete reply."""

    text: str = ""
    reasoning: str | None = None
    refusal: str | None = None
    """The model's refusal to answer, where the host reports one apart from the text
    (OpenAI's `message.refusal`); a reply that is only a refusal ends with `content_filter`."""
    tool_calls: tuple[ToolCall, ...] = field(default=(), converter=_tuple)
    finish_reason: FinishReason = field(default=FinishReason.OTHER, converter=FinishReason)
    raw_finish_reason: str | None = None
    usage: Usage = field(factory=Usage)
    model: str | None = None
    """The model the host says answered."""
    provider: str | None = None
    id: str | None = None
    latency: Latency = field(factory=Latency)
    cost: Cost | None = None
    provider_data: dict[str, Any] = field(factory=dict, converter=_frozen_dict)
    """Opaque data to send back with this turn, keyed by provider name."""
    raw: Any = field(default=None, eq=False, repr=False)
    """The host's payload (a dict, or the list of stream chunks)."""
    cached: bool = False
    """Whether the reply came from a response cache (`llmkit.cache`): cost zero, usage as first."""
    output: Any = field(default=None, eq=False)
    """The validated typed answer of a call with `output=` (see docs/structured-output.md)."""
    messages: tuple[Message, ...] = field(default=(), converter=_tuple, eq=False, repr=False)
    """With `output=` or `run`: the whole conversation, this reply's turn included."""

    def to_message(self) -> Message:
        """This reply as an assistant turn to append to the conversation."""
        return Message(
            Role.ASSISTANT,
            self.text,
            tool_calls=self.tool_calls,
            reasoning=self.reasoning,
            provider_data=self.provider_data,
        )


@frozen
class StreamEvent:
    """One increment of a streamed reply; the last one carries usage and the finish reason."""

    text: str = ""
    reasoning: str = ""
    refusal: str | None = None
    """A piece of the model's refusal (OpenAI's `delta.refusal`)."""
    tool_call: ToolCallDelta | None = None
    finish_reason: FinishReason | None = None
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    cost: Cost | None = None
    """A cost the host itself reported (OpenRouter's `usage.cost`), on the event that carries it."""
    model: str | None = None
    id: str | None = None
    provider_data: dict[str, Any] = field(factory=dict, converter=_frozen_dict)
    raw: Any = field(default=None, eq=False, repr=False)
    partial_output: Any = field(default=None, eq=False)
    """With `output=`: the answer's JSON value so far (dicts and lists, not yet validated)."""

    @property
    def has_content(self) -> bool:
        """Whether the event carries text, reasoning, refusal or a tool-call piece, not only metadata."""
        return bool(self.text or self.reasoning or self.refusal or self.tool_call is not None)


def _vectors(value: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], ...]:
    """Vectors as tuples, copying only what is not a tuple already (10,000 vectors a call)."""
    if type(value) is tuple and all(type(v) is tuple for v in value):
        return value  # type: ignore[return-value]
    return tuple(v if type(v) is tuple else tuple(v) for v in value)


@frozen
class Embeddings:
    """Vectors for a list of inputs, one per input, in input order."""

    vectors: tuple[tuple[float, ...], ...] = field(converter=_vectors)
    """One vector per input (integers for int8/binary types, as the host sent them)."""
    model: str | None = None
    """The model the host says answered (the requested id when it names none)."""
    provider: str | None = None
    usage: Usage = field(factory=Usage)
    """`input_tokens` as the host reported them (None when it did not)."""
    cost: Cost | None = None
    cached: int = 0
    """How many of the vectors came from a response cache."""

    @property
    def dimensions(self) -> int | None:
        """The length of the vectors (None when there are none)."""
        return len(self.vectors[0]) if self.vectors else None

    def __len__(self) -> int:
        return len(self.vectors)

    def to_numpy(self) -> Any:
        """The vectors as a 2-D `numpy` array (float32 for float vectors); needs numpy."""
        from llmkit._imports import require

        numpy = require("numpy", extra="numpy")
        dtype = (
            "float32" if any(isinstance(x, float) for v in self.vectors[:1] for x in v) else None
        )
        return numpy.asarray(self.vectors, dtype=dtype)


_converter: Any = None


def _get_converter() -> Any:
    global _converter
    if _converter is None:  # cattrs is imported on first use: `import llmkit` stays light
        import cattrs

        conv = cattrs.Converter()
        conv.register_unstructure_hook(Response, _unstructure_response)
        from llmkit.parts import register_cattrs

        register_cattrs(conv)
        _converter = conv
    return _converter


def _unstructure_response(response: Response) -> dict[str, Any]:
    data = {
        a.name: _get_converter().unstructure(getattr(response, a.name))
        for a in attrs.fields(Response)
        if a.name != "raw"
    }
    return data


def to_dict(value: Any) -> Any:
    """Plain JSON-ready data for any llmkit value (`Response.raw` is left out)."""
    return _get_converter().unstructure(value)


def from_dict(data: Any, cls: type[Any]) -> Any:
    """Build an llmkit value of type `cls` from what `to_dict` made."""
    return _get_converter().structure(data, cls)
