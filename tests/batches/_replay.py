"""Replay `cassettes/batch/<host>.json` (real batch interactions) through `httpx2.MockTransport`.

`Replay(interactions)` answers each request with the first unused interaction of the same
method and URL (so repeated polls walk through the recorded states), records what was
sent, and fails loudly on a request the recording does not have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2

FIXTURES = Path(__file__).resolve().parents[2] / "cassettes" / "batch"


def recording(host: str, name_part: str) -> list[dict[str, Any]]:
    """The interactions of the recording of `host` whose name contains `name_part`."""
    document = json.loads((FIXTURES / f"{host}.json").read_text(encoding="utf-8"))
    for name, interactions in document["recordings"].items():
        if name_part in name:
            return [dict(i) for i in interactions]
    raise KeyError(f"no {host} recording matching {name_part!r}")


def body_bytes(interaction: dict[str, Any]) -> bytes:
    body = interaction["body"]
    if body is None:
        return b""
    if isinstance(body, dict) and set(body) == {"jsonl"}:
        return "".join(json.dumps(line) + "\n" for line in body["jsonl"]).encode()
    if isinstance(body, dict) and set(body) == {"text"}:
        return str(body["text"]).encode()
    return json.dumps(body).encode()


class Replay:
    """A MockTransport handler over recorded interactions."""

    def __init__(self, interactions: list[dict[str, Any]]) -> None:
        self.interactions = interactions
        self.used: set[int] = set()
        self.sent: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request)
        url = str(request.url)
        matches = [
            i
            for i, item in enumerate(self.interactions)
            if item["method"] == request.method and item["url"] == url
        ]
        unused = [i for i in matches if i not in self.used]
        if not matches:
            raise AssertionError(f"unrecorded request: {request.method} {url}")
        index = unused[0] if unused else matches[-1]  # past the recording: the last state holds
        self.used.add(index)
        item = self.interactions[index]
        headers = dict(item.get("headers") or {})
        headers.setdefault("content-type", "application/json")
        return httpx2.Response(item["status"], headers=headers, content=body_bytes(item))

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self))

    def json_sent(self, index: int) -> Any:
        return json.loads(self.sent[index].content)
