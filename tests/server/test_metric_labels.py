"""Metric labels stay bounded: a model name the caller made up is never a label."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytest.importorskip("starlette")

from tests.server.harness import Gateway, Upstream

KEYED = """
providers:
  up: {{type: openai_compatible, base_url: "{url}", api_key: "${{UP_KEY:-up-secret}}"}}
server:
  keys:
    team-a: {{key: "sk-team-a-value"}}
"""


def _chat(gateway: Gateway, model: str) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": "Bearer sk-team-a-value"},
        timeout=20,
    )


def test_made_up_model_names_never_become_metric_labels(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(KEYED.format(url=up.url), tmp=tmp_path) as gw:
        for i in range(3):
            assert _chat(gw, model=f"made-up-{i}/x").status_code == 404
        metrics = httpx.get(
            gw.url + "/metrics", headers={"authorization": "Bearer sk-team-a-value"}, timeout=10
        ).text
    assert "made-up" not in metrics
    assert 'model="-"' in metrics and 'status="404"' in metrics
