"""Voyage AI embeddings on the wire (`POST /v1/embeddings`): params and error bodies.

Voyage's reply is OpenAI-shaped (`openai_embeddings.parse_reply` reads it,
with the requested `output_dtype` deciding how base64 decodes); its request
names differ (`input_type`, `output_dimension`, `output_dtype`, `truncation`)
and its errors are FastAPI's `{"detail": "..."}`.
https://docs.voyageai.com/reference/embeddings-api
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.errors import LLMError
from llmkit.providers._codecs import openai_embeddings
from llmkit.providers._codecs._errors_common import excerpt
from llmkit.types import Embeddings

__all__ = ["error_from_body", "parse_reply", "to_params"]


def to_params(
    inputs: Sequence[str],
    *,
    model: str,
    kind: str | None = None,
    dimensions: int | None = None,
    output_dtype: str | None = None,
    truncation: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body for `inputs`; base64 vectors (a third of the JSON's size)."""
    body: dict[str, Any] = {
        "input": list(inputs),
        "model": model,
        "encoding_format": "base64",
        "truncation": truncation,
    }
    if kind is not None:
        body["input_type"] = kind  # "query" or "document", as llmkit names them
    if dimensions is not None:
        body["output_dimension"] = dimensions
    if output_dtype is not None:
        body["output_dtype"] = output_dtype
    body.update(extra or {})
    return body


def parse_reply(
    body: Mapping[str, Any],
    *,
    provider: str = "voyage",
    model: str | None = None,
    output_dtype: str | None = None,
) -> Embeddings:
    """`Embeddings` from Voyage's reply (usage is `total_tokens`)."""
    return openai_embeddings.parse_reply(body, provider=provider, model=model, dtype=output_dtype)


def error_from_body(
    status: int,
    body: object,
    headers: Any = None,
    *,
    provider: str = "voyage",
    model: str | None = None,
) -> LLMError:
    """The llmkit error for a Voyage error reply (`{"detail": "..."}`)."""
    if isinstance(body, Mapping) and isinstance(body.get("detail"), str):
        body = {"error": {"message": body["detail"]}}
    elif not isinstance(body, Mapping):
        body = {"error": {"message": excerpt(body)}} if body else body
    return openai_embeddings.error_from_body(status, body, headers, provider=provider, model=model)
