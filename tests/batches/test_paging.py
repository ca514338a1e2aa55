"""Batch listings served in pages: `collect_pages`, and two hosts' cursors over MockTransport
(Anthropic's `after_id`, Mistral's page numbers)."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from llmkit.batches._http import collect_pages
from llmkit.providers import AnthropicProvider, MistralProvider


async def test_collect_pages_follows_the_cursor_and_stops_at_the_limit() -> None:
    calls: list[tuple[Any, int]] = []
    pages = {None: ([1, 2], "b"), "b": ([3, 4], "c"), "c": ([5], None)}

    async def fetch(cursor: Any, wanted: int) -> tuple[list[int], Any]:
        calls.append((cursor, wanted))
        return pages[cursor]

    assert await collect_pages(fetch, 10) == [1, 2, 3, 4, 5]
    assert calls == [(None, 10), ("b", 8), ("c", 6)]
    calls.clear()
    assert await collect_pages(fetch, 3) == [1, 2, 3]
    assert calls == [(None, 3), ("b", 1)]  # no third page once the limit is reached


def _batch(i: int) -> dict[str, Any]:
    return {"id": f"msgbatch_{i}", "type": "message_batch", "processing_status": "ended",
            "request_counts": {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0,
                               "expired": 0},
            "created_at": "2026-12-01T00:00:00Z", "expires_at": "2026-12-02T00:00:00Z"}  # fmt: skip


async def test_anthropic_list_batches_pages_by_after_id() -> None:
    seen: list[dict[str, str]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        query = dict(request.url.params)
        seen.append(query)
        if "after_id" not in query:
            body = {"data": [_batch(1), _batch(2)], "has_more": True, "last_id": "msgbatch_2"}
        else:
            body = {"data": [_batch(3)], "has_more": False, "last_id": "msgbatch_3"}
        return httpx2.Response(200, content=json.dumps(body).encode())

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    host = AnthropicProvider(api_key="k", retry=None, http_client=client)
    listed = await host.list_batches(limit=10)
    assert [s.id for s in listed] == ["msgbatch_1", "msgbatch_2", "msgbatch_3"]
    assert seen == [{"limit": "10"}, {"limit": "8", "after_id": "msgbatch_2"}]


async def test_mistral_list_batches_pages_by_number() -> None:
    pages: list[str] = []

    def job(i: int) -> dict[str, Any]:
        return {"id": f"job_{i}", "object": "batch", "status": "SUCCESS", "model": "m",
                "total_requests": 1, "succeeded_requests": 1, "failed_requests": 0,
                "created_at": 1764633600}  # fmt: skip

    def answer(request: httpx2.Request) -> httpx2.Response:
        page = int(request.url.params["page"])
        pages.append(str(page))
        data = [job(i) for i in range(page * 100, page * 100 + (100 if page == 0 else 3))]
        return httpx2.Response(200, content=json.dumps({"data": data, "total": 103}).encode())

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    host = MistralProvider(api_key="k", retry=None, http_client=client)
    listed = await host.list_batches(limit=500)
    assert len(listed) == 103 and listed[-1].id == "job_102"
    assert pages == ["0", "1"]
