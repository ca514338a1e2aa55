"""`llmkit serve --workers 2`: two worker processes behind one port, answering, and stopping
cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("uvicorn")

from tests.server.harness import free_port

CONFIG = """
clients:
  coder: {family: deepseek, provider: fake}
"""


def _children(pid: int) -> list[int]:
    """The worker processes of the server `pid` (not multiprocessing's resource tracker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs /proc (Linux) to see the worker processes")
    workers = []
    for child in path.read_text().split():
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(int(child))
    return workers


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (None when it is gone): tells a pid reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        try:
            if httpx.get(url + "/health/readiness", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the gateway did not become ready")


def test_two_workers_serve_one_port_and_stop_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "llmkit.yaml").write_text(CONFIG)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    process = subprocess.Popen(
        [sys.executable, "-m", "llmkit", "serve", "--workers", "2", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        deadline = time.monotonic() + 30
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(process.pid)
        assert len(workers) == 2, workers
        started_at = [_start_time(pid) for pid in workers]
        with httpx.Client(timeout=20) as http:
            for _ in range(8):  # new connections: the kernel spreads them over the workers
                reply = http.post(
                    url + "/v1/chat/completions",
                    json={"model": "coder", "messages": [{"role": "user", "content": "hi"}]},
                    headers={"connection": "close"},
                )
                assert reply.status_code == 200, reply.text
                assert reply.json()["choices"][0]["message"]["content"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err
    for pid, started in zip(workers, started_at, strict=True):  # gone (or the pid reused)
        assert _start_time(pid) != started, f"worker {pid} outlived the server"
