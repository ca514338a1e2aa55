"""Ollama's native embeddings on the wire (`POST /api/embed`): params and replies.

`input` takes a list; `dimensions` shortens where the model can; the reply
holds `embeddings`, `model` and `prompt_eval_count`.
https://github.com/ollama/ollama/blob/main/docs/api.md#generate-embeddings
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.errors import InvalidResponseError
from llmkit.providers._codecs.ollama_chat import error_from_body
from llmkit.types import Embeddings, Usage

__all__ = ["error_from_body", "parse_reply", "to_params"]


def to_params(
    inputs: Sequence[str],
    *,
    model: str,
    dimensions: int | None = None,
    truncate: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `/api/embed` body; `truncate` off, so an input too long fails instead of shrinking."""
    body: dict[str, Any] = {"model": model, "input": list(inputs), "truncate": truncate}
    if dimensions is not None:
        body["dimensions"] = dimensions
    body.update(extra or {})
    return body


def parse_reply(body: Mapping[str, Any], *, provider: str = "ollama", model: str) -> Embeddings:
    """`Embeddings` from an `/api/embed` reply."""
    vectors = body.get("embeddings")
    if not isinstance(vectors, list):
        raise InvalidResponseError(
            f"{provider} sent an embed reply without `embeddings`: {str(body)[:200]!r}",
            provider=provider,
            model=model,
        )
    tokens = body.get("prompt_eval_count")
    return Embeddings(
        vectors,
        model=body.get("model") or model,
        provider=provider,
        usage=Usage(input_tokens=tokens if isinstance(tokens, int) else None),
    )
