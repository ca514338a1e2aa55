"""`llmkit batch`: host batch jobs from the command line (submit, status, results, list, cancel).

`submit` reads a JSON Lines file (one prompt or request per line), sends it as
one or more host batch jobs through a client (`-c claude@anthropic`) and saves
each job under the jobs folder (`$LLMKIT_BATCH_DIR`, default
`~/.cache/llmkit/batches`), so that `status`, `results` and `cancel` work from
any later process with only the id. Fake jobs (`claude@fake`) are kept in
`$LLMKIT_FAKE_BATCH_DIR`, default the jobs folder's `fake/`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from llmkit.cli._common import EXIT_OK, add_command, is_tty, load_registry, note

__all__ = ["ENV_DIR", "add_parser", "custom_ids", "jobs_dir", "read_prompts", "run"]

ENV_DIR = "LLMKIT_BATCH_DIR"

EXAMPLES = """\
  llmkit batch submit prompts.jsonl -c claude@anthropic     # prints the job id
  llmkit batch status msgbatch_01... --wait                 # polls, with a progress bar
  llmkit batch results msgbatch_01... -o out.jsonl
  llmkit batch list                                         # jobs submitted from here
  llmkit batch cancel msgbatch_01...
  llmkit batch submit prompts.jsonl -c deepseek@fake --wait -o out.jsonl   # offline
"""


def add_parser(subparsers: Any) -> None:
    """Register `llmkit batch` and its five actions."""
    parser = add_command(
        subparsers,
        "batch",
        help="run prompts as a host batch job (about half price, within 24 hours)",
        description="Submit a file of prompts as host batch jobs (OpenAI, Azure, Groq, "
        "Anthropic, Gemini, Mistral, fake), check on them, collect the results, cancel. "
        f"Jobs are saved in ${ENV_DIR} (default ~/.cache/llmkit/batches).",
        examples=EXAMPLES,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    submit = actions.add_parser("submit", help="submit a JSONL file of prompts")
    submit.add_argument(
        "file", help="JSON Lines: a string, or {prompt|messages, id, system, max_tokens, ...}"
    )
    submit.add_argument(
        "-c", "--client", required=True, help="CLIENT@PROVIDER, e.g. claude@anthropic"
    )
    submit.add_argument("-m", "--model", help="the host's model id (default: the catalog's)")
    submit.add_argument("--system", help="a system prompt for every request")
    submit.add_argument("--max-tokens", type=int, help="output cap for every request")
    submit.add_argument("--wait", action="store_true", help="poll until done (progress on stderr)")
    submit.add_argument("-o", "--out", help="with --wait: write the results here (JSONL)")
    submit.add_argument("--poll", type=float, default=30.0, help="seconds before the first poll")
    status = actions.add_parser("status", help="where a job stands")
    status.add_argument("id")
    status.add_argument("--wait", action="store_true", help="poll until done")
    status.add_argument("--poll", type=float, default=30.0, help="seconds before the first poll")
    results = actions.add_parser("results", help="a finished job's results as JSONL")
    results.add_argument("id")
    results.add_argument("-o", "--out", help="write here (default: stdout)")
    listing = actions.add_parser("list", help="jobs submitted from this machine, with their state")
    listing.add_argument("--host", metavar="PROVIDER", help="list the host's own jobs instead")
    cancel = actions.add_parser("cancel", help="ask the host to stop a job")
    cancel.add_argument("id")
    parser.set_defaults(func=run)


def jobs_dir() -> Path:
    """Where submitted jobs are saved: `$LLMKIT_BATCH_DIR`, else `~/.cache/llmkit/batches`."""
    given = os.environ.get(ENV_DIR)
    if given:
        return Path(given)
    from llmkit.catalog import cache_dir

    return cache_dir() / "batches"


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action; returns the exit code."""
    action = {
        "submit": _submit,
        "status": _status,
        "results": _results,
        "list": _list,
        "cancel": _cancel,
    }
    return action[args.action](args)


# -- files ---------------------------------------------------------------------------


