"""Shared test configuration: cassettes replay only, secrets filtered, one folder per host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"

SECRET_HEADERS = ["authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie", "set-cookie"]


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": [(h, "REDACTED") for h in SECRET_HEADERS],
        "filter_query_parameters": [("key", "REDACTED")],
        "decode_compressed_response": True,
        "record_mode": "none",
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """`tests/providers/test_groq.py` → `cassettes/groq/`."""
    name = Path(str(request.node.fspath)).stem.removeprefix("test_")
    return str(CASSETTES / name)
