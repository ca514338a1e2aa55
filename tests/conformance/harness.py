"""Shared pieces of the conformance tests: load `../shared/conformance` cases, serve
their recorded responses through a `MockTransport`, and normalise llmkit's results
to the corpus's `expect` shape (see the corpus README)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.types import Response

CORPUS = Path(
    os.environ.get(
        "LLMKIT_CONFORMANCE", Path(__file__).resolve().parents[3] / "shared" / "conformance"
    )
)
CASES_DIR = CORPUS / "cases"

ERROR_KINDS: dict[type[errors.LLMError], str] = {
    errors.ContextLengthExceededError: "context_length",
    errors.InvalidRequestError: "bad_request",
    errors.AuthenticationError: "auth",
    errors.PermissionDeniedError: "permission",
    errors.NotFoundError: "not_found",
    errors.RateLimitError: "rate_limit",
    errors.OverloadedError: "overloaded",
    errors.APITimeoutError: "timeout",
    errors.ServerError: "server",
}


def case_files(api: str) -> list[Path]:
    """The case files of one wire API, or a single skip marker when the corpus is absent."""
    if not CASES_DIR.is_dir():
        return []
    return sorted(CASES_DIR.glob(f"{api}__*.json"))


def params(api: str) -> list[Any]:
    """pytest parameters for every case of `api` (a skipped one when the corpus is absent)."""
    files = case_files(api)
    if not files:
        return [
            pytest.param(
                None, marks=pytest.mark.skip(reason=f"no conformance corpus at {CASES_DIR}")
            )
        ]
    return [pytest.param(path, id=path.stem) for path in files]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _chunks(body: bytes, size: int | None) -> Iterator[bytes]:
    if not size:
        yield body
        return
    for i in range(0, len(body), size):
        yield body[i : i + size]


def handler(case: dict[str, Any], chunk_size: int | None = None, *, check_path: bool = True) -> Any:
    """A request handler serving the case's recorded response (streams cut in `chunk_size`)."""
    want = httpx2.URL(case["request"]["url"])
    resp = case["response"]

    def serve(request: Any) -> Any:
        assert request.method == case["request"]["method"]
        if check_path:
            assert request.url.path == want.path, (request.url.path, want.path)
        body = resp["body"].encode("utf-8")
        module = httpx2 if isinstance(request, httpx2.Request) else _httpx()
        return module.Response(
            resp["status"],
            headers=resp["headers"],
            content=_AsyncBytes(list(_chunks(body, chunk_size))),
        )

    return serve


def _httpx() -> Any:
    import httpx

    return httpx


class _AsyncBytes:
    """Async byte chunks for a mock response body (a stream, as the network gives it)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> Any:
        for chunk in self._chunks:
            yield chunk


def httpx2_client(case: dict[str, Any], chunk_size: int | None = None) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler(case, chunk_size)))


def httpx_client(case: dict[str, Any], chunk_size: int | None = None) -> Any:
    httpx = _httpx()
    return httpx.AsyncClient(transport=httpx.MockTransport(handler(case, chunk_size)))


def base_url(case: dict[str, Any], suffix: str) -> str:
    """The request URL without its query and the endpoint `suffix`."""
    url = case["request"]["url"].split("?")[0]
    assert url.endswith(suffix), (url, suffix)
    return url[: -len(suffix)]


def normalise(response: Response) -> dict[str, Any]:
    """A response in the corpus's `expect` shape."""
    return {
        "text": response.text,
        "reasoning": response.reasoning or None,
        "tool_calls": [
            {
                "id": c.id,
                "name": c.name,
                "arguments": c.raw_arguments if c.raw_arguments is not None else c.arguments,
            }
            for c in response.tool_calls
        ],
        "finish_reason": str(response.finish_reason),
        "raw_finish_reason": response.raw_finish_reason,
        "usage": {
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
        },
        "model": response.model,
        "error": None,
    }


def error_kind(error: errors.LLMError) -> str:
    for cls in type(error).__mro__:
        if cls in ERROR_KINDS:
            return ERROR_KINDS[cls]  # type: ignore[index]
    return "other"


def normalise_error(error: errors.LLMError) -> dict[str, Any]:
    """An error in the corpus's `expect` shape; a partial reply (mid-stream errors) is kept."""
    if error.partial is not None:
        result = normalise(error.partial)
    else:
        result = {
            "text": "",
            "reasoning": None,
            "tool_calls": [],
            "finish_reason": "error",
            "raw_finish_reason": None,
            "usage": {"input_tokens": None, "output_tokens": None},
            "model": None,
        }
    result["finish_reason"] = "error"
    result["error"] = {
        "status": error.status_code,
        "kind": error_kind(error),
        "message": error.message,
    }
    return result
