"""The dashboard page: filters, KPI cards by stage, funnel, trends, retention, channels, friction.

:class:`Dashboard` holds the current :class:`~journeylib.dashboard.state.View` and the
widgets. A change of a widget makes a new view and redraws what it affects: the header, the
chip, the link and the tab on screen; the other tabs are drawn when they are opened (their
numbers are memoised per view in :class:`~journeylib.dashboard.data.DashboardData`).

Every value from the data (journey name, dimension values, KPI and step names, sentences)
goes through :func:`html.escape` before it meets markup; charts take values only as data.
"""

from __future__ import annotations

import contextlib
import html
import json
import shlex
import time
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import quote

import ipywidgets as w
import polars as pl

from journeylib._format import format_duration, format_value
from journeylib.dashboard import styles
from journeylib.dashboard.charts import ChartView, enable_offline
from journeylib.dashboard.data import DashboardData, Memo
from journeylib.dashboard.link import CopyLink
from journeylib.dashboard.state import GRAINS, View, parse_query, to_query
from journeylib.errors import JourneyError
from journeylib.periods import next_period_start

__all__ = ["TABS", "Dashboard"]

TABS = ("Overview", "Funnel", "Trends", "Retention", "Channels", "Friction")
WINDOWS = ("1d", "3d", "7d", "14d", "30d")
#: KPIs with a trend chart (those the journey has).
TREND_KPIS = (
    "conversion_rate",
    "payment_success_rate",
    "cart_abandonment_rate",
    "activation_rate",
    "retention_rate",
    "nps",
)


def _esc(value: object) -> str:
    return html.escape(str(value))


def _period_text(start: date, end: date) -> str:
    last = end - timedelta(days=1)
    return f"{start:%d %b %Y} – {last:%d %b %Y}"


