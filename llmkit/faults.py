"""Moved to `llmkit.testing.faults`; this path keeps working for one release."""

from llmkit.testing.faults import *  # noqa: F403
from llmkit.testing.faults import __all__ as __all__
