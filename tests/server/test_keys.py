"""Keys: `server.keys` (key or key_sha256), allow-lists, per-key rate limits and budgets,
401/403/429 with Retry-After, over a real uvicorn with the `openai` SDK."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")

from tests.server.harness import Gateway, Upstream  # noqa: E402

ENV = {"TEAM_A_KEY": "sk-team-a-secret", "MASTER": "sk-master-secret"}
HASHED = "sk-team-b-secret"


def config(upstream: Upstream, extra_keys: str = "") -> str:
    digest = hashlib.sha256(HASHED.encode()).hexdigest()
    return f"""
providers:
  paid: {{type: openai, base_url: "{upstream.url}", api_key: "${{UP_KEY:-up-secret}}", retry: {{max_attempts: 1}}}}
clients:
  priced: {{provider: paid, family: gpt4, options: {{api: chat}}}}
  free: {{provider: fake, family: deepseek}}
server:
  keys:
    team-a:
      key: ${{TEAM_A_KEY}}
      models: [free, priced]
      rate_limit: {{requests_per_minute: 2}}
      metadata: {{team: search}}
    team-b:
      key_sha256: {digest}
      models: [priced]
      budget: {{limit_usd: 0.0003, period: month}}
{extra_keys}"""


def client(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0, timeout=20)


def ask(c: openai.OpenAI, model: str, **options: object) -> str | None:
    reply = c.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], **options
    )
    return reply.choices[0].message.content


def test_missing_invalid_and_forbidden(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(config(up), tmp=tmp_path, env=ENV) as gw:
        with pytest.raises(openai.AuthenticationError) as caught:
            ask(client(gw, "sk-wrong"), "free")
        assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
        missing = httpx.post(gw.url + "/v1/chat/completions", json={"model": "free"})
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "missing_api_key"
        assert "sk-team-a-secret" not in missing.text
        with pytest.raises(openai.PermissionDeniedError) as denied:
            ask(client(gw, HASHED), "free")  # team-b may use `priced` only
        assert denied.value.status_code == 403 and denied.value.code == "model_not_allowed"
        # each key sees its own models
        assert [m.id for m in client(gw, HASHED).models.list()] == ["priced"]
        assert [m.id for m in client(gw, ENV["TEAM_A_KEY"]).models.list()] == ["free", "priced"]
        # health needs no key; metrics does
        assert httpx.get(gw.url + "/health/liveness").status_code == 200
        assert httpx.get(gw.url + "/metrics").status_code == 401


def test_rate_limit_per_key_with_retry_after(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(config(up), tmp=tmp_path, env=ENV) as gw:
        team_a = client(gw, ENV["TEAM_A_KEY"])
        assert ask(team_a, "free")
        assert ask(team_a, "free")
        with pytest.raises(openai.RateLimitError) as caught:
            ask(team_a, "free")
        retry_after = int(caught.value.response.headers["retry-after"])
        assert 1 <= retry_after <= 60
        assert caught.value.code == "rate_limit_exceeded"
        assert "team-a" in caught.value.message
        # another key is not limited by team-a's use
        assert ask(client(gw, HASHED), "priced") == "Hello from upstream"


def test_budget_per_key(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(config(up), tmp=tmp_path, env=ENV) as gw:
        team_b = client(gw, HASHED)
        # with max_tokens the worst case ($0.02 at gpt-5.6's prices) is over the limit: refused up front
        with pytest.raises(openai.RateLimitError) as caught:
            ask(team_b, "priced", max_tokens=1000)
        assert caught.value.code == "insufficient_quota"
        assert int(caught.value.response.headers["retry-after"]) > 0  # until next month
        assert len(up.bodies) == 0
        # each reply costs 11 x $4/M + 7 x $20/M = $0.000184: two fit under $0.0003 spent
        ask(team_b, "priced")
        ask(team_b, "priced")
        with pytest.raises(openai.RateLimitError) as over:
            ask(team_b, "priced")
        assert over.value.code == "insufficient_quota"
        assert len(up.bodies) == 2


def test_a_provider_route_is_priced_for_the_budget(tmp_path: Path) -> None:
    # `paid/gpt-5.6` calls the provider with the host's id, without a model client: the
    # catalog still prices it, so the key's budget holds and counts exactly as for `priced`
    extra = """    team-c:
      key: sk-team-c-secret
      budget: {limit_usd: 0.0003, period: day}
"""
    with Upstream() as up, Gateway(config(up, extra), tmp=tmp_path, env=ENV) as gw:
        team_c = client(gw, "sk-team-c-secret")
        with pytest.raises(openai.RateLimitError) as caught:
            ask(team_c, "paid/gpt-5.6", max_tokens=1000)  # worst case $0.02: refused up front
        assert caught.value.code == "insufficient_quota"
        assert len(up.bodies) == 0
        ask(team_c, "paid/gpt-5.6")
        ask(team_c, "paid/gpt-5.6")
        assert [body["model"] for body in up.bodies] == ["gpt-5.6", "gpt-5.6"]
        with pytest.raises(openai.RateLimitError) as over:
            ask(team_c, "paid/gpt-5.6")  # 2 x $0.000184 spent: over $0.0003
        assert over.value.code == "insufficient_quota"
        assert len(up.bodies) == 2
        metrics = httpx.get(
            gw.url + "/metrics", headers={"authorization": "Bearer sk-team-c-secret"}
        ).text
        cost = [
            line
            for line in metrics.splitlines()
            if line.startswith("llmkit_gateway_cost_usd_total{")
        ]
        assert any('model="paid/gpt-5.6"' in line and 'key="team-c"' in line for line in cost)
        assert sum(float(line.rsplit(" ", 1)[1]) for line in cost) == pytest.approx(2 * 0.000184)


def test_key_config_is_validated(tmp_path: Path) -> None:
    from llmkit.config import validate_text

    text = """
server:
  keys:
    a: {key: x, key_sha256: "00"}
    b: {key_sha256: "nothex"}
    c: {key: y, budget: {limit_usd: -1, period: year}, rate_limit: {concurrency: 0}}
  max_body_bytes: 0
  colour: blue
"""
    result = validate_text(text)
    problems = {(p.path, p.message.split(" (")[0]) for p in result.problems}
    paths = {path for path, _ in problems}
    assert "server.keys.a" in paths
    assert "server.keys.b.key_sha256" in paths
    assert "server.keys.c.budget.period" in paths
    assert "server.keys.c.rate_limit.concurrency" in paths
    assert "server.max_body_bytes" in paths
    assert [w.path for w in result.warnings] == ["server.colour"]


def test_unset_key_variable_refuses_to_serve_but_not_other_commands(tmp_path: Path) -> None:
    from llmkit.config import load_config
    from llmkit.errors import ConfigurationError
    from llmkit.server import create_app

    path = tmp_path / "llmkit.yaml"
    path.write_text('server:\n  keys:\n    a: {key: "${NOT_SET_ANYWHERE}"}\n')
    loaded = load_config(path, env={})
    assert loaded is not None and loaded.server is not None
    assert "a" not in loaded.server.keys  # left out: it could never be matched
    with pytest.raises(ConfigurationError, match="NOT_SET_ANYWHERE"):
        create_app(loaded)
