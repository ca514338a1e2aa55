"""Moved to `llmkit.ratelimit.headers`; this path keeps working for one release."""

from llmkit.ratelimit.headers import *  # noqa: F403
from llmkit.ratelimit.headers import __all__ as __all__
