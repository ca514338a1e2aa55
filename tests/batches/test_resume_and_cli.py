"""A job submitted by one process and collected by another: from its JSON (replayed
Anthropic interactions), and through the `llmkit batch` commands on the fake host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SUBMIT = """
import asyncio, sys
from tests.batches._replay import Replay, recording
from llmkit.providers import AnthropicProvider
from llmkit.types import Message, Request

async def main():
    replay = Replay(recording("anthropic", "answers_staged"))
    provider = AnthropicProvider(api_key="k", http_client=replay.client(), retry=None)
    job = await provider.submit_batch({
        "q1": Request(model="claude-haiku-4-5", messages=(Message.user("What is 2 + 2?"),)),
        "q2": Request(model="claude-haiku-4-5", messages=(Message.user("Largest planet?"),)),
    })
    sys.stdout.write(job.to_json())

asyncio.run(main())
"""

COLLECT = """
import asyncio, json, sys
from tests.batches._replay import Replay, recording
from llmkit.batches import BatchJob
from llmkit.providers import AnthropicProvider

async def main():
    job = BatchJob.from_json(sys.stdin.read())
    replay = Replay([i for i in recording("anthropic", "answers_staged") if i["method"] == "GET"])
    provider = AnthropicProvider(api_key="k", http_client=replay.client(), retry=None)
    while not (await provider.batch_status(job)).done:
        pass
    results = await provider.batch_results(job)
    print(json.dumps({k: getattr(v, "text", type(v).__name__) for k, v in results.items()}))

asyncio.run(main())
"""


def _python(code: str, stdin: str = "", env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True,
        cwd=ROOT, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_serialised_job_is_collected_by_a_new_process() -> None:
    saved = _python(SUBMIT)
    assert json.loads(saved)["id"] == "msgbatch_01GUqGVJfUzZfBnjRymfPdV3"
    collected = json.loads(_python(COLLECT, stdin=saved))
    # the recorded replies answer "0"/"1"; the job asked "q1"/"q2": the ids it holds are
    # reported missing, the host's own come through: nothing is silently dropped
    assert collected["0"] == "4" and collected["1"] == "Jupiter"
    assert collected["q1"] == collected["q2"] == "BatchItemError"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMKIT_")}
    env["LLMKIT_BATCH_DIR"] = str(tmp_path / "jobs")
    env["LLMKIT_FAKE_BATCH_DELAY"] = "86400"  # a test ends the job by editing its file
    env["HOME"] = str(tmp_path)  # no user configuration file
    return env


def _llmkit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmkit", *args], capture_output=True, text=True,
        cwd=env["LLMKIT_BATCH_DIR"].rsplit("/", 1)[0], env=env, timeout=120, check=False,
    )  # fmt: skip


def test_cli_end_to_end_on_the_fake_host(tmp_path: Path, cli_env: dict[str, str]) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        '"What is 2+2?"\n'
        '{"id": "planet", "prompt": "Largest planet?", "max_tokens": 50}\n'
        '{"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]}\n',
        encoding="utf-8",
    )
    submitted = _llmkit(cli_env, "batch", "submit", str(prompts), "-c", "claude@fake")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert job_id.startswith("fakebatch_") and "3 requests in 1 batch job" in submitted.stderr

    running = _llmkit(cli_env, "batch", "status", job_id)  # a second process
    assert running.returncode == 0, running.stderr
    assert json.loads(running.stdout)["state"] == "running"
    early = _llmkit(cli_env, "batch", "results", job_id)
    assert early.returncode == 1 and "Traceback" not in early.stderr, early.stderr
    assert (
        "has not ended" in early.stderr and f"llmkit batch status {job_id} --wait" in early.stderr
    )

    waiter = subprocess.Popen(
        [sys.executable, "-m", "llmkit", "batch", "status", job_id, "--wait", "--poll", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=cli_env,
    )  # fmt: skip
    try:
        assert waiter.stderr is not None
        first = waiter.stderr.readline()  # a progress line per poll (no terminal: lines)
        assert first.startswith("batch: 0/3 done, 0 failed (running)"), first
        _finish_fake_job(Path(cli_env["LLMKIT_BATCH_DIR"]) / "fake" / f"{job_id}.json")
        stdout, rest = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, rest
    assert json.loads(stdout)["state"] == "completed"
    assert "batch: 3/3 done, 0 failed (completed)" in rest

    out = tmp_path / "out.jsonl"
    collected = _llmkit(cli_env, "batch", "results", job_id, "-o", str(out))
    assert collected.returncode == 0, collected.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["0", "planet", "2"]
    assert "What is 2+2?" in lines[0]["text"] and lines[0]["model"] == "claude-sonnet-5"

    listed = _llmkit(cli_env, "batch", "list")
    assert json.loads(listed.stdout.splitlines()[0])["id"] == job_id

    second = _llmkit(cli_env, "batch", "submit", str(prompts), "-c", "claude@fake")
    other = second.stdout.strip()
    cancelled = _llmkit(cli_env, "batch", "cancel", other)
    assert json.loads(cancelled.stdout)["state"] == "cancelled"


def _finish_fake_job(path: Path) -> None:
    """What the passing of `batch_delay` does: the job's ready time is now."""
    record = json.loads(path.read_text(encoding="utf-8"))
    record["ready_at"] = 0
    path.write_text(json.dumps(record), encoding="utf-8")


