"""Convert ruby_llm's recorded batch cassettes into llmkit's data-only fixtures.

    .venv/bin/python tests/batches/convert_cassettes.py /work/batch_cassettes cassettes/batch

Keeps each interaction's method, URL, status, content type and body (JSON parsed,
JSONL as a list of parsed lines), and the request body llmkit does not need but a
reader may (ruby_llm's, for comparison); drops every other header (credentials,
organisation ids). Repeated polls with an unchanged reply are kept once. Not a
test module (no `test_` prefix): run it by hand after re-recording.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

SOURCES = {
    "anthropic": [
        "batch_with_anthropic_claude-haiku-4-5_answers_staged_chats_and_appends_the_answers_to_their_conversations.yml",
        "batch_with_anthropic_claude-haiku-4-5_reloads_a_batch_by_id_and_collects_messages_without_the_chats.yml",
        "batch_with_anthropic_claude-haiku-4-5_cancels_a_running_batch.yml",
    ],
    "gemini": [
        "batch_with_gemini_gemini-2_5-flash_answers_staged_chats_and_appends_the_answers_to_their_conversations.yml"
    ],
    "mistral": [
        "batch_with_mistral_mistral-small-latest_answers_staged_chats_and_appends_the_answers_to_their_conversations.yml"
    ],
    "openai": [
        "batch_with_openai_gpt-5-nano_answers_staged_chats_and_appends_the_answers_to_their_conversations.yml",
    ],
}
_KEEP_HEADERS = ("content-type", "retry-after")


def _body(text: str, content_type: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        return {"jsonl": [json.loads(line) for line in lines]}
    except ValueError:
        return {"text": text}


def convert(source: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(data["http_interactions"]):
        request, response = item["request"], item["response"]
        headers = {k.lower(): v[0] for k, v in (response.get("headers") or {}).items()}
        text = response["body"].get("string", "")
        key = f"{request['method']} {request['uri']} {text}"
        if key in seen:
            continue
        seen.add(key)
        sent = request.get("body", {}).get("string", "")
        is_json = sent.startswith("{")
        out.append(
            {
                "source": f"{source.name}#{index}",
                "method": request["method"].upper(),
                "url": request["uri"],
                "request_body": json.loads(sent)
                if is_json
                else (None if not sent else "<multipart>"),
                "status": response["status"]["code"],
                "headers": {k: v for k, v in headers.items() if k in _KEEP_HEADERS},
                "body": _body(text, headers.get("content-type", "")),
            }
        )
    return out


def main(source_dir: str, target_dir: str) -> None:
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    commit = (Path(source_dir) / "COMMIT").read_text().strip()
    for host, names in SOURCES.items():
        recordings = {name: convert(Path(source_dir) / name) for name in names}
        document = {
            "from": f"ruby_llm@{commit} spec/fixtures/vcr_cassettes (MIT)",
            "recordings": recordings,
        }
        path = target / f"{host}.json"
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(path, sum(len(r) for r in recordings.values()), "interactions")


if __name__ == "__main__":
    main(*sys.argv[1:3])
