"""Downloading the media URLs a host will not fetch itself, safely.

A URL in a message may come from a user: fetching it must not reach the
machine's own network. `fetch(url, policy)`:

- takes `http` and `https` only;
- resolves the host name and refuses when any address is private, loopback,
  link-local, multicast, reserved or unspecified (unless `allow_private=True`,
  or the address is in `allow_addresses`, an explicit opt-in);
- follows at most `max_redirects` redirects by hand, checking every hop the same way;
- stops at `max_bytes` (default 20 MB) and after `timeout` seconds in all.

Every refusal is a `ConfigurationError` (the request is never sent); a failed
download is an `APIConnectionError`. The name is resolved again by the HTTP
client when it connects: a DNS answer that changes between the two lookups
(rebinding) is not caught here; put a proxy in front for hostile input.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Literal
from urllib.parse import urljoin, urlsplit

import anyio
from attrs import field, frozen

from llmkit.errors import APIConnectionError, APITimeoutError, ConfigurationError
from llmkit.parts import normalise_media_type, sniff

__all__ = ["DownloadPolicy", "check_url", "fetch"]


@frozen
class DownloadPolicy:
    """How llmkit downloads media URLs (see the module's docstring)."""

    mode: Literal["auto", "always", "never"] = "auto"
    max_bytes: int = 20 * 2**20
    timeout: float = 30.0
    max_redirects: int = 5
    allow_private: bool = False
    """Let URLs reach private, loopback and link-local addresses (never for user input)."""
    allow_addresses: tuple[str, ...] = field(default=(), converter=tuple)
    """Addresses allowed even though private (a test server, an intranet mirror)."""

    def __attrs_post_init__(self) -> None:
        if self.mode not in ("auto", "always", "never"):
            raise ConfigurationError(
                f"download must be 'auto', 'always' or 'never', not {self.mode!r}"
            )


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


async def check_url(url: str, policy: DownloadPolicy) -> None:
    """Raise `ConfigurationError` unless `url` is http(s) and every address it resolves to is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"llmkit downloads http and https URLs only, not {parts.scheme or url!r}"
        )
    host = parts.hostname
    if not host:
        raise ConfigurationError(f"no host in the URL {url[:80]!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise APIConnectionError(f"cannot resolve {host!r} to download media: {exc}") from None
    if policy.allow_private:
        return
    for info in infos:
        address = str(info[4][0])
        if address in policy.allow_addresses:
            continue
        if _blocked(address):
            raise ConfigurationError(
                f"refusing to download {url[:80]!r}: {host} resolves to {address}, a private, "
                "loopback or link-local address (set DownloadPolicy(allow_addresses=...) to allow it)"
            )


async def fetch(url: str, policy: DownloadPolicy | None = None) -> tuple[bytes, str | None]:
    """The bytes at `url` and their media type (sniffed, else the `Content-Type`)."""
    import httpx2

    policy = policy or DownloadPolicy()
    try:
        with anyio.fail_after(policy.timeout):
            async with httpx2.AsyncClient(follow_redirects=False, timeout=policy.timeout) as client:
                for _ in range(policy.max_redirects + 1):
                    await check_url(url, policy)
                    async with client.stream("GET", url) as reply:
                        if reply.status_code in (301, 302, 303, 307, 308):
                            location = reply.headers.get("location")
                            if not location:
                                break
                            url = urljoin(url, location)
                            continue
                        if reply.status_code != 200:
                            raise APIConnectionError(
                                f"downloading {url[:80]!r} for the host failed: HTTP {reply.status_code}"
                            )
                        declared = reply.headers.get("content-length")
                        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                            raise _too_big(url, policy)
                        chunks: list[bytes] = []
                        size = 0
                        async for chunk in reply.aiter_bytes():
                            size += len(chunk)
                            if size > policy.max_bytes:
                                raise _too_big(url, policy)
                            chunks.append(chunk)
                        data = b"".join(chunks)
                        header = reply.headers.get("content-type")
                        media_type = sniff(data) or (
                            normalise_media_type(header) if header else None
                        )
                        return data, media_type
                raise APIConnectionError(f"downloading {url[:80]!r}: too many redirects")
    except TimeoutError:
        raise APITimeoutError(f"downloading {url[:80]!r} took over {policy.timeout:g} s") from None
    except httpx2.HTTPError as exc:
        raise APIConnectionError(f"downloading {url[:80]!r} failed: {type(exc).__name__}") from None


def _too_big(url: str, policy: DownloadPolicy) -> ConfigurationError:
    return ConfigurationError(
        f"{url[:80]!r} is over the download cap of {policy.max_bytes / 2**20:.0f} MB "
        "(DownloadPolicy(max_bytes=...))"
    )
