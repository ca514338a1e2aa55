"""Providers: one module per host, each configuration over a shared base.

Importing this package imports no vendor SDK; a provider imports its SDK when
it first sends a request.
"""

from __future__ import annotations

from llmkit.providers._base import BaseProvider, ModelInfo, Provider
from llmkit.providers._stream import ResponseStream

__all__ = ["BaseProvider", "ModelInfo", "Provider", "ResponseStream"]
