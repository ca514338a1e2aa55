"""Moved to `llmkit.ratelimit.buckets`; this path keeps working for one release."""

from llmkit.ratelimit.buckets import *  # noqa: F403
from llmkit.ratelimit.buckets import __all__ as __all__
