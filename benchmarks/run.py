"""llmkit's performance suite: one command, one table, the targets PASS or MISS.

    python benchmarks/run.py            # full run, a few minutes; writes benchmarks/results.md
    python benchmarks/run.py --quick    # fewer repeats, for a smoke check
    python benchmarks/run.py --only inprocess,startup --no-save

Sections (each bounded: fixed numbers of calls and rounds, nothing loops forever):

- in-process CPU per call through a mock transport: raw httpx/httpx2 + json,
  the `openai` SDK alone, llmkit's providers with both senders (llmkit's own
  `httpx2` requests, `sender="sdk"`), a model client over one, and the
  Anthropic codec (against raw httpx on Anthropic's bytes);
- loopback: a local OpenAI-compatible server in a subprocess on 127.0.0.1,
  sequential latency, then rounds of 256 concurrent 64-chunk streams;
- start-up: `import llmkit` time and memory in fresh interpreters, time to
  build a provider and a client, and process start to the first reply on loopback
  (llmkit against raw httpx2, with the vendor SDKs each imported).

This is a benchmark, not a test: nothing here runs in CI, and the numbers
depend on the machine and its load, which the report records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import _inprocess  # noqa: E402
import _loopback  # noqa: E402
import _startup  # noqa: E402

SECTIONS = ("inprocess", "loopback", "startup")
FLOOR = "raw httpx + json"
FLOOR2 = "raw httpx2 + json"
LLMKIT_INPROC = "llmkit OpenAIProvider"
LLMKIT_LOOP = "llmkit OpenAICompatibleProvider"
LLMKIT_CLIENT = "llmkit GPT4Client -> OpenAIProvider"
LLMKIT_FIRST = "llmkit OpenAIProvider"


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "unknown"
    versions = {}
    for name in ("httpx", "httpx2", "openai", "attrs"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = "-"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load": load,
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


# -- tables -------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table (also readable as plain text)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return (
            "| "
            + " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=False))
            )
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return [line(headers), rule, *(line(r) for r in rows)]


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "-"


def _floor_of(case: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The floor a row is compared with: raw httpx on the same wire format's bytes."""
    name = _inprocess.ANTHROPIC_FLOOR if "Anthropic" in case else FLOOR
    return next(r for r in rows if r["case"] == name)


def inprocess_table(rows: list[dict[str, Any]]) -> list[str]:
    return table(
        ["in-process, CPU per call", "chat call µs", "vs raw httpx", "64-chunk stream µs", "vs raw httpx"],
        [
            [r["case"], f"{r['call_us']:,.0f}", ratio(r["call_us"], _floor_of(r["case"], rows)["call_us"]),
             f"{r['stream_us']:,.0f}", ratio(r["stream_us"], _floor_of(r["case"], rows)["stream_us"])]
            for r in rows
        ],
    )  # fmt: skip


def loopback_table(rows: list[dict[str, Any]]) -> list[str]:
    floor = next(r for r in rows if r["case"] == FLOOR)
    return table(
        ["loopback, 127.0.0.1", "call p50 ms", "call p99 ms", "stream p50 ms",
         "256 streams: streams/s", "vs raw httpx", "p99 ms", "vs raw httpx", "rounds"],
        [
            [r["case"], f"{r['seq_call_p50_ms']:.2f}", f"{r['seq_call_p99_ms']:.2f}",
             f"{r['seq_stream_p50_ms']:.2f}", f"{r['streams_per_s']:.1f}",
             ratio(r["streams_per_s"], floor["streams_per_s"]), f"{r['concurrent_p99_ms']:,.0f}",
             ratio(r["concurrent_p99_ms"], floor["concurrent_p99_ms"]), str(r["rounds"])]
            for r in rows
        ],
    )  # fmt: skip


def startup_table(result: dict[str, Any]) -> list[str]:
    rows = [
        [f"import {r['module']}", f"{r['ms']:.1f}", f"{r['cpu_ms']:.1f}", f"{r['mib']:.1f}",
         ", ".join(r["loaded"]) or "none"]
        for r in result["imports"]
    ]  # fmt: skip
    build = result["build"]
    rows.append(
        [
            "first OpenAIProvider build",
            f"{build['first_build_ms']:.2f}",
            "-",
            "-",
            ", ".join(build["first_build_sdks"]) or "none",
        ]
    )
    rows.append(
        ["build OpenAIProvider + GPT4Client", f"{build['build_us'] / 1000:.3f}", "-", "-", "-"]
    )
    rows.append(["first call, mock transport (pool built)", f"{build['first_call_ms']:.1f}",
                 "-", "-", "-"])  # fmt: skip
    for r in result.get("first_call", ()):
        rows.append([f"process start to first reply on loopback: {r['case']}", f"{r['ms']:.0f}",
                     "-", "-", ", ".join(r["loaded"]) or "none"])  # fmt: skip
    return table(
        [
            "start-up (median of fresh interpreters)",
            "wall ms",
            "CPU ms",
            "MiB",
            "vendor SDKs loaded",
        ],
        rows,
    )