class Dashboard:
    """The page of one journey. Display it (``display(dashboard)`` or as a cell's last value)."""

    def __init__(self, data: DashboardData, *, config_path: str | None = None) -> None:
        from journeylib.charts import use_theme

        use_theme()
        enable_offline()
        self.data = data
        self.config_path = config_path
        self.currency = data.config.currency
        self.default = data.default_view()
        self.view = self.default
        self.messages: list[str] = []
        self.renders = 0
        self.last_render_seconds = 0.0
        self._syncing = False
        self._drawn: dict[str, View | None] = dict.fromkeys(TABS)
        #: the overview's drawn parts of the last views (going back to one redraws at once)
        self._overviews = Memo()
        self._build()

    # ------------------------------------------------------------------ widgets

    def _build(self) -> None:
        data = self.data
        self.style = w.HTML(styles.CSS)
        self.header = w.HTML()
        self.quality = w.Accordion(
            children=[w.HTML(f"<pre>{_esc(data.journey.quality.summary())}</pre>")],
            titles=("Data quality",),
            selected_index=None,
        )
        self.notice = w.HTML()
        self.notice.add_class("jl-messages")
        self.loading = w.HTML('<span class="jl-spinner"></span> Updating…')
        self.loading.add_class("jl-loading")
        self.loading.layout.visibility = "hidden"
        self.status = w.HTML()
        self.status.add_class("jl-status")

        first, last = data.first_day, data.last_day + timedelta(days=1)
        self.start = w.DatePicker(description="From", min=first, max=last)
        self.end = w.DatePicker(description="To (excl.)", min=first, max=last)
        self.grain = w.Dropdown(options=GRAINS, description="Grain")
        self.grain.add_class("jl-grain")
        self.comparison = w.Dropdown(
            options=(("previous period", "previous"), ("previous year", "previous_year")),
            description="Compare",
        )
        for control in (self.start, self.end, self.grain, self.comparison):
            control.observe(self._period_changed, "value")
        self.dimension_controls: dict[str, w.SelectMultiple] = {}
        boxes = []
        for dimension in data.dimensions():
            control = w.SelectMultiple(
                options=[
                    (f"{value} ({users:,} users)", value) for value, users in dimension.values
                ],
                rows=min(5, len(dimension.values)),
                description=dimension.name,
            )
            control.add_class(f"jl-dim-{_css_name(dimension.name)}")
            control.observe(self._dimension_changed(dimension.name), "value")
            self.dimension_controls[dimension.name] = control
            boxes.append(control)
        self.chip_text = w.HTML()
        self.chip_clear = w.Button(description="Clear ✕", tooltip="Clear the chart filter")
        self.chip_clear.add_class("jl-chip-clear")
        self.chip_clear.on_click(lambda _: self._set_view(self.view.changed(pick=None)))
        self.chip = w.HBox([self.chip_text, self.chip_clear])
        self.chip.add_class("jl-chip")
        self.link = CopyLink()
        self.report_line = w.HTML()
        period_row = w.HBox([self.start, self.end, self.grain, self.comparison])
        filters = w.VBox([period_row, w.HBox(boxes, layout=w.Layout(flex_flow="row wrap"))])
        filters.add_class("jl-filters")

        self.overview = w.VBox()
        self.map_chart = ChartView("journey-map")
        self.cards = w.HTML()
        self.kpi_table = w.HTML()

        step_names = sorted(data.step_names())
        self.steps = w.TagsInput(allowed_tags=step_names, allow_duplicates=False)
        self.steps.add_class("jl-steps")
        self.window = w.Dropdown(options=WINDOWS, description="Window")
        breakdowns = [("none", "")] + [(d.name, d.name) for d in data.dimensions()]
        self.breakdown = w.Dropdown(options=breakdowns, description="Breakdown")
        for control in (self.steps, self.window, self.breakdown):
            control.observe(self._funnel_changed, "value")
        self.funnel_chart = ChartView("funnel", on_pick=self._picked)
        self.funnel_table = w.HTML()
        self.funnel_note = w.HTML()

        self.trend_chart = ChartView("trends")
        self.trend_note = w.HTML()

        self.retention_grain = w.Dropdown(options=("week", "month"), description="Cohorts by")
        roles = [("any event", "")] + [(role, role) for role in data.config.roles]
        self.cohort = w.Dropdown(options=roles, description="Cohort event")
        for control in (self.retention_grain, self.cohort):
            control.observe(self._retention_changed, "value")
        self.retention_chart = ChartView("retention")
        self.retention_note = w.HTML()

        self.channel_chart = ChartView("channels", on_pick=self._picked)
        self.channel_table = w.HTML()

        self.friction_html = w.HTML()

        self.empty = w.HTML()
        self.empty.add_class("jl-empty")
        self.tabs = w.Tab(
            children=[
                w.VBox([self.map_chart.widget, self.cards, self.kpi_table]),
                w.VBox(
                    [
                        w.HTML("<b>Funnel steps</b> (2 to 8 roles or event names, in order)"),
                        self.steps,
                        w.HBox([self.window, self.breakdown]),
                        self.funnel_note,
                        w.HBox([self.funnel_chart.widget, self.funnel_table]),
                    ]
                ),
                w.VBox([self.trend_note, self.trend_chart.widget]),
                w.VBox(
                    [
                        w.HBox([self.retention_grain, self.cohort]),
                        self.retention_note,
                        self.retention_chart.widget,
                    ]
                ),
                w.VBox([self.channel_chart.widget, self.channel_table]),
                w.VBox([self.friction_html]),
            ],
            titles=TABS,
        )
        self.tabs.observe(self._tab_changed, "selected_index")
        self.widget = w.VBox(
            [
                self.style,
                self.header,
                self.quality,
                self.notice,
                filters,
                self.chip,
                w.HBox([self.loading, self.status]),
                self.empty,
                self.tabs,
                w.HTML("<h3>Share this view</h3>"),
                self.link,
                self.report_line,
            ]
        )
        self.widget.add_class("jl-dashboard")

    def warm(self) -> None:
        """Compute the default view's numbers (memoised) and load the funnel matchers.

        Called while a preheated kernel waits for its visitor, so the first page is fast.
        """
        view = self.default
        if self.data.event_count(view) == 0:
            return
        for compute in (self.data.cards, self.data.score, self.data.funnel):
            with contextlib.suppress(JourneyError):  # the page says why when it draws the view
                compute(view)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ events

    def apply_query(self, query: str) -> list[str]:
        """Show the view a query string asks for; returns the messages of refused parameters."""
        view, messages = parse_query(query or "", self.data.options(self.default))
        self.messages = messages
        self._set_view(view, force=True)
        return messages

    def _period_changed(self, _change: dict) -> None:
        if self._syncing:
            return
        start, end = self.start.value, self.end.value
        if start is None or end is None:
            return
        if end <= start:
            self.messages = [f"end: {end} is not after start {start}; showing the previous period"]
            self._sync_controls()
            self._show_messages()
            return
        self.messages = []
        view = self.view.changed(
            start=start, end=end, grain=self.grain.value, comparison=self.comparison.value
        )
        old = self.view
        if view.grain != old.grain and (start, end) == (old.start, old.end):
            default_range = self.data.view_for_grain(old.grain)
            if (old.start, old.end) == (default_range.start, default_range.end):
                # the default range of one grain becomes the default range of the other:
                # the last full periods, not a partial one
                view = self.data.view_for_grain(view.grain, base=view)
        self._set_view(view)

    def _dimension_changed(self, column: str) -> Callable[[dict], None]:
        def changed(change: dict) -> None:
            if self._syncing:
                return
            self.messages = []
            self._set_view(self.view.with_filter(column, list(change["new"])))

        return changed

    def _funnel_changed(self, _change: dict) -> None:
        if self._syncing:
            return
        steps = tuple(self.steps.value)
        if not 2 <= len(steps) <= 8:
            self.funnel_note.value = (
                f'<p class="jl-message">A funnel needs 2 to 8 steps; {len(steps)} chosen. '
                "The funnel below is the last one with a valid set of steps.</p>"
            )
            return
        self.funnel_note.value = ""
        self._set_view(
            self.view.changed(
                steps=steps, window=self.window.value, breakdown=self.breakdown.value or None
            )
        )

    def _retention_changed(self, _change: dict) -> None:
        if self._syncing:
            return
        self._set_view(
            self.view.changed(
                retention_grain=self.retention_grain.value, cohort=self.cohort.value or None
            )
        )

    def _picked(self, column: str, value: str) -> None:
        if self.view.pick == (column, value):
            return
        self._set_view(self.view.changed(pick=(column, value)))

    def _tab_changed(self, _change: dict) -> None:
        if not self._syncing:
            self._render_tab()

    # ------------------------------------------------------------------ drawing

    def _set_view(self, view: View, *, force: bool = False) -> None:
        if view == self.view and not force:
            return
        self.view = view
        self._drawn = dict.fromkeys(TABS)
        self.render()

    def render(self) -> None:
        """Redraw the header, the controls, the link and the tab on screen for ``self.view``."""
        began = time.perf_counter()
        self.loading.layout.visibility = "visible"
        try:
            self._sync_controls()
            self._show_messages()
            self._draw_header()
            self._draw_share()
            if self._draw_empty():
                return
            self._render_tab()
        finally:
            self.renders += 1
            self.last_render_seconds = time.perf_counter() - began
            self.status.value = (
                f'<span data-renders="{self.renders}" '
                f'data-seconds="{self.last_render_seconds:.3f}"></span>'
            )
            self.loading.layout.visibility = "hidden"

    def _render_tab(self) -> None:
        index = self.tabs.selected_index or 0
        name = TABS[index]
        if self._drawn.get(name) == self.view or self.empty.value:
            return
        self.loading.layout.visibility = "visible"
        draw = {
            "Overview": self._draw_overview,
            "Funnel": self._draw_funnel,
            "Trends": self._draw_trends,
            "Retention": self._draw_retention,
            "Channels": self._draw_channels,
            "Friction": self._draw_friction,
        }[name]
        try:
            draw()
        except JourneyError as exc:
            self._tab_message(name, str(exc))
        except Exception as exc:  # a view the engine cannot draw: say so, never a traceback
            self._tab_message(name, f"this section could not be drawn: {type(exc).__name__}: {exc}")
        self._drawn[name] = self.view
        self.loading.layout.visibility = "hidden"

    def _tab_message(self, name: str, text: str) -> None:
        markup = f'<p class="jl-message">{_esc(text)}</p>'
        target = {
            "Overview": self.cards,
            "Funnel": self.funnel_note,
            "Trends": self.trend_note,
            "Retention": self.retention_note,
            "Channels": self.channel_table,
            "Friction": self.friction_html,
        }[name]
        target.value = markup

    def _sync_controls(self) -> None:
        """Set every control to the view without reacting to the changes."""
        view = self.view
        self._syncing = True
        try:
            self.start.value, self.end.value = view.start, view.end
            self.grain.value = view.grain
            self.comparison.value = view.comparison
            chosen = dict(view.filters)
            for column, control in self.dimension_controls.items():
                control.value = tuple(chosen.get(column, ()))
            self.steps.value = list(view.steps)
            if view.window not in self.window.options:
                self.window.options = (*WINDOWS, view.window)
            self.window.value = view.window
            self.breakdown.value = view.breakdown or ""
            self.retention_grain.value = view.retention_grain
            self.cohort.value = view.cohort or ""
        finally:
            self._syncing = False
        if view.pick is None:
            self.chip.layout.display = "none"
        else:
            column, value = view.pick
            self.chip_text.value = (
                f'<span class="jl-chip-text">Chart filter: <b>{_esc(column)}</b> = '
                f"<b>{_esc(value)}</b></span>"
            )
            self.chip.layout.display = ""

    def _show_messages(self) -> None:
        self.notice.value = "".join(f'<p class="jl-message">{_esc(m)}</p>' for m in self.messages)

    def _draw_header(self) -> None:
        view, data = self.view, self.data
        last = data.journey.time_range[1].astimezone(data.zone)
        filters = "; ".join(f"{c} = {', '.join(v)}" for c, v in sorted(view.filter_map.items()))
        self.header.value = (
            f'<h1 class="jl-title">{_esc(data.config.name)}</h1>'
            f'<p class="jl-meta">Period shown: <b class="jl-period">'
            f"{_esc(_period_text(view.start, view.end))}</b> by {_esc(view.grain)}"
            f" · filters: {_esc(filters or 'none')}"
            f" · data up to {last:%d %b %Y %H:%M} ({_esc(data.config.timezone)})"
            f" · {data.journey.quality.rows_quarantined:,} rows quarantined</p>"
        )

    def _draw_share(self) -> None:
        view = self.view
        self.link.query = to_query(view, self.default)
        if self.config_path is None:
            self.report_line.value = (
                "<p>Open as report: the report needs a journey config "
                "(journey dashboard CONFIG), not --events.</p>"
            )
            return
        period_end = view.end
        period_start = _last_period_start(view.start, view.end, view.grain)
        periods = 1
        cursor = view.start
        while next_period_start(cursor, view.grain) < period_end:
            cursor = next_period_start(cursor, view.grain)
            periods += 1
        words = [
            "journey",
            "report",
            "run",
            "journey_report",
            "-p",
            "config_path",
            self.config_path,
            "-p",
            "period",
            f"{period_start}..{next_period_start(period_start, view.grain)}",
            "-p",
            "grain",
            view.grain,
            "-p",
            "comparison",
            view.comparison,
            "-p",
            "trend_periods",
            str(max(periods, 2)),
        ]
        if view.filter_map:
            words += ["-p", "filters", json.dumps(view.filter_map, sort_keys=True)]
        command = " ".join(shlex.quote(word) for word in words)
        self.report_line.value = (
            "<p><b>Open as report</b> (the cards' period, the same filters):</p>"
            f'<pre class="jl-report-command">{_esc(command)}</pre>'
        )

    def _draw_empty(self) -> bool:
        view = self.view
        if self.data.event_count(view) > 0:
            self.empty.value = ""
            self.tabs.layout.display = ""
            return False
        filters = "; ".join(f"{c} = {', '.join(v)}" for c, v in sorted(view.filter_map.items()))
        self.empty.value = (
            f'<div class="jl-empty-state"><b>No events match this view</b>: '
            f"{_esc(_period_text(view.start, view.end))}"
            f"{' with ' + _esc(filters) if filters else ''}. "
            "Widen the period or clear a filter.</div>"
        )
        self.tabs.layout.display = "none"
        return True

    # ------------------------------------------------------------------ tabs

    def _draw_overview(self) -> None:
        view = self.view
        key = (view.start, view.end, view.grain, view.comparison, self.data._filters_key(view))
        drawn = self._overviews.get("overview", key, self._overview_parts)
        chart, self.cards.value, self.kpi_table.value = drawn
        self.map_chart.show(chart)

    def _overview_parts(self) -> tuple[object, str, str]:
        """The journey map, the cards and the KPI table of the view (memoised per view)."""
        from journeylib.charts import journey_map, kpi_cards_html
        from journeylib.report.display import table_html
        from journeylib.report.tables import kpi_classes, kpi_rows

        view, data = self.view, self.data
        rows = data.cards(view)
        trend = data.kpi_table(view)
        score = data.score(view)
        chart = journey_map(score.stages, title="Journey score by stage")
        period = rows["period_start"][0]
        end = rows["period_end"][0]
        previous = {
            "previous": "the period before",
            "previous_year": "the same period a year before",
        }[view.comparison]
        parts = [
            f'<p class="jl-meta">Cards: <b class="jl-card-period">'
            f"{_esc(_period_text(period, end))}</b>, against {_esc(previous)}; "
            f"overall journey score <b>{_esc(_score_text(score.overall))}</b>. "
            "● the change is significant at p &lt; 0.05. Sparklines: the periods shown.</p>"
        ]
        trends = trend.partition_by("stage", as_dict=True, maintain_order=True)
        for stage in data.config.stages:
            stage_rows = rows.filter(pl.col("stage") == stage.name)
            if stage_rows.height == 0:
                continue
            # each stage's cards draw the sparklines of its own KPIs only
            stage_trend = trends.get((stage.name,), trend.clear())
            parts.append(
                f'<h3 class="jl-stage">{_esc(stage.name.capitalize())}</h3>'
                + kpi_cards_html(stage_rows, trend=stage_trend, currency=self.currency)
            )
        shown = kpi_rows(rows, self.currency)
        csv = _csv_link(_kpi_csv(rows), "kpis.csv", "Download CSV of the KPI table")
        table = f"<h3>KPI table</h3>{csv}" + table_html(
            shown, classes=kpi_classes, headers={"kpi": "KPI"}
        )
        return chart, "".join(parts), table

    def _draw_funnel(self) -> None:
        from journeylib.charts import funnel_chart

        view = self.view
        steps = self.data.funnel(view)
        self.funnel_note.value = (
            f"<p>Entries in {_esc(_period_text(view.start, view.end))}; window "
            f"{_esc(view.window)}; counts as users.</p>"
        )
        if steps.height == 0:
            self.funnel_chart.show(None)
            self.funnel_table.value = '<p class="jl-message">No entries in this period.</p>'
            return
        pick = view.breakdown if view.breakdown else None
        self.funnel_chart.show(funnel_chart(steps), pick_column=pick)
        self.funnel_table.value = _csv_link(
            steps.write_csv(), "funnel.csv", "Download CSV of the funnel"
        ) + _funnel_table(steps, view.breakdown)

    def _draw_trends(self) -> None:
        import altair as alt

        from journeylib.charts import kpi_trend
        from journeylib.charts.incidents import with_incidents

        view = self.view
        table = self.data.kpi_table(view)
        found = self.data.incidents(view)
        incidents = found.incidents if found is not None else pl.DataFrame()
        charts = []
        for kpi in TREND_KPIS:
            rows = table.filter(pl.col("kpi") == kpi)
            if rows.height and rows["available"].any():
                chart = kpi_trend(rows, kpi, currency=self.currency)
                # a KPI's chart shades the funnel's incidents and its own
                shown = (
                    incidents.filter(pl.col("kpi").is_null() | (pl.col("kpi") == kpi))
                    if incidents.height
                    else incidents
                )
                if shown.height:
                    chart = with_incidents(chart, shown)
                charts.append(chart.properties(width=380, height=200))
        sentences = (
            "".join(f"<li>{_esc(s)}</li>" for s in incidents["sentence"].to_list())
            if (incidents.height)
            else "<li>No incident in this period.</li>"
        )
        self.trend_note.value = (
            f"<p>By {_esc(view.grain)}, with 95% intervals (shaded) and targets (dashed); "
            "incidents are shaded red.</p>"
            f'<ul class="jl-incidents">{sentences}</ul>'
        )
        self.trend_chart.show(alt.concat(*charts, columns=2) if charts else None)

    def _draw_retention(self) -> None:
        from journeylib.charts import retention_heatmap

        view = self.view
        matrix = self.data.retention(view)
        cohort = f"first {view.cohort}" if view.cohort else "first event"
        self.retention_note.value = (
            f"<p>Cohorts by {_esc(view.retention_grain)} of their {_esc(cohort)}; "
            "grey cells are not fully observed yet.</p>"
        )
        if matrix.height == 0:
            self.retention_chart.show(None)
            self.retention_note.value += '<p class="jl-message">No cohort in this period.</p>'
            return
        self.retention_chart.show(retention_heatmap(matrix, title="Cohort retention"))

    def _draw_channels(self) -> None:
        from journeylib.charts import channel_comparison

        view = self.view
        table = self.data.channels(view)
        if table is None:
            self.channel_chart.show(None)
            self.channel_table.value = "<p>The events have no 'channel' column.</p>"
            return
        self.channel_chart.show(
            channel_comparison(table, currency=self.currency), pick_column="channel"
        )
        self.channel_table.value = (
            "<p>Click a channel to filter the page by it.</p>"
            + _channel_table(table, self.currency)
        )

    def _draw_friction(self) -> None:
        view = self.view
        if not view.steps:
            self.friction_html.value = "<p>The journey config defines no funnel.</p>"
            return
        result = self.data.friction(view)
        found = self.data.incidents(view)
        parts = ["<h3>Incidents</h3><ul class='jl-incidents'>"]
        sentences = found.incidents["sentence"].to_list() if found is not None else []
        parts += [f"<li>{_esc(s)}</li>" for s in sentences] or [
            "<li>No incident in this period.</li>"
        ]
        parts.append("</ul><h3>Where users are lost</h3>")
        parts.append(_friction_table(result.transitions))
        worse = result.segments.filter(pl.col("worse")).head(10)
        parts.append("<h3>Segments converting significantly worse</h3>")
        parts.append(_segment_table(worse) if worse.height else "<p>None in this period.</p>")
        self.friction_html.value = "".join(parts)


