"""Each host's batch API replayed from real recordings (`cassettes/batch/`): what llmkit
sends (files and bodies, encoded as live calls are), status mapping, results parsing,
partial failure and expiry (recorded bodies edited in the test, each edit named)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from llmkit.batches import BatchItemError, BatchJob, BatchNotReadyError, BatchState, batch_prices
from llmkit.errors import ConfigurationError, InvalidRequestError, InvalidResponseError
from llmkit.providers import (
    AnthropicProvider,
    AzureOpenAIProvider,
    GeminiProvider,
    GroqProvider,
    MistralProvider,
    OpenAIProvider,
)
from llmkit.providers._codecs import anthropic_messages, gemini_generate, openai_chat
from llmkit.types import Message, Request, Response
from tests.batches._replay import Replay, recording

SYSTEM = "Be terse."
Q1 = "What is 2 + 2?"
Q2 = "Name the largest planet in our solar system. One word."


def two(model: str) -> dict[str, Request]:
    return {
        "0": Request(
            model=model, messages=(Message.system(SYSTEM), Message.user(Q1)), max_tokens=64
        ),
        "1": Request(model=model, messages=(Message.user(Q2),), max_tokens=64),
    }


def provider(cls: type[Any], replay: Replay, **kwargs: Any) -> Any:
    return cls(api_key="test-key", http_client=replay.client(), retry=None, **kwargs)


async def poll_until_done(p: Any, job: BatchJob) -> list[BatchState]:
    states = []
    for _ in range(20):
        status = await p.batch_status(job)
        states.append(status.state)
        if status.done:
            return states
    raise AssertionError(f"never ended: {states}")


# -- Anthropic ---------------------------------------------------------------------


async def test_anthropic_submit_poll_collect() -> None:
    replay = Replay(recording("anthropic", "answers_staged"))
    p = provider(AnthropicProvider, replay)
    requests = two("claude-haiku-4-5")
    job = await p.submit_batch(requests)
    sent = replay.json_sent(0)
    # each request's params are exactly the live call's body
    assert [r["custom_id"] for r in sent["requests"]] == ["0", "1"]
    for item, request in zip(sent["requests"], requests.values(), strict=True):
        assert item["params"] == anthropic_messages.to_params(request)
    assert replay.sent[0].headers["x-api-key"] == "test-key"
    assert replay.sent[0].headers["anthropic-version"] == "2023-06-01"
    assert job.id == "msgbatch_01GUqGVJfUzZfBnjRymfPdV3"
    assert job.expires_at is not None and job.expires_at.isoformat().startswith("2026-08-20T14:44")
    assert await poll_until_done(p, job) == [BatchState.RUNNING, BatchState.COMPLETED]
    results = await p.batch_results(job)
    assert list(results) == ["0", "1"]
    first, second = results["0"], results["1"]
    assert isinstance(first, Response) and first.text == "4"
    assert isinstance(second, Response) and second.text == "Jupiter"
    assert first.usage.input_tokens == 20 and first.usage.output_tokens == 5
    assert str(replay.sent[-1].url).endswith("/results")


async def test_anthropic_reply_is_priced_at_half_the_live_price() -> None:
    replay = Replay(recording("anthropic", "answers_staged"))
    p = provider(AnthropicProvider, replay)
    job = await p.submit_batch(two("claude-haiku-4-5"))
    await poll_until_done(p, job)
    reply = (await p.batch_results(job))["0"]
    assert isinstance(reply, Response)
    prices = batch_prices("anthropic", "claude-haiku-4-5")
    if prices is None:
        pytest.skip("the catalog has no price for claude-haiku-4-5 on anthropic")
    from llmkit.catalog import find

    live = find("anthropic", "claude-haiku-4-5")
    assert live is not None and live.prices is not None and live.prices.input is not None
    assert prices.input == pytest.approx(live.prices.input * 0.5)
    assert reply.cost is not None
    expected = (20 * live.prices.input + 5 * (live.prices.output or 0)) * 0.5 / 1e6
    assert reply.cost.total == pytest.approx(expected)


async def test_anthropic_job_resumed_by_id_only() -> None:
    replay = Replay(recording("anthropic", "reloads"))
    p = provider(AnthropicProvider, replay)
    job = await p.submit_batch(
        {"0": Request(model="claude-haiku-4-5", messages=(Message.user("Hi"),))}
    )
    again = BatchJob.from_json(job.to_json())
    assert again == job
    await poll_until_done(p, again)
    results = await p.batch_results(again.id)  # a bare id: no custom ids known, still collected
    assert list(results) == ["0"] and isinstance(results["0"], Response)


async def test_anthropic_cancel() -> None:
    replay = Replay(recording("anthropic", "cancels"))
    p = provider(AnthropicProvider, replay)
    job = await p.submit_batch(
        {"0": Request(model="claude-haiku-4-5", messages=(Message.user("What is 5 + 5?"),))}
    )
    status = await p.cancel_batch(job)
    assert status.state is BatchState.CANCELLING and status.host_state == "canceling"
    assert replay.sent[-1].method == "POST" and str(replay.sent[-1].url).endswith("/cancel")


async def test_anthropic_results_before_the_end_are_refused() -> None:
    replay = Replay(recording("anthropic", "cancels"))
    p = provider(AnthropicProvider, replay)
    job = await p.submit_batch(
        {"0": Request(model="claude-haiku-4-5", messages=(Message.user("x"),))}
    )
    replay.interactions.append(
        {
            **replay.interactions[0],
            "method": "GET",
            "url": f"https://api.anthropic.com/v1/messages/batches/{job.id}",
        }
    )
    with pytest.raises(BatchNotReadyError, match="has not ended"):
        await p.batch_results(job)


def _anthropic_partial() -> list[dict[str, Any]]:
    """The recorded ended batch, edited to 1 succeeded, 1 errored, 1 expired; its result
    file: the recorded success, an `errored` line and an `expired` line in the documented shapes."""
    items = recording("anthropic", "answers_staged")
    ended = next(
        i
        for i in items
        if i["method"] == "GET" and (i["body"] or {}).get("processing_status") == "ended"
    )
    ended["body"]["request_counts"] = {
        "processing": 0,
        "succeeded": 1,
        "errored": 1,
        "canceled": 0,
        "expired": 1,
    }
    results = next(i for i in items if i["url"].endswith("/results"))
    success = results["body"]["jsonl"][0]
    errored = {
        "custom_id": "1",
        "result": {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "max_tokens: 64000 > 8192, which is the maximum allowed",
                },
            },
        },
    }
    results["body"] = {
        "jsonl": [success, errored, {"custom_id": "2", "result": {"type": "expired"}}]
    }
    return [i for i in items if i is ended or i is results or i["method"] == "POST"]


async def test_anthropic_partial_failure_and_expiry_land_in_their_slots() -> None:
    replay = Replay(_anthropic_partial())
    p = provider(AnthropicProvider, replay)
    requests = {
        **two("claude-haiku-4-5"),
        "2": Request(model="claude-haiku-4-5", messages=(Message.user("late"),)),
    }
    job = await p.submit_batch(requests)
    status = await p.batch_status(job)
    assert status.state is BatchState.EXPIRED
    assert (status.succeeded, status.failed, status.expired, status.pending) == (1, 1, 1, 0)
    results = await p.batch_results(job)
    assert isinstance(results["0"], Response)
    assert isinstance(results["1"], InvalidRequestError) and "max_tokens" in results["1"].message
    assert isinstance(results["2"], BatchItemError) and results["2"].reason == "expired"


# -- Gemini ------------------------------------------------------------------------


async def test_gemini_inline_batch() -> None:
    replay = Replay(recording("gemini", "answers_staged"))
    p = provider(GeminiProvider, replay)
    requests = two("gemini-2.5-flash")
    job = await p.submit_batch(requests)
    sent = replay.json_sent(0)
    inlined = sent["batch"]["inputConfig"]["requests"]["requests"]
    assert [i["metadata"]["custom_id"] for i in inlined] == ["0", "1"]
    for item, request in zip(inlined, requests.values(), strict=True):
        assert item["request"] == gemini_generate.to_params(request)
    assert replay.sent[0].headers["x-goog-api-key"] == "test-key"
    assert job.id == "batches/31u18uq6dr4ods3957z38i1mbfa581k01xcq"
    assert await poll_until_done(p, job) == [BatchState.RUNNING, BatchState.COMPLETED]
    results = await p.batch_results(job)
    assert [r.text for r in results.values() if isinstance(r, Response)] == ["4", "Jupiter"]
    assert results["0"].usage.reasoning_tokens == 43  # type: ignore[union-attr]


async def test_gemini_request_error_and_expired_state() -> None:
    items = recording("gemini", "answers_staged")
    final = items[-1]
    # edit: the second inlined answer becomes the documented google.rpc.Status error
    for holder in (final["body"]["response"], final["body"]["metadata"]["output"]):
        holder["inlinedResponses"]["inlinedResponses"][1] = {
            "error": {"code": 3, "message": "Request contains an invalid argument."},
            "metadata": {"custom_id": "1"},
        }
    replay = Replay(items)
    p = provider(GeminiProvider, replay)
    job = await p.submit_batch(two("gemini-2.5-flash"))
    await poll_until_done(p, job)
    results = await p.batch_results(job)
    assert isinstance(results["0"], Response)
    assert isinstance(results["1"], InvalidRequestError) and results["1"].status_code == 400

    expired = copy.deepcopy(items[1])
    expired["body"]["metadata"]["state"] = "BATCH_STATE_EXPIRED"
    from llmkit.providers._codecs import gemini_batch

    status = gemini_batch.parse_batch(expired["body"])
    assert status.state is BatchState.EXPIRED and status.expired == 2


async def test_gemini_one_model_per_batch() -> None:
    p = GeminiProvider(api_key="k", http_client=Replay([]).client())
    mixed = {"a": Request(model="gemini-2.5-flash", messages=(Message.user("x"),)),
             "b": Request(model="gemini-2.5-pro", messages=(Message.user("y"),))}  # fmt: skip
    with pytest.raises(ConfigurationError, match="one model per batch"):
        await p.submit_batch(mixed)


# -- Mistral -----------------------------------------------------------------------


async def test_mistral_inline_batch() -> None:
    replay = Replay(recording("mistral", "answers_staged"))
    p = provider(MistralProvider, replay)
    requests = two("mistral-small-latest")
    job = await p.submit_batch(requests)
    sent = replay.json_sent(0)
    assert sent["endpoint"] == "/v1/chat/completions" and sent["model"] == "mistral-small-latest"
    for item, request in zip(sent["requests"], requests.values(), strict=True):
        live = openai_chat.to_params(request, p.dialect)
        live.pop("model")
        assert item["body"] == live
    assert await poll_until_done(p, job) == [BatchState.RUNNING, BatchState.COMPLETED]
    results = await p.batch_results(job)
    assert [r.text for r in results.values() if isinstance(r, Response)] == ["4", "Jupiter"]
    assert str(replay.sent[-1].url).endswith("?inline=true")


# -- OpenAI, Groq, Azure -----------------------------------------------------------


def _chat_output(items: list[dict[str, Any]]) -> None:
    """Edit the recorded OpenAI batch (a Responses-API one) into a Chat Completions one:
    the output file's envelopes keep OpenAI's recorded ids and status codes, their bodies
    become Mistral's recorded `chat.completion` bodies; one line is moved to the error
    file as a 400 and one as `batch_expired` (the documented shapes)."""
    mistral = recording("mistral", "answers_staged")[-1]["body"]["outputs"]
    output = next(i for i in items if i["url"].endswith("/content"))
    lines = output["body"]["jsonl"]
    for line, source in zip(lines, mistral, strict=True):
        line["response"]["body"] = source["response"]["body"]
    rejected = copy.deepcopy(lines[0])
    rejected["custom_id"] = "2"
    rejected["response"] = {
        "status_code": 400,
        "request_id": "req_x",
        "body": {
            "error": {
                "message": "Invalid 'messages': empty array.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "empty_array",
            }
        },
    }
    expired = {
        "id": "batch_req_y",
        "custom_id": "3",
        "response": None,
        "error": {
            "code": "batch_expired",
            "message": "This request could not be executed before the completion window expired.",
        },
    }
    output["body"]["jsonl"] = [*lines, rejected, expired]


async def test_openai_files_and_batches() -> None:
    items = recording("openai", "gpt-5-nano")
    _chat_output(items)
    replay = Replay(items)
    p = provider(OpenAIProvider, replay)
    requests = {
        **two("gpt-5-nano"),
        "2": Request(model="gpt-5-nano", messages=(Message.user("?"),)),
        "3": Request(model="gpt-5-nano", messages=(Message.user("late"),)),
    }
    job = await p.submit_batch(requests)
    upload, create = replay.sent[0], replay.sent[1]
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["authorization"] == "Bearer test-key"
    content = upload.content.decode()
    assert 'name="purpose"\r\n\r\nbatch' in content
    lines = [json.loads(line) for line in content.splitlines() if line.startswith("{")]
    assert [line["custom_id"] for line in lines] == ["0", "1", "2", "3"]
    for line, request in zip(lines, requests.values(), strict=True):
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        assert line["body"] == openai_chat.to_params(request, p.dialect)
    assert json.loads(create.content) == {
        "input_file_id": "file-5dskxx7B6SVyAyRgAHzTJ2",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    assert job.data["input_file_id"] == "file-5dskxx7B6SVyAyRgAHzTJ2"
    states = await poll_until_done(p, job)
    assert states[0] is BatchState.QUEUED and states[-1] is BatchState.COMPLETED
    assert BatchState.RUNNING in states
    results = await p.batch_results(job)
    assert list(results) == ["0", "1", "2", "3"]
    assert results["0"].text == "4"  # type: ignore[union-attr]
    assert isinstance(results["2"], InvalidRequestError) and results["2"].request_id == "req_x"
    assert isinstance(results["3"], BatchItemError) and results["3"].reason == "expired"


async def test_openai_responses_api_bodies_fail_in_their_slots() -> None:
    """The recording is a /v1/responses batch (not llmkit's endpoint): each line's body is
    read as a chat completion, fails, and the failure sits in its slot; nothing is lost."""
    replay = Replay(recording("openai", "gpt-5-nano"))
    p = provider(OpenAIProvider, replay)
    job = await p.submit_batch(two("gpt-5-nano"))
    await poll_until_done(p, job)
    results = await p.batch_results(job)
    assert list(results) == ["0", "1"]
    assert all(isinstance(r, InvalidResponseError) for r in results.values())


def _rebased(items: list[dict[str, Any]], root: str) -> list[dict[str, Any]]:
    for item in items:
        item["url"] = item["url"].replace("https://api.openai.com/v1", root)
    return items


async def test_groq_uses_openais_batch_api_on_its_root() -> None:
    items = _rebased(recording("openai", "gpt-5-nano"), "https://api.groq.com/openai/v1")
    _chat_output(items)
    replay = Replay(items)
    p = provider(GroqProvider, replay)
    job = await p.submit_batch(two("openai/gpt-oss-120b"))
    assert str(replay.sent[0].url) == "https://api.groq.com/openai/v1/files"
    assert job.provider == "groq"


async def test_azure_deployment_path_keeps_api_version() -> None:
    root = "https://res.openai.azure.com/openai"
    items = recording("openai", "gpt-5-nano")
    for item in items:
        path = item["url"].removeprefix("https://api.openai.com/v1")
        item["url"] = f"{root}{path}?api-version=2024-10-21"
    replay = Replay(items)
    p = provider(
        AzureOpenAIProvider,
        replay,
        endpoint="https://res.openai.azure.com",
        api_version="2024-10-21",
    )
    await p.submit_batch(two("my-batch-deployment"))
    assert replay.sent[0].headers["api-key"] == "test-key"
    create = json.loads(replay.sent[1].content)
    assert create["endpoint"] == "/chat/completions"
    line = next(
        line for line in replay.sent[0].content.decode().splitlines() if line.startswith("{")
    )
    assert json.loads(line)["url"] == "/chat/completions"


async def test_host_error_on_submit_is_the_live_error() -> None:
    import httpx2

    def refuse(request: httpx2.Request) -> httpx2.Response:
        body = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "requests: too many"},
        }
        return httpx2.Response(400, json=body)

    p = AnthropicProvider(
        api_key="k", http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(refuse))
    )
    with pytest.raises(InvalidRequestError, match="too many"):
        await p.submit_batch(two("claude-haiku-4-5"))


async def test_a_transport_failure_is_an_llmkit_error_on_every_batch_call() -> None:
    import httpx2

    from llmkit.errors import APIConnectionError

    def down(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    p = AnthropicProvider(
        api_key="test-key",
        retry=None,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(down)),
    )
    job = BatchJob(id="msgbatch_x", provider="anthropic", custom_ids=("0",))
    with pytest.raises(APIConnectionError, match="anthropic batches"):
        await p.batch_status(job)
    with pytest.raises(APIConnectionError, match="anthropic batches"):
        await p.list_batches()
