"""Chart builders: aggregated Polars frames in, Altair charts out (never displayed here).

Every builder returns an Altair chart value; whoever holds it decides how to show it. Style
comes from the one theme in :mod:`journeylib.charts._theme` (``use_theme()`` enables it).
"""

from __future__ import annotations

from journeylib._format import format_value
from journeylib.charts._render import render_offline
from journeylib.charts._theme import THEME_NAME, register_theme, use_theme
from journeylib.charts.breakdown import breakdown_trend
from journeylib.charts.cards import kpi_cards_html, sparkline_svg
from journeylib.charts.channels import channel_comparison
from journeylib.charts.cohorts import cohort_value_chart, retention_curves
from journeylib.charts.friction import friction_chart, next_events_chart
from journeylib.charts.funnel import funnel_chart
from journeylib.charts.funnel_detail import funnel_trend, step_timings
from journeylib.charts.incidents import with_incidents
from journeylib.charts.journey_map import journey_map
from journeylib.charts.optimise import experiment_chart, incident_chart
from journeylib.charts.quality import data_quality_panel
from journeylib.charts.retention import retention_heatmap
from journeylib.charts.scorecards import kpi_scorecards
from journeylib.charts.surveys import survey_distribution
from journeylib.charts.trend import kpi_trend

__all__ = [
    "THEME_NAME",
    "breakdown_trend",
    "channel_comparison",
    "cohort_value_chart",
    "data_quality_panel",
    "experiment_chart",
    "format_value",
    "friction_chart",
    "funnel_chart",
    "funnel_trend",
    "incident_chart",
    "journey_map",
    "kpi_cards_html",
    "kpi_scorecards",
    "kpi_trend",
    "next_events_chart",
    "register_theme",
    "render_offline",
    "retention_curves",
    "retention_heatmap",
    "sparkline_svg",
    "step_timings",
    "survey_distribution",
    "use_theme",
    "with_incidents",
]