# ---------------------------------------------------------------------- tables as text


def _css_name(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def _score_text(value: float | None) -> str:
    return "not available" if value is None else f"{value:.1f}"


def _last_period_start(start: date, end: date, grain: str) -> date:
    from journeylib.periods.calendar import align

    cursor = align(start, grain)  # type: ignore[arg-type]
    while next_period_start(cursor, grain) < end:  # type: ignore[arg-type]
        cursor = next_period_start(cursor, grain)  # type: ignore[arg-type]
    return cursor


def _csv_link(text: str, name: str, label: str) -> str:
    href = "data:text/csv;charset=utf-8," + quote(text)
    return (
        f'<p><a class="jl-download" download="{_esc(name)}" href="{_esc(href)}">'
        f"{_esc(label)}</a></p>"
    )


def _kpi_csv(rows: pl.DataFrame) -> str:
    columns = [
        c
        for c in rows.columns
        if c not in ("se",) and not isinstance(rows.schema[c], pl.Struct | pl.List)
    ]
    return rows.select(columns).write_csv()


def _table(headers: list[str], body: list[list[str]], css: str) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in body)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _rate(value: float | None) -> str:
    return "–" if value is None else format_value(value, "rate")


def _funnel_table(steps: pl.DataFrame, breakdown: str | None) -> str:
    headers = ["step", "name", "users", "of first", "of previous", "drop-off", "in progress"]
    headers.append("median time")
    if breakdown:
        headers.insert(0, breakdown)
    body = []
    for row in steps.iter_rows(named=True):
        cells = [
            str(row["step"]),
            str(row["step_name"]),
            f"{row['users']:,}",
            _rate(row["conversion_from_first"]),
            _rate(row["conversion_from_previous"]),
            "–" if row["drop_off"] is None else f"{row['drop_off']:,}",
            f"{row['in_progress']:,}",
            format_duration(row["median_seconds_from_previous"]),
        ]
        if breakdown:
            cells.insert(0, str(row[breakdown]))
        body.append(cells)
    return _table(headers, body, "jl-funnel-table")


