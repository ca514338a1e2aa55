"""How a benchmark run is shown: a `rich` table, JSON, CSV, and a latency plot.

`to_json` and `csv_rows` are pure (plain data out); `render_table` builds a
`rich` table; `plot` draws with matplotlib. `rich` and `matplotlib` are imported
inside the functions that need them, through `require`, so a missing one names
its extra (`llmkit[cli]`, `llmkit[plot]`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llmkit._imports import require
from llmkit.bench._results import BenchResult, ProviderResult, Sample
from llmkit.bench._stats import Distribution

__all__ = [
    "CSV_FIELDS",
    "csv_rows",
    "durations",
    "plot",
    "plot_title",
    "render_table",
    "same_model",
    "to_json",
    "write_csv",
]

CSV_FIELDS = (
    "provider",
    "model",
    "index",
    "prompt_index",
    "started",
    "ttft",
    "total",
    "output_tokens",
    "tokens_source",
    "tokens_per_second",
    "retries",
    "cost",
    "error_type",
    "error",
    "host_timings",
)


def _distribution(dist: Distribution | None) -> dict[str, Any] | None:
    if dist is None:
        return None
    return {
        "count": dist.count,
        "p50": dist.p50,
        "p90": dist.p90,
        "p99": dist.p99,
        "mean": dist.mean,
        "ci95": [dist.ci_low, dist.ci_high],
        "min": dist.min,
        "max": dist.max,
    }


def provider_json(result: ProviderResult) -> dict[str, Any]:
    """One provider's summary as plain data; times in seconds."""
    return {
        "model": result.model,
        "count": result.count,
        "errors": result.errors,
        "error_types": result.error_types,
        "retries": result.retries,
        "ttft": _distribution(result.ttft),
        "total": _distribution(result.total),
        "inter_token": _distribution(result.inter_token),
        "output_tokens_per_second": _distribution(result.tokens_per_second),
        "output_tokens": result.output_tokens,
        "cost": result.cost,
        "host_timings": {k: _distribution(v) for k, v in result.host_timings.items()},
    }


def to_json(result: BenchResult, **extra: Any) -> dict[str, Any]:
    """The run as plain data: its settings, and per provider (by label) the summaries."""
    return {
        "started_at": result.started_at,
        "duration": result.duration,
        "model": result.model,
        "prompts": result.prompts,
        "n": result.n,
        "concurrency": result.concurrency,
        "warmup": result.warmup,
        "interrupted": result.interrupted,
        "models": result.models,
        "same_model": same_model(result),
        **extra,
        "providers": {p.provider: provider_json(p) for p in result.providers},
    }


def same_model(result: BenchResult) -> bool:
    """Whether every provider ran the same model (by the catalog's canonical name)."""
    from llmkit.bench._models import canonical
    from llmkit.catalog import default_catalog

    catalog = default_catalog()
    names = {canonical(catalog, p.provider, p.model) if p.model else None for p in result.providers}
    return len(names) <= 1


def dumps(result: BenchResult, **extra: Any) -> str:
    """`to_json` as indented JSON text."""
    return json.dumps(to_json(result, **extra), indent=2)


def csv_rows(result: BenchResult) -> Iterator[dict[str, Any]]:
    """One row per measured request, in the order the requests were sent."""
    for sample in result.samples:
        yield _row(sample)


def _row(sample: Sample) -> dict[str, Any]:
    row = {name: getattr(sample, name) for name in CSV_FIELDS if name != "host_timings"}
    row["host_timings"] = json.dumps(sample.host_timings) if sample.host_timings else ""
    return row


def write_csv(result: BenchResult, path: str | Path) -> None:
    """Write one CSV row per request to `path`."""
    with Path(path).open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(csv_rows(result))


# -- the terminal table --------------------------------------------------------------


def seconds(value: float | None) -> str:
    """`0.182` -> `182 ms`, `2.5` -> `2.50 s`; `-` for None."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _ms(value: float) -> str:
    return f"{value * 1000:.0f}" if value >= 0.01 else f"{value * 1000:.1f}"


def durations(values: Sequence[float], separator: str = " / ") -> str:
    """Times in one unit, written once, as `seconds` would pick it: in ms when all are
    under a second (`182 / 240 / 300 ms`, `2.0 / 3.6 / 4.0 ms`), else in s
    (`0.89 / 1.10 / 1.30 s`; three decimals below 10 ms, never `0.00`)."""
    if max(values) < 1:
        return separator.join(_ms(v) for v in values) + " ms"
    return separator.join(f"{v:.2f}" if v >= 0.01 else f"{v:.3f}" for v in values) + " s"


def _triple(dist: Distribution | None, unit: str) -> str:
    if dist is None:
        return "-"
    values = (dist.p50, dist.p90, dist.p99)
    if unit == "ms":
        return " / ".join(_ms(v) for v in values)
    return durations(values)


def _mean(dist: Distribution | None) -> str:
    """The mean and the half-width of its 95% CI, both in the mean's unit (as `seconds`)."""
    if dist is None:
        return "-"
    half = (dist.ci_high - dist.ci_low) / 2
    if dist.mean < 1:
        return f"{_ms(dist.mean)} ± {_ms(half)} ms"
    return f"{dist.mean:.2f} ± {half:.2f} s"


