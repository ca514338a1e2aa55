"""The pure request rewrites the model families share, for writing a family client.

Each takes values and returns new ones (`attrs.evolve`, never mutation):

- `merge_consecutive_turns(messages)`: runs of same-role turns become one turn;
- `ensure_user_first(messages)`: a conversation whose first turn (after system)
  is not the user's gets an empty user turn first;
- `fold_system_prompt(request)`: system messages folded into the first user turn,
  for chat templates with no system role;
- `mint_tool_call_ids(response)`: stable ids for tool calls that came without one;
- `with_extra(request, **fields)`: host body fields added; the caller's `extra` wins.

Example:
    from attrs import evolve
    from llmkit.clients.rewrites import merge_consecutive_turns

    request = evolve(request, messages=merge_consecutive_turns(request.messages))
"""

from __future__ import annotations

from llmkit.clients._rewrites import (
    ensure_user_first,
    fold_system_prompt,
    merge_consecutive_turns,
    mint_tool_call_ids,
    with_extra,
)

__all__ = [
    "ensure_user_first",
    "fold_system_prompt",
    "merge_consecutive_turns",
    "mint_tool_call_ids",
    "with_extra",
]
