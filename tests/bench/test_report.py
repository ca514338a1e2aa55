"""The report's pure pieces: JSON shape, table cells, CSV rows, error lines, time formats."""

from __future__ import annotations

import pytest

from llmkit.bench._report import csv_rows, durations, error_lines, seconds, table_rows, to_json
from llmkit.bench._results import BenchResult, Sample, aggregate


def _result() -> BenchResult:
    samples = [
        Sample("groq", 0, 0, 0.0, ttft=0.1, total=0.3, inter_token=(0.01, 0.02), output_tokens=40,
               tokens_source="host", tokens_per_second=200.0, host_timings={"queue_time": 0.02}),
        Sample("groq", 2, 1, 0.4, ttft=0.2, total=0.5, output_tokens=60, tokens_source="host",
               tokens_per_second=200.0, cost=0.001, retries=1, host_timings={"queue_time": 0.04}),
        Sample("deepseek", 1, 0, 0.0, total=0.4, error_type="OverloadedError", error="busy"),
    ]  # fmt: skip
    return BenchResult(
        providers=(
            aggregate("groq", samples, model="openai/gpt-oss-120b"),
            aggregate("deepseek", samples, model="deepseek-flash"),
        ),
        n=2, concurrency=1, warmup=0, prompts="short", model="m",
        started_at="2026-01-01T00:00:00+00:00", duration=1.0,
    )  # fmt: skip


def test_json_holds_count_errors_percentiles_and_host_timings() -> None:
    data = to_json(_result(), synthetic=True)
    groq = data["providers"]["groq"]
    assert (groq["count"], groq["errors"], groq["retries"], groq["output_tokens"]) == (2, 0, 1, 100)
    assert groq["ttft"]["p50"] == pytest.approx(0.15)
    assert set(groq["total"]) == {"count", "p50", "p90", "p99", "mean", "ci95", "min", "max"}
    assert groq["output_tokens_per_second"]["p50"] == 200.0
    assert groq["host_timings"]["queue_time"]["p50"] == pytest.approx(0.03)
    assert groq["cost"] == 0.001
    deepseek = data["providers"]["deepseek"]
    assert (deepseek["count"], deepseek["errors"], deepseek["ttft"]) == (1, 1, None)
    assert deepseek["error_types"] == {"OverloadedError": 1}
    assert data["synthetic"] is True and list(data["providers"]) == ["groq", "deepseek"]


def test_table_rows_show_ok_counts_and_dashes_for_missing_figures() -> None:
    groq, deepseek = table_rows(_result())
    assert groq[:3] == ["groq", "openai/gpt-oss-120b", "2/2"] and groq[3] == "150 / 190 / 199"
    assert groq[-2:] == ["1", "0.0010"]
    assert deepseek[:5] == ["deepseek", "deepseek-flash", "0/1", "-", "-"]


def test_csv_rows_come_in_sending_order() -> None:
    rows = list(csv_rows(_result()))
    assert [(r["provider"], r["index"]) for r in rows] == [
        ("groq", 0),
        ("deepseek", 1),
        ("groq", 2),
    ]
    assert rows[0]["host_timings"] == '{"queue_time": 0.02}' and rows[1]["host_timings"] == ""


def test_error_lines_name_the_type_count_and_first_message() -> None:
    assert error_lines(_result()) == ["deepseek: 1 x OverloadedError: busy"]


@pytest.mark.parametrize(
    ("value", "text"), [(None, "-"), (0.0042, "4.2 ms"), (0.182, "182 ms"), (2.5, "2.50 s")]
)
def test_seconds_are_shown_in_ms_below_one_second(value: float | None, text: str) -> None:
    assert seconds(value) == text


def test_total_latency_cells_keep_their_digits_on_fast_runs() -> None:
    groq = table_rows(_result())[0]
    assert groq[4:6] == ["400 / 480 / 498 ms", "400 ± 1271 ms"]
    fast = [Sample("h", i, 0, 0.0, total=t) for i, t in enumerate((0.001, 0.002, 0.004))]
    result = BenchResult(
        providers=(aggregate("h", fast),), n=3, concurrency=1, warmup=0, prompts="short",
        model="m", started_at="2026-01-01T00:00:00+00:00", duration=0.01,
    )  # fmt: skip
    row = table_rows(result)[0]
    assert row[4] == "2.0 / 3.6 / 4.0 ms"
    assert row[5] == "2.3 ± 3.8 ms"


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ((0.182, 0.24, 0.3), "182 / 240 / 300 ms"),
        ((1.5, 2.1, 3.4), "1.50 / 2.10 / 3.40 s"),
        ((0.886, 1.1, 1.3), "0.89 / 1.10 / 1.30 s"),
        ((0.004, 1.2), "0.004 / 1.20 s"),
    ],
)
def test_durations_share_one_unit_and_keep_their_digits(
    values: tuple[float, ...], text: str
) -> None:
    assert durations(values, " / ") == text
