"""Abuse limits (body size, message count, bad JSON), CORS, and minting keys at `/keys`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")

from tests.server.harness import Gateway  # noqa: E402

MASTER = "sk-master-test-secret"


def test_body_size_and_message_caps(tmp_path: Path) -> None:
    config = "server:\n  max_body_bytes: 2000\n  max_messages: 3\n"
    with Gateway(config, tmp=tmp_path) as gw:
        url = gw.url + "/v1/chat/completions"
        big = {"model": "deepseek@fake", "messages": [{"role": "user", "content": "x" * 5000}]}
        reply = httpx.post(url, json=big)
        assert reply.status_code == 413 and reply.json()["error"]["code"] == "request_too_large"

        def chunks():  # no content-length: the cap holds while reading
            yield b'{"model": "deepseek@fake", "messages": ['
            for _ in range(100):
                yield b'{"role": "user", "content": "' + b"y" * 100 + b'"},'
            yield b"]}"

        reply = httpx.post(url, content=chunks())
        assert reply.status_code == 413
        many = {"model": "deepseek@fake", "messages": [{"role": "user", "content": "x"}] * 4}
        reply = httpx.post(url, json=many)
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "messages"
        nested = {
            "model": "deepseek@fake",
            "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}],
        }
        reply = httpx.post(url, json=nested)
        assert reply.json()["error"]["param"] == "messages[0].content[0].text"
        for body, param in (
            (
                {
                    "model": "deepseek@fake",
                    "messages": [{"role": "user", "content": "x"}],
                    "temperature": 9,
                },
                "temperature",
            ),
            (
                {
                    "model": "deepseek@fake",
                    "messages": [{"role": "user", "content": "x"}],
                    "bogus": 1,
                },
                "bogus",
            ),
            ({"messages": []}, "model"),
            ([1, 2], None),
        ):
            reply = httpx.post(url, json=body)
            assert reply.status_code == 400, body
            assert reply.json()["error"]["param"] == param


def test_cors_is_off_by_default_and_configurable(tmp_path: Path) -> None:
    preflight = {
        "origin": "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
    }
    with Gateway() as gw:
        reply = httpx.options(gw.url + "/v1/chat/completions", headers=preflight)
        assert "access-control-allow-origin" not in reply.headers
    config = 'server:\n  cors_origins: ["https://app.example"]\n'
    with Gateway(config, tmp=tmp_path) as gw:
        reply = httpx.options(gw.url + "/v1/chat/completions", headers=preflight)
        assert reply.headers["access-control-allow-origin"] == "https://app.example"
        other = httpx.options(
            gw.url + "/v1/chat/completions", headers={**preflight, "origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_mint_list_use_and_revoke(tmp_path: Path, store: str) -> None:
    database = tmp_path / "keys.db"
    config = 'server:\n  master_key: "${MASTER}"\n'
    if store == "sqlite":
        config += f"  key_store: {database}\n"
    with Gateway(config, tmp=tmp_path, env={"MASTER": MASTER}) as gw:
        master = {"authorization": f"Bearer {MASTER}"}
        # only the master key may mint
        assert httpx.post(gw.url + "/keys", json={"name": "x"}).status_code == 401
        body = {
            "name": "ci-bot",
            "models": ["deepseek@fake"],
            "rate_limit": {"requests_per_minute": 100},
            "metadata": {"team": "ci"},
        }
        minted = httpx.post(gw.url + "/keys", headers=master, json=body)
        assert minted.status_code == 201
        token = minted.json()["key"]
        assert minted.json()["metadata"] == {"team": "ci"}
        again = httpx.post(gw.url + "/keys", headers=master, json=body)
        assert again.status_code == 400 and again.json()["error"]["param"] == "name"
        bad = httpx.post(
            gw.url + "/keys", headers=master, json={"name": "b", "budget": {"limit_usd": -1}}
        )
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "budget.limit_usd"

        client = openai.OpenAI(base_url=gw.url + "/v1", api_key=token, max_retries=0, timeout=20)
        reply = client.chat.completions.create(
            model="deepseek@fake", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(
                model="claude@fake", messages=[{"role": "user", "content": "hi"}]
            )
        listed = httpx.get(gw.url + "/keys", headers=master).json()["data"]
        assert [k["name"] for k in listed] == ["ci-bot"]
        assert token not in str(listed)
        # a minted key is not the master key
        assert (
            httpx.get(gw.url + "/keys", headers={"authorization": f"Bearer {token}"}).status_code
            == 401
        )
        assert httpx.delete(gw.url + "/keys/ci-bot", headers=master).json()["revoked"] is True
        assert httpx.delete(gw.url + "/keys/ci-bot", headers=master).status_code == 404
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(
                model="deepseek@fake", messages=[{"role": "user", "content": "hi"}]
            )
    if store == "sqlite":  # never in clear: only the digest is stored
        minted_again_db = sqlite3.connect(database)
        rows = minted_again_db.execute("SELECT * FROM keys").fetchall()
        minted_again_db.close()
        assert rows == []
        assert token.encode() not in database.read_bytes()


def test_graceful_shutdown_drains_a_stream_in_flight(tmp_path: Path) -> None:
    config = """
providers:
  slow: {type: fake, options: {token_delay: 0.03}}
clients:
  slow: {provider: slow, family: deepseek}
"""
    gw = Gateway(config, tmp=tmp_path)
    with gw:
        words = " ".join(f"w{i}" for i in range(30))
        body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": words}]}
        with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body, timeout=20) as reply:
            lines = reply.iter_lines()
            first = next(lines)
            assert first.startswith("data: ")
            gw.server.should_exit = True  # shutdown begins with the stream under way
            rest = list(lines)
        assert [line for line in rest if line][-1] == "data: [DONE]"
        text = "".join(rest)
        assert "w29" in text
