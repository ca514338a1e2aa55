"""Vendor SDKs are imported here, on first use, so that `import llmkit` stays light."""

from __future__ import annotations

import importlib
from types import ModuleType

from llmkit.errors import ConfigurationError


def install_hint(extra: str) -> str:
    """How to install the extra `extra`, from PyPI and from a clone of the repository."""
    return f"pip install 'llmkit[{extra}]' (or, in a clone of llmkit: pip install -e '.[{extra}]')"


def require(module: str, *, extra: str) -> ModuleType:
    """Import `module`, or raise a `ConfigurationError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ConfigurationError(
            f"'{top}' is not installed; install it with: {install_hint(extra)}"
        ) from exc
