"""A plain (non-stream) request whose caller hangs up is cancelled upstream: the key's
lease comes back at once, the prompt is counted, the metrics say 499 ClientDisconnected.
Over a real uvicorn, against a loopback host that takes 3 s to answer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("starlette")

from tests.server.harness import Gateway, Upstream

SLOW = 3.0


def slow_model(body: dict[str, Any]) -> None:
    if body.get("model") == "slow-model":
        time.sleep(SLOW)  # the host is generating a long reply
    return None


def config(upstream: Upstream) -> str:
    return f"""
providers:
  up: {{type: openai_compatible, base_url: "{upstream.url}", api_key: "${{UP_KEY:-up}}", retry: {{max_attempts: 1}}}}
server:
  keys:
    one-at-a-time:
      key: sk-one-secret
      rate_limit: {{concurrency: 1}}
"""


def chat(url: str, model: str, timeout: float) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        headers={"authorization": "Bearer sk-one-secret"},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        timeout=timeout,
    )


def test_a_caller_that_hangs_up_cancels_the_plain_request(tmp_path: Path) -> None:
    with Upstream(slow_model) as up, Gateway(config(up), tmp=tmp_path) as gw:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            chat(gw.url, "up/slow-model", timeout=0.5)  # gives up, closes the connection
        metrics = ""
        while time.monotonic() - started < SLOW - 0.5:
            metrics = httpx.get(
                gw.url + "/metrics", headers={"authorization": "Bearer sk-one-secret"}
            ).text
            if 'status="499"' in metrics:
                break
            time.sleep(0.02)
        assert 'status="499"' in metrics, "the gateway did not notice the caller leaving"
        assert 'error="ClientDisconnected"' in metrics
        # the key's only slot is free again while the host would still be busy: not a 429
        second = chat(gw.url, "deepseek@fake", timeout=10)
        assert second.status_code == 200, second.text
        assert time.monotonic() - started < SLOW
        assert len(up.bodies) == 1
