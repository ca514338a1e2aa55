"""Chat completions through a real uvicorn, with the official `openai` SDK as the client:
over the `fake` provider and over a loopback host that speaks OpenAI's wire format."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("starlette")

from tests.server.harness import Gateway, Upstream  # noqa: E402


def sdk(gateway: Gateway, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=20)


def upstream_config(upstream: Upstream) -> str:
    return f"""
providers:
  up: {{type: openai_compatible, base_url: "{upstream.url}", api_key: "${{UP_KEY:-up-secret}}"}}
clients:
  coder: {{provider: up, family: deepseek, model: up-model}}
"""


def test_plain_chat_on_fake_with_headers() -> None:
    with Gateway() as gw:
        raw = sdk(gw).chat.completions.with_raw_response.create(
            model="deepseek@fake",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "ping pong"},
            ],
        )
        reply = raw.parse()
        assert reply.choices[0].message.content.endswith("You said: ping pong")
        assert reply.choices[0].finish_reason == "stop"
        assert reply.model == "deepseek@fake"
        assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
        assert len(raw.headers["x-request-id"]) >= 16
        assert float(raw.headers["x-llmkit-overhead-ms"]) >= 0
        # a caller's own request id comes back
        again = sdk(gw).chat.completions.with_raw_response.create(
            model="deepseek@fake",
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-request-id": "trace-42"},
        )
        assert again.headers["x-request-id"] == "trace-42"


def test_stream_on_fake_with_usage_and_done() -> None:
    with Gateway() as gw:
        stream = sdk(gw).chat.completions.create(
            model="claude@fake",
            messages=[{"role": "user", "content": "tell me a story"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.endswith("You said: tell me a story")
        finishes = [
            c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
        ]
        assert finishes == ["stop"]
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
        # without include_usage, no usage chunk; the raw body ends with [DONE]
        body = httpx.post(
            gw.url + "/v1/chat/completions",
            json={
                "model": "claude@fake",
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
        events = [line for line in body.text.split("\n\n") if line]
        assert events[-1] == "data: [DONE]"
        assert all('"usage"' not in e for e in events)


def test_upstream_plain_tools_reasoning_and_passthrough(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(upstream_config(up), tmp=tmp_path) as gw:
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather of a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ]
        reply = sdk(gw).chat.completions.create(
            model="coder",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=tools,
            tool_choice="auto",
            temperature=0.2,
            max_completion_tokens=64,
            seed=7,
            stop=["END"],
        )
        call = reply.choices[0].message.tool_calls[0]
        assert (call.id, call.function.name) == ("call_1", "get_weather")
        assert json.loads(call.function.arguments) == {"city": "Paris"}
        assert reply.choices[0].finish_reason == "tool_calls"
        assert reply.choices[0].message.model_extra["reasoning_content"] == "Thinking."
        sent = up.bodies[-1]
        assert sent["model"] == "up-model"
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        assert sent["temperature"] == 0.2 and sent["seed"] == 7 and sent["stop"] == ["END"]

        # the tool result goes back as a conversation, and response_format passes through
        schema = {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}}
        reply = sdk(gw).chat.completions.create(
            model="coder",
            messages=[
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
            ],
            response_format=schema,
        )
        assert reply.choices[0].message.content == "Hello from upstream"
        sent = up.bodies[-1]
        assert sent["response_format"] == schema
        assert sent["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
        assert sent["messages"][2]["tool_call_id"] == "call_1"
        assert sent["messages"][2]["content"] == '{"temp": 21}'
        assert reply.usage.prompt_tokens == 11 and reply.usage.completion_tokens == 7


def test_upstream_stream_tool_call_deltas_and_reasoning(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(upstream_config(up), tmp=tmp_path) as gw:
        client = sdk(gw)
        chunks = list(
            client.chat.completions.create(
                model="up/up-model",  # provider/host-model-id: the provider itself
                messages=[{"role": "user", "content": "weather?"}],
                tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        deltas = [c.choices[0].delta for c in chunks if c.choices]
        reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
        assert reasoning == "Thinking."
        pieces = [t for d in deltas for t in (d.tool_calls or [])]
        assert pieces[0].id == "call_1" and pieces[0].function.name == "get_weather"
        assert "".join(p.function.arguments or "" for p in pieces) == '{"city": "Paris"}'
        assert [
            c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
        ] == ["tool_calls"]
        assert chunks[-1].usage.prompt_tokens == 11
        assert up.bodies[-1]["model"] == "up-model" and up.bodies[-1]["stream"] is True


def test_models_and_health(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(upstream_config(up), tmp=tmp_path) as gw:
        assert [m.id for m in sdk(gw).models.list()] == ["coder"]
        assert httpx.get(gw.url + "/health/liveness").json() == {"status": "ok"}
        ready = httpx.get(gw.url + "/health/readiness")
        assert ready.status_code == 200 and ready.json()["checks"]["config"] == "ok"
    with Gateway() as gw:
        names = [m.id for m in sdk(gw).models.list()]
        assert "deepseek@fake" in names


def test_error_statuses_are_openai_shaped(tmp_path: Path) -> None:
    def script(body: dict) -> tuple[int, dict, dict] | None:
        content = body["messages"][-1]["content"]
        if content == "slow down":
            return (
                429,
                {"error": {"message": "Rate limit reached", "type": "rate_limit"}},
                {"retry-after": "7"},
            )
        if content == "too long":
            return (
                400,
                {
                    "error": {
                        "message": "maximum context length is 10 tokens",
                        "code": "context_length_exceeded",
                    }
                },
                {},
            )
        if content == "boom":
            return 500, {"error": {"message": "upstream broke"}}, {}
        return None

    with Upstream(script) as up:
        # no retries, so the statuses come straight back
        config = upstream_config(up).replace(
            'api_key: "${UP_KEY:-up-secret}"}',
            'api_key: "${UP_KEY:-up-secret}", retry: {max_attempts: 1}}',
        )
        with Gateway(config, tmp=tmp_path) as gw:
            client = sdk(gw)

            def ask(content: str, model: str = "coder") -> None:
                client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": content}]
                )

            with pytest.raises(openai.BadRequestError) as bad:
                ask("too long")
            assert bad.value.code == "context_length_exceeded"
            with pytest.raises(openai.InternalServerError) as broke:
                ask("boom")
            assert broke.value.status_code == 502
            assert "up-secret" not in broke.value.response.text
            with pytest.raises(openai.NotFoundError) as missing:
                ask("hi", model="nope")
            assert missing.value.code == "model_not_found"
            with pytest.raises(openai.NotFoundError):
                ask("hi", model="nosuchfamily@fake")

            # validation: the path of the first problem
            bad_role = httpx.post(
                gw.url + "/v1/chat/completions",
                json={
                    "model": "coder",
                    "messages": [
                        {"role": "user", "content": "a"},
                        {"role": "robot", "content": "b"},
                    ],
                },
            )
            assert bad_role.status_code == 400
            assert bad_role.json()["error"]["param"] == "messages[1].role"
            malformed = httpx.post(
                gw.url + "/v1/chat/completions",
                content=b'{"model": "coder", "messages": [',
                headers={"content-type": "application/json"},
            )
            assert malformed.status_code == 400
            assert malformed.json()["error"]["code"] == "invalid_json"
            unknown = httpx.post(gw.url + "/v1/nothing")
            assert unknown.status_code == 404 and "error" in unknown.json()
            wrong = httpx.get(gw.url + "/v1/chat/completions")
            assert wrong.status_code == 405 and "error" in wrong.json()
            # last: an upstream 429 also pauses that provider for its Retry-After (llmkit's policy)
            with pytest.raises(openai.RateLimitError) as caught:
                ask("slow down")
            assert caught.value.status_code == 429
            assert caught.value.response.headers["retry-after"] == "7"


def test_client_disconnect_cancels_the_upstream_stream(tmp_path: Path) -> None:
    with Upstream(chunk_delay=0.01) as up, Gateway(upstream_config(up), tmp=tmp_path) as gw:
        body = {"model": "coder", "stream": True, "messages": [{"role": "user", "content": "long"}]}
        with httpx.stream("POST", gw.url + "/v1/chat/completions", json=body, timeout=20) as reply:
            lines = reply.iter_lines()
            got = [next(lines) for _ in range(6)]
            assert any("content" in line for line in got)
        # the gateway notices, closes the upstream stream and forgets the stream
        deadline = time.monotonic() + 10
        while (gw.gateway.streams or not up.disconnects) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gw.gateway.streams == 0
        assert up.disconnects == 1
        metrics = httpx.get(gw.url + "/metrics").text
        assert 'error="ClientDisconnected"' in metrics


def test_image_content_parts_reach_the_host(tmp_path: Path) -> None:
    with Upstream() as up, Gateway(upstream_config(up), tmp=tmp_path) as gw:
        image = {"url": "https://example.com/cat.png", "detail": "low"}
        reply = sdk(gw).chat.completions.create(
            model="up/up-model",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": image},
                    ],
                }
            ],
        )
        assert reply.choices[0].message.content == "Hello from upstream"
        sent = up.bodies[-1]["messages"][0]["content"]
        assert {"type": "text", "text": "What is this?"} in sent
        assert [p["image_url"]["url"] for p in sent if p["type"] == "image_url"] == [image["url"]]
        local = httpx.post(
            gw.url + "/v1/chat/completions",
            json={
                "model": "up/up-model",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}
                        ],
                    }
                ],
            },
        )
        assert local.status_code == 400
        assert local.json()["error"]["param"] == "messages[0].content[0].image_url.url"
