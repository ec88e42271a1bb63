"""Charts as static SVG: built with Altair, rendered on the server by vl-convert.

A chart is returned as a ``data:`` URI for an ``<img>``: no script runs in the browser (the
CSP allows none inline), the page needs no second request, and the image carries a text
alternative while the same figures stand in a table next to it (WCAG 1.1.1). Colours are
Designsystemet's and keep 3:1 contrast against white for lines and bars (WCAG 1.4.11).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

BLUE = "#0062BA"
RED = "#C01B1B"
FONT = "Inter, Arial, sans-serif"
WIDTH = 560


@dataclass(frozen=True, slots=True)
class WeeklyLabels:
    """The chart's texts, in the reader's language (the caller translates them)."""

    week: str
    conversations: str
    minutes: str
    median: str
    p90: str


def weekly_response_chart(
    weekly: Sequence[tuple[date, int, float | None, float | None]], labels: WeeklyLabels
) -> str | None:
    """Conversations per week (bars) over first-response median and 90th percentile (lines),
    as a data URI; None when there is no week to show."""
    if not weekly:
        return None
    rows = [
        {
            "week": week.isoformat(),
            "conversations": volume,
            labels.median: median,
            labels.p90: p90,
        }
        for week, volume, median, p90 in weekly
    ]
    spec = _weekly_spec(rows, labels)
    return _svg_data_uri(json.dumps(spec, sort_keys=True))


def _weekly_spec(rows: list[dict[str, Any]], labels: WeeklyLabels) -> dict[str, Any]:
    import altair as alt

    data: dict[str, Any] = {"values": rows}  # inline data, as Vega-Lite spells it
    # Norwegians count weeks by ISO number; the Monday's date keeps weeks of two years apart.
    # Both charts share every week, so a week without answers leaves a gap, not a shift.
    week = alt.X(
        "week:O",
        title=labels.week,
        scale=alt.Scale(domain=[row["week"] for row in rows]),
        axis=alt.Axis(labelExpr="timeFormat(toDate(datum.value), '%V')", labelAngle=0),
    )
    series: list[Any] = [labels.median, labels.p90]
    volume = (
        alt.Chart(data, width=WIDTH, height=140, title=labels.conversations)
        .mark_bar(color=BLUE)
        .encode(x=week, y=alt.Y("conversations:Q", title=None))
    )
    times = (
        alt.Chart(data, width=WIDTH, height=160, title=labels.minutes)
        .transform_fold(series, as_=["series", "value"])
        .transform_filter("isValid(datum.value)")  # weeks without an answer: no point
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=week,
            y=alt.Y("value:Q", title=None),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=series, range=[BLUE, RED]),
                legend=alt.Legend(orient="bottom"),
            ),
            strokeDash=alt.StrokeDash(
                "series:N", scale=alt.Scale(domain=series, range=[[1, 0], [6, 3]]), legend=None
            ),
        )
    )
    chart = alt.vconcat(volume, times).configure(font=FONT).configure_view(stroke=None)
    spec: dict[str, Any] = chart.to_dict()
    return spec


@lru_cache(maxsize=64)
def _svg_data_uri(spec_json: str) -> str:
    """The rendered chart (cached by its spec: the dashboard is reloaded with the same data)."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(json.loads(spec_json))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
