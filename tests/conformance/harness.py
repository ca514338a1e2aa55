"""Shared pieces of the conformance tests: load `../shared/conformance` cases, serve
their recorded responses through a `MockTransport`, and normalise llmkit's results
to the corpus's `expect` shape (see the corpus README)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
    """The case files of one wire API (none when the corpus is absent)."""
    if not CASES_DIR.is_dir():
        return []
    return sorted(CASES_DIR.glob(f"{api}__*.json"))


def missing_reason(api: str) -> str:
    """Why `api` has no case to run: the corpus is absent, or holds none of that API yet."""
    if not CASES_DIR.is_dir():
        return (
            f"no conformance corpus at {CASES_DIR} (clone ../shared beside the checkout "
            "or set LLMKIT_CONFORMANCE to its path)"
        )
    return f"the conformance corpus at {CORPUS} has no {api} case yet"


@dataclass(frozen=True)
class Mode:
    """How one case is replayed: the body whole or cut in `chunk_size`-byte pieces, through
    which kind of caller client (`httpx2` or `httpx`), and by which sender (`httpx2`: llmkit
    sends; `sdk`: the vendor SDK sends, the codec reads)."""

    chunk_size: int | None = None
    client: str = "httpx2"
    sender: str = "httpx2"

    @property
    def id(self) -> str:
        parts = ["whole" if self.chunk_size is None else str(self.chunk_size)]
        parts += [p for p in (self.client, self.sender) if p != "httpx2"]
        return "-".join(parts)


#: The argument names every conformance test parametrizes over: `(path, mode)`.
ARGS = ("path", "mode")
#: The default modes: every case whole, and streamed cases also cut in 7-byte pieces.
DEFAULT_MODES = (Mode(), Mode(7))


def cases(api: str, modes: Iterable[Mode] = DEFAULT_MODES) -> list[Any]:
    """pytest parameters (`ARGS`) for every case of `api` in every mode.

    A mode with a `chunk_size` applies to streamed cases only (a whole body is one
    piece). With no case to run, a single parameter skipped with the reason (see
    `missing_reason`), so collection never fails and `-rs` shows why.
    """
    files = case_files(api)
    if not files:
        skip = pytest.mark.skip(reason=missing_reason(api))
        return [pytest.param(None, None, marks=skip, id="no-corpus")]
    out = []
    for path in files:
        streamed = load(path)["stream"]
        for mode in modes:
            if mode.chunk_size and not streamed:
                continue
            out.append(pytest.param(path, mode, id=f"{path.stem}-{mode.id}"))
    return out


def params(api: str) -> list[Any]:
    """pytest parameters (one value: the path) for every case of `api`; see `cases`."""
    files = case_files(api)
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=missing_reason(api)))]
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


def client(case: dict[str, Any], mode: Mode, sent: list[Any] | None = None) -> Any:
    """A caller client of `mode.client`'s kind serving the case in `mode`; each request's
    JSON body is appended to `sent` when given."""
    serve = handler(case, mode.chunk_size)

    def record(request: Any) -> Any:
        if sent is not None:
            sent.append(json.loads(request.content) if request.content else None)
        return serve(request)

    if mode.client == "httpx":
        httpx = _httpx()
        return httpx.AsyncClient(transport=httpx.MockTransport(record))
    return httpx2.AsyncClient(transport=httpx2.MockTransport(record))


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
