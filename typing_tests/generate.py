"""Write `typing_tests/<page>.py` from the Python snippets of README.md and docs/*.md.

    .venv/bin/python typing_tests/generate.py          # rewrite the files
    .venv/bin/python typing_tests/generate.py --check  # exit 1 when a file is stale
    .venv/bin/mypy --strict typing_tests                # what CI runs (.ci/run)

Each snippet becomes the body of an `async def snippet_N()` (so top-level
`await` and `async for` type-check as a reader would run them); nothing is
executed, so importing these files opens no connection. What a snippet
takes from the text around it (a `provider`, a `request`) comes in as typed
parameters, and the names a page's earlier snippet imported are imported at
the top of its file. Where a snippet needs a narrowing a reader does in
their head (an entry the catalog may not have), `ADAPT` inserts it, and says
so in the generated file; every adaptation must still match its snippet, so
a changed page fails `--check` instead of drifting silently.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "typing_tests"

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

CONTEXT = "provider: BaseProvider, request: Request"
"""The parameters of a snippet that uses the page's `provider` and `request` (a built-in
provider: they all have the `_sync` twins)."""

PARAMS: dict[tuple[str, int], str] = {
    ("content_parts", 3): "provider: BaseProvider",
    ("content_parts", 4): "client: ModelClient, prompt: str, tools: list[ToolSpec]",
    ("errors", 2): CONTEXT,
    ("retries", 3): CONTEXT,
    ("streaming", 2): CONTEXT,
    ("streaming", 3): CONTEXT,
    ("structured_output", 1): "client: ModelClient",
    ("tools", 1): "client: ModelClient",
    ("tools", 3): (
        "client: ModelClient, conversation: list[Message], WEATHER: ToolSpec,"
        " get_weather: Callable[..., str]"
    ),
}
"""(page, snippet number) → the parameters it takes from the text around it."""

IMPORTS: dict[str, list[str]] = {
    "readme": [
        "from llmkit.clients import DeepSeekClient",
        "from llmkit.providers import GroqProvider",
    ],
    "clients": [
        "from llmkit.catalog import CatalogEntry",
        "from llmkit.clients import EventRewriter",
        "from llmkit.providers import Provider",
        "from llmkit.types import Request, Response",
    ],
    "structured_output": ["from llmkit.clients import ModelClient"],
    "tools": [
        "from collections.abc import Callable",
        "from llmkit.clients import ModelClient",
        "from llmkit.types import Message, ToolSpec",
    ],
    "providers": [
        "from llmkit.providers import GroqProvider, OpenAICompatibleProvider",
        "from llmkit.types import Message, Request",
    ],
    "cache": [
        "from llmkit.cache import MemoryCache",
        "from llmkit.clients import DeepSeekClient",
        "from llmkit.testing import FakeProvider",
    ],
    "content_parts": [
        "from llmkit import Audio, CachePoint, Document, FileRef, Image, Message",
        "from llmkit.clients import ModelClient",
        "from llmkit.providers import BaseProvider",
        "from llmkit.types import ToolSpec",
    ],
}
"""Page → imports its later snippets rely on (made by an earlier one, or by the prose)."""

SESSIONS: dict[str, list[tuple[int, int]]] = {
    "structured_output": [(1, 3)],
    "tools": [(1, 2)],
}
"""Page → runs of snippets (first, last) that build on each other: checked as one function."""

ADAPT: dict[tuple[str, int], list[tuple[str, str]]] = {
    ("bench", 1): [
        (
            "    for p in result.providers:\n",
            "    for p in result.providers:\n"
            "        assert p.ttft and p.total and p.tokens_per_second  # typing_tests: narrowed\n",
        ),
    ],
    ("bench", 3): [
        (
            "    print(name, recorded[name].ttft.p50, replayed[name].ttft.p50)",
            "    before, after = recorded[name].ttft, replayed[name].ttft\n"
            "    assert before and after  # typing_tests: narrowed\n"
            "    print(name, before.p50, after.p50)",
        ),
    ],
    ("catalog", 1): [
        (
            'print(catalog.find("openai", "gpt-4o-2024-08-06").prices)',
            'snapshot = catalog.find("openai", "gpt-4o-2024-08-06")\n'
            "assert snapshot is not None  # typing_tests: narrowed\n"
            "print(snapshot.prices)",
        ),
    ],
    ("clients", 4): [
        (
            "    def prepare(self, request, provider, entry):",
            "    def prepare(  # typing_tests: annotated\n"
            "        self, request: Request, provider: Provider, entry: CatalogEntry\n"
            "    ) -> Request:",
        ),
        (
            "    def finish(self, response):",
            "    def finish(self, response: Response) -> Response:  # typing_tests: annotated\n   ",
        ),
        (
            "    def stream_rewriter(self, request, provider):",
            "    def stream_rewriter(  # typing_tests: annotated\n"
            "        self, request: Request, provider: Provider\n"
            "    ) -> EventRewriter | None:",
        ),
    ],
    ("cost", 1): [
        (
            'prices = default_catalog().find("deepseek", "deepseek-flash").prices\n',
            'entry = default_catalog().find("deepseek", "deepseek-flash")\n'
            "assert entry is not None  # typing_tests: narrowed\n"
            "prices = entry.prices\n",
        ),
        (
            "print(price_usage(usage, prices, when=monday_peak + dt.timedelta(hours=12)).total)",
            "half = price_usage(usage, prices, when=monday_peak + dt.timedelta(hours=12))\n"
            "assert half is not None  # typing_tests: narrowed\n"
            "print(half.total)",
        ),
    ],
    ("events", 1): [
        (
            "    response = event.response\n",
            "    response = event.response\n"
            "    assert response is not None  # typing_tests: narrowed (always set on `response`)\n",
        ),
    ],
    ("observability", 1): [
        ("print(dict(span.attributes))", "print(dict(span.attributes or {}))"),
        (
            "for metric in reader.get_metrics_data().resource_metrics",
            "data = reader.get_metrics_data()\n"
            "assert data is not None  # typing_tests: narrowed\n"
            "for metric in data.resource_metrics",
        ),
    ],
    ("rate_limits", 3): [
        ("async def main():", "async def main() -> None:  # typing_tests: annotated")
    ],
    ("retries", 5): [
        (
            "def server(request):",
            "def server(request: httpx2.Request) -> httpx2.Response:  # typing_tests: annotated",
        ),
    ],
    ("timeouts", 2): [
        ("async def main():", "async def main() -> None:  # typing_tests: annotated")
    ],
    ("retries", 3): [
        (
            'print("\\n[cut short]", error.partial.text)',
            'print("\\n[cut short]", error.partial.text if error.partial else "")',
        ),
    ],
}
"""(page, snippet number) → (text, replacement) pairs: narrowings a reader does in their head."""


def pages() -> list[tuple[str, Path]]:
    """(module name, page) for README.md and every docs page."""
    found = [("readme", ROOT / "README.md")]
    found += [(p.stem.replace("-", "_"), p) for p in sorted((ROOT / "docs").glob("*.md"))]
    return found


def render(name: str, page: Path) -> str | None:
    """The typing test of `page`, or None when it has no Python snippet."""
    snippets = FENCE.findall(page.read_text(encoding="utf-8"))
    if not snippets:
        return None
    out = [
        f'"""The Python snippets of {page.relative_to(ROOT)}: type-checked, never run.',
        "",
        "Generated by typing_tests/generate.py: edit the page, then run it.",
        '"""',
        "",
        "# ruff: noqa",
        "from __future__ import annotations",
        "",
    ]
    if any(key[0] == name for key in PARAMS):
        out += ["from llmkit.providers import BaseProvider", "from llmkit.types import Request"]
    out += IMPORTS.get(name, [])
    runs = {first: last for first, last in SESSIONS.get(name, [])}
    continued: set[int] = set()
    for number, code in enumerate(snippets, 1):
        for old, new in ADAPT.get((name, number), []):
            if old not in code:
                raise SystemExit(
                    f"{page.relative_to(ROOT)} snippet {number} no longer contains {old!r}: "
                    "update ADAPT in typing_tests/generate.py"
                )
            code = code.replace(old, new)
        body = textwrap.indent(code.rstrip("\n"), "    ", lambda line: bool(line.strip()))
        if number in continued:
            out += ["", f"    # -- snippet {number}, continuing the one above", body]
            continue
        last = runs.get(number, number)
        continued.update(range(number + 1, last + 1))
        label = f"snippet_{number}" if last == number else f"snippets_{number}_to_{last}"
        params = PARAMS.get((name, number), "")
        out += ["", "", f"async def {label}({params}) -> None:", body]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    made = {"__init__.py", "generate.py", "public_api.py"}
    for name, page in pages():
        text = render(name, page)
        target = HERE / f"{name}.py"
        if text is None:
            continue
        made.add(target.name)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not check:
            target.write_text(text, encoding="utf-8")
    for orphan in sorted(p for p in HERE.glob("*.py") if p.name not in made):
        stale.append(orphan.name)  # its page is gone, or has no Python snippet any more
        if not check:
            orphan.unlink()
    if check and stale:
        print(
            f"stale: {', '.join(stale)}; run .venv/bin/python typing_tests/generate.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
