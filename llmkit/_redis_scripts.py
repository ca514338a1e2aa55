"""Lua scripts run by their SHA-1: the script's text crosses the network once per server.

`run(client, script, key, *args)` sends `EVALSHA`; a server that does not know the
script yet (new, restarted or flushed) answers `NOSCRIPT`, and the script is sent
whole with `EVAL`, which also stores it for the next time. The rate-limit and
budget backends run a script on every request, so this saves sending a few
hundred bytes of Lua, and Redis compiling them, per request.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["run"]

_SHAS: dict[str, str] = {}


async def run(client: Any, script: str, key: str, *args: Any) -> Any:
    """`script` on one key, by its SHA-1 (then whole, if the server lacks it).

    Raises:
        redis.RedisError: what the server or the connection answered.
    """
    sha = _SHAS.get(script)
    if sha is None:
        sha = _SHAS[script] = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
    from redis.exceptions import NoScriptError

    try:
        return await client.evalsha(sha, 1, key, *args)
    except NoScriptError:
        return await client.eval(script, 1, key, *args)
