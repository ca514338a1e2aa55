"""In a fresh process, the very first failing call (which imports the SDK) still raises
llmkit's error, never the vendor SDK's: a regression test for a lookup made too early."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import httpx2
from llmkit import Message, Request, errors
from llmkit.providers import {cls}

def host(request):
    return httpx2.Response({status}, json={body})

provider = {cls}(api_key="test-key", {base}http_client=httpx2.AsyncClient(
    transport=httpx2.MockTransport(host)), retry=None)
try:
    provider.complete_sync(Request("some-model", [Message.user("hi")], max_tokens=16))
except errors.LLMError as exc:
    print(type(exc).__name__)
except Exception as exc:
    print("LEAKED", type(exc).__module__, type(exc).__name__)
"""

OPENAI_400 = '{"error": {"message": "bad", "type": "invalid_request_error"}}'
ANTHROPIC_400 = '{"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}'


@pytest.mark.parametrize(
    ("cls", "base", "body"),
    [
        ("OpenAIProvider", "", OPENAI_400),
        ("GroqProvider", "", OPENAI_400),
        ("OpenAICompatibleProvider", "base_url='http://local/v1', ", OPENAI_400),
        ("AnthropicProvider", "", ANTHROPIC_400),
        ("CohereProvider", "", '{"message": "bad"}'),
    ],
)
def test_first_error_of_a_process_is_llmkits(cls: str, base: str, body: str) -> None:
    code = SCRIPT.format(cls=cls, base=base, status=400, body=body)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "InvalidRequestError", out.stdout + out.stderr