def _channel_table(table: pl.DataFrame, currency: str) -> str:
    wide = {}
    for row in table.iter_rows(named=True):
        wide.setdefault(row["channel"], {})[row["kpi"]] = row
    body = []
    for channel, kpis in sorted(wide.items(), key=lambda item: str(item[0])):
        visitors = kpis.get("unique_visitors", {}).get("value")
        conversion = kpis.get("conversion_rate", {}).get("value")
        cost = kpis.get("cost_per_conversion", {})
        body.append(
            [
                str(channel),
                format_value(visitors, "count"),
                _rate(conversion),
                format_value(cost.get("value"), "currency", currency=currency)
                if cost.get("available", False)
                else "not available",
            ]
        )
    headers = ["channel", "visitors", "conversion", "cost per conversion"]
    return _table(headers, body, "jl-channel-table")


def _friction_table(transitions: pl.DataFrame) -> str:
    body = [
        [
            f"{row['from_name']} → {row['to_name']}",
            f"{row['users']:,}",
            f"{row['converted']:,}",
            f"{row['lost']:,}",
            _rate(row["rate"]),
        ]
        for row in transitions.iter_rows(named=True)
    ]
    return _table(["transition", "users", "converted", "lost", "rate"], body, "jl-friction")


def _segment_table(segments: pl.DataFrame) -> str:
    body = [
        [
            f"{row['from_name']} → {row['to_name']}",
            f"{row['dimension']} = {row['value']}",
            _rate(row["rate"]),
            _rate(row["others_rate"]),
            f"{row['users_lost']:,.0f}",
        ]
        for row in segments.iter_rows(named=True)
    ]
    headers = ["transition", "segment", "rate", "others' rate", "users lost"]
    return _table(headers, body, "jl-segments")
