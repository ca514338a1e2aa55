"""`did_you_mean`: the one helper behind every "(did you mean 'x'?)" in llmkit's errors."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The choice closest to `word` (difflib's ratio at least `cutoff`), or None."""
    import difflib  # only when a message needs it: `import llmkit` stays light

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `choices`, or `""` when none is close."""
    match = closest(word, choices)
    return f" (did you mean {match!r}?)" if match is not None else ""
