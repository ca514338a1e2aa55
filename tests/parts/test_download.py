"""The media downloader against a real server on 127.0.0.1 (started and stopped by the test).

The loopback server is reachable only with an explicit opt-in
(`DownloadPolicy(allow_addresses=("127.0.0.1",))`); by default it, and any
redirect to a private or link-local address, is refused before connecting.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest

from llmkit import APITimeoutError, ConfigurationError, Document, Image, Message
from llmkit.media_download import DownloadPolicy, fetch
from llmkit.providers import OllamaProvider, OpenAIProvider
from llmkit.types import Request

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
PDF = b"%PDF-1.4 downloaded"


class _Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _Handler.hits.append(self.path)
        routes = {
            "/cat.png": (200, PNG, "image/png"),
            "/doc": (200, PDF, "application/octet-stream"),
            "/big": (200, b"x" * 4096, "application/octet-stream"),
        }
        if self.path in routes:
            status, body, kind = routes[self.path]
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/redirect"):
            target = {
                "/redirect-private": "http://10.0.0.1/cat.png",
                "/redirect-metadata": "http://169.254.169.254/latest/meta-data/",
                "/redirect-ok": "/cat.png",
            }[self.path]
            self.send_response(302)
            self.send_header("location", target)
            self.send_header("content-length", "0")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.hits = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


OPT_IN = DownloadPolicy(allow_addresses=("127.0.0.1",))


async def test_loopback_is_refused_by_default(server: str) -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        await fetch(f"{server}/cat.png")
    assert _Handler.hits == []  # refused before connecting


async def test_opt_in_reaches_the_test_server_and_sniffs_the_type(server: str) -> None:
    data, media_type = await fetch(f"{server}/cat.png", OPT_IN)
    assert (data, media_type) == (PNG, "image/png")
    data, media_type = await fetch(f"{server}/redirect-ok", OPT_IN)
    assert data == PNG


@pytest.mark.parametrize("path", ["/redirect-private", "/redirect-metadata"])
async def test_a_redirect_to_a_private_address_is_refused(server: str, path: str) -> None:
    with pytest.raises(ConfigurationError, match="private, loopback or link-local"):
        await fetch(f"{server}{path}", OPT_IN)
    assert _Handler.hits == [path]


async def test_size_cap_scheme_and_timeout(server: str) -> None:
    with pytest.raises(ConfigurationError, match="download cap"):
        await fetch(f"{server}/big", DownloadPolicy(max_bytes=1024, allow_addresses=("127.0.0.1",)))
    for url in ("file:///etc/passwd", "ftp://example.com/x.png", "gopher://x/"):
        with pytest.raises(ConfigurationError, match="http and https"):
            await fetch(url, OPT_IN)
    with pytest.raises(APITimeoutError):
        await fetch(f"{server}/slow", DownloadPolicy(timeout=0.3, allow_addresses=("127.0.0.1",)))
    with pytest.raises(ConfigurationError, match="'auto', 'always' or 'never'"):
        DownloadPolicy(mode="sometimes")  # type: ignore[arg-type]


def _capture() -> tuple[list[Any], httpx2.AsyncClient]:
    sent: list[Any] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        if request.url.path.endswith("/api/chat"):
            return httpx2.Response(
                200, json={"message": {"role": "assistant", "content": "ok"}, "done": True}
            )
        return httpx2.Response(
            200,
            json={
                "choices": [
                    {"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
                ]
            },
        )

    return sent, httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


async def test_hosts_that_do_not_fetch_urls_get_the_bytes(server: str) -> None:
    sent, client = _capture()
    openai = OpenAIProvider(api_key="k", http_client=client, retry=None, sender="httpx2")
    openai.media_download = OPT_IN
    request = Request(
        model="gpt-4o", messages=[Message.user("sum up", Document.from_url(f"{server}/doc"))]
    )
    await openai.complete(request)
    file = sent[-1]["messages"][0]["content"][1]["file"]
    assert file["file_data"].startswith("data:application/pdf;base64,")  # sniffed, not the header

    ollama = OllamaProvider(http_client=client, retry=None)
    ollama.media_download = OPT_IN
    await ollama.stream(
        Request(
            model="llava", messages=[Message.user("what?", Image.from_url(f"{server}/cat.png"))]
        )
    ).collect()
    assert len(sent[-1]["messages"][0]["images"]) == 1

    # an image URL OpenAI fetches itself is passed through untouched ("auto")
    hits = len(_Handler.hits)
    await openai.complete(
        Request(
            model="gpt-4o", messages=[Message.user("what?", Image.from_url(f"{server}/cat.png"))]
        )
    )
    assert sent[-1]["messages"][0]["content"][1]["image_url"]["url"] == f"{server}/cat.png"
    assert len(_Handler.hits) == hits
    await client.aclose()