def test_cli_unknown_job_and_bad_file_are_usage_errors(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    missing = _llmkit(cli_env, "batch", "status", "nope")
    assert missing.returncode == 2 and "no saved batch job 'nope'" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nothing": 1}\n', encoding="utf-8")
    refused = _llmkit(cli_env, "batch", "submit", str(bad), "-c", "claude@fake")
    assert refused.returncode == 2 and "bad.jsonl:1" in refused.stderr
    good = tmp_path / "good.jsonl"
    good.write_text('"hi"\n', encoding="utf-8")
    unsupported = _llmkit(cli_env, "batch", "submit", str(good), "-c", "claude@openrouter")
    assert unsupported.returncode == 2 and "no batch API" in unsupported.stderr


def test_a_prompt_file_that_would_lose_or_garble_requests_is_refused(tmp_path: Path) -> None:
    from llmkit.cli.batch_cmd import custom_ids, read_prompts
    from llmkit.errors import ConfigurationError

    def lines(text: str) -> str:
        path = tmp_path / "p.jsonl"
        path.write_text(text, encoding="utf-8")
        return str(path)

    with pytest.raises(ConfigurationError, match=r"p.jsonl:2: not valid JSON"):
        read_prompts(lines('"ok"\n{"id": "q1", "prompt": \n'))  # once sent as plain text
    with pytest.raises(ConfigurationError, match=r"p.jsonl:1: unknown key\(s\) idd"):
        read_prompts(lines('{"idd": "a", "prompt": "x"}\n'))
    path = lines('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n')
    with pytest.raises(ConfigurationError, match="two prompts have the id 'a'"):
        custom_ids(path, read_prompts(path))  # dict(...) used to keep only the second
    path = lines('{"id": "1", "prompt": "x"}\n"y"\n')
    with pytest.raises(ConfigurationError, match="two prompts have the id '1'"):
        custom_ids(path, read_prompts(path))  # a minted id met an explicit one
    path = lines('plain text, {not json}\n{"id": "q", "prompt": "x"}\n"z"\n')
    assert custom_ids(path, read_prompts(path)) == ["0", "q", "2"]
    assert read_prompts(path)[0][1] == "plain text, {not json}"


def test_cli_a_damaged_saved_job_is_an_error_not_a_traceback(cli_env: dict[str, str]) -> None:
    jobs = Path(cli_env["LLMKIT_BATCH_DIR"])
    jobs.mkdir(parents=True)
    (jobs / "junk.json").write_text('{"junk": 1}', encoding="utf-8")
    (jobs / "cut.json").write_text('{"client": "claude@fa', encoding="utf-8")
    for job_id in ("junk", "cut"):
        shown = _llmkit(cli_env, "batch", "status", job_id)
        assert shown.returncode == 2 and "Traceback" not in shown.stderr, shown.stderr
        assert f"{job_id}.json" in shown.stderr
    listed = _llmkit(cli_env, "batch", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert sorted(json.loads(line)["id"] for line in listed.stdout.splitlines()) == ["cut", "junk"]
