"""`import llmkit` (and its clients and providers) must not import any vendor SDK."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "openai",
    "groq",
    "anthropic",
    "google.genai",
    "cohere",
    "tiktoken",
    "httpx",
    "yaml",
    "rich",
    "redis",
]


def test_importing_llmkit_leaves_vendor_sdks_out() -> None:
    code = (
        "import json, sys\n"
        "import llmkit, llmkit.clients, llmkit.providers, llmkit.catalog, llmkit.testing\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_a_client_on_the_fake_needs_no_vendor_sdk() -> None:
    # tiktoken may load for local token counts; the hosts' SDKs and HTTP stacks must not
    sdks = [m for m in HEAVY if m != "tiktoken"]
    code = (
        "import json, sys\n"
        "from llmkit.clients import DeepSeekClient\n"
        "from llmkit.testing import FakeProvider\n"
        "print(DeepSeekClient(FakeProvider()).generate_sync('hi').text, file=sys.stderr)\n"
        f"print(json.dumps([m for m in {sdks!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
    assert "You said: hi" in result.stderr


def test_import_llmkit_loads_nothing_until_a_name_is_used() -> None:
    # `__version__` reads package metadata and `client` / `load` the registry: on first use only
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import llmkit\n"
        "after = sorted(set(sys.modules) - before)\n"
        "version = llmkit.__version__\n"
        "print(json.dumps([after, 'importlib.metadata' in sys.modules, version]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded, metadata_loaded, version = json.loads(result.stdout)
    assert [
        m for m in loaded if m.startswith("llmkit.") or m in ("attrs", "importlib.metadata")
    ] == []
    assert metadata_loaded and version


def test_providers_never_import_the_fallback_module() -> None:
    # "a fallback is waiting" lives beside the hooks in llmkit.events (calls go one way)
    code = (
        "import sys\n"
        "from llmkit.providers import _calls, openai\n"
        "print('llmkit.fallback' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_config_does_not_import_the_registry() -> None:
    # the registry builds on the configuration, never the other way round
    code = "import sys, llmkit.config\nprint('llmkit.registry' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
