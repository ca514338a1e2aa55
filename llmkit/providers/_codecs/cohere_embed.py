"""Cohere embeddings on the wire (`POST /v2/embed`): params and replies.

`kind` maps to `input_type` (`search_query` / `search_document`), `dimensions`
to `output_dimension`. Vectors come under `embeddings.float` (or the first
type asked for in `embedding_types`; a v1 reply may be a plain list).
https://docs.cohere.com/reference/embed
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.errors import InvalidResponseError
from llmkit.providers._codecs.cohere_chat import error_from_body
from llmkit.providers._codecs.openai_embeddings import decode_vector
from llmkit.types import Embeddings, Usage

__all__ = ["INPUT_TYPES", "error_from_body", "parse_reply", "to_params"]

INPUT_TYPES = {"query": "search_query", "document": "search_document"}


def to_params(
    inputs: Sequence[str],
    *,
    model: str,
    kind: str | None = None,
    dimensions: int | None = None,
    truncate: str = "NONE",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `/v2/embed` body; v2 requires an input type, `search_document` when none is given."""
    body: dict[str, Any] = {
        "model": model,
        "texts": list(inputs),
        "input_type": INPUT_TYPES[kind or "document"],
        "embedding_types": ["float"],
        "truncate": truncate,
    }
    if dimensions is not None:
        body["output_dimension"] = dimensions
    body.update(extra or {})
    return body


def parse_reply(
    body: Mapping[str, Any],
    *,
    provider: str = "cohere",
    model: str,
    embedding_types: Sequence[str] = ("float",),
) -> Embeddings:
    """`Embeddings` from a `/v2/embed` (or `/v1/embed`) reply; Cohere names no model."""
    found = body.get("embeddings")
    if isinstance(found, Mapping):
        key = (
            "float" if "float" in found else next((t for t in embedding_types if t in found), None)
        )
        found = found.get(key) if key is not None else None
        dtype = key or "float"
    else:
        dtype = "float"
    if not isinstance(found, list):
        raise InvalidResponseError(
            f"{provider} sent an embed reply without vectors: {str(body)[:200]!r}",
            provider=provider,
            model=model,
        )
    tokens = ((body.get("meta") or {}).get("billed_units") or {}).get("input_tokens")
    return Embeddings(
        [decode_vector(v, dtype=dtype, provider=provider) for v in found],
        model=model,
        provider=provider,
        usage=Usage(input_tokens=int(tokens) if isinstance(tokens, int | float) else None),
    )
