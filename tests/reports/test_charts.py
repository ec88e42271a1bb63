"""Server-rendered charts: a data URI holding an SVG with the reader's texts, ISO week
numbers, and nothing for an empty period."""

from __future__ import annotations

import base64
from datetime import date, timedelta

from stemme.reports.charts import WeeklyLabels, weekly_response_chart

LABELS = WeeklyLabels("Uke", "Samtaler per uke", "Første svar (minutter)", "Median", "P90")


def _svg(uri: str | None) -> str:
    assert uri is not None
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    return base64.b64decode(uri[len(prefix) :]).decode()


def test_no_weeks_no_chart() -> None:
    assert weekly_response_chart([], LABELS) is None


def test_the_chart_is_an_svg_with_the_readers_texts_and_iso_week_numbers() -> None:
    monday = date(2026, 1, 5)  # ISO week 2
    weekly = [(monday + timedelta(weeks=i), 10 + i, 5.0 + i, 20.0 + i) for i in range(3)]
    svg = _svg(weekly_response_chart(weekly, LABELS))
    assert svg.startswith("<svg")
    for text in ("Samtaler per uke", "Første svar (minutter)", "Median", "P90", ">02<", ">04<"):
        assert text in svg
    assert "<script" not in svg


def test_a_week_without_answers_still_has_its_bar() -> None:
    weekly = [(date(2026, 11, 9), 4, None, None), (date(2026, 11, 16), 6, 12.0, 30.0)]
    svg = _svg(weekly_response_chart(weekly, LABELS))
    assert svg.count(">46<") == 2  # ISO week of 9 November 2026, on both charts' axes
    assert svg.count(">47<") == 2


def test_the_same_figures_render_once() -> None:
    weekly = [(date(2026, 5, 4), 3, 1.0, 2.0)]
    assert weekly_response_chart(weekly, LABELS) is weekly_response_chart(weekly, LABELS)
