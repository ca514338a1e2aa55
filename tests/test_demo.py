"""The offline demo runs with no keys and no network, and shows the provider switch."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from llmkit import Role
from llmkit.cli._demo_tour import main, run


def test_demo_prints_the_switch_stream_and_tool_call() -> None:
    out = io.StringIO()
    assert main([], stream=out) == 0
    text = out.getvalue()
    assert "DeepSeekClient on deepseek (model deepseek-flash)" in text
    assert "set_provider -> openrouter" in text
    assert "reasoning: Mergesort: split in halves" in text
    assert "<think>" not in text.replace("the <think> tags", "")
    assert "model calls get_weather" in text
    assert "It is sunny and 21 °C in Lisbon." in text
    assert "Requests served: deepseek=1, openrouter=3" in text


async def test_demo_tool_conversation_round_trips() -> None:
    conversation = await run(lambda _: None, token_delay=0)
    roles = [m.role for m in conversation]
    assert roles == [Role.USER, Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    assert conversation[1].tool_calls[0].id == conversation[2].tool_call_id
    assert conversation[1].reasoning  # the reasoning travels with the tool-call turn


def test_python_dash_m_llmkit_demo_without_keys() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "llmkit", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert "set_provider -> openrouter" in result.stdout
