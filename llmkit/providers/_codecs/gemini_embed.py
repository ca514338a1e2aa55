"""Gemini embeddings on the wire: `models/*:batchEmbedContents` bodies and replies.

One request per input (its text in one part); `kind` becomes the task type
(`RETRIEVAL_QUERY` / `RETRIEVAL_DOCUMENT`), except on `gemini-embedding-2`,
which takes no task type and wants the task as a text prefix instead
(`task: search result | query: …`, `title: none | text: …`):
https://ai.google.dev/gemini-api/docs/embeddings . Every caller recorded in
the corpus used `batchEmbedContents`, for one input too, so llmkit does the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmkit.errors import InvalidResponseError
from llmkit.providers._codecs.gemini_generate import error_from_body, model_path
from llmkit.types import Embeddings, Usage

__all__ = ["TASK_TYPES", "error_from_body", "parse_reply", "prefixed", "to_params"]

TASK_TYPES = {"query": "RETRIEVAL_QUERY", "document": "RETRIEVAL_DOCUMENT"}
_PREFIXES = {"query": "task: search result | query: {}", "document": "title: none | text: {}"}


def takes_prefix(model: str) -> bool:
    """Whether the model wants the task as a text prefix rather than a `taskType`."""
    return model.removeprefix("models/").startswith("gemini-embedding-2")


def prefixed(text: str, kind: str | None, model: str) -> str:
    """`text` with the task prefix `model` wants for `kind` (unchanged for other models)."""
    if kind is None or not takes_prefix(model):
        return text
    return _PREFIXES[kind].format(text)


def to_params(
    inputs: Sequence[str],
    *,
    model: str,
    kind: str | None = None,
    dimensions: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The `batchEmbedContents` body: one request per input."""
    name = model_path(model)
    requests = []
    for text in inputs:
        item: dict[str, Any] = {
            "model": name,
            "content": {"parts": [{"text": prefixed(text, kind, model)}]},
        }
        if kind is not None and not takes_prefix(model):
            item["taskType"] = TASK_TYPES[kind]
        if dimensions is not None:
            item["outputDimensionality"] = dimensions
        item.update(extra or {})
        requests.append(item)
    return {"requests": requests}


def parse_reply(body: Mapping[str, Any], *, provider: str = "gemini", model: str) -> Embeddings:
    """`Embeddings` from a `batchEmbedContents` (or `embedContent`) reply; Gemini names no model."""
    items = body.get("embeddings")
    if items is None and isinstance(body.get("embedding"), Mapping):
        items = [body["embedding"]]
    if not isinstance(items, list):
        raise InvalidResponseError(
            f"{provider} sent an embeddings reply without `embeddings`: {str(body)[:200]!r}",
            provider=provider,
            model=model,
        )
    tokens = (body.get("usageMetadata") or {}).get("promptTokenCount")
    return Embeddings(
        [item.get("values") or [] for item in items],
        model=model.removeprefix("models/"),
        provider=provider,
        usage=Usage(input_tokens=tokens if isinstance(tokens, int) else None),
    )
