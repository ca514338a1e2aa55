"""AzureOpenAIProvider: the v1 path, the deployment path, api-key and Entra ID auth, errors."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from llmkit import errors
from llmkit.providers import AzureOpenAIProvider
from llmkit.types import FinishReason
from tests.providers import _openai_compat as shared

ENDPOINT = "https://my-resource.openai.azure.com"


def provider(recorder: shared.Recorder, **kwargs: Any) -> AzureOpenAIProvider:
    kwargs.setdefault("endpoint", ENDPOINT)
    return AzureOpenAIProvider(
        http_client=shared.client_of("httpx2", recorder), retry=None, **kwargs
    )


async def test_v1_path_with_the_api_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", ENDPOINT + "/")
    recorder = shared.Recorder()
    azure = AzureOpenAIProvider(http_client=shared.client_of("httpx2", recorder), retry=None)
    reply = await azure.complete(shared.QUESTION)
    streamed = await azure.stream(shared.QUESTION).collect()
    assert reply.text == streamed.text == "Hi!"
    assert streamed.finish_reason is FinishReason.STOP
    assert reply.provider == "azure-openai"
    for request in recorder.requests:
        assert str(request.url) == f"{ENDPOINT}/openai/v1/chat/completions"
        assert request.headers["api-key"] == "azure-key"
        assert "authorization" not in request.headers
        assert request.headers["user-agent"].startswith("llmkit/")
    body = recorder.bodies()[0]
    assert body["model"] == "test-model"  # the deployment's name, in the body on v1
    assert body["max_completion_tokens"] == 20


async def test_deployment_path_with_api_version() -> None:
    recorder = shared.Recorder()
    azure = provider(recorder, api_key="k", api_version="2025-04-01-preview")
    await azure.complete(shared.QUESTION)
    await azure.stream(shared.QUESTION).collect()
    for request in recorder.requests:
        assert request.url.path == "/openai/deployments/test-model/chat/completions"
        assert request.url.params["api-version"] == "2025-04-01-preview"


async def test_a_fixed_deployment_gets_the_default_api_version() -> None:
    recorder = shared.Recorder()
    azure = provider(recorder, api_key="k", deployment="gpt 4.1 prod")
    await azure.complete(shared.QUESTION)
    request = recorder.requests[0]
    assert request.url.raw_path.startswith(b"/openai/deployments/gpt%204.1%20prod/chat/completions")
    assert request.url.params["api-version"] == "2024-10-21"


async def test_list_models_on_both_paths() -> None:
    recorder = shared.Recorder()
    models = await provider(recorder, api_key="k").list_models()
    assert models[0].id == "test-model"
    await provider(recorder, api_key="k", api_version="2024-10-21").list_models()
    assert str(recorder.requests[0].url) == f"{ENDPOINT}/openai/v1/models"
    assert str(recorder.requests[1].url) == f"{ENDPOINT}/openai/models?api-version=2024-10-21"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_entra_id_token_provider_is_asked_per_request(kind: str) -> None:
    tokens = iter(["token-1", "token-2"])

    def sync_token() -> str:
        return next(tokens)

    async def async_token() -> str:
        return next(tokens)

    recorder = shared.Recorder()
    azure = provider(
        recorder, azure_ad_token_provider=sync_token if kind == "sync" else async_token
    )
    assert azure.has_api_key
    await azure.complete(shared.QUESTION)
    await azure.stream(shared.QUESTION).collect()
    assert [r.headers["authorization"] for r in recorder.requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]
    assert all("api-key" not in r.headers for r in recorder.requests)


async def test_a_failing_token_provider_is_an_authentication_error() -> None:
    def broken() -> str:
        raise RuntimeError("DefaultAzureCredential failed to retrieve a token")

    recorder = shared.Recorder()
    with pytest.raises(errors.AuthenticationError, match="DefaultAzureCredential") as caught:
        await provider(recorder, azure_ad_token_provider=broken).complete(shared.QUESTION)
    assert caught.value.retryable is False
    assert recorder.requests == []


async def test_a_token_provider_returning_no_token_is_a_configuration_error() -> None:
    recorder = shared.Recorder()
    azure = provider(recorder, azure_ad_token_provider=lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(errors.ConfigurationError, match="returned no token"):
        await azure.complete(shared.QUESTION)
    with pytest.raises(errors.ConfigurationError, match="callable"):
        AzureOpenAIProvider(endpoint=ENDPOINT, azure_ad_token_provider="a-token")  # type: ignore[arg-type]


def test_missing_endpoint_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(errors.ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        AzureOpenAIProvider(api_key="k")


async def test_missing_key_names_the_variable_and_entra_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    azure = provider(shared.Recorder())
    assert not azure.has_api_key
    with pytest.raises(errors.ConfigurationError, match="AZURE_OPENAI_API_KEY") as caught:
        await azure.complete(shared.QUESTION)
    assert "azure_ad_token_provider" in caught.value.message


def test_there_is_no_sdk_sender() -> None:
    with pytest.raises(errors.ConfigurationError, match="'httpx2'"):
        AzureOpenAIProvider(endpoint=ENDPOINT, api_key="k", sender="sdk")


async def test_content_filter_refusal_is_a_content_filter_error() -> None:
    body = {
        "error": {
            "message": "The response was filtered due to the prompt triggering Azure "
            "OpenAI's content management policy.",
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation"},
        }
    }

    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, json=body, headers={"apim-request-id": "r1"})

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(reply))
    azure = AzureOpenAIProvider(endpoint=ENDPOINT, api_key="k", http_client=client, retry=None)
    with pytest.raises(errors.ContentFilterError, match="content management policy") as caught:
        await azure.complete(shared.QUESTION)
    assert caught.value.status_code == 400
    assert caught.value.retryable is False


def test_repr_shows_no_key() -> None:
    azure = AzureOpenAIProvider(endpoint=ENDPOINT, api_key="sk-secret-azure")
    assert "sk-secret-azure" not in repr(azure)
    assert "my-resource" in repr(azure)


def test_registered_by_name() -> None:
    from llmkit import registry

    assert registry.provider_factory("azure_openai") is AzureOpenAIProvider