# -- targets ------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[tuple[bool, str]]:
    """Each performance target of issue 9 with PASS (True) or MISS and the numbers behind it."""
    checks: list[tuple[bool, str]] = []
    if "startup" in results:
        imp = next(r for r in results["startup"]["imports"] if r["module"] == "llmkit")
        clean = not imp["loaded"]
        checks.append((imp["cpu_ms"] < 50 and clean,
                       f"import llmkit < 50 ms with no vendor SDK: {imp['cpu_ms']:.1f} ms CPU "
                       f"({imp['ms']:.1f} ms wall), vendor SDKs loaded: {', '.join(imp['loaded']) or 'none'}"))  # fmt: skip
        first = {r["case"]: r for r in results["startup"].get("first_call", ())}
        if LLMKIT_FIRST in first and FLOOR2 in first:
            ours, floor = first[LLMKIT_FIRST], first[FLOOR2]
            r = ours["ms"] / floor["ms"]
            checks.append((r <= 1.3 and not ours["loaded"],
                           f"first call of a fresh {LLMKIT_FIRST.removeprefix('llmkit ')} (process start to "
                           f"reply on loopback) <= 1.3x raw httpx2's, no vendor SDK imported: {ours['ms']:.0f} "
                           f"vs {floor['ms']:.0f} ms = {r:.2f}x, SDKs imported: {', '.join(ours['loaded']) or 'none'}"))  # fmt: skip
    if "inprocess" in results:
        rows = {r["case"]: r for r in results["inprocess"]}
        floor, floor2 = rows[FLOOR], rows[FLOOR2]
        for case, limits in ((LLMKIT_INPROC, (1.2, 1.5)), (LLMKIT_CLIENT, (1.5, 1.5))):
            if case not in rows:
                continue
            ours = rows[case]
            for key, what, limit in (("call_us", "chat call", limits[0]),
                                     ("stream_us", "64-chunk stream", limits[1])):  # fmt: skip
                r = ours[key] / floor[key]
                checks.append((r <= limit, f"{case} CPU per {what} <= {limit}x raw httpx: "
                               f"{ours[key]:,.0f} µs = {r:.2f}x raw httpx ({ours[key] / floor2[key]:.2f}x raw httpx2)"))  # fmt: skip
    if "loopback" in results:
        rows = {r["case"]: r for r in results["loopback"]}
        if LLMKIT_LOOP in rows:
            ours, floor = rows[LLMKIT_LOOP], rows[FLOOR]
            share = ours["streams_per_s"] / floor["streams_per_s"]
            checks.append((share >= 0.95, f"256 concurrent streams >= 95% of raw httpx throughput: "
                           f"{ours['streams_per_s']:.1f} vs {floor['streams_per_s']:.1f} streams/s = {share:.0%}"))  # fmt: skip
            p99 = ours["concurrent_p99_ms"] / floor["concurrent_p99_ms"]
            checks.append((p99 <= 1.1, f"256 concurrent streams p99 <= 1.1x raw httpx: "
                           f"{ours['concurrent_p99_ms']:,.0f} vs {floor['concurrent_p99_ms']:,.0f} ms = {p99:.2f}x"))  # fmt: skip
    return checks


def report(results: dict[str, Any], info: dict[str, str], quick: bool) -> list[str]:
    lines = [
        "# llmkit performance results",
        "",
        f"Measured {info['date']} by `python benchmarks/run.py{' --quick' if quick else ''}` on "
        f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, {info['platform']}; "
        f"{info['versions']}. Load average at the end: {info['load']} "
        "(the machine is shared: wall-clock figures are noisy, CPU figures less so).",
        "",
    ]
    if "inprocess" in results:
        lines += [*inprocess_table(results["inprocess"]), ""]
        missing = _inprocess.missing_others()
        if missing:
            lines += [f"Not installed, so not measured: {', '.join(missing)}.", ""]
    if "loopback" in results:
        lines += [*loopback_table(results["loopback"]), ""]
    if "startup" in results:
        lines += [*startup_table(results["startup"]), ""]
    lines += ["## Targets (issue 9)", ""]
    for ok, text in targets(results):
        lines.append(f"- **{'PASS' if ok else 'MISS'}** {text}")
    return lines


DOCS = ROOT / "docs" / "performance.md"
START, END = "<!-- results:start (written by benchmarks/run.py) -->", "<!-- results:end -->"


def update_docs(lines: list[str]) -> bool:
    """Replace the results block of docs/performance.md (full runs only)."""
    if not DOCS.is_file():
        return False
    text = DOCS.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOCS.write_text(
        head + START + "\n" + "\n".join(lines).rstrip("\n") + "\n" + END + tail, encoding="utf-8"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results.md")
    parser.add_argument("--out", default=str(HERE / "results.md"), help="where to save the report")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    results: dict[str, Any] = {}
    for section in chosen:
        print(f"running {section} ...", file=sys.stderr, flush=True)
        if section == "inprocess":
            results[section] = _inprocess.run(quick=args.quick)
        elif section == "loopback":
            results[section] = _loopback.run(quick=args.quick)
        elif section == "startup":
            results[section] = _startup.run(quick=args.quick, cwd=str(HERE))
        else:
            parser.error(f"unknown section {section!r}; choose from {', '.join(SECTIONS)}")
    lines = report(results, machine(), args.quick)
    print("\n".join(lines))
    misses = [text for ok, text in targets(results) if not ok]
    if misses:
        print(f"\n{len(misses)} TARGET(S) MISSED:", file=sys.stderr)
        for text in misses:
            print(f"  MISS {text}", file=sys.stderr)
    # Only a full run replaces the published figures; a quick or partial one is a smoke check.
    if not args.no_save and not args.quick and not args.only:
        Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"saved {args.out}", file=sys.stderr)
        if update_docs(lines[2:]):
            print(f"updated the results in {DOCS}", file=sys.stderr)
    # A suite, not a test: missed targets are reported above, not turned into a failure.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
