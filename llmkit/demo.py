"""Moved to `llmkit.cli._demo_tour` (the demo lives with the command line); kept for one release."""

from llmkit.cli._demo_tour import main, run

__all__ = ["main", "run"]
