"""Moved to `llmkit.ratelimit.redis`; this path keeps working for one release."""

from llmkit.ratelimit.redis import *  # noqa: F403
from llmkit.ratelimit.redis import __all__ as __all__