def read_prompts(path: str) -> list[tuple[str | None, Any, dict[str, Any]]]:
    """`(id, prompt, options)` per non-empty line of a JSONL file.

    A line is a JSON string (the prompt), an object with `prompt` (text) or
    `messages` (`[{"role", "content"}]`) and optional `id`/`custom_id`, `system`,
    `max_tokens`, `temperature`, `top_p`, `stop`, `response_format`; or plain
    text, taken as the prompt.

    Raises:
        ConfigurationError: the file cannot be read, or a line has no prompt.
    """
    from llmkit.errors import ConfigurationError
    from llmkit.types import Message, Role

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    out: list[tuple[str | None, Any, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            if line.lstrip()[:1] in ("{", "[", '"'):  # meant as JSON: never send it as text
                raise ConfigurationError(
                    f"{path}:{number}: not valid JSON ({exc}); fix the line, or write plain "
                    'text that does not start with {, [ or "'
                ) from None
            data = line
        if isinstance(data, str):
            out.append((None, data, {}))
            continue
        if not isinstance(data, dict) or not (data.get("prompt") or data.get("messages")):
            raise ConfigurationError(
                f"{path}:{number}: expected a string or an object with `prompt` or `messages`"
            )
        unknown = sorted(set(data) - _LINE_KEYS)
        if unknown:
            raise ConfigurationError(
                f"{path}:{number}: unknown key(s) {', '.join(unknown)}; a line may hold "
                f"{', '.join(sorted(_LINE_KEYS))}"
            )
        custom_id = data.get("custom_id", data.get("id"))
        options = {
            k: data[k]
            for k in ("system", "max_tokens", "temperature", "top_p", "stop", "response_format")
            if data.get(k) is not None
        }
        if data.get("messages"):
            try:
                prompt: Any = [Message(Role(m["role"]), m["content"]) for m in data["messages"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigurationError(
                    f"{path}:{number}: messages must be [{{'role': 'user', 'content': '...'}}] ({exc})"
                ) from None
        else:
            prompt = str(data["prompt"])
        out.append((None if custom_id is None else str(custom_id), prompt, options))
    if not out:
        raise ConfigurationError(f"{path} holds no prompts")
    return out


_LINE_KEYS = frozenset(
    {"id", "custom_id", "prompt", "messages", "system", "max_tokens", "temperature"}
    | {"top_p", "stop", "response_format"}
)


def custom_ids(path: str, lines: list[tuple[str | None, Any, dict[str, Any]]]) -> list[str]:
    """Each line's id: its own, else its position (`"0"`, `"1"`, ...).

    Raises:
        ConfigurationError: two lines share an id (one reply would be lost).
    """
    from llmkit.errors import ConfigurationError

    ids = [cid if cid is not None else str(i) for i, (cid, _, _) in enumerate(lines)]
    seen: set[str] = set()
    for custom_id in ids:
        if custom_id in seen:
            raise ConfigurationError(
                f"{path}: two prompts have the id {custom_id!r} (a line without an id takes "
                "its position, from 0); give every line its own id"
            )
        seen.add(custom_id)
    return ids


def _save(job: Any, spec: str, provider: str) -> Path:
    directory = jobs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_safe(job.id)}.json"
    record = {"client": spec, "provider": provider, "job": job.to_dict()}
    path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return path


def _load(job_id: str) -> dict[str, Any]:
    from llmkit.errors import ConfigurationError

    path = jobs_dir() / f"{_safe(job_id)}.json"
    if not path.is_file():
        raise ConfigurationError(
            f"no saved batch job {job_id!r} in {jobs_dir()} (llmkit batch list shows the saved "
            f"ones; set ${ENV_DIR} to the folder it was submitted with)"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the saved batch job {path}: {exc}") from None
    if not (
        isinstance(record, dict)
        and isinstance(record.get("client"), str)
        and isinstance(record.get("job"), dict)
    ):
        raise ConfigurationError(
            f"{path} is not a batch job saved by `llmkit batch submit` (no `client` and `job`)"
        )
    return record


def _safe(job_id: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in job_id)


# -- actions ------------------------------------------------------------------------


def _client(args: argparse.Namespace, spec: str, model: str | None = None) -> Any:
    client = load_registry(args).client(spec, model=model)
    provider: Any = client.provider
    if (
        getattr(provider, "batch_api", None) == "fake"
        and getattr(provider, "batch_dir", None) is None
    ):
        provider.batch_dir = os.environ.get("LLMKIT_FAKE_BATCH_DIR") or str(jobs_dir() / "fake")
    return client


def _submit(args: argparse.Namespace) -> int:
    from llmkit import _sync
    from llmkit.batches import limits_for, split
    from llmkit.batches._client import prepare_batch
    from llmkit.batches._hosts import adapter_for

    client = _client(args, args.client, args.model)
    adapter_for(client.provider)  # a host without a batch API: say so before reading
    lines = read_prompts(args.file)
    ids = custom_ids(args.file, lines)
    requests = []
    for _, prompt, options in lines:
        common = {"system": args.system, "max_tokens": args.max_tokens}
        merged = {k: v for k, v in {**common, **options}.items() if v is not None}
        _, (request,) = prepare_batch(client, [prompt], merged)
        requests.append(request)
    provider = client.provider
    label = load_registry(args).name_of(provider)
    jobs = []
    for part in split(list(zip(ids, requests, strict=True)), limits_for(provider.name)):
        job = _sync.run(lambda p=part: provider.submit_batch(dict(p)))  # type: ignore[misc]
        _save(job, args.client, label)
        jobs.append(job)
        print(job.id)
    note(f"{len(requests)} requests in {len(jobs)} batch job(s) on {provider.name}; "
         f"`llmkit batch status {jobs[0].id}` to check")  # fmt: skip
    if not args.wait:
        return EXIT_OK
    _watch(provider, jobs, args.poll)
    for job in jobs:
        _write_results(client, job, args.out, append=job is not jobs[0])
    return EXIT_OK


def _open_job(args: argparse.Namespace, job_id: str) -> tuple[Any, Any]:
    from llmkit.batches import BatchJob

    record = _load(job_id)
    return _client(args, record["client"]), BatchJob.from_dict(record["job"])


def _status(args: argparse.Namespace) -> int:
    client, job = _open_job(args, args.id)
    if args.wait:
        _watch(client.provider, [job], args.poll)
    status = client.provider.batch_status_sync(job)
    print(json.dumps(_status_dict(status)))
    return EXIT_OK


def _results(args: argparse.Namespace) -> int:
    from llmkit.batches import BatchNotReadyError

    client, job = _open_job(args, args.id)
    try:
        _write_results(client, job, args.out)
    except BatchNotReadyError as exc:  # its advice is the Python API's: say the command's
        exc.message = exc.message.replace(
            "poll batch_status() until .done, or use generate_batch(), which waits",
            f"`llmkit batch status {job.id} --wait` waits for it",
        )
        raise
    return EXIT_OK


def _cancel(args: argparse.Namespace) -> int:
    client, job = _open_job(args, args.id)
    status = client.provider.cancel_batch_sync(job)
    print(json.dumps(_status_dict(status)))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    if args.host:
        provider: Any = load_registry(args).provider(args.host)
        for status in provider.list_batches_sync():
            print(json.dumps(_status_dict(status)))
        return EXIT_OK
    directory = jobs_dir()
    paths = (
        sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        if directory.is_dir()
        else []
    )
    from llmkit.errors import LLMError

    for path in paths:
        line: dict[str, Any] = {"id": path.stem}
        try:
            record = _load(path.stem)
            line.update(
                id=record["job"].get("id", path.stem),
                client=record["client"],
                requests=len(record["job"].get("custom_ids") or ()),
            )
            client, job = _open_job(args, path.stem)
            line.update(_status_dict(client.provider.batch_status_sync(job)))
        except LLMError as exc:
            line["error"] = str(exc)
        print(json.dumps(line))
    if not paths:
        note(f"no saved batch jobs in {directory}")
    return EXIT_OK


def _status_dict(status: Any) -> dict[str, Any]:
    return {
        "id": status.id,
        "state": str(status.state),
        "total": status.total,
        "pending": status.pending,
        "succeeded": status.succeeded,
        "failed": status.failed,
        "expired": status.expired,
        "cancelled": status.cancelled,
        "created_at": status.created_at.isoformat() if status.created_at else None,
        "expires_at": status.expires_at.isoformat() if status.expires_at else None,
        "host_state": status.host_state,
    }


def _write_results(client: Any, job: Any, out: str | None, *, append: bool = False) -> None:
    from llmkit.errors import LLMError

    results = client.provider.batch_results_sync(job)
    handle = open(out, "a" if append else "w", encoding="utf-8") if out else sys.stdout  # noqa: SIM115
    failed = 0
    try:
        for custom_id, result in results.items():
            if isinstance(result, LLMError):
                failed += 1
                record: dict[str, Any] = {
                    "id": custom_id,
                    "error": {
                        "type": type(result).__name__,
                        "message": result.message,
                        "status": result.status_code,
                    },
                }
            else:
                reply = client.finish(result)
                record = {
                    "id": custom_id,
                    "text": reply.text,
                    "reasoning": reply.reasoning,
                    "finish_reason": str(reply.finish_reason),
                    "model": reply.model,
                    "usage": {
                        "input_tokens": reply.usage.input_tokens,
                        "output_tokens": reply.usage.output_tokens,
                    },
                    "cost": None if reply.cost is None else reply.cost.total,
                }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if handle is not sys.stdout:
            handle.close()
    note(f"{len(results)} results from {job.id} ({failed} failed)")


def _watch(provider: Any, jobs: list[Any], interval: float) -> None:
    """Poll `jobs` until done: a progress bar on a terminal, a line per poll otherwise."""
    from llmkit import _sync
    from llmkit.batches import Poll, wait

    total = sum(len(j.custom_ids) for j in jobs)
    bar: Any = None
    task: Any = None
    if is_tty(sys.stderr):
        from llmkit._imports import require

        progress = require("rich.progress", extra="cli")
        bar = progress.Progress(
            progress.TextColumn("batch"), progress.BarColumn(), progress.MofNCompleteColumn(),
            progress.TextColumn("{task.description}"), transient=True,
        )  # fmt: skip
        bar.start()
        task = bar.add_task("", total=total)

    def show(run: Any) -> None:
        states = ", ".join(sorted({str(s.state) for s in run.statuses}))
        if bar is not None:
            bar.update(task, completed=run.finished, description=f"{states} ({run.failed} failed)")
        else:
            note(f"batch: {run.finished}/{run.total} done, {run.failed} failed ({states})")

    try:
        _sync.run(
            lambda: wait(provider, jobs, poll=Poll.coerce(interval), on_progress=show, total=total)
        )
    finally:
        if bar is not None:
            bar.stop()
