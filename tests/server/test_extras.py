"""Embeddings, tokenize and Prometheus metrics through a real uvicorn."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import httpx
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")

from tests.server.harness import Gateway, Upstream  # noqa: E402


def sdk(gw: Gateway, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0, timeout=20)


def test_embeddings_on_fake_and_upstream(tmp_path: Path) -> None:
    config = """
providers:
  up: {type: openai, base_url: "%s", api_key: "${UP_KEY:-k}"}
"""
    with Upstream() as up, Gateway(config % up.url, tmp=tmp_path) as gw:
        reply = sdk(gw).embeddings.create(model="fake", input=["one", "two words"])
        assert [d.index for d in reply.data] == [0, 1]
        assert (
            len(reply.data[0].embedding) == 16
            and reply.data[0].embedding != reply.data[1].embedding
        )
        assert reply.usage.prompt_tokens > 0
        # the SDK asks for base64 by default when numpy is around; both come back the same
        raw = httpx.post(
            gw.url + "/v1/embeddings",
            json={"model": "fake", "input": "one", "encoding_format": "base64"},
        ).json()
        decoded = struct.unpack("<16f", base64.b64decode(raw["data"][0]["embedding"]))
        assert list(decoded) == pytest.approx(reply.data[0].embedding, rel=1e-6)
        # provider/model-id over the loopback host
        reply = sdk(gw).embeddings.create(model="up/text-embedding-3-small", input=["abc", "hello"])
        assert [d.embedding for d in reply.data] == [[0.5, 3.0], [0.5, 5.0]]
        assert up.bodies[-1]["model"] == "text-embedding-3-small"
        assert up.bodies[-1]["input"] == ["abc", "hello"]
        with pytest.raises(openai.NotFoundError):
            sdk(gw).embeddings.create(model="nowhere", input="x")
        bad = httpx.post(gw.url + "/v1/embeddings", json={"model": "fake", "input": ["a", 3]})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "input[1]"


def test_tokenize_counts_and_says_how() -> None:
    with Gateway() as gw:
        short = httpx.post(
            gw.url + "/v1/tokenize", json={"model": "deepseek@fake", "input": "hello"}
        ).json()
        long = httpx.post(
            gw.url + "/v1/tokenize", json={"model": "deepseek@fake", "input": "hello " * 200}
        ).json()
        assert short["tokens"] >= 1 and long["tokens"] > 50 * short["tokens"]
        assert isinstance(long["exact"], bool) and long["method"]
        chat = httpx.post(
            gw.url + "/v1/tokenize",
            json={"model": "deepseek@fake", "messages": [{"role": "user", "content": "hello"}]},
        ).json()
        assert chat["tokens"] > short["tokens"]  # the chat template's overhead


def test_metrics_by_model_and_key_name(tmp_path: Path) -> None:
    config = """
server:
  keys:
    team-a: {key: "${TEAM_A:-sk-a-secret}"}
"""
    with Gateway(config, tmp=tmp_path) as gw:
        client = sdk(gw, "sk-a-secret")
        client.chat.completions.create(
            model="deepseek@fake", messages=[{"role": "user", "content": "one two"}]
        )
        list(
            client.chat.completions.create(
                model="deepseek@fake", messages=[{"role": "user", "content": "x"}], stream=True
            )
        )
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="nope", messages=[{"role": "user", "content": "x"}]
            )
        text = httpx.get(gw.url + "/metrics", headers={"authorization": "Bearer sk-a-secret"}).text
        ok = 'endpoint="chat",key="team-a",model="deepseek@fake",provider="fake",status="200"'
        assert f"llmkit_gateway_requests_total{{{ok}}} 2.0" in text
        assert 'error="GatewayError"' not in text and 'error="model_not_found"' in text
        assert 'direction="output"' in text
        assert "llmkit_gateway_time_to_first_token_seconds_count" in text
        assert 'llmkit_gateway_streams_in_flight{key="team-a",model="deepseek@fake"} 0.0' in text
        assert "sk-a-secret" not in text