def host_cell(result: ProviderResult) -> str:
    """The host-reported timings of one provider, p50 each: `queue 37 ms · prompt 4.0 ms`."""
    parts = []
    for key, dist in result.host_timings.items():
        short = key.removesuffix("_time").removesuffix("_duration")
        parts.append(f"{short} {seconds(dist.p50)}")
    return " · ".join(parts)


HEADERS = (
    "provider",
    "model",
    "ok/n",
    "TTFT ms\np50 / p90 / p99",
    "total\np50 / p90 / p99",
    "total\nmean ± 95% CI",
    "ITL ms\np50",
    "out tok/s\np50",
    "retries",
    "cost $",
)


def table_rows(result: BenchResult) -> list[list[str]]:
    """The cells of the summary table, one row per provider (pure; the table is built from it)."""
    rows = []
    for p in result.providers:
        speed = p.tokens_per_second
        rows.append(
            [
                p.provider,
                p.model or "?",
                f"{p.count - p.errors}/{p.count}",
                _triple(p.ttft, "ms"),
                _triple(p.total, "s"),
                _mean(p.total),
                _ms(p.inter_token.p50) if p.inter_token else "-",
                f"{speed.p50:,.0f}" if speed else "-",
                str(p.retries),
                "-" if p.cost is None else f"{p.cost:.4f}",
            ]
        )
    return rows


def error_lines(result: BenchResult) -> list[str]:
    """One line per provider and error type: how many, and the first message."""
    lines = []
    for p in result.providers:
        for error_type, count in p.error_types.items():
            first = next((s.error for s in p.samples if s.error_type == error_type), None)
            lines.append(f"{p.provider}: {count} x {error_type}: {first or ''}".rstrip(": "))
    return lines


def render_table(result: BenchResult, *, title: str | None = None) -> Any:
    """A `rich` renderable of the run: the summary table, then host-reported timings if any.

    Requires the `cli` extra.
    """
    table_module = require("rich.table", extra="cli")
    console_module = require("rich.console", extra="cli")
    caption = (
        f"{result.n} requests per provider, concurrency {result.concurrency}, "
        f"warm-up {result.warmup}, prompts: {result.prompts}; {result.duration:.1f} s"
    )
    if result.interrupted:
        caption += "; INTERRUPTED: partial results"
    table = table_module.Table(title=title, caption=caption)
    widest = max((len(p.model or "?") for p in result.providers), default=5)
    for name in HEADERS:
        if name == "model":  # the host's id in full: the row means nothing without it
            table.add_column(name, justify="left", no_wrap=True, min_width=widest)
        else:
            table.add_column(name, justify="left" if name == "provider" else "right")
    for row in table_rows(result):
        table.add_row(*row)
    parts: list[Any] = [table]
    hosts = [(p.provider, host_cell(p)) for p in result.providers if p.host_timings]
    if hosts:
        reported = table_module.Table(
            title="host-reported timings (p50), beside the client-side ones"
        )
        reported.add_column("provider")
        reported.add_column("as the host measured itself")
        for provider, cell in hosts:
            reported.add_row(provider, cell)
        parts.append(reported)
    errors = error_lines(result)
    if errors:
        text_module = require("rich.text", extra="cli")
        parts.append(text_module.Text("errors:\n  " + "\n  ".join(errors)))
    return console_module.Group(*parts)


def plot_title(result: BenchResult, *, synthetic: bool = False) -> str:
    """The plot's title: the run, the model of each host, and SYNTHETIC when it is."""
    from llmkit.bench._models import labels_of

    head = "SYNTHETIC data (demo profiles, not real traffic) — " if synthetic else ""
    models = result.models
    distinct = {m for m in models.values()}
    which = (
        f"model {next(iter(distinct))}"
        if len(distinct) == 1 and None not in distinct
        else f"models {labels_of(models)}"
    )
    return f"{head}llmkit bench — {which}\n{result.n} requests per provider, {result.started_at}"


def plot(result: BenchResult, path: str | Path, *, synthetic: bool = False) -> None:
    """Draw the distributions of time to first token and total latency to `path` (PNG).

    The title names each host's model and says SYNTHETIC when `synthetic` (a demo
    or a replay of synthetic profiles); each box is labelled with its host and model.

    Raises:
        ConfigurationError: matplotlib is not installed (names the `plot` extra).
    """
    matplotlib = require("matplotlib", extra="plot")
    matplotlib.use("Agg")
    pyplot = require("matplotlib.pyplot", extra="plot")
    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4.5))
    labels = [f"{p.provider}\n{p.model or '?'}" for p in result.providers]
    for ax, metric, title in (
        (axes[0], "ttft", "time to first token"),
        (axes[1], "total", "total latency"),
    ):
        data = [
            [getattr(s, metric) for s in p.samples if s.ok and getattr(s, metric) is not None]
            for p in result.providers
        ]
        ax.boxplot([d or [0.0] for d in data], showfliers=True)
        ax.set_xticks(range(1, len(labels) + 1), labels)
        ax.set_title(title)
        ax.set_ylabel("seconds")
        ax.grid(axis="y", alpha=0.3)
    figure.suptitle(plot_title(result, synthetic=synthetic))
    figure.tight_layout()
    figure.savefig(str(path), dpi=120)
    pyplot.close(figure)
