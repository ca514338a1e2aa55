"""OpenAI-style embeddings on the wire (`POST …/embeddings`): params, replies, vectors.

Pure functions over JSON; no I/O. Shared by OpenAI, Azure OpenAI, Mistral,
OpenRouter, any OpenAI-compatible server, and (with its own parameter names,
`voyage_embed`) Voyage. A vector sent as a string is base64: little-endian
float32 unless the request asked for another type (`output_dtype`,
`base64_int8`), or the host sends another by default (Perplexity: signed int8).
"""

from __future__ import annotations

import binascii
import sys
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from llmkit.errors import InvalidResponseError
from llmkit.providers._codecs.openai_chat_errors import error_from_body
from llmkit.types import Embeddings, Usage

__all__ = [
    "DTYPES",
    "Dtype",
    "decode_vector",
    "error_from_body",
    "kind_prefix",
    "parse_reply",
    "to_params",
]

Dtype = Literal["float", "int8", "uint8", "binary", "ubinary"]
DTYPES: dict[str, str] = {"float": "f", "int8": "b", "uint8": "B", "binary": "b", "ubinary": "B"}
"""`array` type codes for each vector type (binary types stay packed: one int per byte)."""

DEFAULT_DTYPE: dict[str, Dtype] = {"perplexity": "int8"}
"""Hosts whose base64 vectors are not float32 by default (https://docs.perplexity.ai)."""


KIND_PREFIXES: dict[str, tuple[str, str]] = {
    # https://huggingface.co/nomic-ai/nomic-embed-text-v1.5#usage
    "nomic-embed": ("search_query: ", "search_document: "),
    # https://huggingface.co/intfloat/e5-large-v2#faq
    "e5-": ("query: ", "passage: "),
    # https://huggingface.co/BAAI/bge-large-en-v1.5#using-huggingface-transformers
    "bge-": ("Represent this sentence for searching relevant passages: ", ""),
}
"""Models with no input-type parameter that want the kind as a text prefix (query, document)."""


def kind_prefix(model: str, kind: str | None) -> str:
    """The prefix `model` wants on inputs of `kind` ("" when it wants none)."""
    if kind is None:
        return ""
    name = model.lower()
    for fragment, (query, document) in KIND_PREFIXES.items():
        if fragment in name:
            return query if kind == "query" else document
    return ""


def to_params(
    inputs: Sequence[str],
    *,
    model: str,
    dimensions: int | None = None,
    encoding_format: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of `POST /embeddings` for `inputs` (always a list: one vector per input)."""
    body: dict[str, Any] = {"model": model, "input": list(inputs)}
    if dimensions is not None:
        body["dimensions"] = dimensions
    if encoding_format is not None:
        body["encoding_format"] = encoding_format
    body.update(extra or {})
    return body


def decode_vector(value: Any, *, dtype: str = "float", provider: str = "") -> Sequence[Any]:
    """A vector as numbers: a JSON list as it is, a base64 string decoded as `dtype`."""
    if isinstance(value, str):
        try:
            numbers = array(DTYPES.get(dtype, "f"), binascii.a2b_base64(value))
        except (ValueError, binascii.Error) as exc:
            raise InvalidResponseError(
                f"{provider} sent a base64 embedding that does not decode as {dtype}: {exc}",
                provider=provider,
            ) from exc
        if _SWAP and numbers.itemsize > 1:
            numbers.byteswap()  # the wire is little-endian
        return tuple(numbers.tolist())  # `tolist` is C; tuple(array) would iterate in Python
    if isinstance(value, list):
        return value
    raise InvalidResponseError(
        f"{provider} sent an embedding that is neither a list nor base64: {str(value)[:80]!r}",
        provider=provider,
    )


_SWAP = sys.byteorder == "big"


def parse_reply(
    body: Mapping[str, Any],
    *,
    provider: str,
    model: str | None = None,
    dtype: str | None = None,
) -> Embeddings:
    """`Embeddings` from an OpenAI-style reply: `data[*].embedding` ordered by `index`.

    Args:
        body: the parsed JSON reply.
        provider: the provider's name (it picks the default base64 type).
        model: the requested model, used when the reply names none.
        dtype: the vector type the request asked for (default: the host's).
    """
    data = body.get("data")
    if not isinstance(data, list):
        raise InvalidResponseError(
            f"{provider} sent an embeddings reply without `data`: {str(body)[:200]!r}",
            provider=provider,
            model=model,
        )
    kind = dtype or DEFAULT_DTYPE.get(provider, "float")
    vectors = [decode_vector(i.get("embedding"), dtype=kind, provider=provider) for i in data]
    order = [item.get("index") for item in data]
    if order != list(range(len(order))) and all(isinstance(i, int) for i in order):
        vectors = [v for _, v in sorted(zip(order, vectors, strict=True), key=lambda p: p[0])]
    usage = body.get("usage") or {}
    tokens = usage.get("prompt_tokens")
    if tokens is None:
        tokens = usage.get("total_tokens")  # Voyage reports only total_tokens
    return Embeddings(
        vectors,
        model=body.get("model") or model,
        provider=provider,
        usage=Usage(input_tokens=tokens if isinstance(tokens, int) else None),
    )
