"""Every pool llmkit builds shares one TLS context (loading the CA store once per process)."""

from __future__ import annotations

import ssl

import certifi
import pytest

from llmkit.providers import OpenAICompatibleProvider
from llmkit.providers._base import shared_ssl_context


async def test_two_providers_pools_share_one_context() -> None:
    first = OpenAICompatibleProvider(base_url="http://127.0.0.1:9/v1", api_key="k")
    second = OpenAICompatibleProvider(base_url="http://127.0.0.1:9/v1", api_key="k")
    try:
        contexts = {
            id(pool._transport._pool._ssl_context)
            for pool in (first.http_client(), second.http_client())
        }
    finally:
        await first.aclose()
        await second.aclose()
    assert contexts == {id(shared_ssl_context())}


def test_ssl_cert_file_still_chooses_the_ca_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = shared_ssl_context()
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    custom = shared_ssl_context()
    assert isinstance(custom, ssl.SSLContext) and custom is not default
    assert shared_ssl_context() is custom  # made once for that setting
    monkeypatch.delenv("SSL_CERT_FILE")
    assert shared_ssl_context() is default
