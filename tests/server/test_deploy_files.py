"""The repository's `Dockerfile` and `compose.yaml`, checked without a Docker daemon (our
machines have none): what they name must exist, and the gateway configuration that
compose.yaml ships must run, here, against a real redis-server.

- compose.yaml: valid YAML; two gateway replicas with the same command, Redis URL and
  configuration, a grace period above the gateway's drain time; its embedded
  `llmkit.yaml` (Compose's `$$` unescaped) loads, and a gateway built from it (on a real
  uvicorn, with the test's Redis as `REDIS_URL`) answers readiness with Redis ok, mints a
  key with the master key and serves `assistant` to the minted and the configured key.
- Dockerfile: the extras it installs exist in pyproject.toml, the entry point is the
  `llmkit` script, its default command parses as `llmkit serve` arguments, and its health
  check probes a path the gateway answers without a key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

yaml = pytest.importorskip("yaml")
openai = pytest.importorskip("openai")
pytest.importorskip("starlette")

from tests.server.harness import Gateway  # noqa: E402
from tests.test_cost_redis import redis_url  # noqa: E402,F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text()))


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_compose_runs_two_identical_replicas_with_redis() -> None:
    from llmkit._config_schema import ServerConfig

    services = _compose()["services"]
    replicas = [services[name] for name in ("gateway-1", "gateway-2")]
    assert replicas[0] == replicas[1]  # one definition, two copies
    gateway = replicas[0]
    assert gateway["command"][0] == "serve"
    assert gateway["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert "redis" in services and gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    grace = float(gateway["stop_grace_period"].removesuffix("s"))
    assert grace > ServerConfig().drain_seconds  # SIGKILL must not cut the drain short
    proxy = services["proxy"]
    assert proxy["ports"] == ["8000:8000"]
    nginx = _compose()["configs"]["nginx"]["content"]
    assert "server gateway-1:8000;" in nginx and "server gateway-2:8000;" in nginx
    assert "proxy_buffering off" in nginx  # SSE passes through as it comes


def test_the_shipped_configuration_serves_through_redis(
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    # Compose writes `$$` for a literal `$`: what the container reads is the unescaped text
    text = _compose()["configs"]["llmkit"]["content"].replace("$$", "$")
    env = {"LLMKIT_MASTER_KEY": "sk-master-compose", "REDIS_URL": redis_url}
    with Gateway(text, tmp=tmp_path, env=env) as gw:
        ready = httpx.get(gw.url + "/health/readiness", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
        master = {"authorization": "Bearer sk-master-compose"}
        minted = httpx.post(
            gw.url + "/keys", headers=master, json={"name": "compose-ci"}, timeout=10
        )
        assert minted.status_code == 201, minted.text
        for key in (minted.json()["key"], "sk-team-a-change-me"):  # minted; team-a's default
            client = openai.OpenAI(base_url=gw.url + "/v1", api_key=key, max_retries=0)
            reply = client.chat.completions.create(
                model="assistant", messages=[{"role": "user", "content": "hi"}]
            )
            assert reply.choices[0].message.content
        revoked = httpx.delete(gw.url + "/keys/compose-ci", headers=master, timeout=10)
        assert revoked.status_code in (200, 204)


def test_the_dockerfile_names_what_exists() -> None:
    from llmkit.cli import build_parser

    text = _dockerfile()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = re.search(r"pip install '\.\[([a-z,-]+)\]'", text)
    assert installed is not None
    for extra in installed.group(1).split(","):
        assert extra in project["optional-dependencies"], f"no extra {extra!r} in pyproject.toml"
    assert "server" in installed.group(1)
    assert re.search(r'ENTRYPOINT \["llmkit"\]', text) and "llmkit" in project["scripts"]
    command = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert command is not None
    args = build_parser().parse_args(yaml.safe_load(command.group(1)))
    assert (args.host, args.port) == ("0.0.0.0", 8000)
    probe = re.search(r"urlopen\('http://127\.0\.0\.1:8000(/[a-z/]+)'", text)
    assert probe is not None
    with Gateway() as gw:  # no key, no configuration: the probe must still answer 200
        assert httpx.get(gw.url + probe.group(1), timeout=10).status_code == 200
