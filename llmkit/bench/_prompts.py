"""Prompt sets for benchmarks: built-in short, medium and long prompts, or a file.

A benchmark sends the same prompts to every provider, in the same order, so
that the figures compare hosts and not prompts. `load_prompts` takes the name
of a built-in set or the path of a file: plain text (one prompt per line),
JSON (a list of strings, or of objects with a `prompt` field) or JSONL (one
such string or object per line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmkit.errors import ConfigurationError

__all__ = ["BUILTIN", "load_prompts"]

_SHORT = (
    "Say hello in one word.",
    "What is the capital of France? Answer with one word.",
    "Name three primary colours.",
    "What is 17 times 23?",
    "Give a synonym for 'fast'.",
    "Is 97 a prime number? Answer yes or no.",
)

_MEDIUM = (
    "Explain quicksort in one paragraph.",
    "Summarise the causes of the French Revolution in five bullet points.",
    "Write a Python function that checks whether a string is a palindrome, with a docstring.",
    "Compare TCP and UDP in a short table with four rows.",
    "Describe how a hash map handles collisions, in about 120 words.",
    "Write a haiku about latency, then explain its imagery in two sentences.",
)

_LONG_CONTEXT = (
    "You are reviewing a design document for a service that sends requests to "
    "several large language model hosts. The service keeps one connection pool per "
    "event loop, retries rate-limited requests with exponential backoff and full "
    "jitter, honours Retry-After headers, counts tokens before sending so that a "
    "prompt that cannot fit the context window fails early, and records the cost of "
    "every reply from a dated price catalog. Streams are retried only before their "
    "first event; after that an error carries the partial reply. Providers can be "
    "swapped at runtime while requests that are already under way finish on the old "
    "host. "
)

_LONG = (
    _LONG_CONTEXT * 4 + "List the three biggest operational risks of this design and, for "
    "each, one concrete mitigation. Be specific, about 300 words in total.",
    _LONG_CONTEXT * 4 + "Write a test plan for this service: ten test cases, each with its "
    "name, setup and the exact assertion it makes.",
    _LONG_CONTEXT * 4 + "Rewrite the design above as a numbered list of requirements, "
    "each one testable, then say which two are the hardest to meet and why.",
)

BUILTIN: dict[str, tuple[str, ...]] = {"short": _SHORT, "medium": _MEDIUM, "long": _LONG}
"""The built-in prompt sets by name."""


def load_prompts(spec: str) -> tuple[str, ...]:
    """The prompts named by `spec`: a built-in set (`short`, `medium`, `long`) or a file path.

    Raises:
        ConfigurationError: `spec` is neither a built-in set nor a readable file of prompts.
    """
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    if not path.is_file():
        names = ", ".join(BUILTIN)
        raise ConfigurationError(
            f"'{spec}' is neither a built-in prompt set ({names}) nor a file; "
            "pass one of those names or the path of a .txt, .json or .jsonl file of prompts"
        )
    text = path.read_text(encoding="utf-8")
    prompts = _parse(text, path.suffix.lower(), spec)
    if not prompts:
        raise ConfigurationError(f"{spec} holds no prompts; put one prompt per line")
    return prompts


def _parse(text: str, suffix: str, where: str) -> tuple[str, ...]:
    if suffix == ".json":
        items = _load_json(text, where)
        if not isinstance(items, list):
            raise ConfigurationError(f"{where} must be a list of prompts (strings or objects)")
        return tuple(_prompt_of(item, where) for item in items)
    lines = [line for line in text.splitlines() if line.strip()]
    if suffix == ".jsonl":
        return tuple(_prompt_of(_load_json(line, where), where) for line in lines)
    return tuple(line.strip() for line in lines)


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"{where} is not valid JSON: {exc}") from exc


def _prompt_of(item: Any, where: str) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("prompt"), str):
        return str(item["prompt"])
    raise ConfigurationError(
        f"{where}: each prompt must be a string or an object with a 'prompt' string, not {item!r:.60}"
    )
