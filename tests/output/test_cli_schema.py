"""`llmkit run --schema FILE`: the reply as JSON checked against the schema."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from llmkit import registry
from llmkit.cli import main
from llmkit.testing import FakeProvider

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    """A scripted host named `scripted`, in a folder with no configuration."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("LLMKIT_CONFIG", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    fake = FakeProvider(name="fake")
    monkeypatch.setitem(registry._PROVIDERS.added, "scripted", lambda **_: fake)
    (tmp_path / "city.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    return fake


def test_the_validated_json_is_printed(
    host: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    host.add({"city": "Paris", "population": "many"}, {"city": "Paris", "population": 2100000})
    code = main(["run", "gpt4@scripted", "--schema", "city.schema.json", "Capital of France?"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out) == {"city": "Paris", "population": 2100000}
    assert host.calls == 2  # the first answer was re-asked, with the schema's complaint
    assert "population: 'many' is not of type 'integer'" in host.requests[1].messages[-1].content
    sent = host.requests[0].response_format
    assert sent is not None and sent["json_schema"]["name"] == "city"


def test_json_prints_the_whole_response_with_its_output(
    host: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    host.add({"city": "Rome", "population": 2800000})
    code = main(["run", "gpt4@scripted", "--schema", "city.schema.json", "--json", "Italy?"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["output"] == {"city": "Rome", "population": 2800000}
    assert data["usage"]["output_tokens"] > 0


def test_an_answer_that_never_matches_exits_1_with_the_errors(
    host: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    host.add("no", "still no", "never")
    code = main(["run", "gpt4@scripted", "--schema", "city.schema.json", "?"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "did not match city after 3 attempt(s)" in err
    assert "Traceback" not in err


def test_a_missing_schema_file_is_a_clear_error(
    host: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "gpt4@scripted", "--schema", "nope.json", "?"])
    _, err = capsys.readouterr()
    assert code != 0
    assert "cannot read the JSON Schema nope.json" in err
    assert host.calls == 0
